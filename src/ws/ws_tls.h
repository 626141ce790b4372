/*
 * TLS for wss:// endpoints, client side, through OpenSSL: the system CA
 * store (SSL_CERT_FILE and SSL_CERT_DIR honoured, as OpenSSL's default
 * paths do), the server's certificate verified against the URL's host name
 * (or IP address), TLS 1.2 at least, and an optional pin: the SHA-256 of the
 * certificate's public key (SubjectPublicKeyInfo), checked in addition to the
 * chain, so a pin narrows trust and never widens it.
 */
#ifndef RR_WS_TLS_H
#define RR_WS_TLS_H

#include <stddef.h>
#include <stdint.h>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

/* The process's client context, built on first use; NULL (logged) if OpenSSL fails. */
SSL_CTX *ws_tls_client_ctx(void);
/* A client session on fd for host (SNI unless an address, certificate name check). NULL on error. */
SSL *ws_tls_new(SSL_CTX *ctx, int fd, const char *host);
/* 0 if the server's certificate key matches pin; -1 (reason in why) otherwise. */
int ws_tls_check_pin(SSL *ssl, const uint8_t pin[32], char *why, size_t whylen);
/* The last OpenSSL error (and the verify result) as text, for log lines. */
void ws_tls_error(SSL *ssl, char *buf, size_t len);

#endif
