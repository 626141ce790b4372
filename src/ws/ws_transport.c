#include "ws/ws_transport.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "ip/fib.h"
#include "ip/router.h"
#include "wg/datapath.h"
#include "wg/device.h"
#include "wg/messages.h"
#include "wg/peer.h"
#include "ws/ws_conn.h"
#include "ws/ws_frame.h"
#include "ws/ws_http.h"
#include "ws/ws_tls.h"

#define RESOLVE_POLL_MS 50
#define RESOLVE_TIMEOUT_S 10
#define BACKOFF_MAX_MS 30000
/* An accepted connection no peer has moved onto after this long is closed (it holds a slot). */
#define UNUSED_PATH_TIMEOUT_S 30
#define SWEEP_INTERVAL_S 10

struct ws_iface;
struct ws_dialer;

/* One connection and the path address the device knows it by. */
struct ws_path {
	struct ws_conn conn;
	struct ws_iface *wi;
	struct ws_dialer *dialer;        /* NULL: accepted */
	union sockaddr_inet addr;
	struct ws_path *next;
	uint64_t created;               /* loop time it was made */
	char log_name[320];
};

/* getaddrinfo_a state, on the heap: glibc may still write to it after a failed cancel. */
struct resolve {
	struct gaicb cb;
	struct gaicb *list[1];
	struct addrinfo hints;
	char service[8];
};

struct ws_dialer {
	struct ws_iface *wi;
	struct ws_dialer *next;
	uint8_t peer_key[CRYPTO_KEY_LEN];
	char url_text[256];
	struct ws_url url;
	bool has_pin;
	uint8_t pin[32];
	union sockaddr_inet path_addr;
	struct ws_path *path;            /* the connection now, in any state, or NULL */
	struct timer retry;
	unsigned failures;
	struct resolve *resolving;
	uint64_t resolve_deadline;
	bool seen;                       /* apply: still in the config */
	char log_name[320];
};

struct ws_listener {
	struct loop_fd lfd;
	struct ws_iface *wi;
	union sockaddr_inet addr;
	bool any;
};

struct ws_iface {
	struct wg_device *dev;
	struct ws_listener listener;     /* fd -1 when none */
	struct ws_path *paths;
	unsigned n_accepted;
	struct ws_dialer *dialers;
	uint64_t refused;
	struct timer sweep;              /* closes accepted connections no peer uses */
};

static uint64_t next_path_id = 1;

static const struct ws_conn_ops path_ops;

static struct ws_iface *iface_of(struct wg_device *dev)
{
	return dev->transport;
}

static const char *dev_name(const struct ws_iface *wi)
{
	return wi->dev->netif.name;
}

/* ---- paths ---- */

static struct ws_path *path_new(struct ws_iface *wi, struct ws_dialer *d)
{
	struct ws_path *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->wi = wi;
	p->dialer = d;
	p->conn.lfd.fd = -1;
	if (d) {
		p->addr = d->path_addr;
		snprintf(p->log_name, sizeof(p->log_name), "%s", d->log_name);
	} else {
		wg_transport_path_addr(&p->addr, next_path_id++);
		snprintf(p->log_name, sizeof(p->log_name), "%s: ws path %llu", dev_name(wi),
			 (unsigned long long)(next_path_id - 1));
	}
	p->conn.log_name = p->log_name;
	p->created = loop_now(wi->dev->loop);
	p->next = wi->paths;
	wi->paths = p;
	if (!d)
		wi->n_accepted++;
	return p;
}

static void path_free(struct ws_path *p)
{
	struct ws_iface *wi = p->wi;
	for (struct ws_path **pp = &wi->paths; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	if (!p->dialer)
		wi->n_accepted--;
	else if (p->dialer->path == p)
		p->dialer->path = NULL;
	ws_conn_free(&p->conn);
	free(p);
}

static struct ws_path *path_by_addr(struct ws_iface *wi, const union sockaddr_inet *a)
{
	for (struct ws_path *p = wi->paths; p; p = p->next)
		if (memcmp(&p->addr.in6.sin6_addr, &a->in6.sin6_addr, 16) == 0)
			return p;
	return NULL;
}

/* ---- dialers ---- */

static void dialer_schedule(struct ws_dialer *d, uint64_t delay_ms)
{
	struct loop *loop = d->wi->dev->loop;
	timer_arm(loop, &d->retry, loop_now(loop) + delay_ms * NSEC_PER_MSEC, 20 * NSEC_PER_MSEC);
}

static void dialer_failed(struct ws_dialer *d)
{
	uint64_t ms = 1000ull << (d->failures < 5 ? d->failures : 5);
	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	d->failures++;
	dialer_schedule(d, ms);
}

static void dialer_connect(struct ws_dialer *d, const union sockaddr_inet *addr)
{
	struct ws_iface *wi = d->wi;
	SSL_CTX *ctx = NULL;
	if (d->url.tls && !(ctx = ws_tls_client_ctx())) {
		dialer_failed(d);
		return;
	}
	struct ws_path *p = path_new(wi, d);
	if (!p) {
		dialer_failed(d);
		return;
	}
	d->path = p;
	char name[SOCKADDR_INET_STRLEN];
	log_debug("%s: connecting to %s", d->log_name, sockaddr_inet_format(addr, name, sizeof(name)));
	int r = ws_conn_dial(&p->conn, wi->dev->loop, &path_ops, addr, ctx, d->url.host, d->url.port,
			     d->url.path, d->has_pin ? d->pin : NULL);
	if (r < 0) {
		log_warn("%s: cannot connect to %s: %s", d->log_name, name, strerror(-r));
		path_free(p);
		dialer_failed(d);
	}
}

static void resolve_free(struct resolve *rs)
{
	if (rs->cb.ar_result)
		freeaddrinfo(rs->cb.ar_result);
	free(rs);
}

static void resolve_abandon(struct ws_dialer *d)
{
	if (!d->resolving)
		return;
	/* A lookup glibc cannot cancel still writes to its gaicb: that one is left behind. */
	if (gai_cancel(&d->resolving->cb) != EAI_NOTCANCELED)
		resolve_free(d->resolving);
	d->resolving = NULL;
}

static void resolve_done(struct ws_dialer *d)
{
	struct resolve *rs = d->resolving;
	int e = gai_error(&rs->cb);
	if (e == EAI_INPROGRESS) {
		if (loop_now(d->wi->dev->loop) > d->resolve_deadline) {
			log_warn("%s: cannot resolve %s: no answer in %d s", d->log_name, d->url.host,
				 RESOLVE_TIMEOUT_S);
			resolve_abandon(d);
			dialer_failed(d);
			return;
		}
		dialer_schedule(d, RESOLVE_POLL_MS);
		return;
	}
	d->resolving = NULL;
	const struct addrinfo *ai = NULL;
	if (e == 0)
		for (ai = rs->cb.ar_result; ai; ai = ai->ai_next)
			if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
			    ai->ai_addrlen <= sizeof(union sockaddr_inet))
				break;
	if (!ai) {
		log_warn("%s: cannot resolve %s: %s", d->log_name, d->url.host,
			 e ? gai_strerror(e) : "no IPv4 or IPv6 address");
		resolve_free(rs);
		dialer_failed(d);
		return;
	}
	union sockaddr_inet addr;
	memset(&addr, 0, sizeof(addr));
	memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
	resolve_free(rs);
	dialer_connect(d, &addr);
}

static void dialer_retry(struct timer *t)
{
	struct ws_dialer *d = container_of(t, struct ws_dialer, retry);
	if (d->resolving) {
		resolve_done(d);
		return;
	}
	if (d->path)
		return;
	/* Numeric hosts connect at once; names are looked up without blocking the loop. */
	union sockaddr_inet addr;
	struct ip_addr ip;
	memset(&addr, 0, sizeof(addr));
	if (ip_addr_parse(d->url.host, &ip) == 0) {
		sockaddr_inet_from_ip(&addr, &ip, (uint16_t)d->url.port);
		dialer_connect(d, &addr);
		return;
	}
	struct resolve *rs = calloc(1, sizeof(*rs));
	if (!rs) {
		dialer_failed(d);
		return;
	}
	rs->hints.ai_socktype = SOCK_STREAM;
	rs->hints.ai_family = AF_UNSPEC;
	snprintf(rs->service, sizeof(rs->service), "%u", d->url.port);
	rs->cb.ar_name = d->url.host;   /* the dialer outlives the lookup or abandons it */
	rs->cb.ar_service = rs->service;
	rs->cb.ar_request = &rs->hints;
	rs->list[0] = &rs->cb;
	int r = getaddrinfo_a(GAI_NOWAIT, rs->list, 1, NULL);
	if (r != 0) {
		log_warn("%s: cannot resolve %s: %s", d->log_name, d->url.host, gai_strerror(r));
		free(rs);
		dialer_failed(d);
		return;
	}
	d->resolving = rs;
	d->resolve_deadline = loop_now(d->wi->dev->loop) + RESOLVE_TIMEOUT_S * NSEC_PER_SEC;
	dialer_schedule(d, RESOLVE_POLL_MS);
}

static void dialer_free(struct ws_dialer *d)
{
	timer_cancel(d->wi->dev->loop, &d->retry);
	if (d->resolving) {
		/* ar_name points into the dialer: wait for a lookup that cannot be cancelled. */
		if (gai_cancel(&d->resolving->cb) == EAI_NOTCANCELED) {
			const struct gaicb *list[1] = { &d->resolving->cb };
			struct timespec ts = { RESOLVE_TIMEOUT_S, 0 };
			gai_suspend(list, 1, &ts);
		}
		if (gai_error(&d->resolving->cb) != EAI_INPROGRESS)
			resolve_free(d->resolving);
		d->resolving = NULL;
	}
	if (d->path) {
		d->path->dialer = NULL;   /* becomes an orphan path: freed below */
		d->wi->n_accepted++;      /* path_free counts it out as an accepted one */
		path_free(d->path);
	}
	free(d);
}

static struct wg_peer *dialer_peer(struct ws_dialer *d)
{
	return wg_device_peer_by_key(d->wi->dev, d->peer_key);
}

/* ---- connection callbacks ---- */

static void path_open(struct ws_conn *c)
{
	struct ws_path *p = container_of(c, struct ws_path, conn);
	if (!p->dialer)
		return;
	p->dialer->failures = 0;
	struct wg_peer *peer = dialer_peer(p->dialer);
	/* Tells the other side this new path at once (a handshake when there is no session). */
	if (peer && p->wi->dev->identity.has_identity) {
		if (!peer->has_endpoint || !wg_transport_is_path(&peer->endpoint))
			wg_peer_configure_endpoint(peer, &p->addr);
		wg_send_keepalive(peer);
	}
}

static void path_message(struct ws_conn *c, uint8_t *data, size_t len)
{
	struct ws_path *p = container_of(c, struct ws_path, conn);
	struct wg_device *dev = p->wi->dev;
	const size_t offset = PBUF_HEADROOM - MESSAGE_DATA_HEADER_LEN;
	if (len > PBUF_SIZE - offset) {
		netif_drop(&dev->netif, DROP_TRUNCATED);
		return;
	}
	struct pbuf *b = pbuf_alloc();
	if (!b) {
		netif_drop(&dev->netif, DROP_NOMEM);
		return;
	}
	pbuf_reset(b, offset);
	memcpy(pbuf_data(b), data, len);
	b->len = (uint16_t)len;
	wg_receive(dev, b, &p->addr);
}

static void render_device(struct strbuf *out, struct wg_device *dev, uint64_t now_real)
{
	struct ws_iface *wi = iface_of(dev);
	strbuf_printf(out, "\ninterface %s: public key %s, UDP port %u", dev->netif.name,
		      dev->public_key_b64, dev->listen_port);
	if (wi && wi->listener.lfd.fd >= 0)
		strbuf_printf(out, ", WebSocket port %u",
			      wg_device_bound_port(wi->listener.lfd.fd));
	strbuf_printf(out, ", %zu peer(s)\n", dev->n_peers);
	for (size_t i = 0; i < dev->n_peers; i++) {
		const struct wg_peer *peer = dev->peers[i];
		strbuf_printf(out, "  peer %s: latest handshake ", peer->public_key_b64);
		if (peer->walltime_last_handshake && now_real >= peer->walltime_last_handshake)
			strbuf_printf(out, "%llu s ago",
				      (unsigned long long)((now_real - peer->walltime_last_handshake) /
							   NSEC_PER_SEC));
		else
			strbuf_puts(out, "never");
		strbuf_printf(out, ", over %s\n",
			      peer->has_endpoint && wg_transport_is_path(&peer->endpoint)
			      ? "WebSocket" : peer->has_endpoint ? "UDP" : "nothing yet");
	}
}

static void path_page(struct ws_conn *c, const char *path, struct strbuf *body)
{
	struct ws_path *p = container_of(c, struct ws_path, conn);
	struct wg_device *self = p->wi->dev;
	struct ip_router *r = self->netif.router;
	char host[256] = "?";
	gethostname(host, sizeof(host) - 1);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t now_real = (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
	strbuf_printf(body, "rrouted on %s\n", host);
	if (!r) {
		render_device(body, self, now_real);
		return;
	}
	strbuf_puts(body, "interfaces:");
	for (size_t i = 0; i < r->n_netifs; i++)
		strbuf_printf(body, " %s", r->netifs[i]->name);
	strbuf_printf(body, "\nroutes: %zu IPv4, %zu IPv6\n", fib_count(r->fib, AF_INET),
		      fib_count(r->fib, AF_INET6));
	for (size_t i = 0; i < r->n_netifs; i++)
		if (r->netifs[i]->ops && r->netifs[i]->ops->kind == NETIF_KIND_WIREGUARD)
			render_device(body, wg_device_of_netif(r->netifs[i]), now_real);
}

static void path_closed(struct ws_conn *c)
{
	struct ws_path *p = container_of(c, struct ws_path, conn);
	struct ws_dialer *d = p->dialer;
	bool was_open = c->rx_messages || c->tx_messages;
	path_free(p);
	if (!d)
		return;
	if (was_open)
		dialer_schedule(d, 500);   /* it worked a moment ago: try again soon */
	else
		dialer_failed(d);
}

static const struct ws_conn_ops path_ops = {
	.on_open = path_open,
	.on_message = path_message,
	.on_page = path_page,
	.on_closed = path_closed,
};

/* ---- listener ---- */

static void listener_accept(struct loop_fd *lfd, uint32_t events)
{
	struct ws_listener *l = container_of(lfd, struct ws_listener, lfd);
	struct ws_iface *wi = l->wi;
	for (int round = 0; round < 64; round++) {
		int fd = accept4(lfd->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == ECONNABORTED || errno == EINTR)
				continue;
			if (errno != EAGAIN)
				log_warn("%s: WebSocket accept: %s", dev_name(wi), strerror(errno));
			return;
		}
		struct ws_path *p = NULL;
		if (wi->n_accepted >= WS_LISTEN_MAX_CONNS || !(p = path_new(wi, NULL))) {
			static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
						   "Content-Length: 0\r\nConnection: close\r\n\r\n";
			(void)!send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
			close(fd);
			wi->refused++;
			continue;
		}
		int r = ws_conn_accept(&p->conn, wi->dev->loop, &path_ops, fd);
		if (r < 0) {
			close(fd);
			path_free(p);
		}
	}
}

static void listener_close(struct ws_listener *l, struct loop *loop)
{
	if (l->lfd.fd < 0)
		return;
	loop_del_fd(loop, &l->lfd);
	close(l->lfd.fd);
	l->lfd.fd = -1;
}

/* A bound, listening socket for addr (any: [::] dual-stack, else 0.0.0.0). fd or -errno. */
static int listen_socket(const union sockaddr_inet *addr, bool any)
{
	union sockaddr_inet a = *addr;
	int fd = socket(a.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 && any && errno == EAFNOSUPPORT) {
		uint16_t port = a.in6.sin6_port;
		memset(&a, 0, sizeof(a));
		a.in4.sin_family = AF_INET;
		a.in4.sin_port = port;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd < 0)
		return -errno;
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a.sa.sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, any ? &zero : &one, sizeof(int));
	if (bind(fd, &a.sa, sockaddr_inet_len(&a)) < 0 || listen(fd, 64) < 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

static bool path_in_use(const struct ws_path *p)
{
	const struct wg_device *dev = p->wi->dev;
	for (size_t i = 0; i < dev->n_peers; i++)
		if (dev->peers[i]->has_endpoint &&
		    memcmp(&dev->peers[i]->endpoint.in6.sin6_addr, &p->addr.in6.sin6_addr, 16) == 0 &&
		    dev->peers[i]->endpoint.sa.sa_family == AF_INET6)
			return true;
	return false;
}

/*
 * Accepted connections that carry nobody (no peer authenticated over them, or a peer moved on
 * to a newer one) are closed, so unauthenticated clients cannot hold the slots for long.
 */
static void sweep(struct timer *t)
{
	struct ws_iface *wi = container_of(t, struct ws_iface, sweep);
	uint64_t now = loop_now(wi->dev->loop);
	for (struct ws_path *p = wi->paths; p; p = p->next)
		if (!p->dialer && p->conn.state == WS_CONN_OPEN &&
		    now - p->created > UNUSED_PATH_TIMEOUT_S * NSEC_PER_SEC && !path_in_use(p))
			ws_conn_close(&p->conn, WS_CLOSE_NORMAL, "no peer uses this connection");
	timer_arm(wi->dev->loop, &wi->sweep, now + SWEEP_INTERVAL_S * NSEC_PER_SEC, NSEC_PER_SEC);
}

/* ---- the hook ---- */

static int ws_send(struct wg_device *dev, const union sockaddr_inet *to, const void *data, size_t len)
{
	struct ws_iface *wi = iface_of(dev);
	if (!wi)
		return -ENETUNREACH;
	struct ws_path *p = path_by_addr(wi, to);
	if (!p)
		return -ENOTCONN;
	return ws_conn_send(&p->conn, data, len);
}

static void iface_free(struct ws_iface *wi)
{
	timer_cancel(wi->dev->loop, &wi->sweep);
	listener_close(&wi->listener, wi->dev->loop);
	while (wi->dialers) {
		struct ws_dialer *d = wi->dialers;
		wi->dialers = d->next;
		dialer_free(d);
	}
	while (wi->paths)
		path_free(wi->paths);
	wi->dev->transport = NULL;
	free(wi);
}

static void ws_destroy(struct wg_device *dev)
{
	if (dev->transport)
		iface_free(dev->transport);
}

static bool dialer_matches(const struct ws_dialer *d, const struct wg_peer_conf *pc)
{
	return memcmp(d->peer_key, pc->public_key, CRYPTO_KEY_LEN) == 0 &&
	       strcmp(d->url_text, pc->endpoint_text) == 0 && d->has_pin == pc->has_endpoint_pin &&
	       (!d->has_pin || memcmp(d->pin, pc->endpoint_pin, 32) == 0);
}

static struct ws_dialer *dialer_new(struct ws_iface *wi, const struct wg_peer_conf *pc)
{
	struct ws_dialer *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	const char *why;
	if (ws_url_parse(pc->endpoint_text, &d->url, &why) < 0) {
		free(d);
		return NULL;
	}
	d->wi = wi;
	memcpy(d->peer_key, pc->public_key, CRYPTO_KEY_LEN);
	snprintf(d->url_text, sizeof(d->url_text), "%s", pc->endpoint_text);
	d->has_pin = pc->has_endpoint_pin;
	memcpy(d->pin, pc->endpoint_pin, sizeof(d->pin));
	wg_transport_path_addr(&d->path_addr, next_path_id++);
	struct wg_peer *peer = wg_device_peer_by_key(wi->dev, d->peer_key);
	snprintf(d->log_name, sizeof(d->log_name), "%s: peer %u %s", dev_name(wi),
		 peer ? peer->id : 0, d->url_text);
	timer_init(&d->retry, dialer_retry);
	return d;
}

int ws_transport_apply(struct wg_device *dev, const struct wg_iface_conf *conf, char *err,
		       size_t errlen)
{
	if (wg_transport_ops() != &ws_transport_ops)
		return 0;   /* not installed: UDP only (unit tests of the device) */
	struct ws_iface *wi = iface_of(dev);
	bool wanted = conf->has_listen_ws;
	for (size_t i = 0; i < conf->n_peers && !wanted; i++)
		wanted = conf->peers[i].endpoint_is_ws;
	if (!wanted) {
		if (wi)
			iface_free(wi);
		return 0;
	}
	if (!wi) {
		wi = calloc(1, sizeof(*wi));
		if (!wi) {
			snprintf(err, errlen, "%s: out of memory", conf->path);
			return -ENOMEM;
		}
		wi->dev = dev;
		wi->listener.lfd.fd = -1;
		wi->listener.wi = wi;
		wi->listener.lfd.cb = listener_accept;
		timer_init(&wi->sweep, sweep);
		timer_arm(dev->loop, &wi->sweep, loop_now(dev->loop) + SWEEP_INTERVAL_S * NSEC_PER_SEC,
			  NSEC_PER_SEC);
		dev->transport = wi;
	}

	/* The listener: kept while its address stays. */
	struct ws_listener *l = &wi->listener;
	if (!conf->has_listen_ws) {
		listener_close(l, dev->loop);
	} else if (l->lfd.fd < 0 || l->any != conf->listen_ws_any ||
		   !sockaddr_inet_equal(&l->addr, &conf->listen_ws)) {
		char name[SOCKADDR_INET_STRLEN];
		sockaddr_inet_format(&conf->listen_ws, name, sizeof(name));
		/* The old one goes first: a new port equal to it would not bind otherwise. */
		listener_close(l, dev->loop);
		int fd = listen_socket(&conf->listen_ws, conf->listen_ws_any);
		if (fd < 0) {
			snprintf(err, errlen, "%s: ListenWebSocket %s: %s", conf->path, name,
				 strerror(-fd));
			return fd;
		}
		l->lfd.fd = fd;
		if (loop_add_fd(dev->loop, &l->lfd, EPOLLIN) < 0) {
			int e = errno;
			close(fd);
			l->lfd.fd = -1;
			snprintf(err, errlen, "%s: ListenWebSocket %s: %s", conf->path, name,
				 strerror(e));
			return -e;
		}
		l->addr = conf->listen_ws;
		l->any = conf->listen_ws_any;
		log_info("%s: WebSocket listener on port %u (status page: http://…:%u/)", dev_name(wi),
			 wg_device_bound_port(fd), wg_device_bound_port(fd));
	}

	/* Dialers: kept when peer, URL and pin stay; the others are replaced. */
	for (struct ws_dialer *d = wi->dialers; d; d = d->next)
		d->seen = false;
	for (size_t i = 0; i < conf->n_peers; i++) {
		const struct wg_peer_conf *pc = &conf->peers[i];
		if (!pc->endpoint_is_ws)
			continue;
		struct ws_dialer *d;
		for (d = wi->dialers; d; d = d->next)
			if (!d->seen && dialer_matches(d, pc))
				break;
		if (d) {
			d->seen = true;
			continue;
		}
		d = dialer_new(wi, pc);
		if (!d) {
			snprintf(err, errlen, "%s:%d: Endpoint %s: out of memory", conf->path, pc->line,
				 pc->endpoint_text);
			return -ENOMEM;
		}
		d->seen = true;
		d->next = wi->dialers;
		wi->dialers = d;
		struct wg_peer *peer = dialer_peer(d);
		if (peer)
			wg_peer_configure_endpoint(peer, &d->path_addr);
		log_info("%s: dialing", d->log_name);
		dialer_schedule(d, 0);
	}
	for (struct ws_dialer **dp = &wi->dialers; *dp;) {
		struct ws_dialer *d = *dp;
		if (d->seen) {
			dp = &d->next;
			continue;
		}
		*dp = d->next;
		log_info("%s: no longer dialed", d->log_name);
		dialer_free(d);
	}
	return 0;
}

const struct wg_transport_ops ws_transport_ops = {
	.send = ws_send,
	.destroy = ws_destroy,
};

void ws_transport_install(void)
{
	wg_transport_register(&ws_transport_ops);
}
