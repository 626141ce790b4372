/*
 * TCP engine (RFC 9293) for the router's own addresses.
 *
 * DOC: Theory of operation
 *
 * Connections live in one keyed hash table on the 4-tuple (plus the
 * interface for link-local peers). A listener owns two queues: the SYN
 * queue (half-open children in SYN-RECEIVED, bounded) and the accept queue
 * (established, bounded by the backlog). When the SYN queue is full we
 * answer with SYN cookies, so a flood of spoofed SYNs costs no memory.
 *
 * Buffers are byte rings that grow on demand up to sndbuf/rcvbuf and are
 * freed when empty, so an idle connection holds only its TCB. The receive
 * ring also stores out-of-order data at its sequence offset; a small range
 * set remembers which parts are present (our SACK blocks). The sender keeps
 * the peer's SACK blocks in the same kind of range set (the scoreboard).
 *
 * Loss recovery: RFC 6298 RTO (min 200 ms, initial 1 s, Karn, backoff),
 * RFC 5681 slow start with byte counting, RFC 3042 limited transmit, and
 * fast recovery: NewReno (RFC 6582) with window inflation when the peer has
 * no SACK, else RFC 6675 (IsLost, pipe, NextSeg) with PRR (RFC 6937) pacing
 * the window down. Retransmissions in flight are remembered, so a lost
 * retransmission is found from later SACKs and sent again instead of
 * costing an RTO. One loss event (everything up to "recover") reduces the
 * window once. Congestion avoidance and the loss response are CUBIC with a
 * delivery-rate floor (stack/tcp_cc.h): random loss keeps the window.
 * Without SO_SNDBUF the send buffer grows with cwnd up to 4 MB (as Linux).
 *
 * Callbacks: processing only records events on the connection (connected,
 * readable, writable, closed); they are delivered at the end of tcp_input or
 * a timer, or from a deferred loop hook when the change happened inside a
 * call from the socket layer (tcp_recv, tcp_send...). Nothing is freed
 * while a call is on the stack: dead connections and listeners go to a
 * graveyard emptied by the same deferred hook.
 *
 * Timers per connection: rtx (retransmission, SYN retries, persist), ack
 * (delayed ACK), misc (keepalive, FIN-WAIT-2 orphan timeout, TIME-WAIT).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack/tcp_int.h"

static void conn_free(struct tcp_conn *c);
static void listener_free(struct tcp_listener *l);

const char *tcp_state_name(enum tcp_state st)
{
	static const char *const names[] = {
		"CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
		"FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT",
	};
	if ((unsigned)st < sizeof(names) / sizeof(names[0]))
		return names[st];
	return "?";
}

static void schedule_hook(struct tcp_stack *s)
{
	loop_defer(s->loop, &s->hook);
}

/* ---- hash table ---- */

static uint32_t mix32(uint32_t h, uint32_t v)
{
	h ^= v * 0x9e3779b1u;
	h = (h << 13) | (h >> 19);
	return h * 5 + 0xe6546b64u;
}

static uint32_t tuple_hash(const struct tcp_stack *s, const struct ip_addr *la, uint16_t lp,
			   const struct ip_addr *ra, uint16_t rp, uint32_t scope)
{
	uint32_t h = s->hash_seed, w;
	for (unsigned i = 0; i < ip_addr_size(ra); i += 4) {
		memcpy(&w, ra->bytes + i, 4);
		h = mix32(h, w);
		memcpy(&w, la->bytes + i, 4);
		h = mix32(h, w);
	}
	h = mix32(h, (uint32_t)lp << 16 | rp);
	h = mix32(h, scope);
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	return h & ((1u << TCP_HASH_BITS) - 1);
}

struct tcp_conn *tcp_conn_lookup(struct tcp_stack *s, const struct ip_addr *la, uint16_t lp,
				 const struct ip_addr *ra, uint16_t rp, uint32_t scope)
{
	for (struct tcp_conn *c = s->hash[tuple_hash(s, la, lp, ra, rp, scope)]; c; c = c->hnext)
		if (c->local.port == lp && c->remote.port == rp && c->scope == scope &&
		    ip_addr_equal(&c->local.addr, la) && ip_addr_equal(&c->remote.addr, ra))
			return c;
	return NULL;
}

void tcp_conn_hash(struct tcp_conn *c)
{
	struct tcp_stack *s = c->s;
	uint32_t h = tuple_hash(s, &c->local.addr, c->local.port, &c->remote.addr, c->remote.port, c->scope);
	c->hnext = s->hash[h];
	s->hash[h] = c;
	c->hashed = true;
}

static void conn_unhash(struct tcp_conn *c)
{
	if (!c->hashed)
		return;
	struct tcp_stack *s = c->s;
	uint32_t h = tuple_hash(s, &c->local.addr, c->local.port, &c->remote.addr, c->remote.port, c->scope);
	for (struct tcp_conn **pp = &s->hash[h]; *pp; pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	}
	c->hnext = NULL;
	c->hashed = false;
}

/* ---- listener queues ---- */

static void lis_unlink(struct tcp_conn *c)
{
	struct tcp_listener *l = c->lis;
	if (!l)
		return;
	if (c->in_acceptq) {
		for (struct tcp_conn **pp = &l->accq; *pp; pp = &(*pp)->qnext) {
			if (*pp == c) {
				*pp = c->qnext;
				break;
			}
		}
		l->accq_tail = NULL;
		for (struct tcp_conn *q = l->accq; q; q = q->qnext)
			l->accq_tail = q;
		l->acc_count--;
		c->in_acceptq = false;
	} else {
		if (c->qprev)
			c->qprev->qnext = c->qnext;
		else
			l->synq = c->qnext;
		if (c->qnext)
			c->qnext->qprev = c->qprev;
		l->syn_count--;
	}
	c->qprev = c->qnext = NULL;
	c->lis = NULL;
}

void tcp_synq_add(struct tcp_listener *l, struct tcp_conn *c)
{
	c->lis = l;
	c->qprev = NULL;
	c->qnext = l->synq;
	if (l->synq)
		l->synq->qprev = c;
	l->synq = c;
	l->syn_count++;
}

/* Moves an established child from the SYN queue to the accept queue. */
static void accq_add(struct tcp_listener *l, struct tcp_conn *c)
{
	if (c->lis == l && !c->in_acceptq)
		lis_unlink(c);
	c->lis = l;
	c->in_acceptq = true;
	c->qprev = NULL;
	c->qnext = NULL;
	if (l->accq_tail)
		l->accq_tail->qnext = c;
	else
		l->accq = c;
	l->accq_tail = c;
	l->acc_count++;
}

/* ---- options and buffers ---- */

static void opts_resolve(struct tcp_options *o, const struct tcp_options *in)
{
	if (in)
		*o = *in;
	else
		memset(o, 0, sizeof(*o));
	if (!o->keepidle_s)
		o->keepidle_s = 7200;
	if (!o->keepintvl_s)
		o->keepintvl_s = 75;
	if (!o->keepcnt)
		o->keepcnt = 9;
	if (!o->ttl)
		o->ttl = 64;
	if (!o->sndbuf)
		o->sndbuf = TCP_DEF_BUF;
	if (!o->rcvbuf)
		o->rcvbuf = TCP_DEF_BUF;
	o->sndbuf = min_u32(max_u32(o->sndbuf, TCP_MIN_BUF), TCP_MAX_BUF);
	o->rcvbuf = min_u32(max_u32(o->rcvbuf, TCP_MIN_BUF), TCP_MAX_BUF);
}

uint8_t tcp_wscale_for(uint32_t rcvbuf)
{
	uint8_t ws = 0;
	while (ws < 14 && (rcvbuf >> ws) > 65535)
		ws++;
	return ws;
}

uint16_t tcp_mss_for(const struct tcp_stack *s, const struct tcp_endpoint *dst)
{
	uint16_t mtu = s->ops->path_mtu ? s->ops->path_mtu(s->ctx, dst) : 0;
	if (!mtu)
		mtu = 1280;
	if (mtu > PBUF_MTU_MAX)
		mtu = PBUF_MTU_MAX;
	unsigned hdr = dst->addr.family == AF_INET ? 40 : 60;
	if (mtu < hdr + 88)
		mtu = (uint16_t)(hdr + 88);
	return (uint16_t)(mtu - hdr);
}

/* ---- ISN (RFC 6528) and SYN cookies ---- */

struct tuple_bytes {
	uint8_t la[16], ra[16];
	uint8_t lp[2], rp[2];
	uint8_t extra[8];
};

static void tuple_fill(struct tuple_bytes *t, const struct ip_addr *la, uint16_t lp,
		       const struct ip_addr *ra, uint16_t rp)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->la, la->bytes, ip_addr_size(la));
	memcpy(t->ra, ra->bytes, ip_addr_size(ra));
	wr16(t->lp, lp);
	wr16(t->rp, rp);
}

uint32_t tcp_isn_for(struct tcp_stack *s, const struct ip_addr *la, uint16_t lp,
		     const struct ip_addr *ra, uint16_t rp)
{
	struct tuple_bytes t;
	uint8_t h[4];
	tuple_fill(&t, la, lp, ra, rp);
	blake2s_mac(h, sizeof(h), s->isn_key, sizeof(s->isn_key), &t, sizeof(t));
	/* M: a 4-microsecond clock (RFC 6528 section 3) */
	return rd32(h) + (uint32_t)(now_ns(s) / 4000);
}

static uint32_t cookie_hash(struct tcp_stack *s, const struct ip_addr *la, uint16_t lp,
			    const struct ip_addr *ra, uint16_t rp, uint32_t peer_isn, uint32_t count)
{
	struct tuple_bytes t;
	uint8_t h[4];
	tuple_fill(&t, la, lp, ra, rp);
	wr32(t.extra, peer_isn);
	wr32(t.extra + 4, count);
	blake2s_mac(h, sizeof(h), s->cookie_key, sizeof(s->cookie_key), &t, sizeof(t));
	return rd32(h);
}

/*
 * Cookie layout: bits 0-1 the 64-second counter (clear), bits 2-8 the
 * option info (MSS index, window scale or 15, SACK) masked with the hash,
 * bits 9-31 the hash: 23 bits an off-path attacker must guess.
 */
uint32_t tcp_cookie_make(struct tcp_stack *s, const struct ip_addr *la, uint16_t lp,
			 const struct ip_addr *ra, uint16_t rp, uint32_t peer_isn,
			 unsigned mss_idx, int ws, bool sack)
{
	uint32_t count = (uint32_t)(now_ns(s) / TCP_COOKIE_PERIOD);
	uint32_t h = cookie_hash(s, la, lp, ra, rp, peer_isn, count);
	uint32_t info = (mss_idx & 3) | (uint32_t)((ws < 0 ? 15 : ws) & 15) << 2 | (sack ? 64u : 0);
	return (h & ~0x1ffu) | (((info << 2) ^ h) & 0x1fcu) | (count & 3);
}

/* Returns the info bits, or -1 if the cookie is not ours or too old. */
int tcp_cookie_check(struct tcp_stack *s, const struct ip_addr *la, uint16_t lp,
		     const struct ip_addr *ra, uint16_t rp, uint32_t peer_isn, uint32_t cookie)
{
	uint32_t count = (uint32_t)(now_ns(s) / TCP_COOKIE_PERIOD);
	for (uint32_t back = 0; back < 2; back++) {
		uint32_t cnt = count - back;
		if ((cnt & 3) != (cookie & 3))
			continue;
		uint32_t h = cookie_hash(s, la, lp, ra, rp, peer_isn, cnt);
		if (((cookie ^ h) & ~0x1ffu) == 0)
			return (int)((((cookie ^ h) & 0x1fcu) >> 2) & 0x7f);
	}
	return -1;
}

/* ---- connection lifecycle ---- */

static void conn_timers_cancel(struct tcp_conn *c)
{
	timer_cancel(c->s->loop, &c->t_rtx);
	timer_cancel(c->s->loop, &c->t_ack);
	timer_cancel(c->s->loop, &c->t_misc);
}

/* Frees c later (from the hook) once nobody can refer to it any more. */
static void conn_bury(struct tcp_conn *c)
{
	if (c->in_grave || c->owned || c->state != TCP_CLOSED)
		return;
	struct tcp_stack *s = c->s;
	conn_unhash(c);
	lis_unlink(c);
	conn_timers_cancel(c);
	c->in_grave = true;
	c->dnext = s->grave;
	s->grave = c;
	s->stats.connections--;
	schedule_hook(s);
}

/* The TCB is finished: CLOSED, unhashed; the application hears err (once). */
void tcp_done(struct tcp_conn *c, int err)
{
	if (c->state == TCP_CLOSED)
		return;
	bool was_syn_sent = c->state == TCP_SYN_SENT || (c->active && c->state == TCP_SYN_RECEIVED);
	c->state = TCP_CLOSED;
	conn_unhash(c);
	lis_unlink(c);
	conn_timers_cancel(c);
	tcp_ring_free(&c->sbuf);
	if (err) {
		tcp_ring_free(&c->rbuf);
		c->ooo.n = 0;
	}
	if (was_syn_sent && !c->connected_notified) {
		c->ev |= EV_CONNECTED;
		c->err = err ? err : ECONNREFUSED;
		c->ev |= EV_CLOSED;
	} else if (!(c->ev & EV_CLOSED) || err) {
		c->err = err;
		c->ev |= EV_CLOSED;
	}
	if (!c->owned)
		conn_bury(c);
}

/* Defers delivery of c's events to the loop hook (used inside API calls). */
static void queue_notify(struct tcp_conn *c)
{
	if (c->in_notify || c->in_grave)
		return;
	c->in_notify = true;
	c->nnext = c->s->notify;
	c->s->notify = c;
	schedule_hook(c->s);
}

static void kick(struct tcp_conn *c)
{
	if (!c->ev)
		return;
	if (c->s->api_depth)
		queue_notify(c);
	else
		tcp_flush_events(c);
}

void tcp_flush_events(struct tcp_conn *c)
{
	struct tcp_stack *s = c->s;
	const struct tcp_ops *ops = s->ops;
	if (c->ev & EV_ACCEPT) {
		c->ev &= (uint8_t)~EV_ACCEPT;
		struct tcp_listener *l = c->lis;
		if (l && !l->closed && c->state != TCP_CLOSED && !c->in_acceptq) {
			accq_add(l, c);
			if (ops->on_accept_ready)
				ops->on_accept_ready(s->ctx, l);
		}
	}
	while (c->ev && c->owned && !c->closed_notified) {
		if (c->ev & EV_CONNECTED) {
			c->ev &= (uint8_t)~EV_CONNECTED;
			c->connected_notified = true;
			if (ops->on_connected)
				ops->on_connected(s->ctx, c, c->state == TCP_CLOSED ? (c->err ? c->err : ECONNREFUSED) : 0);
		} else if (c->ev & EV_READABLE) {
			c->ev &= (uint8_t)~EV_READABLE;
			if (ops->on_readable)
				ops->on_readable(s->ctx, c);
		} else if (c->ev & EV_WRITABLE) {
			c->ev &= (uint8_t)~EV_WRITABLE;
			if (ops->on_writable)
				ops->on_writable(s->ctx, c);
		} else if (c->ev & EV_CLOSED) {
			/* An orderly end waits until the application has read every byte. */
			if (!c->err && c->rbuf.len)
				break;
			c->ev = 0;
			c->closed_notified = true;
			if (ops->on_closed)
				ops->on_closed(s->ctx, c, c->err);
		} else {
			c->ev = 0;
		}
	}
	if (!c->owned && !c->lis)
		c->ev = 0;
	if (!c->owned && c->state == TCP_CLOSED)
		conn_bury(c);
}

static void stack_hook(struct loop_hook *h)
{
	struct tcp_stack *s = container_of(h, struct tcp_stack, hook);
	while (s->notify) {
		struct tcp_conn *c = s->notify;
		s->notify = c->nnext;
		c->in_notify = false;
		c->nnext = NULL;
		if (!c->in_grave)
			tcp_flush_events(c);
	}
	while (s->grave) {
		struct tcp_conn *c = s->grave;
		s->grave = c->dnext;
		if (c->aprev)
			c->aprev->anext = c->anext;
		else
			s->all = c->anext;
		if (c->anext)
			c->anext->aprev = c->aprev;
		conn_free(c);
	}
	while (s->lgrave) {
		struct tcp_listener *l = s->lgrave;
		s->lgrave = l->dnext;
		listener_free(l);
	}
}

static int conn_set_md5(struct tcp_conn *c, const struct tcp_md5_key *key)
{
	struct tcp_md5_key *k = NULL;
	if (c->md5 && key && c->md5 == key)
		return 0;
	if (key) {
		k = malloc(sizeof(*k));
		if (!k)
			return -ENOMEM;
		memcpy(k, key, sizeof(*k));
	}
	if (c->md5) {
		crypto_wipe(c->md5, sizeof(*c->md5));
		free(c->md5);
	}
	c->md5 = k;
	return 0;
}

/* The key of ks for c's peer (the interface matters for link-local peers). */
static const struct tcp_md5_key *md5_key_for(const struct tcp_md5_keyset *ks, const struct ip_addr *peer,
					     uint32_t scope)
{
	return ks ? tcp_md5_keyset_lookup(ks, peer, scope) : NULL;
}

static void conn_free(struct tcp_conn *c)
{
	tcp_ring_free(&c->sbuf);
	tcp_ring_free(&c->rbuf);
	free(c->rx);
	conn_set_md5(c, NULL);
	free(c);
}

static void listener_free(struct tcp_listener *l)
{
	tcp_md5_keyset_clear(&l->md5);
	free(l);
}

struct tcp_conn *tcp_conn_new(struct tcp_stack *s, const struct tcp_endpoint *local,
			      const struct tcp_endpoint *remote, uint32_t scope,
			      const struct tcp_options *opt)
{
	struct tcp_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->s = s;
	c->local = *local;
	c->remote = *remote;
	c->scope = scope;
	opts_resolve(&c->opt, opt);
	c->opt.md5 = NULL;   /* the socket's keys are not ours to keep: only our peer's key */
	if (conn_set_md5(c, md5_key_for(opt ? opt->md5 : NULL, &remote->addr, scope)) < 0) {
		free(c);
		return NULL;
	}
	c->sndbuf = c->opt.sndbuf;
	c->sndbuf_auto = !opt || !opt->sndbuf;
	c->rcvbuf = c->opt.rcvbuf;
	c->rcv_wscale = tcp_wscale_for(c->rcvbuf);
	c->rcv_mss = tcp_mss_for(s, remote);
	if (c->opt.user_mss && c->opt.user_mss < c->rcv_mss)
		c->rcv_mss = c->opt.user_mss;   /* TCP_MAXSEG: what we announce and send */
	c->mss = local->addr.family == AF_INET ? 536 : 1220;
	c->rto = TCP_RTO_INIT;
	c->ssthresh = UINT32_MAX / 2;
	c->quickacks = TCP_QUICKACKS;
	c->last_rcv = now_ns(s);
	timer_init(&c->t_rtx, tcp_rtx_timer_fired);
	timer_init(&c->t_ack, tcp_ack_timer_fired);
	timer_init(&c->t_misc, tcp_misc_timer_fired);
	c->anext = s->all;
	if (s->all)
		s->all->aprev = c;
	s->all = c;
	s->stats.connections++;
	return c;
}

void tcp_conn_set_iss(struct tcp_conn *c, uint32_t iss)
{
	c->iss = iss;
	c->snd_una = c->snd_nxt = c->snd_max = iss;
	c->sbuf_seq = iss + 1;
	c->recover = iss;
	c->snd_sml = iss;
}

/* Applies the peer's SYN options; mss from the SYN (0 if absent). */
void tcp_conn_syn_options(struct tcp_conn *c, uint16_t peer_mss, int ws, bool sack_ok)
{
	uint16_t def = c->local.addr.family == AF_INET ? 536 : 1220;
	uint16_t m = peer_mss ? peer_mss : def;
	if (m > c->rcv_mss)
		m = c->rcv_mss;   /* our path MTU bounds what we send too */
	if (c->md5)
		m = (uint16_t)(m > 64 + TCP_MD5_OPT_SPACE ? m - TCP_MD5_OPT_SPACE : 64);   /* every segment carries it */
	if (m < 64)
		m = 64;
	c->mss = m;
	c->ws_ok = ws >= 0;
	c->snd_wscale = ws >= 0 ? (uint8_t)(ws > 14 ? 14 : ws) : 0;
	if (!c->ws_ok)
		c->rcv_wscale = 0;
	c->sack_ok = sack_ok;
	/* RFC 6928 initial window */
	c->cwnd = 10u * c->mss;
	uint64_t min_rtt = c->cc.min_rtt, min_rtt_at = c->cc.min_rtt_at;
	tcp_cc_init(&c->cc, c->mss);
	c->cc.min_rtt = min_rtt;   /* the handshake's sample may have come first */
	c->cc.min_rtt_at = min_rtt_at;
}

void tcp_conn_established_common(struct tcp_conn *c)
{
	c->state = TCP_ESTABLISHED;
	c->rtt_timing = false;
	c->retries = 0;
	c->backoff = 0;
	c->last_rcv = now_ns(c->s);
	timer_cancel(c->s->loop, &c->t_rtx);
	tcp_keepalive_arm(c);
}

/* ---- public API ---- */

struct tcp_stack *tcp_stack_new(struct loop *loop, const struct tcp_ops *ops, void *ctx)
{
	struct tcp_stack *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->loop = loop;
	s->ops = ops;
	s->ctx = ctx;
	crypto_random(s->isn_key, sizeof(s->isn_key));
	crypto_random(s->cookie_key, sizeof(s->cookie_key));
	crypto_random(&s->hash_seed, sizeof(s->hash_seed));
	crypto_random(&s->ip_id, sizeof(s->ip_id));
	s->hook.cb = stack_hook;
	return s;
}

void tcp_stack_free(struct tcp_stack *s)
{
	if (!s)
		return;
	loop_cancel_deferred(s->loop, &s->hook);
	while (s->all) {
		struct tcp_conn *c = s->all;
		s->all = c->anext;
		conn_timers_cancel(c);
		conn_free(c);
	}
	while (s->listeners) {
		struct tcp_listener *l = s->listeners;
		s->listeners = l->next;
		listener_free(l);
	}
	while (s->lgrave) {
		struct tcp_listener *l = s->lgrave;
		s->lgrave = l->dnext;
		listener_free(l);
	}
	crypto_wipe(s->isn_key, sizeof(s->isn_key));
	crypto_wipe(s->cookie_key, sizeof(s->cookie_key));
	free(s);
}

const struct tcp_stats *tcp_stack_stats(const struct tcp_stack *s)
{
	return &s->stats;
}

void tcp_stack_force_syncookies(struct tcp_stack *s, bool on)
{
	s->cookies_always = on;
}

size_t tcp_conn_memory(const struct tcp_conn *c)
{
	return sizeof(*c) + c->sbuf.cap + c->rbuf.cap + (c->rx ? TCP_MAX_RX * sizeof(*c->rx) : 0) +
	       (c->md5 ? sizeof(*c->md5) : 0);
}

/*
 * RFC 2385 section 2.0 and Linux's tcp_inbound_md5_hash: with a key, the
 * segment must carry a good signature; without one, it must carry none.
 * Either way a failure is dropped silently (no RST, no ACK) and counted.
 */
int tcp_listen(struct tcp_stack *s, const struct tcp_endpoint *local, bool any_addr, int family,
	       unsigned backlog, const struct tcp_options *opt, struct tcp_listener **out)
{
	if (!local || !out || (family != AF_INET && family != AF_INET6) || local->port == 0)
		return -EINVAL;
	if (!any_addr && local->addr.family != family)
		return -EINVAL;
	for (struct tcp_listener *l = s->listeners; l; l = l->next) {
		if (l->closed || l->family != family || l->local.port != local->port)
			continue;
		if (l->any_addr == any_addr && (any_addr || ip_addr_equal(&l->local.addr, &local->addr)))
			return -EADDRINUSE;
	}
	struct tcp_listener *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->s = s;
	l->local = *local;
	l->any_addr = any_addr;
	l->family = family;
	if (any_addr) {
		memset(&l->local.addr, 0, sizeof(l->local.addr));
		l->local.addr.family = (uint8_t)family;
	}
	l->backlog = backlog ? backlog : 1;
	l->syn_max = l->backlog < TCP_SYNQ_MIN ? TCP_SYNQ_MIN : (l->backlog > TCP_SYNQ_MAX ? TCP_SYNQ_MAX : l->backlog);
	opts_resolve(&l->opt, opt);
	l->opt.md5 = NULL;
	if (opt && opt->md5 && tcp_md5_keyset_copy(&l->md5, opt->md5) < 0) {
		free(l);
		return -ENOMEM;
	}
	l->next = s->listeners;
	s->listeners = l;
	*out = l;
	return 0;
}

void tcp_listener_close(struct tcp_listener *l)
{
	if (!l || l->closed)
		return;
	struct tcp_stack *s = l->s;
	s->api_depth++;
	l->closed = true;
	while (l->synq || l->accq) {
		struct tcp_conn *c = l->synq ? l->synq : l->accq;
		if (c->state != TCP_CLOSED && c->state != TCP_SYN_RECEIVED)
			tcp_send_segment(c, c->snd_nxt, 0, TH_RST | TH_ACK);
		else if (c->state == TCP_SYN_RECEIVED)
			tcp_send_segment(c, c->iss + 1, 0, TH_RST | TH_ACK);
		lis_unlink(c);
		c->ev = 0;
		tcp_done(c, ECONNRESET);
		c->ev = 0;
	}
	for (struct tcp_listener **pp = &s->listeners; *pp; pp = &(*pp)->next) {
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	}
	l->dnext = s->lgrave;
	s->lgrave = l;
	schedule_hook(s);
	s->api_depth--;
}

struct tcp_conn *tcp_accept(struct tcp_listener *l)
{
	if (!l || l->closed)
		return NULL;
	struct tcp_conn *c = l->accq;
	if (!c)
		return NULL;
	lis_unlink(c);
	c->owned = true;
	c->connected_notified = true;
	c->ev &= (uint8_t)~EV_CONNECTED;
	if (c->state == TCP_FIN_WAIT_2 || c->state == TCP_TIME_WAIT)
		timer_cancel(l->s->loop, &c->t_misc);
	return c;
}

void tcp_listener_set_user(struct tcp_listener *l, void *user) { l->user = user; }
void *tcp_listener_user(const struct tcp_listener *l) { return l->user; }

int tcp_connect(struct tcp_stack *s, const struct tcp_endpoint *local, const struct tcp_endpoint *remote,
		const struct tcp_options *opt, struct tcp_conn **out)
{
	if (!local || !remote || !out || remote->port == 0 ||
	    (remote->addr.family != AF_INET && remote->addr.family != AF_INET6) ||
	    local->addr.family != remote->addr.family || tcp_addr_is_multicast(&remote->addr))
		return -EINVAL;
	static const uint8_t zero[16];
	if (!memcmp(local->addr.bytes, zero, ip_addr_size(&local->addr)))
		return -EINVAL;   /* the caller picks the source address */
	bool ll = ip_addr_is_link_local(&remote->addr) || ip_addr_is_link_local(&local->addr);
	uint32_t scope = ll ? (remote->scope_id ? remote->scope_id : local->scope_id) : 0;
	if (ll && !scope)
		return -EINVAL;   /* a link-local peer needs an interface */
	struct tcp_endpoint lo = *local, re = *remote;
	lo.scope_id = re.scope_id = scope;
	if (!lo.port) {
		uint32_t r;
		crypto_random(&r, sizeof(r));
		unsigned span = 61000 - 32768;
		for (unsigned i = 0; i < span; i++) {
			uint16_t p = (uint16_t)(32768 + (r + i) % span);
			if (!tcp_conn_lookup(s, &lo.addr, p, &re.addr, re.port, scope)) {
				lo.port = p;
				break;
			}
		}
		if (!lo.port)
			return -EADDRNOTAVAIL;
	} else if (tcp_conn_lookup(s, &lo.addr, lo.port, &re.addr, re.port, scope)) {
		return -EADDRINUSE;
	}
	struct tcp_conn *c = tcp_conn_new(s, &lo, &re, scope, opt);
	if (!c)
		return -ENOMEM;
	tcp_conn_set_iss(c, tcp_isn_for(s, &lo.addr, lo.port, &re.addr, re.port));
	c->active = true;
	c->owned = true;
	c->state = TCP_SYN_SENT;
	c->snd_nxt = c->snd_max = c->iss + 1;
	tcp_conn_hash(c);
	s->stats.active_opens++;
	c->rtt_timing = true;
	c->rtt_start = now_ns(s);
	tcp_send_segment(c, c->iss, 0, TH_SYN);
	tcp_arm_rtx(c);
	*out = c;
	return 0;
}

long tcp_send(struct tcp_conn *c, const void *data, size_t len)
{
	switch (c->state) {
	case TCP_SYN_SENT: case TCP_SYN_RECEIVED: case TCP_ESTABLISHED: case TCP_CLOSE_WAIT:
		break;
	case TCP_CLOSED:
		return c->connected_notified || c->closed_notified ? -EPIPE : -ENOTCONN;
	default:
		return -EPIPE;
	}
	if (c->fin_queued)
		return -EPIPE;
	uint32_t space = c->sndbuf > c->sbuf.len ? c->sndbuf - c->sbuf.len : 0;
	uint32_t n = len > space ? space : (uint32_t)len;
	if (n < len)
		c->snd_full_hint = true;
	if (!n)
		return 0;
	if (tcp_ring_reserve(&c->sbuf, c->sbuf.len + n, c->sndbuf) < 0) {
		c->snd_full_hint = true;
		return 0;
	}
	tcp_ring_write_at(&c->sbuf, c->sbuf.len, data, n);
	c->sbuf.len += n;
	c->s->api_depth++;
	tcp_output(c);
	c->s->api_depth--;
	kick(c);
	return (long)n;
}

size_t tcp_recv(struct tcp_conn *c, void *buf, size_t len, bool *eof)
{
	uint32_t n = len > c->rbuf.len ? c->rbuf.len : (uint32_t)len;
	if (n) {
		tcp_ring_read_at(&c->rbuf, 0, buf, n);
		tcp_ring_consume(&c->rbuf, n);
		if (!c->rbuf.len && !c->ooo.n)
			tcp_ring_free(&c->rbuf);
	}
	if (eof)
		*eof = !c->rbuf.len && (c->fin_rcvd || c->state == TCP_CLOSED);
	if (n && c->state != TCP_CLOSED && c->state != TCP_TIME_WAIT && c->state != TCP_SYN_SENT &&
	    !c->fin_rcvd) {
		/* a window update once the window grows by two segments or half the buffer */
		uint32_t old = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
		uint32_t space = c->rcvbuf - c->rbuf.len;
		if (space > old && space - old >= min_u32(2u * c->rcv_mss, c->rcvbuf / 2)) {
			c->s->api_depth++;
			tcp_send_ack(c);
			c->s->api_depth--;
		}
	}
	if (!c->rbuf.len && (c->ev & EV_CLOSED))
		queue_notify(c);
	return n;
}

size_t tcp_send_space(const struct tcp_conn *c)
{
	switch (c->state) {
	case TCP_SYN_SENT: case TCP_SYN_RECEIVED: case TCP_ESTABLISHED: case TCP_CLOSE_WAIT:
		break;
	default:
		return 0;
	}
	if (c->fin_queued)
		return 0;
	uint32_t space = c->sndbuf > c->sbuf.len ? c->sndbuf - c->sbuf.len : 0;
	if (!space)
		((struct tcp_conn *)c)->snd_full_hint = true;   /* on_writable when it drains */
	return space;
}

size_t tcp_recv_available(const struct tcp_conn *c)
{
	return c->rbuf.len;
}

void tcp_shutdown_send(struct tcp_conn *c)
{
	if (c->fin_queued)
		return;
	switch (c->state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RECEIVED:
		c->fin_queued = true;   /* sent once established */
		return;
	case TCP_ESTABLISHED:
		c->state = TCP_FIN_WAIT_1;
		break;
	case TCP_CLOSE_WAIT:
		c->state = TCP_LAST_ACK;
		break;
	default:
		return;
	}
	c->fin_queued = true;
	c->s->api_depth++;
	tcp_output(c);
	c->s->api_depth--;
	kick(c);
}

void tcp_close(struct tcp_conn *c)
{
	struct tcp_stack *s = c->s;
	c->owned = false;
	c->user = NULL;
	c->ev = 0;
	s->api_depth++;
	if (c->state == TCP_SYN_SENT) {
		tcp_done(c, 0);
	} else if (c->rbuf.len && c->state != TCP_CLOSED && c->state != TCP_TIME_WAIT) {
		/* unread data: RST, as RFC 2525 2.17 and every stack do */
		tcp_send_segment(c, c->snd_nxt, 0, TH_RST | TH_ACK);
		tcp_done(c, ECONNRESET);
	} else {
		tcp_shutdown_send(c);
		if (c->state == TCP_FIN_WAIT_2)
			timer_arm(s->loop, &c->t_misc, now_ns(s) + TCP_FIN_TIMEOUT, SEC(1));
	}
	c->ev = 0;
	s->api_depth--;
	conn_bury(c);
}

void tcp_abort(struct tcp_conn *c)
{
	struct tcp_stack *s = c->s;
	c->owned = false;
	c->user = NULL;
	c->ev = 0;
	s->api_depth++;
	switch (c->state) {
	case TCP_SYN_RECEIVED: case TCP_ESTABLISHED: case TCP_FIN_WAIT_1: case TCP_FIN_WAIT_2:
	case TCP_CLOSE_WAIT: case TCP_CLOSING: case TCP_LAST_ACK:
		tcp_send_segment(c, c->snd_nxt, 0, TH_RST | TH_ACK);
		break;
	default:
		break;
	}
	tcp_done(c, ECONNABORTED);
	c->ev = 0;
	s->api_depth--;
	conn_bury(c);
}

void tcp_release(struct tcp_conn *c)
{
	c->owned = false;
	c->user = NULL;
	c->ev = 0;
	if (c->state == TCP_FIN_WAIT_2)
		timer_arm(c->s->loop, &c->t_misc, now_ns(c->s) + TCP_FIN_TIMEOUT, SEC(1));
	conn_bury(c);
}

/*
 * A key added to or removed from a live connection (Linux allows it; BGP
 * speakers set keys before connecting): the option space changes with it.
 */
static void conn_md5_update(struct tcp_conn *c, const struct tcp_md5_keyset *ks)
{
	bool had = c->md5 != NULL;
	if (conn_set_md5(c, md5_key_for(ks, &c->remote.addr, c->scope)) < 0) {
		log_warn("tcp: out of memory for a TCP MD5 key; the connection keeps its old key");
		return;
	}
	if (!had && c->md5 && c->mss > 64 + TCP_MD5_OPT_SPACE)
		c->mss -= TCP_MD5_OPT_SPACE;
	else if (had && !c->md5 && c->mss + TCP_MD5_OPT_SPACE <= c->rcv_mss)
		c->mss += TCP_MD5_OPT_SPACE;
}

void tcp_set_options(struct tcp_conn *c, const struct tcp_options *opt)
{
	bool nodelay_was = c->opt.nodelay, ka_was = c->opt.keepalive, cork_was = c->opt.cork;
	if (opt && opt->md5)
		conn_md5_update(c, opt->md5);
	opts_resolve(&c->opt, opt);
	c->opt.md5 = NULL;
	/* buffers only grow once in use: the window we announced must stay backed */
	c->sndbuf_auto = !opt || !opt->sndbuf;
	if (c->opt.sndbuf >= c->sbuf.len && !(c->sndbuf_auto && c->sndbuf > c->opt.sndbuf))
		c->sndbuf = c->opt.sndbuf;
	if (c->opt.rcvbuf > c->rcvbuf)
		c->rcvbuf = c->opt.rcvbuf;
	/* the window scale went out with our SYN: it stays; the window is capped by it */
	if (c->opt.keepalive && !ka_was) {
		c->probes = 0;
		tcp_keepalive_arm(c);
	} else if (!c->opt.keepalive && ka_was &&
		   (c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT)) {
		timer_cancel(c->s->loop, &c->t_misc);
	}
	if ((c->opt.nodelay && !nodelay_was) || (cork_was && !c->opt.cork)) {
		c->s->api_depth++;
		tcp_output(c);
		c->s->api_depth--;
		kick(c);
	}
}

int tcp_listener_set_md5(struct tcp_listener *l, const struct tcp_md5_keyset *ks)
{
	if (!ks) {
		tcp_md5_keyset_clear(&l->md5);
		return 0;
	}
	return tcp_md5_keyset_copy(&l->md5, ks);
}

/* Milliseconds since a stamp_ms() (modulo 2^32 ms, 49 days: what TCP_INFO can say anyway). */
static uint32_t ms_since(const struct tcp_conn *c, uint32_t t)
{
	return t ? stamp_ms(c->s) - t : 0;
}

static uint32_t ns_to_us(uint64_t ns)
{
	uint64_t us = ns / 1000;
	return us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

void tcp_conn_info(const struct tcp_conn *c, struct tcp_conn_info *o)
{
	memset(o, 0, sizeof(*o));
	o->state = c->state;
	o->retransmits = c->retries;
	o->probes = c->probes;
	o->backoff = c->backoff;
	o->sack = c->sack_ok;
	o->wscale = c->ws_ok;
	o->md5 = c->md5 != NULL;
	o->snd_wscale = c->ws_ok ? c->snd_wscale : 0;
	o->rcv_wscale = c->ws_ok ? c->rcv_wscale : 0;
	o->rto_us = ns_to_us(tcp_rto_now(c));
	o->snd_mss = c->mss;
	o->rcv_mss = c->rcv_mss;
	bool synced = c->state >= TCP_ESTABLISHED;
	o->unacked = c->snd_max - c->snd_una;
	o->sacked = tcp_rs_bytes(&c->sacked);
	o->lost = c->in_recovery && c->sack_ok ? tcp_lost_below(c) - c->snd_una : 0;
	for (unsigned i = 0; i < c->nrx && c->rx; i++)
		o->retrans += c->rx[i].end - c->rx[i].start;
	o->last_data_sent_ms = ms_since(c, c->last_data_sent);
	o->last_data_recv_ms = ms_since(c, c->last_data_rcv);
	o->last_ack_recv_ms = ms_since(c, c->last_ack_rcv);
	o->rtt_us = ns_to_us(c->srtt);
	o->rttvar_us = ns_to_us(c->rttvar);
	o->min_rtt_us = ns_to_us(c->cc.min_rtt);
	o->snd_ssthresh = c->ssthresh;
	o->snd_cwnd = c->cwnd;
	o->rcv_space = c->rcvbuf;
	o->snd_wnd = c->snd_wnd;
	o->rcv_wnd = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	o->total_retrans = c->total_retrans;
	/* sequence space past the SYN (less a FIN once it is acknowledged), 64-bit by wraps */
	if (synced || seq_gt(c->snd_una, c->iss)) {
		uint64_t a = ((uint64_t)c->acked_wraps << 32 | (uint32_t)(c->snd_una - c->iss)) - 1;
		if (c->fin_acked && a)
			a--;
		o->bytes_acked = a;
	}
	o->bytes_received = c->bytes_received;
	o->bytes_sent = c->bytes_sent;
	o->bytes_retrans = c->bytes_retrans;
	o->segs_out = c->segs_out;
	o->segs_in = c->segs_in;
	o->data_segs_out = c->data_segs_out;
	o->data_segs_in = c->data_segs_in;
	o->delivery_rate = tcp_cc_bw(&c->cc);
	uint32_t end = snd_end(c);
	o->notsent_bytes = seq_gt(end, c->snd_max) ? end - c->snd_max : 0;
}

void tcp_conn_set_user(struct tcp_conn *c, void *user) { c->user = user; }
void *tcp_conn_user(const struct tcp_conn *c) { return c->user; }
enum tcp_state tcp_conn_state(const struct tcp_conn *c) { return c->state; }

void tcp_conn_endpoints(const struct tcp_conn *c, struct tcp_endpoint *local, struct tcp_endpoint *remote)
{
	if (local)
		*local = c->local;
	if (remote)
		*remote = c->remote;
}

/* For sock_diag (ss): connections waiting in the accept queue, and the backlog. */
void tcp_listener_queue(const struct tcp_listener *l, unsigned *queued, unsigned *backlog)
{
	*queued = l->acc_count;
	*backlog = l->backlog;
}
