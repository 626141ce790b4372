#include "ws/ws_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "core/log.h"
#include "ws/ws_frame.h"
#include "ws/ws_tls.h"

static void conn_flush(struct ws_conn *c);

static void set_events(struct ws_conn *c, uint32_t events)
{
	if (c->lfd.fd < 0 || c->events == events)
		return;
	if (loop_mod_fd(c->loop, &c->lfd, events) == 0)
		c->events = events;
}

/* Stops all I/O now; the owner hears of it from a deferred hook (never from inside its own call). */
static void conn_shutdown(struct ws_conn *c, const char *why)
{
	if (c->state == WS_CONN_CLOSED)
		return;
	snprintf(c->close_reason, sizeof(c->close_reason), "%s", why);
	log_info("%s: connection closed: %s", c->log_name, why);
	c->state = WS_CONN_CLOSED;
	timer_cancel(c->loop, &c->tick);
	loop_cancel_deferred(c->loop, &c->flush);
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->lfd.fd >= 0) {
		loop_del_fd(c->loop, &c->lfd);
		close(c->lfd.fd);
		c->lfd.fd = -1;
	}
	loop_defer(c->loop, &c->closed);
}

/* Room for len more output bytes at c->out + c->out_len; NULL when it would pass WS_OUT_MAX. */
static uint8_t *out_reserve(struct ws_conn *c, size_t len)
{
	if (c->out_off && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + len > c->out_cap && c->out_off) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 65536;
		while (cap < c->out_len + len)
			cap *= 2;
		if (cap > WS_OUT_MAX)
			return NULL;
		uint8_t *n = realloc(c->out, cap);
		if (!n)
			return NULL;
		c->out = n;
		c->out_cap = cap;
	}
	return c->out + c->out_len;
}

static bool out_append(struct ws_conn *c, const void *data, size_t len)
{
	uint8_t *p = out_reserve(c, len);
	if (!p)
		return false;
	memcpy(p, data, len);
	c->out_len += len;
	return true;
}

static void next_mask(struct ws_conn *c, uint8_t mask[4])
{
	/* xorshift64: masks only keep proxies from reading frames as HTTP (RFC 6455 10.3). */
	uint64_t x = c->mask_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	c->mask_state = x;
	memcpy(mask, &x, 4);
}

static bool queue_frame(struct ws_conn *c, enum ws_opcode op, const void *data, size_t len)
{
	uint8_t h[WS_FRAME_HEADER_MAX], mask[4];
	if (c->is_client)
		next_mask(c, mask);
	size_t hl = ws_frame_header(h, true, op, len, c->is_client ? mask : NULL);
	uint8_t *p = out_reserve(c, hl + len);
	if (!p)
		return false;
	memcpy(p, h, hl);
	memcpy(p + hl, data, len);
	if (c->is_client)
		ws_mask(p + hl, len, mask, 0);
	c->out_len += hl + len;
	loop_defer(c->loop, &c->flush);
	return true;
}

int ws_conn_send(struct ws_conn *c, const void *data, size_t len)
{
	if (c->state != WS_CONN_OPEN)
		return -ENOTCONN;
	if (!queue_frame(c, WS_OP_BINARY, data, len)) {
		c->tx_dropped++;
		return -ENOBUFS;
	}
	c->tx_messages++;
	return 0;
}

void ws_conn_close(struct ws_conn *c, uint16_t code, const char *why)
{
	if (c->state == WS_CONN_CLOSED)
		return;
	if (c->state == WS_CONN_OPEN && !c->close_sent) {
		uint8_t payload[2] = { (uint8_t)(code >> 8), (uint8_t)code };
		c->close_sent = true;
		if (queue_frame(c, WS_OP_CLOSE, payload, 2)) {
			loop_cancel_deferred(c->loop, &c->flush);
			conn_flush(c);   /* best effort: one try, the socket is closed next */
		}
	}
	conn_shutdown(c, why);
}

/* recv/SSL_read: >0 bytes, 0 at end of stream, -EAGAIN, or -errno. */
static ssize_t conn_read(struct ws_conn *c, void *buf, size_t len)
{
	if (!c->ssl) {
		ssize_t n = recv(c->lfd.fd, buf, len, MSG_DONTWAIT);
		if (n < 0)
			return errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
		return n;
	}
	int n = SSL_read(c->ssl, buf, (int)(len > INT32_MAX ? INT32_MAX : len));
	if (n > 0)
		return n;
	switch (SSL_get_error(c->ssl, n)) {
	case SSL_ERROR_WANT_READ:
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		c->tls_wants_write = true;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		ERR_clear_error();
		return -EPROTO;
	}
}

static ssize_t conn_write(struct ws_conn *c, const void *buf, size_t len)
{
	if (!c->ssl) {
		ssize_t n = send(c->lfd.fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0)
			return errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
		return n;
	}
	int n = SSL_write(c->ssl, buf, (int)(len > INT32_MAX ? INT32_MAX : len));
	if (n > 0)
		return n;
	switch (SSL_get_error(c->ssl, n)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return -EAGAIN;
	default:
		ERR_clear_error();
		return -EPIPE;
	}
}

static void update_interest(struct ws_conn *c)
{
	if (c->state == WS_CONN_CLOSED)
		return;
	uint32_t ev = EPOLLIN;
	if (c->out_len > c->out_off || c->tls_wants_write)
		ev |= EPOLLOUT;
	set_events(c, ev);
}

static void conn_flush(struct ws_conn *c)
{
	if (c->state == WS_CONN_CLOSED || c->state == WS_CONN_CONNECTING || c->state == WS_CONN_TLS)
		return;
	c->tls_wants_write = false;
	while (c->out_off < c->out_len) {
		ssize_t n = conn_write(c, c->out + c->out_off, c->out_len - c->out_off);
		if (n == -EAGAIN)
			break;
		if (n < 0) {
			char why[96];
			snprintf(why, sizeof(why), "send: %s", strerror((int)-n));
			conn_shutdown(c, why);
			return;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		if (c->state == WS_CONN_REPLYING) {
			conn_shutdown(c, "plain HTTP answer sent");
			return;
		}
	}
	update_interest(c);
}

static void flush_hook(struct loop_hook *h)
{
	conn_flush(container_of(h, struct ws_conn, flush));
}

static void closed_hook(struct loop_hook *h)
{
	struct ws_conn *c = container_of(h, struct ws_conn, closed);
	c->ops->on_closed(c);
}

static void arm_tick(struct ws_conn *c, unsigned seconds)
{
	timer_arm(c->loop, &c->tick, loop_now(c->loop) + seconds * NSEC_PER_SEC, NSEC_PER_SEC / 4);
}

static void tick(struct timer *t)
{
	struct ws_conn *c = container_of(t, struct ws_conn, tick);
	if (c->state != WS_CONN_OPEN) {
		conn_shutdown(c, "opening handshake not done in time");
		return;
	}
	uint64_t now = loop_now(c->loop);
	if (now - c->last_rx > WS_IDLE_TIMEOUT_S * NSEC_PER_SEC) {
		ws_conn_close(c, WS_CLOSE_NORMAL, "silent for too long");
		return;
	}
	/* Both sides ping: either may sit behind a proxy that cuts idle connections. */
	queue_frame(c, WS_OP_PING, "rr", 2);
	arm_tick(c, WS_PING_INTERVAL_S);
}

static void opened(struct ws_conn *c)
{
	c->state = WS_CONN_OPEN;
	c->last_rx = loop_now(c->loop);
	arm_tick(c, WS_PING_INTERVAL_S);
	log_info("%s: WebSocket open", c->log_name);
	c->ops->on_open(c);
}

/* Frames in the input buffer, in order; false when the connection went away. */
static bool handle_frames(struct ws_conn *c)
{
	size_t off = 0;
	while (c->state == WS_CONN_OPEN) {
		struct ws_frame fr;
		enum ws_parse_result r = ws_frame_parse(c->in + off, c->in_len - off, !c->is_client,
							WS_MAX_MESSAGE, &fr);
		if (r == WS_PARSE_INCOMPLETE)
			break;
		if (r == WS_PARSE_TOO_BIG) {
			ws_conn_close(c, WS_CLOSE_TOO_BIG, "frame larger than the limit");
			return false;
		}
		if (r != WS_PARSE_OK) {
			ws_conn_close(c, WS_CLOSE_PROTOCOL_ERROR, "malformed frame");
			return false;
		}
		uint8_t *payload = c->in + off + fr.header_len;
		size_t plen = (size_t)fr.payload_len;
		off += fr.header_len + plen;
		if (fr.masked)
			ws_mask(payload, plen, fr.mask, 0);
		switch (fr.opcode) {
		case WS_OP_BINARY:
			if (!fr.fin) {
				ws_conn_close(c, WS_CLOSE_UNSUPPORTED, "fragmented message");
				return false;
			}
			c->rx_messages++;
			c->ops->on_message(c, payload, plen);
			break;
		case WS_OP_PING:
			queue_frame(c, WS_OP_PONG, payload, plen);
			break;
		case WS_OP_PONG:
			break;
		case WS_OP_CLOSE:
			ws_conn_close(c, WS_CLOSE_NORMAL, "closed by the other side");
			return false;
		default:
			ws_conn_close(c, WS_CLOSE_UNSUPPORTED, "text or continuation frame");
			return false;
		}
	}
	if (c->state != WS_CONN_OPEN)
		return false;
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	return true;
}

static void send_plain_reply(struct ws_conn *c, const char *status, const char *body_text,
			     const struct strbuf *body, bool head_only)
{
	const char *b = body ? body->data : body_text;
	size_t blen = body ? body->len : strlen(body_text);
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
			 "Content-Length: %zu\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
			 status, blen);
	c->state = WS_CONN_REPLYING;
	if (!out_append(c, head, (size_t)n) || (!head_only && blen && !out_append(c, b, blen))) {
		conn_shutdown(c, "out of memory for a reply");
		return;
	}
	loop_defer(c->loop, &c->flush);
}

/* Server: the request head is in c->in. False when the connection went away. */
static bool server_head(struct ws_conn *c)
{
	struct ws_http_request rq;
	enum ws_http_verdict v = ws_http_parse_request((char *)c->in, c->in_len, &rq);
	if (v == WS_HTTP_INCOMPLETE) {
		if (c->in_len < WS_HTTP_HEAD_MAX)
			return true;
		send_plain_reply(c, "431 Request Header Fields Too Large", "request head too long\n",
				 NULL, false);
		return false;
	}
	/* Whatever follows the head (a client's first frames) stays for the frame parser. */
	memmove(c->in, c->in + rq.head_len, c->in_len - rq.head_len);
	c->in_len -= rq.head_len;
	switch (v) {
	case WS_HTTP_UPGRADE: {
		struct strbuf resp;
		strbuf_init(&resp);
		int r = ws_http_build_response(&resp, rq.key);
		bool ok = r == 0 && out_append(c, resp.data, resp.len);
		strbuf_free(&resp);
		if (!ok) {
			conn_shutdown(c, "cannot build the 101 answer");
			return false;
		}
		loop_defer(c->loop, &c->flush);
		opened(c);
		return c->state == WS_CONN_OPEN;
	}
	case WS_HTTP_PLAIN_GET: {
		struct strbuf body;
		strbuf_init(&body);
		c->ops->on_page(c, rq.path, &body);
		if (body.oom)
			send_plain_reply(c, "503 Service Unavailable", "out of memory\n", NULL,
					 rq.head_only);
		else
			send_plain_reply(c, "200 OK", NULL, &body, rq.head_only);
		strbuf_free(&body);
		return false;
	}
	case WS_HTTP_BAD_METHOD:
		send_plain_reply(c, "405 Method Not Allowed", "only GET and HEAD\n", NULL, false);
		return false;
	case WS_HTTP_BAD_VERSION:
		send_plain_reply(c, "426 Upgrade Required", "Sec-WebSocket-Version must be 13\n",
				 NULL, false);
		return false;
	default:
		send_plain_reply(c, "400 Bad Request", "not an HTTP/1.x request\n", NULL, false);
		return false;
	}
}

static bool client_head(struct ws_conn *c)
{
	size_t hl;
	int status;
	enum ws_http_reply r = ws_http_parse_response((char *)c->in, c->in_len, c->key, &hl, &status);
	if (r == WS_HTTP_REPLY_INCOMPLETE) {
		if (c->in_len < WS_HTTP_HEAD_MAX)
			return true;
		conn_shutdown(c, "answer to the upgrade request too long");
		return false;
	}
	if (r != WS_HTTP_REPLY_OK) {
		char why[96];
		if (status)
			snprintf(why, sizeof(why), "upgrade refused: HTTP status %d (check the URL path)",
				 status);
		else
			snprintf(why, sizeof(why), "upgrade refused: not a valid WebSocket answer");
		conn_shutdown(c, why);
		return false;
	}
	memmove(c->in, c->in + hl, c->in_len - hl);
	c->in_len -= hl;
	opened(c);
	return c->state == WS_CONN_OPEN;
}

static void readable(struct ws_conn *c)
{
	/* Bounded: one connection cannot keep the loop to itself (level-triggered, it comes back). */
	for (int round = 0; round < 64 && c->state != WS_CONN_CLOSED; round++) {
		size_t room = (c->state == WS_CONN_OPEN ? WS_IN_MAX : WS_HTTP_HEAD_MAX) - c->in_len;
		if (room == 0) {
			conn_shutdown(c, "input buffer full");   /* cannot happen with the frame limit */
			return;
		}
		ssize_t n = conn_read(c, c->in + c->in_len, room);
		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			char why[96];
			snprintf(why, sizeof(why), "%s", n == 0 ? "end of stream" : strerror((int)-n));
			conn_shutdown(c, why);
			return;
		}
		c->in_len += (size_t)n;
		c->last_rx = loop_now(c->loop);
		if (c->state == WS_CONN_HTTP) {
			bool go_on = c->is_client ? client_head(c) : server_head(c);
			if (c->state == WS_CONN_REPLYING)
				c->in_len = 0;   /* the rest of a plain request is not read */
			if (!go_on || c->state != WS_CONN_OPEN)
				return;
		}
		if (c->state == WS_CONN_OPEN && !handle_frames(c))
			return;
	}
}

static void tls_step(struct ws_conn *c)
{
	int r = SSL_connect(c->ssl);
	if (r != 1) {
		int e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ) {
			set_events(c, EPOLLIN);
			return;
		}
		if (e == SSL_ERROR_WANT_WRITE) {
			set_events(c, EPOLLOUT);
			return;
		}
		char why[160], err[140];
		ws_tls_error(c->ssl, err, sizeof(err));
		snprintf(why, sizeof(why), "TLS: %s", err);
		conn_shutdown(c, why);
		return;
	}
	if (c->pin) {
		char why[96];
		if (ws_tls_check_pin(c->ssl, c->pin, why, sizeof(why)) < 0) {
			conn_shutdown(c, why);
			return;
		}
	}
	c->state = WS_CONN_HTTP;
	conn_flush(c);   /* the upgrade request waits in the output buffer */
}

static void connected(struct ws_conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(c->lfd.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		char why[96];
		snprintf(why, sizeof(why), "connect: %s", strerror(err));
		conn_shutdown(c, why);
		return;
	}
	if (c->ssl) {
		c->state = WS_CONN_TLS;
		tls_step(c);
		return;
	}
	c->state = WS_CONN_HTTP;
	conn_flush(c);
}

static void conn_event(struct loop_fd *lfd, uint32_t events)
{
	struct ws_conn *c = container_of(lfd, struct ws_conn, lfd);
	switch (c->state) {
	case WS_CONN_CONNECTING:
		connected(c);
		return;
	case WS_CONN_TLS:
		tls_step(c);
		return;
	case WS_CONN_CLOSED:
		return;
	default:
		break;
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		readable(c);
	if (c->state != WS_CONN_CLOSED && (events & EPOLLOUT))
		conn_flush(c);
}

static int conn_init(struct ws_conn *c, struct loop *loop, const struct ws_conn_ops *ops, int fd)
{
	c->loop = loop;
	c->ops = ops;
	c->lfd.fd = fd;
	c->lfd.cb = conn_event;
	c->flush.cb = flush_hook;
	c->closed.cb = closed_hook;
	if (!c->log_name)
		c->log_name = "ws";
	timer_init(&c->tick, tick);
	c->in = malloc(WS_IN_MAX);
	return c->in ? 0 : -ENOMEM;
}

int ws_conn_dial(struct ws_conn *c, struct loop *loop, const struct ws_conn_ops *ops,
		 const union sockaddr_inet *addr, SSL_CTX *ssl_ctx, const char *host,
		 unsigned port, const char *path, const uint8_t *pin)
{
	c->is_client = true;
	c->pin = pin;
	snprintf(c->host, sizeof(c->host), "%s", host);
	c->port = port;
	snprintf(c->path, sizeof(c->path), "%s", path);
	randombytes_buf(&c->mask_state, sizeof(c->mask_state));
	c->mask_state |= 1;
	int fd = socket(addr->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int r = conn_init(c, loop, ops, fd);
	if (r < 0)
		goto fail;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (ssl_ctx && !(c->ssl = ws_tls_new(ssl_ctx, fd, host))) {
		r = -EPROTO;
		goto fail;
	}
	/* The upgrade request waits in the output buffer for the connection (and TLS). */
	struct strbuf req;
	strbuf_init(&req);
	ws_http_new_key(c->key);
	bool default_port = port == (ssl_ctx ? 443u : 80u);
	ws_http_build_request(&req, host, default_port ? 0 : port, path, c->key);
	bool ok = !req.oom && out_append(c, req.data, req.len);
	strbuf_free(&req);
	if (!ok) {
		r = -ENOMEM;
		goto fail;
	}
	if (connect(fd, &addr->sa, sockaddr_inet_len(addr)) < 0 && errno != EINPROGRESS) {
		r = -errno;
		goto fail;
	}
	c->state = WS_CONN_CONNECTING;
	if (loop_add_fd(loop, &c->lfd, EPOLLOUT) < 0) {
		r = -errno;
		goto fail;
	}
	c->events = EPOLLOUT;
	arm_tick(c, WS_HANDSHAKE_TIMEOUT_S);
	return 0;
fail:
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	close(fd);
	c->lfd.fd = -1;
	return r;
}

int ws_conn_accept(struct ws_conn *c, struct loop *loop, const struct ws_conn_ops *ops, int fd)
{
	int r = conn_init(c, loop, ops, fd);
	if (r < 0)
		return r;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->state = WS_CONN_HTTP;
	if (loop_add_fd(loop, &c->lfd, EPOLLIN) < 0) {
		c->lfd.fd = -1;
		return -errno;
	}
	c->events = EPOLLIN;
	arm_tick(c, WS_HANDSHAKE_TIMEOUT_S);
	return 0;
}

void ws_conn_free(struct ws_conn *c)
{
	if (c->loop) {
		timer_cancel(c->loop, &c->tick);
		loop_cancel_deferred(c->loop, &c->flush);
		loop_cancel_deferred(c->loop, &c->closed);
	}
	if (c->ssl)
		SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->lfd.fd >= 0 && c->loop) {
		loop_del_fd(c->loop, &c->lfd);
		close(c->lfd.fd);
	}
	c->lfd.fd = -1;
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
}
