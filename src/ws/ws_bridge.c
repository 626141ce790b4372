#include "ws/ws_bridge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "core/log.h"
#include "core/loop.h"
#include "ip/addr.h"
#include "ws/ws_conn.h"
#include "ws/ws_http.h"
#include "ws/ws_tls.h"

#define BRIDGE_MAX_CONNS 64
#define BRIDGE_DGRAM_MAX 65536

struct bridge;

/* A WebSocket connection and, on the listening side, its own UDP socket to the target. */
struct bridge_conn {
	struct ws_conn ws;
	struct bridge *b;
	struct loop_fd udp;              /* listening side only; fd -1 otherwise */
	struct bridge_conn *next;
	char log_name[300];
};

struct bridge {
	struct loop loop;
	bool listening;
	/* UDP in, WebSocket out */
	struct loop_fd udp;
	union sockaddr_inet last_src;
	bool have_src;
	struct ws_url url;
	union sockaddr_inet url_addr;
	bool has_pin;
	uint8_t pin[32];
	struct bridge_conn *dialer;      /* the connection now, or NULL */
	struct timer retry;
	unsigned failures;
	/* WebSocket in, UDP out */
	struct loop_fd listener;
	union sockaddr_inet target;
	struct bridge_conn *conns;
	unsigned n_conns;
	uint64_t relayed_up, relayed_down, dropped;
};

static uint8_t dgram[BRIDGE_DGRAM_MAX];

static int parse_hostport(const char *text, const char *default_host, union sockaddr_inet *out)
{
	char host[64];
	const char *port_text = text;
	const char *colon = strrchr(text, ':');
	if (colon) {
		size_t hlen = (size_t)(colon - text);
		const char *h = text;
		if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']')
			h++, hlen -= 2;
		if (hlen == 0 || hlen >= sizeof(host))
			return -1;
		memcpy(host, h, hlen);
		host[hlen] = '\0';
		port_text = colon + 1;
	} else {
		snprintf(host, sizeof(host), "%s", default_host);
	}
	char *end;
	unsigned long port = strtoul(port_text, &end, 10);
	struct ip_addr ip;
	if (*port_text == '\0' || *end || port == 0 || port > 65535 || ip_addr_parse(host, &ip) != 0)
		return -1;
	sockaddr_inet_from_ip(out, &ip, (uint16_t)port);
	return 0;
}

static void conn_free(struct bridge_conn *c)
{
	struct bridge *b = c->b;
	for (struct bridge_conn **pp = &b->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			b->n_conns--;
			break;
		}
	}
	if (c->udp.fd >= 0) {
		loop_del_fd(&b->loop, &c->udp);
		close(c->udp.fd);
	}
	if (b->dialer == c)
		b->dialer = NULL;
	ws_conn_free(&c->ws);
	free(c);
}

/* ---- UDP in, WebSocket out ---- */

static void dial(struct bridge *b);

static void retry_timer(struct timer *t)
{
	dial(container_of(t, struct bridge, retry));
}

static void schedule_dial(struct bridge *b, uint64_t ms)
{
	timer_arm(&b->loop, &b->retry, loop_now(&b->loop) + ms * NSEC_PER_MSEC, 20 * NSEC_PER_MSEC);
}

static void ws_opened(struct ws_conn *ws)
{
	struct bridge_conn *c = container_of(ws, struct bridge_conn, ws);
	if (c->b->dialer == c)
		c->b->failures = 0;
}

static void ws_message(struct ws_conn *ws, uint8_t *data, size_t len)
{
	struct bridge_conn *c = container_of(ws, struct bridge_conn, ws);
	struct bridge *b = c->b;
	ssize_t n;
	if (c->udp.fd >= 0)
		n = send(c->udp.fd, data, len, MSG_DONTWAIT);
	else if (b->have_src)
		n = sendto(b->udp.fd, data, len, MSG_DONTWAIT, &b->last_src.sa,
			   sockaddr_inet_len(&b->last_src));
	else
		n = -1;
	if (n < 0)
		b->dropped++;
	else
		b->relayed_down++;
}

static void ws_page(struct ws_conn *ws, const char *path, struct strbuf *body)
{
	struct bridge_conn *c = container_of(ws, struct bridge_conn, ws);
	char t[SOCKADDR_INET_STRLEN];
	strbuf_printf(body, "rrctl bridge: WebSocket to UDP %s, %u connection(s)\n",
		      sockaddr_inet_format(&c->b->target, t, sizeof(t)), c->b->n_conns);
}

static void ws_closed(struct ws_conn *ws)
{
	struct bridge_conn *c = container_of(ws, struct bridge_conn, ws);
	struct bridge *b = c->b;
	bool was_dialer = b->dialer == c;
	bool carried = ws->rx_messages || ws->tx_messages;
	conn_free(c);
	if (!was_dialer)
		return;
	uint64_t ms = carried ? 500 : 1000ull << (b->failures < 5 ? b->failures : 5);
	b->failures++;
	schedule_dial(b, ms > 30000 ? 30000 : ms);
}

static const struct ws_conn_ops bridge_ops = {
	.on_open = ws_opened,
	.on_message = ws_message,
	.on_page = ws_page,
	.on_closed = ws_closed,
};

static struct bridge_conn *conn_new(struct bridge *b)
{
	struct bridge_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->b = b;
	c->udp.fd = -1;
	c->ws.lfd.fd = -1;
	c->ws.log_name = c->log_name;
	c->next = b->conns;
	b->conns = c;
	b->n_conns++;
	return c;
}

static void dial(struct bridge *b)
{
	if (b->dialer)
		return;
	SSL_CTX *ctx = NULL;
	struct bridge_conn *c = conn_new(b);
	if (!c || (b->url.tls && !(ctx = ws_tls_client_ctx()))) {
		if (c)
			conn_free(c);
		schedule_dial(b, 1000);
		return;
	}
	snprintf(c->log_name, sizeof(c->log_name), "bridge to %s", b->url.host);
	b->dialer = c;
	int r = ws_conn_dial(&c->ws, &b->loop, &bridge_ops, &b->url_addr, ctx, b->url.host,
			     b->url.port, b->url.path, b->has_pin ? b->pin : NULL);
	if (r < 0) {
		log_warn("bridge: cannot connect: %s", strerror(-r));
		conn_free(c);
		schedule_dial(b, 1000);
	}
}

static void udp_in(struct loop_fd *lfd, uint32_t events)
{
	struct bridge *b = container_of(lfd, struct bridge, udp);
	for (int i = 0; i < 64; i++) {
		union sockaddr_inet src;
		socklen_t sl = sizeof(src);
		ssize_t n = recvfrom(lfd->fd, dgram, sizeof(dgram), MSG_DONTWAIT, &src.sa, &sl);
		if (n < 0)
			return;
		b->last_src = src;
		b->have_src = true;
		if (!b->dialer || ws_conn_send(&b->dialer->ws, dgram, (size_t)n) < 0)
			b->dropped++;
		else
			b->relayed_up++;
	}
}

/* ---- WebSocket in, UDP out ---- */

static void conn_udp_in(struct loop_fd *lfd, uint32_t events)
{
	struct bridge_conn *c = container_of(lfd, struct bridge_conn, udp);
	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(lfd->fd, dgram, sizeof(dgram), MSG_DONTWAIT);
		if (n < 0)
			return;
		if (ws_conn_send(&c->ws, dgram, (size_t)n) < 0)
			c->b->dropped++;
		else
			c->b->relayed_up++;
	}
}

static void accept_conns(struct loop_fd *lfd, uint32_t events)
{
	struct bridge *b = container_of(lfd, struct bridge, listener);
	for (int i = 0; i < 16; i++) {
		int fd = accept4(lfd->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct bridge_conn *c = NULL;
		if (b->n_conns >= BRIDGE_MAX_CONNS || !(c = conn_new(b))) {
			close(fd);
			continue;
		}
		snprintf(c->log_name, sizeof(c->log_name), "bridge connection %d", fd);
		c->udp.cb = conn_udp_in;
		c->udp.fd = socket(b->target.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->udp.fd < 0 ||
		    connect(c->udp.fd, &b->target.sa, sockaddr_inet_len(&b->target)) < 0 ||
		    loop_add_fd(&b->loop, &c->udp, EPOLLIN) < 0) {
			log_warn("bridge: UDP socket to the target: %s", strerror(errno));
			if (c->udp.fd >= 0)
				close(c->udp.fd);
			c->udp.fd = -1;
			close(fd);
			conn_free(c);
			continue;
		}
		if (ws_conn_accept(&c->ws, &b->loop, &bridge_ops, fd) < 0) {
			close(fd);
			conn_free(c);
		}
	}
}

static int bind_socket(int type, const union sockaddr_inet *a)
{
	int fd = socket(a->sa.sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, &a->sa, sockaddr_inet_len(a)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 64) < 0)) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: rrctl bridge [--pin sha256/BASE64] [ADDR:]PORT ws[s]://HOST[:PORT]/PATH\n"
		"         UDP on ADDR:PORT (default 127.0.0.1) to and from the WebSocket URL\n"
		"       rrctl bridge --listen [ADDR:]PORT HOST:PORT\n"
		"         WebSocket upgrades on ADDR:PORT (default 0.0.0.0), each relayed to UDP HOST:PORT\n");
	return 2;
}

int ws_bridge_main(int argc, char **argv)
{
	static struct bridge b;
	const char *pin = NULL;
	int i = 0;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--pin") == 0 && i + 1 < argc)
			pin = argv[++i];
		else if (strcmp(argv[i], "--listen") == 0)
			b.listening = true;
		else
			return usage();
	}
	if (argc - i != 2)
		return usage();
	const char *local = argv[i], *remote = argv[i + 1];
	if (sodium_init() < 0 || loop_init(&b.loop) < 0) {
		fprintf(stderr, "rrctl bridge: cannot initialise\n");
		return 1;
	}
	b.udp.fd = b.listener.fd = -1;
	union sockaddr_inet la;
	if (parse_hostport(local, b.listening ? "0.0.0.0" : "127.0.0.1", &la) < 0) {
		fprintf(stderr, "rrctl bridge: '%s' is not [ADDR:]PORT (numeric)\n", local);
		return 2;
	}
	if (b.listening) {
		if (parse_hostport(remote, "127.0.0.1", &b.target) < 0) {
			fprintf(stderr, "rrctl bridge: '%s' is not HOST:PORT (numeric)\n", remote);
			return 2;
		}
		b.listener.cb = accept_conns;
		b.listener.fd = bind_socket(SOCK_STREAM, &la);
		if (b.listener.fd < 0 || loop_add_fd(&b.loop, &b.listener, EPOLLIN) < 0) {
			fprintf(stderr, "rrctl bridge: listening on %s: %s\n", local, strerror(errno));
			return 1;
		}
		log_info("bridge: WebSocket on %s to UDP %s", local, remote);
	} else {
		const char *why = "";
		struct ip_addr ip;
		if (ws_url_parse(remote, &b.url, &why) < 0) {
			fprintf(stderr, "rrctl bridge: %s: %s\n", remote, why);
			return 2;
		}
		if (ip_addr_parse(b.url.host, &ip) != 0) {
			fprintf(stderr, "rrctl bridge: %s: the host must be an IP address here\n", remote);
			return 2;
		}
		sockaddr_inet_from_ip(&b.url_addr, &ip, (uint16_t)b.url.port);
		if (pin) {
			size_t n = 0;
			if (strncmp(pin, "sha256/", 7) != 0 ||
			    sodium_base642bin(b.pin, sizeof(b.pin), pin + 7, strlen(pin + 7), NULL, &n,
					      NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || n != 32) {
				fprintf(stderr, "rrctl bridge: --pin wants sha256/ and 32 bytes in base64\n");
				return 2;
			}
			b.has_pin = true;
		}
		b.udp.cb = udp_in;
		b.udp.fd = bind_socket(SOCK_DGRAM, &la);
		if (b.udp.fd < 0 || loop_add_fd(&b.loop, &b.udp, EPOLLIN) < 0) {
			fprintf(stderr, "rrctl bridge: UDP %s: %s\n", local, strerror(errno));
			return 1;
		}
		timer_init(&b.retry, retry_timer);
		dial(&b);
		log_info("bridge: UDP %s to %s", local, remote);
	}
	int r = loop_run(&b.loop);
	return r < 0 ? 1 : 0;
}
