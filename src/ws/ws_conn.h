/*
 * One WebSocket connection on the event loop, client or server side, plain
 * or TLS (client side only: a server sits behind the platform's TLS
 * ingress). It owns the socket, the opening handshake, the frame codec,
 * keepalive pings and the bounds on what a peer may send; its owner
 * (ws/ws_transport.c) gets whole binary messages and sends whole messages.
 *
 * Bounds: an opening handshake must complete within WS_HANDSHAKE_TIMEOUT_S
 * and its head within WS_HTTP_HEAD_MAX bytes; a frame carries at most
 * WS_MAX_MESSAGE bytes; anything but binary, ping, pong and close frames
 * closes the connection; a connection silent for WS_IDLE_TIMEOUT_S is
 * closed; at most WS_OUT_MAX bytes wait to be sent (more is dropped, as a
 * full UDP socket buffer would). Nothing here blocks.
 */
#ifndef RR_WS_CONN_H
#define RR_WS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "core/strbuf.h"
#include "ip/addr.h"
#include "ws/ws_http.h"

#define WS_HANDSHAKE_TIMEOUT_S 10
#define WS_PING_INTERVAL_S 20      /* platform proxies cut idle connections at 60 s */
#define WS_IDLE_TIMEOUT_S 65       /* three pings unanswered */
#define WS_MAX_MESSAGE 4096        /* a WireGuard message is at most ~1.9 KiB here */
#define WS_IN_MAX 65536
#define WS_OUT_MAX (4u << 20)

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

enum ws_conn_state {
	WS_CONN_CONNECTING,   /* client: TCP connect under way */
	WS_CONN_TLS,          /* client: TLS handshake */
	WS_CONN_HTTP,         /* opening handshake (client waits for 101, server for the request) */
	WS_CONN_OPEN,
	WS_CONN_REPLYING,     /* server: a plain HTTP answer is being sent, then close */
	WS_CONN_CLOSED,       /* on_closed is queued; the owner frees it there */
};

struct ws_conn;

struct ws_conn_ops {
	void (*on_open)(struct ws_conn *c);
	/* A binary message; data may be modified. The connection may be used (sends). */
	void (*on_message)(struct ws_conn *c, uint8_t *data, size_t len);
	/* Server: a plain GET/HEAD for path; append the body (text) to body. */
	void (*on_page)(struct ws_conn *c, const char *path, struct strbuf *body);
	/* After the connection closed (from a deferred hook): the owner frees it now. */
	void (*on_closed)(struct ws_conn *c);
};

struct ws_conn {
	struct loop_fd lfd;
	struct loop *loop;
	const struct ws_conn_ops *ops;
	const char *log_name;          /* "wg0 ws peer 1" etc., owned by the owner */
	enum ws_conn_state state;
	bool is_client;
	SSL *ssl;
	const uint8_t *pin;            /* client: SHA-256 of the server's SPKI, or NULL */
	char host[256];                /* client: for Host, SNI and certificate check */
	unsigned port;
	char path[256];
	char key[WS_KEY_LEN + 1];
	uint8_t *in;
	size_t in_len;
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	uint32_t events;               /* epoll interest now */
	bool tls_wants_write;
	bool close_sent;
	uint64_t last_rx;
	uint64_t mask_state;           /* client frame masks (xorshift, seeded at random) */
	struct timer tick;             /* handshake deadline, then pings and idle checks */
	struct loop_hook flush, closed;
	char close_reason[96];
	uint64_t rx_messages, tx_messages, tx_dropped;
};

/* Starts a client connection to addr; TLS when ssl_ctx is not NULL. 0 or -errno. */
int ws_conn_dial(struct ws_conn *c, struct loop *loop, const struct ws_conn_ops *ops,
		 const union sockaddr_inet *addr, SSL_CTX *ssl_ctx, const char *host,
		 unsigned port, const char *path, const uint8_t *pin);
/* Takes an accepted socket (non-blocking) as the server side. 0 or -errno (fd not closed). */
int ws_conn_accept(struct ws_conn *c, struct loop *loop, const struct ws_conn_ops *ops, int fd);
/* Queues one binary message. 0, -ENOTCONN (not open) or -ENOBUFS (WS_OUT_MAX reached). */
int ws_conn_send(struct ws_conn *c, const void *data, size_t len);
/* Closes (with a close frame when open) and queues on_closed. Idempotent. */
void ws_conn_close(struct ws_conn *c, uint16_t code, const char *why);
/* Releases the memory (after on_closed, or instead of it for a connection never started). */
void ws_conn_free(struct ws_conn *c);

#endif
