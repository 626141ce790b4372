/*
 * TCP sockets: the glue between the TCP engine (stack/tcp.h) and the apps'
 * socketpairs.
 *
 * A connection's bytes move in two pumps, each with backpressure:
 *   app -> TCP: we read from our end only while tcp_send has room (EPOLLIN
 *               off otherwise, back on in on_writable); EOF -> FIN.
 *   TCP -> app: we take bytes from tcp_recv only when the previous chunk was
 *               written to our end (EPOLLOUT while it is full), so a slow
 *               reader closes the TCP window; FIN -> shutdown(SHUT_WR).
 * The app closing its last copy shows as EPOLLHUP on our end: what it wrote
 * is still sent, then tcp_close().
 *
 * Non-blocking connect: until the handshake completes the app's end is kept
 * unwritable by filler bytes written from it (up to its send buffer) that sit
 * unread in our end; on_connected reads and drops exactly those, and POLLOUT
 * fires for the app at the moment a kernel socket would report it. We keep no
 * copy of the app's end, so its close shows as EPOLLHUP even then: the attempt
 * is dropped at once, as Linux drops a closed SYN-SENT socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "stack/sock_int.h"

#define CONNECT_PORT_TRIES 8

void sock_tcp_opts(const struct sock *s, struct tcp_options *o)
{
	memset(o, 0, sizeof(*o));
	o->nodelay = s->opts.nodelay;
	o->keepalive = s->opts.keepalive;
	o->keepidle_s = s->opts.keepidle;
	o->keepintvl_s = s->opts.keepintvl;
	o->keepcnt = s->opts.keepcnt;
	o->ttl = s->opts.ttl;
	o->tos = s->opts.tos;
	o->min_ttl = s->opts.min_ttl;
	o->sndbuf = s->opts.sndbuf;
	o->rcvbuf = s->opts.rcvbuf;
	o->user_timeout_ms = s->user_timeout_ms;
	o->cork = s->cork;
	o->user_mss = s->user_mss;
	o->md5 = s->md5;
}

void sock_tcp_set_options(struct sock *s)
{
	if (s->conn) {
		struct tcp_options o;
		sock_tcp_opts(s, &o);
		tcp_set_options(s->conn, &o);
	}
}


/* ---- the two pumps ---- */

static bool pending_tx(const struct sock *s) { return s->tx_off < s->tx_len; }
static bool pending_rx(const struct sock *s) { return s->rx_off < s->rx_len; }

/* app -> TCP */
static void pump_in(struct sock *s)
{
	while (s->conn && !s->app_eof && s->lfd.fd >= 0) {
		if (pending_tx(s)) {
			long n = tcp_send(s->conn, s->tx + s->tx_off, s->tx_len - s->tx_off);
			if (n < 0) {   /* the connection cannot send any more: drop what the app wrote */
				s->tx_off = s->tx_len = 0;
				s->app_eof = true;
				return;
			}
			s->tx_off += (size_t)n;
			if (pending_tx(s))
				return;   /* on_writable resumes */
			continue;
		}
		size_t space = tcp_send_space(s->conn);
		if (!space)
			return;
		if (!s->tx && !(s->tx = malloc(SOCK_TCP_CHUNK)))
			return;
		ssize_t n = read(s->lfd.fd, s->tx, space < SOCK_TCP_CHUNK ? space : SOCK_TCP_CHUNK);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			s->app_eof = true;
			tcp_shutdown_send(s->conn);
			return;
		}
		s->tx_len = (size_t)n;
		s->tx_off = 0;
	}
}

/* TCP -> app */
static void pump_out(struct sock *s)
{
	while (s->lfd.fd >= 0) {
		if (pending_rx(s)) {
			ssize_t n = send(s->lfd.fd, s->rx + s->rx_off, s->rx_len - s->rx_off,
					 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			if (n <= 0) {   /* the app shut its reading side or is gone: discard */
				s->rx_off = s->rx_len = 0;
				s->app_closed = true;
				continue;
			}
			s->rx_off += (size_t)n;
			continue;
		}
		if (!s->conn || s->tcp_eof || !s->connected)
			return;
		if (!s->rx && !(s->rx = malloc(SOCK_TCP_CHUNK)))
			return;
		bool eof = false;
		size_t n = tcp_recv(s->conn, s->rx, SOCK_TCP_CHUNK, &eof);
		if (n) {
			s->rx_len = n;
			s->rx_off = 0;
			continue;
		}
		if (eof) {
			s->tcp_eof = true;
			if (!s->shut_wr) {
				shutdown(s->lfd.fd, SHUT_WR);
				s->shut_wr = true;
			}
		}
		return;
	}
}

/*
 * After any progress: close what is finished, then ask the loop for what
 * we wait on. Returns false when s was freed.
 */
static bool settle(struct sock *s)
{
	if (s->kind != SK_TCP_CONN || !s->connected)
		return true;
	if (s->app_closed && (s->app_eof || !s->conn)) {
		/* The app is gone and all it wrote is in the engine: let TCP finish alone. */
		if (s->conn) {
			tcp_conn_set_user(s->conn, NULL);
			tcp_close(s->conn);
			s->conn = NULL;
		}
		sock_free(s);
		return false;
	}
	if (!s->conn && !pending_rx(s)) {
		/* TCP is over and the app has every byte: our end closes, the app sees EOF. */
		sock_free(s);
		return false;
	}
	uint32_t ev = 0;
	if (s->conn && !s->app_eof && !pending_tx(s) && tcp_send_space(s->conn))
		ev |= EPOLLIN | EPOLLRDHUP;
	if (pending_rx(s))
		ev |= EPOLLOUT;
	sock_set_events(s, ev);
	return true;
}

static void conn_event(struct loop_fd *lfd, uint32_t events)
{
	struct sock *s = container_of(lfd, struct sock, lfd);
	if (s->dead)
		return;
	if ((events & (EPOLLHUP | EPOLLERR)) && !s->connected) {
		sock_free(s);   /* closed while connecting: what our end holds is filler */
		return;
	}
	if (events & (EPOLLHUP | EPOLLERR))
		s->app_closed = true;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		pump_in(s);
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		pump_out(s);
	settle(s);
}

/* ---- active open ---- */

/* Bytes moved per call while filling and draining: the filler is about one send buffer. */
static uint8_t filler_buf[64 * 1024];

static int fill_filler(struct sock *s, int app)
{
	if (fcntl(app, F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	s->filler = 0;
	for (;;) {
		ssize_t n = write(app, filler_buf, sizeof(filler_buf));
		if (n > 0) {
			s->filler += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			break;
		return n < 0 ? -errno : -EIO;
	}
	if (fcntl(app, F_SETFL, 0) < 0)
		return -errno;
	return 0;
}

/* Drops the filler (all of it is at the front of our end's queue): the app's end becomes writable. */
static void drop_filler(struct sock *s)
{
	while (s->filler > 0 && s->lfd.fd >= 0) {
		ssize_t n = read(s->lfd.fd, filler_buf,
				 s->filler < sizeof(filler_buf) ? s->filler : sizeof(filler_buf));
		if (n <= 0)
			break;
		s->filler -= (size_t)n;
	}
	if (s->filler)
		log_warn("shim: socket %d: %zu filler bytes were not found", s->id, s->filler);
	s->filler = 0;
}

int sock_tcp_connect(struct sock *s, const struct shim_addr *a, int *app_fd)
{
	struct sock_layer *sl = s->sl;
	struct tcp_endpoint remote, local;
	if (a->family != AF_INET && a->family != AF_INET6)
		return -EAFNOSUPPORT;
	if (a->family == AF_INET6 && s->family == AF_INET)
		return -EAFNOSUPPORT;
	if (a->port == 0 || shim_addr_is_any(a))
		return -ECONNREFUSED;
	sock_addr_to_ep(a, &remote);
	if (ip_addr_is_link_local(&remote.addr)) {
		if (!remote.scope_id)
			remote.scope_id = s->opts.bind_ifindex ? s->opts.bind_ifindex
							       : s->local.scope_id;
	} else {
		remote.scope_id = 0;
	}
	struct ip_addr src;
	int r = sock_pick_source(s, &remote, &src);
	if (r < 0)
		return r;
	bool ephemeral = !s->bound;
	struct tcp_options o;
	sock_tcp_opts(s, &o);
	struct tcp_conn *conn = NULL;
	for (int tries = 0;; tries++) {
		if (!s->bound) {
			struct shim_addr any = { .family = (uint16_t)s->family };
			r = sock_bind(s, &any);
			if (r < 0)
				return r;
		}
		local = s->local;
		local.addr = src;
		local.scope_id = ip_addr_is_link_local(&src) ? remote.scope_id : 0;
		r = tcp_connect(sl->tcp, &local, &remote, &o, &conn);
		if (r != -EADDRINUSE || !ephemeral || tries >= CONNECT_PORT_TRIES)
			break;
		s->bound = false;   /* that 4-tuple lives on in TIME-WAIT: another port */
	}
	if (r < 0) {
		if (ephemeral)
			s->bound = false;
		return r;
	}
	int app, ours;
	r = sock_data_pair(SOCK_STREAM, &app, &ours);
	if (r == 0) {
		r = fill_filler(s, app);
		if (r < 0) {
			close(app);
			close(ours);
		}
	}
	if (r < 0) {
		tcp_abort(conn);
		return r;
	}
	s->kind = SK_TCP_CONN;
	s->app_ino = sock_fd_ino(app);
	s->local = local;
	s->local_any = false;
	s->remote = remote;
	s->conn = conn;
	s->lfd.fd = ours;
	s->lfd.cb = conn_event;
	sock_set_events(s, 0);   /* only the hang-up matters until the handshake ends */
	tcp_conn_set_user(conn, s);   /* owner stays until connected: a failure keeps SO_ERROR for it */
	*app_fd = app;
	return 0;
}

static void on_connected(void *ctx, struct tcp_conn *c, int err)
{
	struct sock *s = tcp_conn_user(c);
	if (!s || s->dead)
		return;
	struct sock_layer *sl = ctx;
	drop_filler(s);
	if (err == 0) {
		sl->stats.tcp_connected++;
		s->connected = true;
		s->owner = NULL;   /* from now on its life is the app's fd */
		pump_out(s);
		settle(s);
		return;
	}
	/* Failed: the app's end hangs up (POLLHUP|POLLOUT); SO_ERROR tells why. */
	sl->stats.tcp_failed++;
	s->err = err;
	s->kind = SK_TCP;
	if (s->lfd.fd >= 0) {
		if (s->events != UINT32_MAX)
			loop_del_fd(sl->loop, &s->lfd);
		s->events = UINT32_MAX;
		shutdown(s->lfd.fd, SHUT_RDWR);
		close(s->lfd.fd);
		s->lfd.fd = -1;
	}
}

static void on_readable(void *ctx, struct tcp_conn *c)
{
	struct sock *s = tcp_conn_user(c);
	if (!s || s->dead || !s->connected)
		return;
	pump_out(s);
	settle(s);
}

static void on_writable(void *ctx, struct tcp_conn *c)
{
	struct sock *s = tcp_conn_user(c);
	if (!s || s->dead || !s->connected)
		return;
	pump_in(s);
	settle(s);
}

static void on_closed(void *ctx, struct tcp_conn *c, int err)
{
	struct sock *s = tcp_conn_user(c);
	tcp_release(c);
	if (!s || s->dead)
		return;
	s->conn = NULL;
	if (s->kind != SK_TCP_CONN) {   /* a failed active open: keep SO_ERROR for the app */
		if (!s->owner)
			sock_free(s);
		return;
	}
	if (err) {
		s->err = err;
		s->rx_off = s->rx_len = 0;   /* reset: what was not delivered is lost, as with a kernel socket */
	}
	if (!s->connected) {
		sock_free(s);
		return;
	}
	pump_out(s);
	settle(s);
}

/* ---- passive open ---- */

static void listen_event(struct loop_fd *lfd, uint32_t events)
{
	struct sock *s = container_of(lfd, struct sock, lfd);
	if (s->dead)
		return;
	if (events & (EPOLLHUP | EPOLLERR))
		sock_free(s);   /* the app closed the listening socket */
}

int sock_tcp_listen(struct sock *s, int backlog, int *app_fd)
{
	struct sock_layer *sl = s->sl;
	if (!s->bound) {
		struct shim_addr any = { .family = (uint16_t)s->family };
		int r = sock_bind(s, &any);
		if (r < 0)
			return r;
	}
	struct tcp_options o;
	sock_tcp_opts(s, &o);
	if (backlog <= 0)
		backlog = 1;
	if (backlog > 4096)
		backlog = 4096;
	int family = s->local_any ? s->local.addr.family : s->local.addr.family;
	int r = tcp_listen(sl->tcp, &s->local, s->local_any, family, (unsigned)backlog, &o, &s->lis);
	if (r < 0)
		return r;
	tcp_listener_set_user(s->lis, s);
	if (s->local_any && s->local.addr.family == AF_INET6 && !s->opts.v6only) {
		/* Dual stack, as a Linux AF_INET6 socket without IPV6_V6ONLY. */
		struct tcp_endpoint v4 = s->local;
		memset(&v4.addr, 0, sizeof(v4.addr));
		v4.addr.family = AF_INET;
		r = tcp_listen(sl->tcp, &v4, true, AF_INET, (unsigned)backlog, &o, &s->lis4);
		if (r < 0) {
			tcp_listener_close(s->lis);
			s->lis = NULL;
			return r;
		}
		tcp_listener_set_user(s->lis4, s);
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
	    fcntl(sv[1], F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		sock_tcp_release(s);
		return r;
	}
	s->kind = SK_TCP_LISTEN;
	s->app_ino = sock_fd_ino(sv[0]);
	s->lfd.fd = sv[1];
	s->lfd.cb = listen_event;
	s->owner = NULL;
	sock_set_events(s, 0);   /* only the hang-up matters */
	*app_fd = sv[0];
	return 0;
}

static void accept_one(struct sock *ls, struct tcp_conn *c)
{
	struct sock_layer *sl = ls->sl;
	struct sock *s = sock_new(sl, SK_TCP_CONN, ls->family, ls->charged);
	int app = -1, ours = -1;
	if (!s || sock_data_pair(SOCK_STREAM, &app, &ours) < 0) {
		tcp_abort(c);
		if (s)
			sock_free(s);
		return;
	}
	s->opts = ls->opts;
	if (sock_tcp_opt_inherit(s, ls) < 0) {
		log_warn("shim: out of memory for the TCP options of an accepted connection");
		close(app);
		close(ours);
		tcp_abort(c);
		sock_free(s);
		return;
	}
	s->accepted = s->bound = s->connected = true;
	tcp_conn_endpoints(c, &s->local, &s->remote);
	s->app_ino = sock_fd_ino(app);
	struct shim_accept_msg m = { .sock_id = s->id };
	sock_ep_to_addr(&s->local, &m.local);
	sock_ep_to_addr(&s->remote, &m.peer);
	ssize_t n = shim_send_with_fd(sendmsg, ls->lfd.fd, &m, sizeof(m), app,
				      MSG_DONTWAIT | MSG_NOSIGNAL);
	close(app);
	if (n < 0) {
		log_debug("shim: accept queue of socket %d full: %s", ls->id, strerror(errno));
		close(ours);
		tcp_abort(c);
		sock_free(s);
		return;
	}
	sl->stats.tcp_accepted++;
	s->conn = c;
	s->lfd.fd = ours;
	s->lfd.cb = conn_event;
	tcp_conn_set_user(c, s);
	struct tcp_options o;
	sock_tcp_opts(s, &o);
	tcp_set_options(c, &o);
	pump_out(s);
	settle(s);
}

static void on_accept_ready(void *ctx, struct tcp_listener *l)
{
	struct sock *s = tcp_listener_user(l);
	struct tcp_conn *c;
	while ((c = tcp_accept(l))) {
		if (!s || s->dead || s->lfd.fd < 0) {
			tcp_abort(c);
			continue;
		}
		accept_one(s, c);
	}
}

/* ---- engine glue ---- */

static void tcp_out(void *ctx, struct pbuf *b, uint32_t scope_id)
{
	sock_ip_output(ctx, b, scope_id);
}

static uint16_t tcp_mtu(void *ctx, const struct tcp_endpoint *dst)
{
	return sock_pmtu(ctx, dst);
}

const struct tcp_ops sock_tcp_ops = {
	.output = tcp_out,
	.path_mtu = tcp_mtu,
	.on_accept_ready = on_accept_ready,
	.on_connected = on_connected,
	.on_readable = on_readable,
	.on_writable = on_writable,
	.on_closed = on_closed,
};

void sock_tcp_release(struct sock *s)
{
	if (s->conn) {
		tcp_conn_set_user(s->conn, NULL);
		tcp_abort(s->conn);
		s->conn = NULL;
	}
	if (s->lis) {
		tcp_listener_set_user(s->lis, NULL);
		tcp_listener_close(s->lis);
		s->lis = NULL;
	}
	if (s->lis4) {
		tcp_listener_set_user(s->lis4, NULL);
		tcp_listener_close(s->lis4);
		s->lis4 = NULL;
	}
}
