#include "ws/ws_tls.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/log.h"

static SSL_CTX *client_ctx;

SSL_CTX *ws_tls_client_ctx(void)
{
	if (client_ctx)
		return client_ctx;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		log_error("wss: cannot create an OpenSSL context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* The system store; OpenSSL reads SSL_CERT_FILE / SSL_CERT_DIR here when set. */
	if (SSL_CTX_set_default_verify_paths(ctx) != 1)
		log_warn("wss: cannot load the system CA store (SSL_CERT_FILE=%s)",
			 getenv("SSL_CERT_FILE") ? getenv("SSL_CERT_FILE") : "unset");
	/* Partial writes and a moving buffer: the connection's output buffer is compacted. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	client_ctx = ctx;
	return ctx;
}

SSL *ws_tls_new(SSL_CTX *ctx, int fd, const char *host)
{
	SSL *ssl = SSL_new(ctx);
	if (!ssl)
		return NULL;
	unsigned char ip[16];
	bool is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
	int ok = SSL_set_fd(ssl, fd);
	if (ok && is_ip)
		ok = X509_VERIFY_PARAM_set1_ip_asc(param, host);
	else if (ok)
		ok = SSL_set_tlsext_host_name(ssl, host) && SSL_set1_host(ssl, host);
	if (!ok) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

int ws_tls_check_pin(SSL *ssl, const uint8_t pin[32], char *why, size_t whylen)
{
	X509 *cert = SSL_get1_peer_certificate(ssl);
	if (!cert) {
		snprintf(why, whylen, "the server sent no certificate");
		return -1;
	}
	unsigned char *der = NULL;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	X509_free(cert);
	if (len <= 0) {
		snprintf(why, whylen, "cannot encode the server's public key");
		return -1;
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	int ok = EVP_Digest(der, (size_t)len, md, &md_len, EVP_sha256(), NULL);
	OPENSSL_free(der);
	if (!ok || md_len != 32 || CRYPTO_memcmp(md, pin, 32) != 0) {
		snprintf(why, whylen, "the server's public key does not match EndpointPin");
		return -1;
	}
	return 0;
}

void ws_tls_error(SSL *ssl, char *buf, size_t len)
{
	long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	unsigned long e = ERR_get_error();
	char ebuf[160] = "";
	if (e)
		ERR_error_string_n(e, ebuf, sizeof(ebuf));
	ERR_clear_error();
	if (v != X509_V_OK)
		snprintf(buf, len, "certificate: %s", X509_verify_cert_error_string(v));
	else
		snprintf(buf, len, "%s", e ? ebuf : "TLS failed");
}
