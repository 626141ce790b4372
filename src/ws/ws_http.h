/*
 * The HTTP/1.1 side of RFC 6455: the opening handshake (section 4) as pure
 * parsers and builders. The server parses a request head and either upgrades
 * it, or serves it as a plain GET (the status page); the client builds the
 * request and checks the 101 answer's Sec-WebSocket-Accept.
 */
#ifndef RR_WS_HTTP_H
#define RR_WS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/ws_url.h"
#include "core/strbuf.h"

/* A request or response head longer than this is refused (slowloris and memory bound). */
#define WS_HTTP_HEAD_MAX 4096
#define WS_KEY_LEN 24              /* base64 of 16 bytes */
#define WS_ACCEPT_LEN 28           /* base64 of a SHA-1 */

enum ws_http_verdict {
	WS_HTTP_INCOMPLETE,            /* no blank line yet */
	WS_HTTP_UPGRADE,               /* a valid WebSocket upgrade */
	WS_HTTP_PLAIN_GET,             /* GET or HEAD without Upgrade: serve a page */
	WS_HTTP_BAD_REQUEST,           /* 400 */
	WS_HTTP_BAD_METHOD,            /* 405 */
	WS_HTTP_BAD_VERSION,           /* 426: Sec-WebSocket-Version other than 13 */
};

struct ws_http_request {
	size_t head_len;               /* bytes up to and including the blank line */
	bool head_only;                /* HEAD */
	char path[256];                /* request target, truncated */
	char key[WS_KEY_LEN + 1];      /* Sec-WebSocket-Key */
};

/* Parses the head of a request (buf need not be NUL-terminated). */
enum ws_http_verdict ws_http_parse_request(const char *buf, size_t len, struct ws_http_request *out);

/* Sec-WebSocket-Accept for key: base64(SHA-1(key + GUID)). 0, or -1 if OpenSSL fails. */
int ws_http_accept_key(const char *key, char out[WS_ACCEPT_LEN + 1]);
/* A fresh client key (16 random bytes, base64). */
void ws_http_new_key(char out[WS_KEY_LEN + 1]);

/* The 101 Switching Protocols answer to a request carrying key. 0 or -1. */
int ws_http_build_response(struct strbuf *out, const char *key);
/* The client's upgrade request; port 0 leaves it out of the Host header. */
void ws_http_build_request(struct strbuf *out, const char *host, unsigned port, const char *path,
			   const char *key);

enum ws_http_reply {
	WS_HTTP_REPLY_INCOMPLETE,
	WS_HTTP_REPLY_OK,              /* 101 with the right accept value */
	WS_HTTP_REPLY_BAD,             /* anything else: *status holds the code if one was read */
};
/* Checks the server's answer to a request made with key; *head_len as above. */
enum ws_http_reply ws_http_parse_response(const char *buf, size_t len, const char *key,
					  size_t *head_len, int *status);


#endif
