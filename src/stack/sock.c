/*
 * The socket layer's core: the shim server and its clients, the socket
 * table (ids with a generation so a stale id never reaches a new socket),
 * port bindings, and the IP output/input glue. The per-protocol parts are in
 * sock_dgram.c (UDP, ICMP echo) and sock_tcp.c.
 */
#include "stack/sock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/localsock.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "nl/rtnl.h"
#include "stack/sock_int.h"

static void client_event(struct loop_fd *lfd, uint32_t events);

/* ---- socket table ---- */

struct sock *sock_new(struct sock_layer *sl, enum sock_kind kind, int family,
		      struct sock_client *c)
{
	if (c && c->n_socks >= SOCK_CLIENT_SOCKS_MAX) {
		if (!c->quota_logged)
			log_warn("shim: program pid %d (%s) holds %u router sockets, its quota: "
				 "refusing more with EMFILE", (int)c->pid, c->comm, c->n_socks);
		c->quota_logged = true;
		errno = EMFILE;
		return NULL;
	}
	for (uint32_t i = 0; i < SOCK_MAX; i++) {
		if (sl->socks[i])
			continue;
		struct sock *s = calloc(1, sizeof(*s));
		if (!s) {
			errno = ENOMEM;
			return NULL;
		}
		sl->gen++;
		s->sl = sl;
		s->id = (int32_t)(((sl->gen & 0x7ffffu) << SOCK_SLOT_BITS) | i);
		s->kind = kind;
		s->family = family;
		s->lfd.fd = -1;
		s->events = UINT32_MAX;
		s->charged = c;
		if (c)
			c->n_socks++;
		sl->socks[i] = s;
		sl->stats.sockets++;
		return s;
	}
	if (c)
		log_warn("shim: %d router sockets in use, refusing one to pid %d (%s) with ENOBUFS",
			 SOCK_MAX, (int)c->pid, c->comm);
	else
		log_warn("shim: %d router sockets in use, refusing more", SOCK_MAX);
	errno = ENOBUFS;
	return NULL;
}

struct sock *sock_find(struct sock_layer *sl, int32_t id)
{
	if (id < 0)
		return NULL;
	struct sock *s = sl->socks[(uint32_t)id & (SOCK_MAX - 1)];
	return s && s->id == id ? s : NULL;
}

void sock_set_events(struct sock *s, uint32_t events)
{
	if (s->lfd.fd < 0)
		return;
	/* epoll always reports HUP: once the app is gone and we wait for TCP, step off the loop. */
	if (s->app_closed && !(events & (EPOLLIN | EPOLLOUT))) {
		if (s->events != UINT32_MAX)
			loop_del_fd(s->sl->loop, &s->lfd);
		s->events = UINT32_MAX;
		return;
	}
	if (events == s->events)
		return;
	int r = s->events == UINT32_MAX ? loop_add_fd(s->sl->loop, &s->lfd, events)
					: loop_mod_fd(s->sl->loop, &s->lfd, events);
	if (r < 0)
		log_warn("shim: socket %d: epoll: %s", s->id, strerror(-r));
	else
		s->events = events;
}

static void reap_run(struct loop_hook *h)
{
	struct sock_layer *sl = container_of(h, struct sock_layer, reap_hook);
	while (sl->dead) {
		struct sock *s = sl->dead;
		sl->dead = s->next_dead;
		free(s);
	}
}

/*
 * Releases everything s holds now; the memory itself goes after this loop
 * round, because an event for s may still be waiting in the current batch
 * (its callback sees s->dead and returns).
 */
void sock_free(struct sock *s)
{
	struct sock_layer *sl = s->sl;
	if (s->dead)
		return;
	s->dead = true;
	sock_tcp_release(s);
	sock_tcp_opt_release(s);
	sock_netlink_release(s);
	if (s->lfd.fd >= 0) {
		if (s->events != UINT32_MAX)
			loop_del_fd(sl->loop, &s->lfd);
		close(s->lfd.fd);
	}
	s->lfd.fd = -1;
	free(s->rx);
	free(s->tx);
	s->rx = s->tx = NULL;
	free(s->mc);
	s->mc = NULL;
	s->n_mc = 0;
	if (s->charged)
		s->charged->n_socks--;
	s->charged = NULL;
	sl->socks[(uint32_t)s->id & (SOCK_MAX - 1)] = NULL;
	sl->stats.sockets--;
	s->next_dead = sl->dead;
	sl->dead = s;
	loop_defer(sl->loop, &sl->reap_hook);
}

/* ---- addresses and ports ---- */

void sock_addr_to_ep(const struct shim_addr *a, struct tcp_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->addr.family = (uint8_t)a->family;
	memcpy(ep->addr.bytes, a->addr, 16);
	ep->port = a->port;
	ep->scope_id = a->scope_id;
}

void sock_ep_to_addr(const struct tcp_endpoint *ep, struct shim_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = ep->addr.family;
	memcpy(a->addr, ep->addr.bytes, 16);
	a->port = ep->port;
	a->scope_id = ep->scope_id;
}

static int proto_class(enum sock_kind k)
{
	return k == SK_UDP ? 0 : k == SK_ICMP ? 1 : 2;
}

/* Does binding b (family, any, addr, v6only) overlap s's binding? */
static bool bindings_overlap(const struct sock *s, int family, bool any, const struct ip_addr *addr,
			     bool v6only)
{
	bool s_v4 = s->local_any ? (s->family == AF_INET || !s->opts.v6only)
				 : s->local.addr.family == AF_INET;
	bool s_v6 = s->local_any ? s->family == AF_INET6 : s->local.addr.family == AF_INET6;
	bool b_v4 = any ? (family == AF_INET || !v6only) : addr->family == AF_INET;
	bool b_v6 = any ? family == AF_INET6 : addr->family == AF_INET6;
	if (!((s_v4 && b_v4) || (s_v6 && b_v6)))
		return false;
	if (s->local_any || any)
		return true;
	return ip_addr_equal(&s->local.addr, addr);
}

static bool port_in_use(struct sock_layer *sl, const struct sock *self, uint16_t port, bool any,
			const struct ip_addr *addr)
{
	for (uint32_t i = 0; i < SOCK_MAX; i++) {
		const struct sock *s = sl->socks[i];
		if (!s || s == self || !s->bound || s->accepted || s->local.port != port ||
		    proto_class(s->kind) != proto_class(self->kind))
			continue;
		if (!bindings_overlap(s, self->family, any, addr, self->opts.v6only))
			continue;
		/* SO_REUSEADDR on both: UDP shares; TCP only while neither listens (Linux). */
		if (s->opts.reuseaddr && self->opts.reuseaddr &&
		    (proto_class(self->kind) != 2 || s->kind != SK_TCP_LISTEN))
			continue;
		if (s->opts.reuseport && self->opts.reuseport)
			continue;
		return true;
	}
	return false;
}

int sock_bind(struct sock *s, const struct shim_addr *a)
{
	struct sock_layer *sl = s->sl;
	if (s->bound)
		return -EINVAL;
	if (a->family != AF_INET && a->family != AF_INET6)
		return -EAFNOSUPPORT;
	if (a->family == AF_INET6 && s->family == AF_INET)
		return -EAFNOSUPPORT;
	struct tcp_endpoint ep;
	sock_addr_to_ep(a, &ep);
	bool any = shim_addr_is_any(a);
	if (!any) {
		struct netif *scope = NULL;
		if (ip_addr_is_link_local(&ep.addr)) {
			uint32_t ifx = ep.scope_id ? ep.scope_id : s->opts.bind_ifindex;
			scope = ip_router_netif_by_index(sl->router, ifx);
			if (!scope)
				return -EINVAL;   /* Linux: link-local bind needs an interface */
			ep.scope_id = ifx;
		} else {
			ep.scope_id = 0;
		}
		/* IP_FREEBIND: an address the router does not have (yet) is fine */
		if (!ip_router_local_netif(sl->router, &ep.addr, scope) &&
		    !(s->opts.flags & SHIM_OPT_FREEBIND))
			return -EADDRNOTAVAIL;
	} else {
		ep.scope_id = 0;
		ep.addr.family = (uint8_t)s->family;
		if (a->family == AF_INET && s->family == AF_INET6)
			ep.addr.family = AF_INET;   /* ::ffff:0.0.0.0: IPv4 only */
	}
	if (ep.port) {
		if (port_in_use(sl, s, ep.port, any, &ep.addr))
			return -EADDRINUSE;
	} else {
		int c = proto_class(s->kind);
		uint32_t span = SOCK_EPHEMERAL_HI - SOCK_EPHEMERAL_LO + 1;
		if (!sl->next_port[c]) {
			uint16_t r;
			crypto_random(&r, sizeof(r));
			sl->next_port[c] = (uint16_t)(SOCK_EPHEMERAL_LO + r % span);
		}
		uint32_t tries;
		for (tries = 0; tries < span; tries++) {
			uint16_t p = sl->next_port[c];
			sl->next_port[c] = (uint16_t)(p >= SOCK_EPHEMERAL_HI ? SOCK_EPHEMERAL_LO : p + 1);
			if (!port_in_use(sl, s, p, any, &ep.addr)) {
				ep.port = p;
				break;
			}
		}
		if (tries == span)
			return -EADDRINUSE;
	}
	s->local = ep;
	s->local_any = any;
	s->bound = true;
	return 0;
}

int sock_data_pair(int type, int *app, int *ours)
{
	int sv[2];
	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	if (fcntl(sv[1], F_SETFL, O_NONBLOCK) < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return -e;
	}
	*app = sv[0];
	*ours = sv[1];
	return 0;
}

int sock_pick_source(struct sock *s, const struct tcp_endpoint *dst, struct ip_addr *out)
{
	if (s->bound && !s->local_any) {
		if (s->local.addr.family != dst->addr.family)
			return -EAFNOSUPPORT;
		*out = s->local.addr;
		return 0;
	}
	uint32_t scope = dst->scope_id ? dst->scope_id : s->opts.bind_ifindex;
	if (ip_addr_is_link_local(&dst->addr) && !ip_router_netif_by_index(s->sl->router, scope))
		return -EINVAL;
	if (!ip_addr_is_link_local(&dst->addr) && !ip_router_route_netif(s->sl->router,
									 &dst->addr, scope))
		return -ENETUNREACH;
	if (!ip_router_select_source(s->sl->router, &dst->addr, scope, out))
		return -EADDRNOTAVAIL;
	return 0;
}

uint64_t sock_fd_ino(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

uint16_t sock_pmtu(struct sock_layer *sl, const struct tcp_endpoint *dst)
{
	struct netif *nif = ip_router_route_netif(sl->router, &dst->addr, dst->scope_id);
	return nif ? nif->mtu : 0;
}

/* ---- IP output, with a loop back for the router's own addresses ---- */

static void loopback_run(struct loop_hook *h)
{
	struct sock_layer *sl = container_of(h, struct sock_layer, loop_hook);
	struct pbuf *b;
	/* Only what was queued before this run: replies queue more for the next round. */
	uint32_t n = sl->loopq.len;
	while (n-- && (b = pbuf_queue_pop(&sl->loopq))) {
		struct netif *nif = ip_router_netif_by_index(sl->router, b->ifindex);
		if (!nif) {
			pbuf_free(b);
			continue;
		}
		ip_router_input(sl->router, nif, b);
	}
	if (sl->loopq.len)
		loop_defer(sl->loop, &sl->loop_hook);
}

void sock_ip_output(struct sock_layer *sl, struct pbuf *b, uint32_t scope_id)
{
	struct ip_packet pkt;
	struct netif *hint = scope_id ? ip_router_netif_by_index(sl->router, scope_id) : NULL;
	if (ip_packet_parse(b, &pkt) == 0) {
		struct netif *own = ip_router_local_netif(sl->router, &pkt.dst, hint);
		if (own) {
			/* Deferred: the TCP engine must not see its own output re-enter it. */
			if (sl->loopq.len >= 1024) {
				pbuf_free(b);
				return;
			}
			b->ifindex = own->ifindex;
			pbuf_queue_push(&sl->loopq, b);
			sl->stats.loopback++;
			loop_defer(sl->loop, &sl->loop_hook);
			return;
		}
	}
	ip_router_output_local(sl->router, b, hint);
}

/* ---- input from the IP layer ---- */

bool sock_layer_input(void *ctx, struct netif *in, struct pbuf *b, struct ip_packet *pkt)
{
	struct sock_layer *sl = ctx;
	switch (pkt->proto) {
	case IPPROTO_UDP:
		return sock_udp_input(sl, in, b, pkt);
	case IPPROTO_TCP:
		if (!sl->tcp)
			return false;
		tcp_input(sl->tcp, b, pkt, in ? in->ifindex : 0);
		return true;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		sock_raw_input(sl, in, pkt);   /* a copy for raw sockets; the rest goes on */
		return sock_icmp_input(sl, in, b, pkt);
	default:
		return false;
	}
}

/* ---- requests ---- */

static void fill_rep_addrs(const struct sock *s, struct shim_rep *rep)
{
	rep->sock_id = s->id;
	if (s->bound)
		sock_ep_to_addr(&s->local, &rep->local);
	if (s->connected || s->kind == SK_TCP_CONN)   /* a connect in progress has its peer too */
		sock_ep_to_addr(&s->remote, &rep->peer);
}

static int handle_bind(struct sock_client *c, const struct shim_req *req, struct shim_rep *rep,
		       int *fd)
{
	struct sock_layer *sl = c->sl;
	enum sock_kind kind;
	if (req->family != AF_INET && req->family != AF_INET6)
		return EAFNOSUPPORT;
	if (req->type == SOCK_STREAM)
		kind = SK_TCP;
	else if (req->type == SOCK_DGRAM && (req->protocol == 0 || req->protocol == IPPROTO_UDP))
		kind = SK_UDP;
	else if (req->type == SOCK_DGRAM && req->protocol == (req->family == AF_INET ? IPPROTO_ICMP
										   : IPPROTO_ICMPV6))
		kind = SK_ICMP;
	else if (req->type == SOCK_RAW && req->protocol == (req->family == AF_INET ? IPPROTO_ICMP
										  : IPPROTO_ICMPV6))
		kind = SK_RAW;
	else
		return EPROTONOSUPPORT;
	if (req->sock_id >= 0) {
		/* a TCP socket rrouted created for options set before bind (sock_tcp_opt.c) */
		struct sock *t = sock_find(sl, req->sock_id);
		if (!t || t->kind != SK_TCP || kind != SK_TCP)
			return EBADF;
		if (t->bound)
			return EINVAL;
		t->opts = req->opts;
		int r = sock_bind(t, &req->addr);
		if (r < 0)
			return -r;
		fill_rep_addrs(t, rep);
		return 0;
	}
	struct sock *s = sock_new(sl, kind, req->family, c);
	if (!s)
		return errno;
	s->opts = req->opts;
	s->owner = c;
	int r = kind == SK_RAW ? sock_raw_bind(s, &req->addr) : sock_bind(s, &req->addr);
	if (r == 0 && kind == SK_RAW)
		r = sock_raw_open(s, fd);
	else if (r == 0 && kind != SK_TCP)
		r = sock_dgram_open(s, fd);
	if (r < 0) {
		sock_free(s);
		return -r;
	}
	fill_rep_addrs(s, rep);
	return 0;
}

/* A socket to act on: the one named, or a new one bound to the wildcard (implicit bind). */
static int get_or_bind(struct sock_client *c, const struct shim_req *req, struct sock **out)
{
	if (req->sock_id >= 0) {
		*out = sock_find(c->sl, req->sock_id);
		return *out ? 0 : EBADF;
	}
	struct shim_req b = *req;
	struct shim_rep rep;
	memset(&b.addr, 0, sizeof(b.addr));
	b.addr.family = (uint16_t)req->family;
	if (req->type == SOCK_STREAM) {
		int fd = -1;
		int e = handle_bind(c, &b, &rep, &fd);
		if (e)
			return e;
		*out = sock_find(c->sl, rep.sock_id);
		return 0;
	}
	return EINVAL;   /* datagram sockets are bound by the shim first */
}

static int handle_connect(struct sock_client *c, const struct shim_req *req, struct shim_rep *rep,
			  int *fd)
{
	struct sock *s;
	int e = get_or_bind(c, req, &s);
	if (e)
		return e;
	s->opts = req->opts;
	int r;
	if (s->kind == SK_UDP || s->kind == SK_ICMP || s->kind == SK_RAW)
		r = sock_dgram_connect(s, &req->addr);
	else if (s->kind == SK_TCP)
		r = sock_tcp_connect(s, &req->addr, fd);
	else
		r = s->kind == SK_TCP_CONN ? -EISCONN : -EINVAL;
	if (r < 0) {
		if (req->sock_id < 0)
			sock_free(s);
		return -r;
	}
	fill_rep_addrs(s, rep);
	return 0;
}

static int handle_listen(struct sock_client *c, const struct shim_req *req, struct shim_rep *rep,
			 int *fd)
{
	struct sock *s;
	int e = get_or_bind(c, req, &s);
	if (e)
		return e;
	if (s->kind != SK_TCP) {
		e = s->kind == SK_TCP_LISTEN ? EINVAL : EOPNOTSUPP;
		goto fail;
	}
	s->opts = req->opts;
	int r = sock_tcp_listen(s, req->arg, fd);
	if (r < 0) {
		e = -r;
		goto fail;
	}
	fill_rep_addrs(s, rep);
	return 0;
fail:
	if (req->sock_id < 0)
		sock_free(s);
	return e;
}

/* The MTU toward req->addr (or the connected peer) for the socket's datagrams: IP_MTU. */
static int handle_pmtu(struct sock_layer *sl, const struct shim_req *req, struct shim_rep *rep)
{
	struct sock *s = sock_find(sl, req->sock_id);
	if (!s)
		return EBADF;
	struct tcp_endpoint dst;
	if (req->addr.family == AF_INET || req->addr.family == AF_INET6) {
		sock_addr_to_ep(&req->addr, &dst);
		if (ip_addr_is_link_local(&dst.addr) && !dst.scope_id)
			dst.scope_id = s->opts.bind_ifindex ? s->opts.bind_ifindex : s->local.scope_id;
	} else if (s->connected) {
		dst = s->remote;
	} else {
		return ENOTCONN;   /* Linux: IP_MTU needs a connected socket */
	}
	uint16_t mtu;
	if (s->kind == SK_UDP || s->kind == SK_ICMP) {
		struct shim_opts o = s->opts;
		s->opts = req->opts;   /* the shim's current IPV6_MTU */
		mtu = sock_dgram_mtu(s, &dst, 0);
		s->opts = o;
	} else {
		mtu = sock_pmtu(sl, &dst);
	}
	if (!mtu)
		return ENETUNREACH;
	rep->val = mtu;
	return 0;
}

static void append_iflist(struct sock_layer *sl, uint8_t *data, size_t cap, size_t *len)
{
	struct ip_router *r = sl->router;
	struct shim_iflist_hdr h = { 0, 0 };
	size_t n_addrs = 0;
	for (size_t i = 0; i < r->n_netifs; i++)
		n_addrs += r->netifs[i]->n_addrs;
	size_t need = sizeof(h) + r->n_netifs * sizeof(struct shim_ifinfo) +
		      n_addrs * sizeof(struct shim_ifaddr);
	if (need > cap) {
		*len = 0;
		return;
	}
	h.n_ifs = (uint32_t)r->n_netifs;
	h.n_addrs = (uint32_t)n_addrs;
	uint8_t *p = data;
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	for (size_t i = 0; i < r->n_netifs; i++) {
		const struct netif *nif = r->netifs[i];
		struct shim_ifinfo ii = { .ifindex = nif->ifindex, .mtu = nif->mtu,
					  .flags = nif->down ? 0 : SHIM_IF_UP };
		memcpy(ii.name, nif->name, sizeof(ii.name));
		ii.name[sizeof(ii.name) - 1] = '\0';
		memcpy(p, &ii, sizeof(ii));
		p += sizeof(ii);
	}
	for (size_t i = 0; i < r->n_netifs; i++) {
		const struct netif *nif = r->netifs[i];
		for (size_t a = 0; a < nif->n_addrs; a++) {
			struct shim_ifaddr ia = { .ifindex = nif->ifindex,
						  .family = nif->addrs[a].addr.family,
						  .prefixlen = nif->addrs[a].len };
			memcpy(ia.addr, nif->addrs[a].addr.bytes, 16);
			memcpy(p, &ia, sizeof(ia));
			p += sizeof(ia);
		}
	}
	*len = need;
}

static void client_free(struct sock_client *c)
{
	struct sock_layer *sl = c->sl;
	for (struct sock_client **pp = &sl->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	/* Sockets without a data fd die with the process that made them. */
	for (uint32_t i = 0; i < SOCK_MAX; i++) {
		struct sock *s = sl->socks[i];
		if (!s)
			continue;
		if (s->owner == c && s->lfd.fd < 0 && !s->conn && !s->lis && !s->dead)
			sock_free(s);
		else if (s->owner == c)
			s->owner = NULL;
		/* Data fds outlive the connection (exec, fork): nobody's quota from now. */
		if (!s->dead && s->charged == c)
			s->charged = NULL;
	}
	loop_del_fd(sl->loop, &c->lfd);
	close(c->lfd.fd);
	sl->stats.clients--;
	free(c);
}

/*
 * Datagrams the app sent before a request on their socket (an option change, connect, a
 * multicast membership) leave as they were sent: they wait in the data socketpair while the
 * request comes on the control socket, and traceroute, for one, changes the hop limit between
 * probes it has already sent.
 */
static bool flush_queued_datagrams(struct sock *s)
{
	if (s->dead || (s->kind != SK_UDP && s->kind != SK_ICMP && s->kind != SK_RAW))
		return false;
	for (int round = 0; round < 64 && !s->dead && s->lfd.fd >= 0; round++) {
		char byte;
		if (recv(s->lfd.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) < 0)
			break;   /* EAGAIN: nothing queued */
		s->lfd.cb(&s->lfd, EPOLLIN);
	}
	return s->dead;   /* the app had closed it: what it asks now is for a socket gone */
}

static int handle_setopt(struct sock_layer *sl, const struct shim_req *req)
{
	struct sock *s = sock_find(sl, req->sock_id);
	if (!s)
		return EBADF;
	s->opts = req->opts;
	sock_tcp_set_options(s);
	return 0;
}

/* connect's outcome and SO_ERROR, which reading clears; a socket already gone reports nothing. */
static int handle_status(struct sock_layer *sl, const struct shim_req *req, struct shim_rep *rep)
{
	struct sock *s = sock_find(sl, req->sock_id);
	if (!s)
		return 0;   /* gone: its connection closed cleanly, nothing pending */
	rep->val = s->connected;
	rep->sock_id = s->id;
	fill_rep_addrs(s, rep);
	int err = s->err;
	s->err = 0;
	return err;
}

/* A socket found by the inode of the app's end (after exec, the shim's table is empty). */
static int handle_lookup(struct sock_layer *sl, const struct shim_req *req, struct shim_rep *rep,
			 uint8_t *data, size_t *data_len)
{
	struct sock *s = NULL;
	for (uint32_t i = 0; req->ino && i < SOCK_MAX && !s; i++)
		if (sl->socks[i] && sl->socks[i]->app_ino == req->ino)
			s = sl->socks[i];
	if (!s)
		return ENOENT;
	struct shim_sockinfo si = {
		.domain = s->family,
		.kind = s->kind == SK_UDP ? SHIM_KIND_UDP : s->kind == SK_ICMP ? SHIM_KIND_PING
			: s->kind == SK_RAW ? SHIM_KIND_RAW : SHIM_KIND_STREAM,
		.listening = s->kind == SK_TCP_LISTEN,
		.connected = s->connected || s->kind == SK_TCP_CONN,
		.bound = s->bound, .opts = s->opts,
	};
	fill_rep_addrs(s, rep);
	memcpy(data, &si, sizeof(si));
	*data_len = sizeof(si);
	return 0;
}

static int handle_nl_open(struct sock_client *c, const struct shim_req *req, struct shim_rep *rep,
			  int *fd)
{
	int32_t portid = 0;
	struct sock *s = sock_new(c->sl, SK_NETLINK, AF_NETLINK, c);
	if (!s)
		return errno;
	int e = sock_netlink_open(s, req->protocol, fd, &portid);
	if (e) {
		sock_free(s);
		return e;
	}
	rep->sock_id = s->id;
	rep->val = portid;
	return 0;
}

/* bind, setsockopt and getsockopt of an emulated netlink socket. */
static int handle_nl_request(struct sock_layer *sl, const struct shim_req *req, struct shim_rep *rep)
{
	struct sock *s = sock_find(sl, req->sock_id);
	if (s && s->kind == SK_NETLINK && s->diag)
		return sock_inet_diag_opt(s, req, &rep->val);
	if (!s || s->kind != SK_NETLINK || !s->nl)
		return EBADF;
	if (req->op == SHIM_OP_NL_BIND)
		return -rtnl_sock_bind(s->nl, (uint32_t)req->arg);
	if (req->op == SHIM_OP_NL_SETOPT)
		return -rtnl_sock_setsockopt(s->nl, req->type, req->arg);
	int v = 0;
	int e = -rtnl_sock_getsockopt(s->nl, req->type, &v);
	rep->val = v;
	return e;
}

static int handle_mcast(struct sock_layer *sl, const struct shim_req *req)
{
	struct sock *s = sock_find(sl, req->sock_id);
	if (!s || (s->kind != SK_UDP && s->kind != SK_ICMP))
		return s ? ENOPROTOOPT : EBADF;
	s->opts = req->opts;
	return -sock_dgram_membership(s, &req->addr, req->arg != 0);
}

/* Sends rep and data_len bytes of data after it (in buf) to the client, with fd if >= 0 (closed here). */
static void send_reply(struct sock_client *c, struct shim_rep *rep, uint8_t *buf, size_t data_len,
		       int fd)
{
	rep->data_len = (uint32_t)data_len;
	memcpy(buf, rep, sizeof(*rep));
	ssize_t n = shim_send_with_fd(sendmsg, c->lfd.fd, buf, sizeof(*rep) + data_len, fd,
				      MSG_DONTWAIT | MSG_NOSIGNAL);
	if (fd >= 0)
		close(fd);   /* the app has its copy now (or never will: its socket is gone) */
	if (n < 0)
		log_debug("shim: reply to client: %s", strerror(errno));
}

static void handle_request(struct sock_client *c, const struct shim_req *req, const void *req_data,
			   size_t req_len)
{
	struct sock_layer *sl = c->sl;
	uint8_t *buf = sl->reply;
	uint8_t *data = buf + sizeof(struct shim_rep);
	struct shim_rep rep;
	memset(&rep, 0, sizeof(rep));
	rep.sock_id = -1;
	int fd = -1, e = 0;
	size_t data_len = 0;
	struct sock *s = sock_find(sl, req->sock_id);
	if (s && flush_queued_datagrams(s)) {
		if (req->op != SHIM_OP_CLOSE) {
			rep.err = EBADF;
			send_reply(c, &rep, buf, 0, -1);
		}
		return;
	}

	switch (req->op) {
	case SHIM_OP_HELLO:
		rep.val = SHIM_PROTO_VERSION;
		break;
	case SHIM_OP_BIND:
		e = handle_bind(c, req, &rep, &fd);
		break;
	case SHIM_OP_CONNECT:
		e = handle_connect(c, req, &rep, &fd);
		break;
	case SHIM_OP_LISTEN:
		e = handle_listen(c, req, &rep, &fd);
		break;
	case SHIM_OP_SETOPT:
		e = handle_setopt(sl, req);
		break;
	case SHIM_OP_STATUS:
		e = handle_status(sl, req, &rep);
		break;
	case SHIM_OP_CLOSE:
		s = sock_find(sl, req->sock_id);
		if (s && s->lfd.fd < 0 && !s->conn && !s->lis)
			sock_free(s);
		return;   /* no reply */
	case SHIM_OP_LOOKUP:
		e = handle_lookup(sl, req, &rep, data, &data_len);
		break;
	case SHIM_OP_NL_OPEN:
		e = handle_nl_open(c, req, &rep, &fd);
		break;
	case SHIM_OP_NL_BIND:
	case SHIM_OP_NL_SETOPT:
	case SHIM_OP_NL_GETOPT:
		e = handle_nl_request(sl, req, &rep);
		break;
	case SHIM_OP_TCP_MD5:
	case SHIM_OP_TCP_SETOPT:
	case SHIM_OP_TCP_GETOPT:
		e = sock_tcp_opt_request(c, req, req_data, req_len, &rep, data, SHIM_MSG_MAX, &data_len);
		break;
	case SHIM_OP_PMTU:
		e = handle_pmtu(sl, req, &rep);
		break;
	case SHIM_OP_MCAST:
		e = handle_mcast(sl, req);
		break;
	case SHIM_OP_IFLIST:
		append_iflist(sl, data, SHIM_MSG_MAX, &data_len);
		if (!data_len)
			e = EMSGSIZE;
		break;
	default:
		e = EOPNOTSUPP;
		break;
	}
	rep.err = e;
	send_reply(c, &rep, buf, data_len, fd);
}

static void client_event(struct loop_fd *lfd, uint32_t events)
{
	struct sock_client *c = container_of(lfd, struct sock_client, lfd);
	for (int i = 0; i < 64; i++) {
		/* a request, and for some ops data after it (a TCP MD5 key: wiped after use) */
		union {
			struct shim_req req;
			uint8_t raw[sizeof(struct shim_req) + SHIM_REQ_DATA_MAX];
		} m;
		ssize_t n = recv(lfd->fd, &m, sizeof(m), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			client_free(c);
			return;
		}
		if ((size_t)n < sizeof(m.req) || (size_t)n > sizeof(m) ||
		    ((size_t)n > sizeof(m.req) && !shim_op_takes_data(m.req.op))) {
			log_warn("shim: malformed request (%zd bytes, expected %zu); dropping the "
				 "client (librrshim.so from another build?)", n, sizeof(m.req));
			crypto_wipe(&m, sizeof(m));
			client_free(c);
			return;
		}
		handle_request(c, &m.req, m.raw + sizeof(m.req), (size_t)n - sizeof(m.req));
		if ((size_t)n > sizeof(m.req))
			crypto_wipe(&m, sizeof(m));
	}
}

/* Who is at the other end of fd: pid and command name (best effort, for quotas and logs). */
static void client_identify(struct sock_client *c, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	snprintf(c->comm, sizeof(c->comm), "?");
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.pid <= 0)
		return;
	c->pid = cred.pid;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)cred.pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(c->comm, sizeof(c->comm), f))
		c->comm[strcspn(c->comm, "\n")] = '\0';
	fclose(f);
}

int sock_layer_add_client(struct sock_layer *sl, int fd)
{
	struct sock_client *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	client_identify(c, fd);
	unsigned same_pid = 0;
	for (struct sock_client *o = sl->clients; o; o = o->next)
		same_pid += c->pid && o->pid == c->pid;
	if (sl->stats.clients >= SOCK_CLIENT_MAX || same_pid >= SOCK_CLIENTS_PER_PID) {
		log_warn("shim: refusing a connection of pid %d (%s): %s", (int)c->pid, c->comm,
			 same_pid >= SOCK_CLIENTS_PER_PID ? "it has too many already"
							  : "too many hosted programs");
		free(c);
		return -EMFILE;
	}
	c->sl = sl;
	c->lfd.fd = fd;
	c->lfd.cb = client_event;
	int r = loop_add_fd(sl->loop, &c->lfd, EPOLLIN);
	if (r < 0) {
		free(c);
		return r;
	}
	c->next = sl->clients;
	sl->clients = c;
	sl->stats.clients++;
	return 0;
}

static void server_accept(struct loop_fd *lfd, uint32_t events)
{
	struct sock_layer *sl = container_of(lfd, struct sock_layer, lfd);
	for (;;) {
		int fd = accept4(lfd->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("shim socket %s: accept: %s", sl->path, strerror(errno));
			return;
		}
		uid_t uid = (uid_t)-1;
		if (!localsock_peer_trusted(fd, &uid)) {
			log_warn("shim socket %s: refusing a program of uid %u (only this user and "
				 "root may use the router's network)", sl->path, (unsigned)uid);
			close(fd);
			continue;
		}
		int r = sock_layer_add_client(sl, fd);
		if (r < 0) {
			if (r != -EMFILE)   /* that one was logged with the program's name */
				log_warn("shim socket %s: refusing a client: %s", sl->path,
					 strerror(-r));
			close(fd);
		}
	}
}

/* ---- life cycle ---- */

struct sock_layer *sock_layer_new(struct loop *loop, struct ip_router *router)
{
	struct sock_layer *sl = calloc(1, sizeof(*sl));
	if (!sl)
		return NULL;
	sl->loop = loop;
	sl->router = router;
	sl->lfd.fd = -1;
	sl->lfd.cb = server_accept;
	sl->loop_hook.cb = loopback_run;
	sl->reap_hook.cb = reap_run;
	pbuf_queue_init(&sl->loopq);
	crypto_random(&sl->ip_id, sizeof(sl->ip_id));
	sl->tcp = tcp_stack_new(loop, &sock_tcp_ops, sl);
	sl->rtnl = rtnl_new(router);
	if (!sl->tcp || !sl->rtnl) {
		if (sl->tcp)
			tcp_stack_free(sl->tcp);
		if (sl->rtnl)
			rtnl_free(sl->rtnl);
		free(sl);
		return NULL;
	}
	rtnl_set_wakeup(sl->rtnl, sock_netlink_wakeup, sl);
	return sl;
}

struct rtnl *sock_layer_rtnl(struct sock_layer *sl)
{
	return sl->rtnl;
}

void sock_layer_free(struct sock_layer *sl)
{
	if (!sl)
		return;
	while (sl->clients)
		client_free(sl->clients);
	for (uint32_t i = 0; i < SOCK_MAX; i++)
		if (sl->socks[i])
			sock_free(sl->socks[i]);
	if (sl->tcp)
		tcp_stack_free(sl->tcp);
	if (sl->rtnl)
		rtnl_free(sl->rtnl);
	loop_cancel_deferred(sl->loop, &sl->loop_hook);
	loop_cancel_deferred(sl->loop, &sl->reap_hook);
	reap_run(&sl->reap_hook);
	pbuf_queue_purge(&sl->loopq);
	if (sl->lfd.fd >= 0) {
		loop_del_fd(sl->loop, &sl->lfd);
		close(sl->lfd.fd);
		unlink(sl->path);
	}
	free(sl);
}

int sock_layer_open(struct sock_layer *sl, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path) || strlen(path) >= sizeof(sl->path)) {
		log_error("shim socket path %s is longer than %zu bytes", path,
			  sizeof(sun.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -errno;
	int live = connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(probe);
	if (live) {
		log_error("shim socket %s is in use: is another rrouted running?", path);
		return -EADDRINUSE;
	}
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	mode_t old = umask(0077);
	int r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0 || listen(fd, 64) < 0) {
		int err = errno;
		log_error("shim socket %s: %s", path, strerror(err));
		close(fd);
		return -err;
	}
	sl->lfd.fd = fd;
	r = loop_add_fd(sl->loop, &sl->lfd, EPOLLIN);
	if (r < 0) {
		close(fd);
		unlink(path);
		sl->lfd.fd = -1;
		return r;
	}
	snprintf(sl->path, sizeof(sl->path), "%s", path);
	return 0;
}

const char *sock_layer_path(const struct sock_layer *sl)
{
	return sl->path;
}

const struct sock_stats *sock_layer_stats(const struct sock_layer *sl)
{
	return &sl->stats;
}

void sock_default_path(const char *control_path, char *out, size_t len)
{
	size_t n = strlen(control_path);
	if (n > 5 && strcmp(control_path + n - 5, ".sock") == 0)
		snprintf(out, len, "%.*s-shim.sock", (int)(n - 5), control_path);
	else
		snprintf(out, len, "%s-shim", control_path);
}
