/*
 * The metrics HTTP listener (ctl/metrics_http.h). A client's life: accepted
 * (or refused with a 503 when the slots are full), its request head read
 * into a fixed buffer until the blank line, the reply built in one go, sent
 * as the socket takes it, then closed. A deadline armed at accept bounds the
 * whole exchange; nothing here waits on a client.
 */
#include "ctl/metrics_http.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/http_line.h"
#include "core/log.h"
#include "core/strbuf.h"

static bool has_prefix(const char *buf, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && memcmp(buf, prefix, n) == 0;
}

enum metrics_http_verdict metrics_http_parse(const char *buf, size_t len, bool *head_only)
{
	*head_only = false;
	/* The head ends with an empty line; bare LF line ends are tolerated (RFC 9112 2.2). */
	bool complete = false;
	for (size_t i = 0; i + 1 < len && !complete; i++)
		complete = (buf[i] == '\n' && buf[i + 1] == '\n') ||
			   (i + 3 < len && memcmp(buf + i, "\r\n\r\n", 4) == 0);
	if (!complete)
		return METRICS_HTTP_INCOMPLETE;

	struct http_request_line rl;
	if (!http_request_line_parse(buf, len, &rl))
		return METRICS_HTTP_BAD_REQUEST;
	size_t method_len = rl.method_len, target_len = rl.target_len;
	const char *target = rl.target;
	if (method_len == 4 && memcmp(buf, "HEAD", 4) == 0)
		*head_only = true;
	else if (!(method_len == 3 && memcmp(buf, "GET", 3) == 0))
		return METRICS_HTTP_BAD_METHOD;
	/* "/metrics", optionally with a query (Prometheus adds none, curl users might). */
	if (has_prefix(target, target_len, "/metrics") &&
	    (target_len == 8 || target[8] == '?'))
		return METRICS_HTTP_OK;
	return METRICS_HTTP_NOT_FOUND;
}

bool metrics_http_addr_is_loopback(const union sockaddr_inet *a)
{
	if (a->sa.sa_family == AF_INET)
		return (ntohl(a->in4.sin_addr.s_addr) >> 24) == 127;
	if (a->sa.sa_family == AF_INET6) {
		const struct in6_addr *x = &a->in6.sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(x))
			return true;
		return IN6_IS_ADDR_V4MAPPED(x) && x->s6_addr[12] == 127;
	}
	return false;
}

static void build_reply(struct oneshot_client *c, enum metrics_http_verdict v, bool head_only)
{
	struct metrics_http *h = container_of(c->srv, struct metrics_http, clients);
	struct strbuf body;
	strbuf_init(&body);
	const char *status = "200 OK";
	const char *type = "text/plain; version=0.0.4; charset=utf-8";
	const char *extra = "";
	switch (v) {
	case METRICS_HTTP_OK: {
		struct metrics_sources src = h->src;
		src.uptime_ns = loop_now(h->loop) - h->started_at;
		metrics_render(&body, &src);
		break;
	}
	case METRICS_HTTP_NOT_FOUND:
		status = "404 Not Found";
		type = "text/plain; charset=utf-8";
		strbuf_puts(&body, "rrouted serves only /metrics here\n");
		break;
	case METRICS_HTTP_BAD_METHOD:
		status = "405 Method Not Allowed";
		type = "text/plain; charset=utf-8";
		extra = "Allow: GET, HEAD\r\n";
		strbuf_puts(&body, "only GET and HEAD\n");
		break;
	default:
		status = "400 Bad Request";
		type = "text/plain; charset=utf-8";
		strbuf_puts(&body, "not an HTTP/1.x request, or its head is too long\n");
		break;
	}
	if (body.oom) {
		strbuf_reset(&body);
		status = "503 Service Unavailable";
		type = "text/plain; charset=utf-8";
		strbuf_puts(&body, "out of memory building the reply\n");
	}
	strbuf_printf(&c->out, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
			       "Connection: close\r\n\r\n", status, type, body.len, extra);
	if (!head_only && body.len)
		strbuf_append(&c->out, body.data, body.len);
	strbuf_free(&body);
}

/* Reads the request head (oneshot_server.read_request): 1 once the reply is in c->out. */
static int client_read_request(struct oneshot_client *c)
{
	size_t cap = METRICS_HTTP_REQUEST_MAX;
	ssize_t n = recv(c->lfd.fd, c->in + c->in_len, cap - c->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;   /* gone (or broken) before a whole request */
	c->in_len += (size_t)n;
	bool head_only = false;
	enum metrics_http_verdict v = metrics_http_parse(c->in, c->in_len, &head_only);
	if (v == METRICS_HTTP_INCOMPLETE && c->in_len < cap)
		return 0;
	if (v == METRICS_HTTP_INCOMPLETE)
		v = METRICS_HTTP_BAD_REQUEST;   /* head longer than the buffer */
	build_reply(c, v, head_only);
	return c->out.oom ? -1 : 1;
}

static void client_timed_out(struct oneshot_client *c)
{
	log_debug("metrics listener: closing a client idle for %d s", METRICS_HTTP_TIMEOUT_S);
}

static void server_accept(struct loop_fd *lfd, uint32_t events)
{
	struct metrics_http *h = container_of(lfd, struct metrics_http, lfd);
	for (;;) {
		int fd = accept4(lfd->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn("metrics listener: accept: %s", strerror(errno));
			if (errno == ECONNABORTED || errno == EINTR)
				continue;
			return;
		}
		int r = oneshot_add(&h->clients, fd);
		if (r == -EBUSY || r == -ENOMEM) {
			static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
						   "Content-Length: 0\r\nConnection: close\r\n\r\n";
			(void)!send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
			h->refused++;
		}
		if (r < 0)
			close(fd);
	}
}

int metrics_http_open(struct metrics_http *h, struct loop *loop, const union sockaddr_inet *addr,
		      const struct metrics_sources *src)
{
	char name[SOCKADDR_INET_STRLEN];
	sockaddr_inet_format(addr, name, sizeof(name));
	*h = (struct metrics_http){ .loop = loop, .src = *src, .started_at = loop_now(loop) };
	h->clients = (struct oneshot_server){
		.loop = loop, .max_clients = METRICS_HTTP_MAX_CLIENTS,
		.request_max = METRICS_HTTP_REQUEST_MAX,
		.timeout_ns = METRICS_HTTP_TIMEOUT_S * NSEC_PER_SEC,
		.read_request = client_read_request, .timed_out = client_timed_out,
	};
	h->lfd.fd = -1;
	h->lfd.cb = server_accept;
	if (!metrics_http_addr_is_loopback(addr)) {
		log_error("metrics = %s: only a loopback address may serve the metrics", name);
		return -EPERM;
	}
	int fd = socket(addr->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int err = errno;
		log_error("metrics listener %s: socket: %s", name, strerror(err));
		return -err;
	}
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, &addr->sa, sockaddr_inet_len(addr)) < 0 || listen(fd, 16) < 0) {
		int err = errno;
		log_error("metrics listener %s: %s", name, strerror(err));
		close(fd);
		return -err;
	}
	h->lfd.fd = fd;
	if (loop_add_fd(loop, &h->lfd, EPOLLIN) < 0) {
		int err = errno;
		log_error("metrics listener %s: %s", name, strerror(err));
		close(fd);
		h->lfd.fd = -1;
		return -err;
	}
	log_info("metrics: http://%s/metrics", name);
	return 0;
}

void metrics_http_close(struct metrics_http *h)
{
	if (!h->loop)
		return;
	oneshot_drop_all(&h->clients);
	if (h->lfd.fd >= 0) {
		loop_del_fd(h->loop, &h->lfd);
		close(h->lfd.fd);
		h->lfd.fd = -1;
	}
}
