/*
 * DOC: Theory of operation
 *
 * A datagram from a hosted program is cut into netlink messages the way the
 * kernel's netlink_rcv_skb does; each request goes to its handler (link,
 * address, route), and what the kernel would send back is queued on the
 * socket as whole datagrams: a reply, then the ACK (NLMSG_ERROR 0) when
 * NLM_F_ACK asked for one, or the error (always). Dumps are cut into
 * datagrams of at most the reader's buffer size (RTNL_DUMP_MIN..MAX) and end
 * with one NLMSG_DONE. Links, addresses and generic netlink are built at once
 * (small); the route dump, which can be the whole Internet table, is built a
 * piece at a time as the reader takes it (rtnl_route.c), and while it runs
 * rtnl_sock_busy tells the transport to stop taking requests from that
 * socket, so a program that asks without reading holds a bounded queue.
 *
 * Notifications come from the FIB observer (every route change, whoever made
 * it) and from the handlers (addresses, links). They are counted per socket
 * against RTNL_SOCK_RCVBUF; one that does not fit is dropped and the next
 * recv fails once with ENOBUFS, so the reader knows to resynchronise.
 */
#include "nl/rtnl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "nl/genl.h"
#include "nl/rtnl_internal.h"

/* ---- buffers ---- */

void nlbuf_free(struct nlbuf *b)
{
	free(b->data);
	*b = (struct nlbuf){ 0 };
}

static bool nlbuf_reserve(struct nlbuf *b, size_t more)
{
	if (b->nomem)
		return false;
	if (b->len + more <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 512;
	while (cap < b->len + more)
		cap *= 2;
	/* Not realloc: the old block may hold a WireGuard private key; wipe it before it goes. */
	uint8_t *d = malloc(cap);
	if (!d) {
		b->nomem = true;
		return false;
	}
	if (b->data) {
		memcpy(d, b->data, b->len);
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	b->data = d;
	b->cap = cap;
	return true;
}

size_t nlbuf_put(struct nlbuf *b, const void *src, size_t len)
{
	size_t padded = NLMSG_ALIGN(len);
	if (!nlbuf_reserve(b, padded))
		return 0;
	size_t off = b->len;
	if (src && len)
		memcpy(b->data + off, src, len);
	else
		memset(b->data + off, 0, len);
	memset(b->data + off + len, 0, padded - len);
	b->len += padded;
	return off;
}

size_t nlmsg_begin(struct nlbuf *b, uint16_t type, uint16_t flags, uint32_t seq, uint32_t portid,
		   const void *hdr, size_t hdrlen)
{
	struct nlmsghdr h = { .nlmsg_type = type, .nlmsg_flags = flags, .nlmsg_seq = seq,
			      .nlmsg_pid = portid };
	size_t off = b->len;
	nlbuf_put(b, &h, sizeof(h));
	nlbuf_put(b, hdr, hdrlen);
	return off;
}

void nlmsg_end(struct nlbuf *b, size_t off)
{
	if (b->nomem)
		return;
	uint32_t len = (uint32_t)(b->len - off);
	memcpy(b->data + off + offsetof(struct nlmsghdr, nlmsg_len), &len, sizeof(len));
}

void nla_put(struct nlbuf *b, uint16_t type, const void *data, size_t len)
{
	struct nlattr a = { .nla_len = (uint16_t)(NLA_HDRLEN + len), .nla_type = type };
	if (!nlbuf_reserve(b, NLA_HDRLEN + NLA_ALIGN(len)))
		return;
	nlbuf_put(b, &a, sizeof(a));
	nlbuf_put(b, data, len);
}

void nla_put_u8(struct nlbuf *b, uint16_t type, uint8_t v)
{
	nla_put(b, type, &v, 1);
}

void nla_put_u32(struct nlbuf *b, uint16_t type, uint32_t v)
{
	nla_put(b, type, &v, 4);
}

void nla_put_str(struct nlbuf *b, uint16_t type, const char *s)
{
	nla_put(b, type, s, strlen(s) + 1);
}

void nla_put_addr(struct nlbuf *b, uint16_t type, const struct ip_addr *a)
{
	nla_put(b, type, a->bytes, ip_addr_size(a));
}

size_t nla_nest_begin(struct nlbuf *b, uint16_t type)
{
	size_t off = b->len;
	struct nlattr a = { .nla_len = NLA_HDRLEN, .nla_type = type | NLA_F_NESTED };
	nlbuf_put(b, &a, sizeof(a));
	return off;
}

void nla_nest_end(struct nlbuf *b, size_t off)
{
	if (b->nomem)
		return;
	uint16_t len = (uint16_t)(b->len - off);
	memcpy(b->data + off + offsetof(struct nlattr, nla_len), &len, sizeof(len));
}

/* ---- attributes ---- */

int nla_parse(const uint8_t *p, size_t len, const uint8_t *base, struct nla *tb, unsigned max)
{
	memset(tb, 0, (max + 1) * sizeof(*tb));
	while (len >= NLA_HDRLEN) {
		struct nlattr a;
		memcpy(&a, p, sizeof(a));
		if (a.nla_len < NLA_HDRLEN || a.nla_len > len)
			return -EINVAL;
		unsigned type = a.nla_type & NLA_TYPE_MASK;
		if (type <= max)
			tb[type] = (struct nla){ .data = p + NLA_HDRLEN,
						 .len = (uint16_t)(a.nla_len - NLA_HDRLEN),
						 .offset = (size_t)(p - base) };
		size_t step = NLA_ALIGN(a.nla_len);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
	return 0;
}

bool nla_get_u32(const struct nla *a, uint32_t *v)
{
	if (!a->data || a->len != 4)
		return false;
	memcpy(v, a->data, 4);
	return true;
}

bool nla_get_u8(const struct nla *a, uint8_t *v)
{
	if (!a->data || a->len < 1)
		return false;
	*v = a->data[0];
	return true;
}

bool nla_get_addr(const struct nla *a, int family, struct ip_addr *out)
{
	size_t want = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
	if (!a->data || !want || a->len != want)
		return false;
	memset(out, 0, sizeof(*out));
	out->family = (uint8_t)family;
	memcpy(out->bytes, a->data, want);
	return true;
}

/* ---- socket queues ---- */

static bool sock_readable(const struct rtnl_sock *s)
{
	return s->head || s->enobufs;
}

static void wake(struct rtnl_sock *s, bool was_readable)
{
	if (!was_readable && s->nl->wakeup)
		s->nl->wakeup(s->nl->wakeup_ctx, s);
}

static void dgram_drop(struct rtnl_sock *s, struct rtnl_dgram *d)
{
	if (s->protocol == NETLINK_GENERIC)
		explicit_bzero(d->data, d->len);   /* WireGuard dumps carry keys */
	free(d);
}

static struct rtnl_dgram *dgram_new(const uint8_t *data, size_t len, uint32_t group)
{
	struct rtnl_dgram *d = malloc(sizeof(*d) + len);
	if (!d)
		return NULL;
	d->next = NULL;
	d->group = group;
	d->len = len;
	memcpy(d->data, data, len);
	return d;
}

static void enqueue(struct rtnl_sock *s, struct rtnl_dgram *first, struct rtnl_dgram **last_next,
		    size_t n)
{
	bool was = sock_readable(s);
	*s->tail = first;
	s->tail = last_next;
	s->n_dgrams += n;
	for (struct rtnl_dgram *d = first; d; d = d->next)
		s->queued_bytes += d->len;
	wake(s, was);
}

int rtnl_queue_reply(struct rtnl_sock *s, const uint8_t *data, size_t len)
{
	struct rtnl_dgram *d = dgram_new(data, len, 0);
	if (!d)
		return -ENOMEM;
	enqueue(s, d, &d->next, 1);
	return 0;
}

bool rtnl_sock_busy(const struct rtnl_sock *s)
{
	return s->route_dump.active || s->queued_bytes > RTNL_SOCK_RCVBUF;
}

static void queue_notification(struct rtnl_sock *s, uint32_t group, const uint8_t *data,
			       size_t len)
{
	bool was = sock_readable(s);
	struct rtnl_dgram *d = NULL;
	if (s->notif_bytes + len <= RTNL_SOCK_RCVBUF)
		d = dgram_new(data, len, group);
	if (!d) {
		/* As netlink_overrun: the reader learns it lost messages, once. */
		if (!s->no_enobufs) {
			s->enobufs = true;
			wake(s, was);
		}
		return;
	}
	s->notif_bytes += len;
	enqueue(s, d, &d->next, 1);
}

static bool in_group(const struct rtnl_sock *s, uint32_t group)
{
	return group >= 1 && group <= 64 && (s->groups >> (group - 1) & 1);
}

void rtnl_notify(struct rtnl *nl, uint32_t group, struct nlbuf *msg, bool from_request)
{
	if (msg->nomem || msg->len < NLMSG_HDRLEN)
		return;
	struct nlmsghdr h;
	memcpy(&h, msg->data, sizeof(h));
	struct rtnl_sock *origin = from_request ? nl->req_sock : NULL;
	bool echo = false;
	if (origin && nl->req_hdr) {
		h.nlmsg_pid = origin->portid;
		h.nlmsg_seq = nl->req_hdr->nlmsg_seq;
		echo = nl->req_hdr->nlmsg_flags & NLM_F_ECHO;
	}
	memcpy(msg->data, &h, sizeof(h));
	for (struct rtnl_sock *s = nl->socks; s; s = s->next) {
		/* NLM_F_ECHO: the requester gets exactly one copy, as by nlmsg_notify. */
		if (echo && s == origin)
			continue;
		if (in_group(s, group))
			queue_notification(s, group, msg->data, msg->len);
	}
	if (echo && rtnl_queue_reply(origin, msg->data, msg->len) < 0)
		origin->enobufs = true;
}

/* ---- dumps ---- */

void rtnl_dump_init_sock(struct rtnl_dump *d, struct rtnl_sock *s, uint32_t seq)
{
	size_t chunk = s->max_recv_len;
	if (chunk < RTNL_DUMP_MIN)
		chunk = RTNL_DUMP_MIN;
	if (chunk > RTNL_DUMP_MAX)
		chunk = RTNL_DUMP_MAX;
	*d = (struct rtnl_dump){ .s = s, .seq = seq, .chunk = chunk };
	d->tail = &d->head;
}

void rtnl_dump_init(struct rtnl_dump *d, struct rtnl_req *q)
{
	rtnl_dump_init_sock(d, q->s, q->hdr.nlmsg_seq);
}

static void dump_flush(struct rtnl_dump *d)
{
	if (!d->cur.len)
		return;
	struct rtnl_dgram *g = dgram_new(d->cur.data, d->cur.len, 0);
	if (!g) {
		d->nomem = true;
	} else {
		*d->tail = g;
		d->tail = &g->next;
		d->n++;
	}
	d->cur.len = 0;
}

void rtnl_dump_add(struct rtnl_dump *d, const uint8_t *msg, size_t len)
{
	if (d->nomem)
		return;
	if (d->cur.len && d->cur.len + len > d->chunk)
		dump_flush(d);
	nlbuf_put(&d->cur, msg, len);
	if (d->cur.nomem)
		d->nomem = true;
}

int rtnl_dump_finish(struct rtnl_dump *d)
{
	return rtnl_dump_emit(d, true, NLM_F_MULTI);
}

int rtnl_dump_emit(struct rtnl_dump *d, bool last, uint16_t done_flags)
{
	if (last) {
		int zero = 0;
		struct nlbuf done = { 0 };
		size_t off = nlmsg_begin(&done, NLMSG_DONE, done_flags, d->seq, d->s->portid,
					 &zero, sizeof(zero));
		nlmsg_end(&done, off);
		if (done.nomem)
			d->nomem = true;
		else
			rtnl_dump_add(d, done.data, done.len);
		nlbuf_free(&done);
	}
	dump_flush(d);
	nlbuf_free(&d->cur);
	if (d->nomem) {
		while (d->head) {
			struct rtnl_dgram *g = d->head;
			d->head = g->next;
			free(g);
		}
		return -ENOMEM;
	}
	if (d->head)
		enqueue(d->s, d->head, d->tail, d->n);
	return 0;
}

/* ---- sockets ---- */

struct rtnl *rtnl_new(struct ip_router *r)
{
	struct rtnl *nl = calloc(1, sizeof(*nl));
	if (!nl)
		return NULL;
	nl->router = r;
	/* Where the kernel's autobind starts (-4096), going down. */
	nl->next_portid = 0xfffff000u;
	fib_set_observer(r->fib, rtnl_route_observer, nl);
	ip_router_set_link_observer(r, rtnl_link_observer, nl);
	rtnl_register_link_kind(nl, "dummy", rtnl_dummy_create, r);
	return nl;
}

void rtnl_free(struct rtnl *nl)
{
	if (!nl)
		return;
	if (nl->router && nl->router->fib)
		fib_set_observer(nl->router->fib, NULL, NULL);
	if (nl->router)
		ip_router_set_link_observer(nl->router, NULL, NULL);
	while (nl->socks)
		rtnl_sock_free(nl->socks);
	free(nl);
}

void rtnl_set_wakeup(struct rtnl *nl, void (*cb)(void *ctx, struct rtnl_sock *s), void *ctx)
{
	nl->wakeup = cb;
	nl->wakeup_ctx = ctx;
}

static struct rtnl_sock *sock_by_portid(const struct rtnl *nl, uint32_t portid)
{
	for (struct rtnl_sock *s = nl->socks; s; s = s->next)
		if (s->portid == portid)
			return s;
	return NULL;
}

struct rtnl_sock *rtnl_sock_new(struct rtnl *nl, uint32_t portid)
{
	if (portid && sock_by_portid(nl, portid)) {
		errno = EADDRINUSE;
		return NULL;
	}
	while (!portid) {
		uint32_t p = nl->next_portid--;
		if (nl->next_portid < 0x80000000u)
			nl->next_portid = 0xfffff000u;
		if (!sock_by_portid(nl, p))
			portid = p;
	}
	struct rtnl_sock *s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->nl = nl;
	s->portid = portid;
	s->tail = &s->head;
	s->next = nl->socks;
	nl->socks = s;
	return s;
}

void rtnl_sock_free(struct rtnl_sock *s)
{
	if (!s)
		return;
	struct rtnl_sock **pp = &s->nl->socks;
	while (*pp && *pp != s)
		pp = &(*pp)->next;
	if (*pp)
		*pp = s->next;
	if (s->nl->req_sock == s)
		s->nl->req_sock = NULL;
	while (s->head) {
		struct rtnl_dgram *d = s->head;
		s->head = d->next;
		dgram_drop(s, d);
	}
	free(s);
}

uint32_t rtnl_sock_portid(const struct rtnl_sock *s)
{
	return s->portid;
}

int rtnl_sock_set_protocol(struct rtnl_sock *s, int protocol)
{
	if (protocol != NETLINK_ROUTE && protocol != NETLINK_GENERIC)
		return -EPROTONOSUPPORT;
	s->protocol = protocol;
	return 0;
}

int rtnl_sock_bind(struct rtnl_sock *s, uint32_t groups)
{
	/* nl_groups speaks for groups 1..32 only; memberships above stay. */
	s->groups = (s->groups & ~(uint64_t)0xffffffffu) | groups;
	return 0;
}

int rtnl_sock_setsockopt(struct rtnl_sock *s, int opt, int value)
{
	switch (opt) {
	case NETLINK_ADD_MEMBERSHIP:
	case NETLINK_DROP_MEMBERSHIP:
		if (value < 1 || value > 64 || value > RTNLGRP_MAX)
			return -EINVAL;
		if (opt == NETLINK_ADD_MEMBERSHIP)
			s->groups |= (uint64_t)1 << (value - 1);
		else
			s->groups &= ~((uint64_t)1 << (value - 1));
		return 0;
	case NETLINK_GET_STRICT_CHK:
		s->strict = value != 0;
		return 0;
	case NETLINK_EXT_ACK:
		s->ext_ack = value != 0;
		return 0;
	case NETLINK_CAP_ACK:
		s->cap_ack = value != 0;
		return 0;
	case NETLINK_NO_ENOBUFS:
		s->no_enobufs = value != 0;
		if (s->no_enobufs)
			s->enobufs = false;
		return 0;
	case NETLINK_PKTINFO:
	case NETLINK_BROADCAST_ERROR:
		return 0;   /* accepted; nothing in the emulation depends on them */
	default:
		return -ENOPROTOOPT;
	}
}

int rtnl_sock_getsockopt(const struct rtnl_sock *s, int opt, int *value)
{
	switch (opt) {
	case NETLINK_GET_STRICT_CHK: *value = s->strict; return 0;
	case NETLINK_EXT_ACK: *value = s->ext_ack; return 0;
	case NETLINK_CAP_ACK: *value = s->cap_ack; return 0;
	case NETLINK_NO_ENOBUFS: *value = s->no_enobufs; return 0;
	case NETLINK_PKTINFO:
	case NETLINK_BROADCAST_ERROR: *value = 0; return 0;
	default: return -ENOPROTOOPT;
	}
}

size_t rtnl_sock_pending(const struct rtnl_sock *s)
{
	return s->n_dgrams + (s->enobufs ? 1 : 0) + (!s->head && s->route_dump.active ? 1 : 0);
}

ssize_t rtnl_sock_recv(struct rtnl_sock *s, void *buf, size_t len, bool peek, uint32_t *group)
{
	if (len > s->max_recv_len)
		s->max_recv_len = len;
	if (s->enobufs) {
		/* Reported before any data and cleared even by a peek, as sock_error(). */
		s->enobufs = false;
		return -ENOBUFS;
	}
	if (!s->head && s->route_dump.active)
		rtnl_route_dump_step(s);   /* the reader took the last piece: build the next */
	struct rtnl_dgram *d = s->head;
	if (!d)
		return -EAGAIN;
	if (len && buf)
		memcpy(buf, d->data, d->len < len ? d->len : len);
	if (group)
		*group = d->group;
	ssize_t n = (ssize_t)d->len;
	if (!peek) {
		s->head = d->next;
		if (!s->head)
			s->tail = &s->head;
		s->n_dgrams--;
		s->queued_bytes -= d->len;
		if (d->group)
			s->notif_bytes -= d->len;
		dgram_drop(s, d);
	}
	return n;
}

/* ---- requests ---- */

/* NLMSG_ERROR for req: error 0 is an ACK. */
static int send_error(struct rtnl_req *q, int err)
{
	struct rtnl_sock *s = q->s;
	struct nlbuf b = { 0 };
	uint16_t flags = 0;
	/* Errors carry the request back unless capped; ACKs never do (netlink_ack). */
	size_t echo = sizeof(struct nlmsghdr);
	if (err && !s->cap_ack)
		echo = q->hdr.nlmsg_len;
	else
		flags |= NLM_F_CAPPED;
	bool tlvs = s->ext_ack && (q->errmsg || (err && q->bad_attr));
	if (tlvs)
		flags |= NLM_F_ACK_TLVS;
	size_t off = nlmsg_begin(&b, NLMSG_ERROR, flags, q->hdr.nlmsg_seq, s->portid, &err,
				 sizeof(err));
	struct nlmsghdr echoed = q->hdr;
	nlbuf_put(&b, &echoed, sizeof(echoed));
	if (echo > sizeof(echoed))
		nlbuf_put(&b, q->msg + sizeof(echoed), echo - sizeof(echoed));
	if (tlvs) {
		if (q->errmsg)
			nla_put_str(&b, NLMSGERR_ATTR_MSG, q->errmsg);
		if (err && q->bad_attr)
			nla_put_u32(&b, NLMSGERR_ATTR_OFFS, (uint32_t)q->bad_attr->offset);
	}
	nlmsg_end(&b, off);
	int r = b.nomem ? -ENOMEM : rtnl_queue_reply(s, b.data, b.len);
	nlbuf_free(&b);
	return r;
}

/* Dumps of things the router has none of: an empty, well-formed answer. */
static int empty_dump(struct rtnl_req *q)
{
	struct rtnl_dump d;
	rtnl_dump_init(&d, q);
	return rtnl_dump_finish(&d) < 0 ? -ENOMEM : RTNL_DONE;
}

static int dispatch(struct rtnl_req *q)
{
	uint16_t type = q->hdr.nlmsg_type;
	bool dump = (q->hdr.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	switch (type) {
	case RTM_GETLINK: return rtnl_link_get(q);
	case RTM_NEWLINK:
	case RTM_SETLINK: return rtnl_link_set(q);
	case RTM_DELLINK: return rtnl_link_del(q);
	case RTM_GETADDR: return rtnl_addr_get(q);
	case RTM_NEWADDR: return rtnl_addr_new(q);
	case RTM_DELADDR: return rtnl_addr_del(q);
	case RTM_GETROUTE: return rtnl_route_get(q);
	case RTM_NEWROUTE: return rtnl_route_new(q);
	case RTM_DELROUTE: return rtnl_route_del(q);
	case RTM_GETNEIGH:
	case RTM_GETRULE:
	case RTM_GETQDISC:
	case RTM_GETNEXTHOP:
	case RTM_GETNETCONF:
	case RTM_GETMULTICAST:
	case RTM_GETANYCAST:
		if (dump)
			return empty_dump(q);
		return rtnl_fail(q, -ENOENT, "No such object");
	default:
		if (type > RTM_MAX)
			return -EOPNOTSUPP;
		return rtnl_fail(q, -EOPNOTSUPP, "Operation not supported by rrouted's rtnetlink");
	}
}

static int handle(struct rtnl_sock *s, const uint8_t *msg, const struct nlmsghdr *h)
{
	struct rtnl_req q = { .s = s, .hdr = *h, .msg = msg, .body = msg + NLMSG_HDRLEN,
			      .body_len = h->nlmsg_len - NLMSG_HDRLEN };
	int err = 0;
	/* As netlink_rcv_skb: control messages and non-requests are only acknowledged. */
	if ((h->nlmsg_flags & NLM_F_REQUEST) && h->nlmsg_type >= NLMSG_MIN_TYPE &&
	    s->protocol == NETLINK_GENERIC) {
		s->nl->req_sock = s;
		s->nl->req_hdr = h;
		err = genl_dispatch(&q);
		s->nl->req_sock = NULL;
		s->nl->req_hdr = NULL;
	} else if ((h->nlmsg_flags & NLM_F_REQUEST) && h->nlmsg_type >= NLMSG_MIN_TYPE) {
		if (q.body_len < sizeof(struct rtgenmsg)) {
			err = 0;   /* rtnetlink_rcv_msg ignores it */
		} else {
			s->nl->req_sock = s;
			s->nl->req_hdr = h;
			err = dispatch(&q);
			s->nl->req_sock = NULL;
			s->nl->req_hdr = NULL;
		}
	}
	if (err == RTNL_DONE)
		return 0;
	if (err || (h->nlmsg_flags & NLM_F_ACK))
		return send_error(&q, err);
	return 0;
}

int rtnl_sock_send(struct rtnl_sock *s, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int ret = 0;
	while (len >= NLMSG_HDRLEN) {
		struct nlmsghdr h;
		memcpy(&h, p, sizeof(h));
		if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len) {
			/* The kernel drops the rest silently; an error helps whoever debugs. */
			if (h.nlmsg_flags & NLM_F_REQUEST) {
				struct rtnl_req q = { .s = s, .hdr = h, .msg = p,
						      .errmsg = "Message length is wrong" };
				q.hdr.nlmsg_len = NLMSG_HDRLEN;
				if (send_error(&q, -EINVAL) < 0)
					ret = -ENOMEM;
			}
			break;
		}
		/* Handlers read the message through an aligned copy: outside bytes, any alignment. */
		uint8_t *copy = malloc(h.nlmsg_len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, p, h.nlmsg_len);
		if (handle(s, copy, &h) < 0)
			ret = -ENOMEM;
		free(copy);
		size_t step = NLMSG_ALIGN(h.nlmsg_len);
		if (step > len)
			step = len;
		p += step;
		len -= step;
	}
	return ret;
}
