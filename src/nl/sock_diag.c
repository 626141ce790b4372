/*
 * NETLINK_SOCK_DIAG requests (nl/sock_diag.h). The reply layout follows the
 * kernel's inet_diag: one SOCK_DIAG_BY_FAMILY message per socket (struct
 * inet_diag_msg + attributes), NLM_F_MULTI on every message of a dump, then
 * NLMSG_DONE; an error is NLMSG_ERROR quoting the request's header.
 */
#include "nl/sock_diag.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nl/rtnl_internal.h"

struct diag_out {
	struct sock_diag_queue *q;
	struct nlbuf cur;     /* the datagram being filled */
	uint32_t portid;      /* of the requesting socket: every reply carries it */
	bool nomem;
};

/* Moves the datagram being built to the queue (if it holds anything). */
static void out_flush(struct diag_out *o)
{
	if (o->cur.nomem)
		o->nomem = true;
	if (o->cur.len && !o->cur.nomem) {
		struct sock_diag_dgram *d = malloc(sizeof(*d) + o->cur.len);
		if (!d) {
			o->nomem = true;
		} else {
			d->next = NULL;
			d->len = o->cur.len;
			memcpy(d->data, o->cur.data, o->cur.len);
			if (o->q->tail)
				o->q->tail->next = d;
			else
				o->q->head = d;
			o->q->tail = d;
		}
	}
	o->cur.len = 0;
	o->cur.nomem = false;
}

/* The message just appended at off made the datagram too long: it starts the next one. */
static void out_fit(struct diag_out *o, size_t off)
{
	if (o->cur.nomem || o->cur.len <= SOCK_DIAG_DGRAM_MAX || off == 0)
		return;
	size_t mlen = o->cur.len - off;
	uint8_t *msg = malloc(mlen);
	if (!msg) {
		o->nomem = true;
		return;
	}
	memcpy(msg, o->cur.data + off, mlen);
	o->cur.len = off;
	out_flush(o);
	nlbuf_put(&o->cur, msg, mlen);
	free(msg);
}

static void put_error(struct diag_out *o, const struct nlmsghdr *req, int err)
{
	struct nlmsgerr e;
	memset(&e, 0, sizeof(e));
	e.error = err;
	e.msg = *req;
	size_t off = nlmsg_begin(&o->cur, NLMSG_ERROR, NLM_F_CAPPED, req->nlmsg_seq,
				 o->portid, &e, sizeof(e));
	nlmsg_end(&o->cur, off);
	out_fit(o, off);
}

static void put_done(struct diag_out *o, const struct nlmsghdr *req)
{
	int32_t zero = 0;
	size_t off = nlmsg_begin(&o->cur, NLMSG_DONE, NLM_F_MULTI, req->nlmsg_seq, o->portid,
				 &zero, sizeof(zero));
	nlmsg_end(&o->cur, off);
	out_fit(o, off);
}

static void put_sock(struct diag_out *o, const struct nlmsghdr *req,
		     const struct inet_diag_req_v2 *r, const struct sock_diag_entry *e,
		     uint16_t flags)
{
	struct inet_diag_msg m;
	memset(&m, 0, sizeof(m));
	m.idiag_family = e->family;
	m.idiag_state = e->state;
	m.id.idiag_sport = htons(e->sport);
	m.id.idiag_dport = htons(e->dport);
	size_t alen = e->family == AF_INET ? 4 : 16;
	memcpy(m.id.idiag_src, e->src, alen);
	memcpy(m.id.idiag_dst, e->dst, alen);
	m.id.idiag_if = e->ifindex;
	m.id.idiag_cookie[0] = (uint32_t)e->cookie;
	m.id.idiag_cookie[1] = (uint32_t)(e->cookie >> 32);
	m.idiag_rqueue = e->rqueue;
	m.idiag_wqueue = e->wqueue;
	m.idiag_uid = e->uid;
	m.idiag_inode = (uint32_t)e->inode;
	size_t off = nlmsg_begin(&o->cur, SOCK_DIAG_BY_FAMILY, flags, req->nlmsg_seq,
				 o->portid, &m, sizeof(m));
	if (r->idiag_ext & (1u << (INET_DIAG_MEMINFO - 1))) {
		struct inet_diag_meminfo mi = { .idiag_rmem = e->rqueue, .idiag_wmem = e->wqueue };
		nla_put(&o->cur, INET_DIAG_MEMINFO, &mi, sizeof(mi));
	}
	/* The kernel always reports the protocol (ss tells TCP from MPTCP by it). */
	nla_put_u8(&o->cur, INET_DIAG_PROTOCOL, e->protocol);
	nlmsg_end(&o->cur, off);
	out_fit(o, off);
}

/* Does e answer an exact lookup for id (ports, addresses, and the cookie if given)? */
static bool id_matches(const struct sock_diag_entry *e, const struct inet_diag_sockid *id)
{
	size_t alen = e->family == AF_INET ? 4 : 16;
	if (ntohs(id->idiag_sport) != e->sport || ntohs(id->idiag_dport) != e->dport ||
	    memcmp(id->idiag_src, e->src, alen) != 0 || memcmp(id->idiag_dst, e->dst, alen) != 0)
		return false;
	/* INET_DIAG_NOCOOKIE (~0 in both words) means "any". */
	if (id->idiag_cookie[0] == INET_DIAG_NOCOOKIE && id->idiag_cookie[1] == INET_DIAG_NOCOOKIE)
		return true;
	return id->idiag_cookie[0] == (uint32_t)e->cookie &&
	       id->idiag_cookie[1] == (uint32_t)(e->cookie >> 32);
}

static void one_request(struct diag_out *o, const struct nlmsghdr *h, const uint8_t *payload,
			size_t plen, const struct sock_diag_entry *e, size_t n)
{
	if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY) {
		put_error(o, h, -EINVAL);
		return;
	}
	struct inet_diag_req_v2 r;
	if (plen < sizeof(r)) {
		put_error(o, h, -EINVAL);
		return;
	}
	memcpy(&r, payload, sizeof(r));
	if ((r.sdiag_family != AF_INET && r.sdiag_family != AF_INET6) ||
	    (r.sdiag_protocol != IPPROTO_TCP && r.sdiag_protocol != IPPROTO_UDP)) {
		put_error(o, h, -ENOENT);
		return;
	}
	bool dump = (h->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	for (size_t i = 0; i < n; i++) {
		if (e[i].family != r.sdiag_family || e[i].protocol != r.sdiag_protocol)
			continue;
		if (dump) {
			if (e[i].state < 32 && (r.idiag_states & (1u << e[i].state)))
				put_sock(o, h, &r, &e[i], NLM_F_MULTI);
		} else if (id_matches(&e[i], &r.id)) {
			put_sock(o, h, &r, &e[i], 0);
			return;
		}
	}
	if (dump)
		put_done(o, h);
	else
		put_error(o, h, -ENOENT);
}

int sock_diag_request(const void *buf, size_t len, uint32_t portid,
		      const struct sock_diag_entry *e, size_t n, struct sock_diag_queue *q)
{
	struct diag_out o = { .q = q, .portid = portid };
	const uint8_t *p = buf;
	while (len >= sizeof(struct nlmsghdr)) {
		struct nlmsghdr h;
		memcpy(&h, p, sizeof(h));
		if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len)
			break;   /* as the kernel: the rest of the datagram is ignored */
		if (h.nlmsg_flags & NLM_F_REQUEST)
			one_request(&o, &h, p + sizeof(h), h.nlmsg_len - sizeof(h), e, n);
		size_t step = NLMSG_ALIGN(h.nlmsg_len);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
	out_flush(&o);
	nlbuf_free(&o.cur);
	return o.nomem ? -ENOMEM : 0;
}

void sock_diag_queue_pop(struct sock_diag_queue *q)
{
	struct sock_diag_dgram *d = q->head;
	if (!d)
		return;
	q->head = d->next;
	if (!q->head)
		q->tail = NULL;
	free(d);
}

void sock_diag_queue_clear(struct sock_diag_queue *q)
{
	while (q->head)
		sock_diag_queue_pop(q);
}
