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
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "crypto/crypto.h"
#include "ip/checksum.h"
#include "stack/tcp.h"
#include "stack/tcp_cc.h"
#include "stack/tcp_md5.h"

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10
#define TH_URG 0x20

#define MS(x) ((uint64_t)(x) * NSEC_PER_MSEC)
#define SEC(x) ((uint64_t)(x) * NSEC_PER_SEC)

#define TCP_RTO_INIT     SEC(1)
#define TCP_RTO_MIN      MS(200)
#define TCP_RTO_MAX      SEC(120)
#define TCP_DELACK       MS(40)
#define TCP_TIMEWAIT     SEC(60)
#define TCP_FIN_TIMEOUT  SEC(60)
#define TCP_MAX_RETRIES  15
#define TCP_SYN_RETRIES  6
#define TCP_SYNACK_RETRIES 5
#define TCP_DEF_BUF      (256 * 1024)
#define TCP_MIN_BUF      4096
#define TCP_MAX_BUF      (16 * 1024 * 1024)
#define TCP_RING_MIN     4096
#define TCP_HASH_BITS    12
#define TCP_SYNQ_MIN     128
#define TCP_SYNQ_MAX     1024
#define TCP_COOKIE_PERIOD SEC(64)
#define TCP_CHALLENGE_PER_SEC 1000
#define TCP_QUICKACKS    16
#define TCP_MAX_RANGES   16
#define TCP_OPT_MAX      40
#define TCP_SND_AUTO_MAX (4 * 1024 * 1024)   /* send buffer autotuning limit (Linux tcp_wmem) */
#define TCP_MAX_RX       32   /* retransmissions tracked for lost-retransmission detection */
#define TCP_DUPTHRESH    3

/* ---- sequence arithmetic ---- */

static inline bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline bool seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline bool seq_ge(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }
static inline uint32_t seq_max(uint32_t a, uint32_t b) { return seq_gt(a, b) ? a : b; }
static inline uint32_t seq_min(uint32_t a, uint32_t b) { return seq_lt(a, b) ? a : b; }
static inline uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }
static inline uint32_t max_u32(uint32_t a, uint32_t b) { return a > b ? a : b; }

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* ---- sets of sequence ranges (SACK scoreboard, out-of-order data) ---- */

struct tcp_range { uint32_t start, end; };
struct tcp_rangeset {
	struct tcp_range r[TCP_MAX_RANGES];
	uint8_t n;
};

/* Adds [start,end), merging; returns false when it could not be stored (set full). */
static bool rs_add(struct tcp_rangeset *rs, uint32_t start, uint32_t end)
{
	if (!seq_lt(start, end))
		return true;
	unsigned i = 0;
	while (i < rs->n && seq_lt(rs->r[i].end, start))
		i++;
	/* r[i] is the first range that ends at or after start: merge from there */
	unsigned j = i;
	while (j < rs->n && seq_le(rs->r[j].start, end)) {
		start = seq_min(start, rs->r[j].start);
		end = seq_max(end, rs->r[j].end);
		j++;
	}
	if (j > i) {   /* replace r[i..j) with one range */
		rs->r[i].start = start;
		rs->r[i].end = end;
		memmove(&rs->r[i + 1], &rs->r[j], (rs->n - j) * sizeof(rs->r[0]));
		rs->n = (uint8_t)(rs->n - (j - i - 1));
		return true;
	}
	if (rs->n == TCP_MAX_RANGES) {
		if (i == rs->n)
			return false;          /* the highest: drop the newcomer */
		rs->n--;                   /* drop the highest range to keep lower ones */
	}
	memmove(&rs->r[i + 1], &rs->r[i], (rs->n - i) * sizeof(rs->r[0]));
	rs->r[i].start = start;
	rs->r[i].end = end;
	rs->n++;
	return true;
}

static void rs_trim_below(struct tcp_rangeset *rs, uint32_t seq)
{
	unsigned i = 0;
	while (i < rs->n && seq_le(rs->r[i].end, seq))
		i++;
	if (i) {
		memmove(&rs->r[0], &rs->r[i], (rs->n - i) * sizeof(rs->r[0]));
		rs->n = (uint8_t)(rs->n - i);
	}
	if (rs->n && seq_lt(rs->r[0].start, seq))
		rs->r[0].start = seq;
}

/* The range containing seq, or NULL. */
static const struct tcp_range *rs_find(const struct tcp_rangeset *rs, uint32_t seq)
{
	for (unsigned i = 0; i < rs->n; i++)
		if (seq_le(rs->r[i].start, seq) && seq_lt(seq, rs->r[i].end))
			return &rs->r[i];
	return NULL;
}

static uint32_t rs_bytes(const struct tcp_rangeset *rs)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < rs->n; i++)
		n += rs->r[i].end - rs->r[i].start;
	return n;
}

/* Bytes of the set inside [a,b). */
static uint32_t rs_bytes_in(const struct tcp_rangeset *rs, uint32_t a, uint32_t b)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < rs->n; i++) {
		uint32_t s = seq_max(rs->r[i].start, a), e = seq_min(rs->r[i].end, b);
		if (seq_lt(s, e))
			n += e - s;
	}
	return n;
}

/* ---- byte rings that grow on demand ---- */

struct tcp_ring {
	uint8_t *buf;
	uint32_t cap, head, len;
};

/* Makes room for need bytes of logical content (max: the configured buffer). */
static int ring_reserve(struct tcp_ring *r, uint32_t need, uint32_t max)
{
	if (need <= r->cap)
		return 0;
	if (need > max)
		return -ENOBUFS;
	uint32_t cap = r->cap ? r->cap : TCP_RING_MIN;
	while (cap < need)
		cap = cap > UINT32_MAX / 2 ? UINT32_MAX : cap * 2;
	if (cap > max)
		cap = max;
	uint8_t *nb = malloc(cap);
	if (!nb)
		return -ENOMEM;
	if (r->buf) {
		/* Copies everything, out-of-order bytes beyond len included, in logical order. */
		uint32_t first = r->cap - r->head;
		memcpy(nb, r->buf + r->head, first);
		memcpy(nb + first, r->buf, r->head);
		free(r->buf);
	}
	r->buf = nb;
	r->cap = cap;
	r->head = 0;
	return 0;
}

static void ring_write_at(struct tcp_ring *r, uint32_t off, const uint8_t *src, uint32_t n)
{
	uint32_t pos = r->head + off;
	if (pos >= r->cap)
		pos -= r->cap;
	uint32_t first = min_u32(n, r->cap - pos);
	memcpy(r->buf + pos, src, first);
	memcpy(r->buf, src + first, n - first);
}

static void ring_read_at(const struct tcp_ring *r, uint32_t off, uint8_t *dst, uint32_t n)
{
	uint32_t pos = r->head + off;
	if (pos >= r->cap)
		pos -= r->cap;
	uint32_t first = min_u32(n, r->cap - pos);
	memcpy(dst, r->buf + pos, first);
	memcpy(dst + first, r->buf, n - first);
}

static void ring_consume(struct tcp_ring *r, uint32_t n)
{
	r->head += n;
	if (r->head >= r->cap)
		r->head -= r->cap;
	r->len -= n;
}

static void ring_free(struct tcp_ring *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

/* ---- objects ---- */

enum {
	EV_CONNECTED = 1, EV_READABLE = 2, EV_WRITABLE = 4, EV_CLOSED = 8, EV_ACCEPT = 16,
};

struct tcp_conn {
	struct tcp_stack *s;
	struct tcp_conn *hnext;               /* hash chain */
	struct tcp_conn *aprev, *anext;       /* all connections */
	struct tcp_conn *qprev, *qnext;       /* listener queue */
	struct tcp_conn *nnext, *dnext;       /* notify list, graveyard */
	struct tcp_listener *lis;             /* while in a listener's SYN or accept queue */
	struct tcp_endpoint local, remote;
	uint32_t scope;                       /* hash key: ifindex for link-local, else 0 */
	enum tcp_state state;
	struct tcp_options opt;
	void *user;
	struct tcp_md5_key *md5;              /* RFC 2385 key for this peer, NULL: unsigned */

	bool owned;            /* the socket layer holds it (connected or accepted) */
	bool hashed, in_acceptq, in_notify, in_grave;
	bool closed_notified, active, connected_notified, cookie;
	bool fin_queued, fin_sent, fin_acked, fin_rcvd, ooo_fin;
	bool ws_ok, sack_ok, in_recovery, rtt_timing, persist, snd_full_hint, sws_override;
	bool sndbuf_auto;      /* no SO_SNDBUF: the send buffer follows cwnd */
	bool cwnd_limited;     /* the last tcp_output stopped at cwnd: growth is earned */
	uint8_t ev;
	int err;               /* for EV_CONNECTED / EV_CLOSED */

	/* send side */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2, max_sndwnd;
	uint32_t sbuf_seq;     /* sequence number of the first byte in sbuf */
	uint16_t mss;          /* largest payload we send (peer's MSS and our path) */
	uint16_t rcv_mss;      /* the MSS we announced */
	uint8_t snd_wscale, rcv_wscale;
	uint8_t dupacks, backoff, retries, probes, quickacks;
	uint32_t cwnd, ssthresh, recover, bytes_acked, rexmit_nxt;
	uint32_t rtt_seq;
	uint32_t snd_sml;      /* end of the last sub-MSS segment sent (Minshall's Nagle) */
	uint64_t rtt_start, srtt, rttvar, rto;
	struct tcp_rangeset sacked;
	/* SACK recovery: retransmissions in flight (for pipe and lost-retransmission detection) */
	struct tcp_rx { uint32_t start, end, hi, id; } *rx;   /* TCP_MAX_RX, allocated in recovery */
	uint8_t nrx;
	uint32_t rx_id, rx_done_id;
	/* PRR (RFC 6937) */
	uint32_t prr_delivered, prr_out, recover_fs;
	uint64_t delivered;    /* bytes cumulatively ACKed or SACKed, for PRR and the rate */
	struct tcp_cc cc;
	struct tcp_ring sbuf;
	uint32_t sndbuf;

	/* receive side */
	uint32_t irs, rcv_nxt, rcv_adv, fin_seq, ack_pending, rcv_seg;
	uint32_t sack_recent[4];   /* out-of-order arrivals, most recent first (RFC 2018 block order) */
	struct tcp_rangeset ooo;
	struct tcp_ring rbuf;
	uint32_t rcvbuf;
	uint64_t last_rcv;

	/* TCP_INFO counters and TCP_USER_TIMEOUT (32-bit ones first: no padding) */
	uint32_t segs_out, segs_in, data_segs_out, data_segs_in, total_retrans;
	uint32_t last_data_sent, last_data_rcv, last_ack_rcv;   /* stamp_ms(); 0: never */
	uint32_t rtx_stamp;    /* stamp_ms() of the oldest unacknowledged send; 0: none */
	uint32_t acked_wraps;  /* times snd_una - iss went past 4 GiB (64-bit bytes_acked) */
	uint64_t bytes_sent, bytes_retrans, bytes_received;

	struct timer t_rtx, t_ack, t_misc;
};

struct tcp_listener {
	struct tcp_stack *s;
	struct tcp_listener *next, *dnext;
	struct tcp_endpoint local;
	bool any_addr, closed;
	int family;
	unsigned backlog, syn_max;
	struct tcp_options opt;
	void *user;
	struct tcp_md5_keyset md5;   /* TCP_MD5SIG keys; accepted connections take their peer's */
	struct tcp_conn *synq, *accq, *accq_tail;
	unsigned syn_count, acc_count;
	uint64_t cookie_sent_at;
};

struct tcp_stack {
	struct loop *loop;
	const struct tcp_ops *ops;
	void *ctx;
	struct tcp_stats stats;
	uint8_t isn_key[32], cookie_key[32];
	uint32_t hash_seed;
	struct tcp_conn *hash[1u << TCP_HASH_BITS];
	struct tcp_conn *all;
	struct tcp_listener *listeners;
	struct tcp_conn *notify, *grave;
	struct tcp_listener *lgrave;
	struct loop_hook hook;
	unsigned api_depth;    /* >0 while the socket layer is calling us */
	uint16_t ip_id;
	uint64_t chal_sec;
	uint32_t chal_count;
	bool cookies_always;   /* tests/benchmarks: force SYN cookies */
	uint64_t md5_logged_at;
};

/* A parsed incoming segment. */
struct tcp_seg {
	const struct ip_packet *pkt;
	uint32_t ifindex;
	uint32_t seq, ack, len;    /* len counts SYN and FIN */
	uint16_t sport, dport, wnd;
	uint8_t flags, ttl;
	const uint8_t *data;
	uint32_t dlen;
	const uint8_t *th;         /* the TCP header, tlen bytes of segment */
	uint32_t tlen;
	const uint8_t *md5;        /* the RFC 2385 digest in the options, NULL: none */
	/* options */
	uint16_t mss;
	int8_t ws;                 /* -1: absent */
	bool sack_ok;
	uint8_t nsack;
	struct tcp_range sack[4];
};

static void tcp_output(struct tcp_conn *c);
static uint32_t retransmit_at(struct tcp_conn *c, uint32_t seq);
static void tcp_done(struct tcp_conn *c, int err);
static void flush_events(struct tcp_conn *c);
static void stack_hook(struct loop_hook *h);
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

static inline uint64_t now_ns(const struct tcp_stack *s) { return loop_now(s->loop); }
/* A 32-bit millisecond time stamp (TCP_INFO's last_* times), never 0 (0 means never). */
static inline uint32_t stamp_ms(const struct tcp_stack *s)
{
	uint32_t ms = (uint32_t)(now_ns(s) / NSEC_PER_MSEC);
	return ms ? ms : 1;
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

static struct tcp_conn *conn_lookup(struct tcp_stack *s, const struct ip_addr *la, uint16_t lp,
				    const struct ip_addr *ra, uint16_t rp, uint32_t scope)
{
	for (struct tcp_conn *c = s->hash[tuple_hash(s, la, lp, ra, rp, scope)]; c; c = c->hnext)
		if (c->local.port == lp && c->remote.port == rp && c->scope == scope &&
		    ip_addr_equal(&c->local.addr, la) && ip_addr_equal(&c->remote.addr, ra))
			return c;
	return NULL;
}

static void conn_hash(struct tcp_conn *c)
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

static void synq_add(struct tcp_listener *l, struct tcp_conn *c)
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

static uint8_t wscale_for(uint32_t rcvbuf)
{
	uint8_t ws = 0;
	while (ws < 14 && (rcvbuf >> ws) > 65535)
		ws++;
	return ws;
}

static uint16_t mss_for(const struct tcp_stack *s, const struct tcp_endpoint *dst)
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

static uint32_t isn_for(struct tcp_stack *s, const struct ip_addr *la, uint16_t lp,
			const struct ip_addr *ra, uint16_t rp)
{
	struct tuple_bytes t;
	uint8_t h[4];
	tuple_fill(&t, la, lp, ra, rp);
	blake2s_mac(h, sizeof(h), s->isn_key, sizeof(s->isn_key), &t, sizeof(t));
	/* M: a 4-microsecond clock (RFC 6528 section 3) */
	return rd32(h) + (uint32_t)(now_ns(s) / 4000);
}

static const uint16_t cookie_mss[4] = { 536, 1220, 1400, 1460 };

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
static uint32_t cookie_make(struct tcp_stack *s, const struct ip_addr *la, uint16_t lp,
			    const struct ip_addr *ra, uint16_t rp, uint32_t peer_isn,
			    unsigned mss_idx, int ws, bool sack)
{
	uint32_t count = (uint32_t)(now_ns(s) / TCP_COOKIE_PERIOD);
	uint32_t h = cookie_hash(s, la, lp, ra, rp, peer_isn, count);
	uint32_t info = (mss_idx & 3) | (uint32_t)((ws < 0 ? 15 : ws) & 15) << 2 | (sack ? 64u : 0);
	return (h & ~0x1ffu) | (((info << 2) ^ h) & 0x1fcu) | (count & 3);
}

/* Returns the info bits, or -1 if the cookie is not ours or too old. */
static int cookie_check(struct tcp_stack *s, const struct ip_addr *la, uint16_t lp,
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

/* ---- segment output ---- */

static struct pbuf *build_packet(struct tcp_stack *s, const struct ip_addr *src, const struct ip_addr *dst,
				 uint8_t ttl, uint8_t tos, size_t tcp_len, uint8_t **tcp)
{
	bool v4 = src->family == AF_INET;
	size_t iphl = v4 ? 20 : 40;
	if (iphl + tcp_len > PBUF_MTU_MAX)
		return NULL;
	struct pbuf *b = pbuf_alloc();
	if (!b)
		return NULL;
	uint8_t *ip = pbuf_put(b, iphl + tcp_len);
	if (!ip) {
		pbuf_free(b);
		return NULL;
	}
	memset(ip, 0, iphl);
	if (v4) {
		ip[0] = 0x45;
		ip[1] = tos;
		wr16(ip + 2, (uint16_t)(iphl + tcp_len));
		wr16(ip + 4, s->ip_id++);
		wr16(ip + 6, 0x4000);   /* DF: we size segments to the path MTU */
		ip[8] = ttl;
		ip[9] = IPPROTO_TCP;
		memcpy(ip + 12, src->bytes, 4);
		memcpy(ip + 16, dst->bytes, 4);
		uint16_t ck = csum_fold(csum_partial(ip, 20, 0));
		memcpy(ip + 10, &ck, 2);
	} else {
		wr32(ip, 0x60000000u | (uint32_t)tos << 20);
		wr16(ip + 4, (uint16_t)tcp_len);
		ip[6] = IPPROTO_TCP;
		ip[7] = ttl;
		memcpy(ip + 8, src->bytes, 16);
		memcpy(ip + 24, dst->bytes, 16);
	}
	*tcp = ip + iphl;
	return b;
}

static void finish_tcp(const struct ip_addr *src, const struct ip_addr *dst, uint8_t *th, size_t len)
{
	uint32_t sum = src->family == AF_INET ? csum_pseudo_v4(src->bytes, dst->bytes, IPPROTO_TCP, (uint32_t)len)
					       : csum_pseudo_v6(src->bytes, dst->bytes, IPPROTO_TCP, (uint32_t)len);
	th[16] = th[17] = 0;
	uint16_t ck = csum_fold(csum_partial(th, len, sum));
	memcpy(th + 16, &ck, 2);
}

static void emit(struct tcp_stack *s, struct pbuf *b, uint32_t scope)
{
	s->stats.segments_out++;
	s->ops->output(s->ctx, b, scope);
}

/* Writes the RFC 2385 option placeholder (NOP, NOP, kind 19, length 18, digest) at o. */
static size_t md5_opt_put(uint8_t *o)
{
	o[0] = o[1] = 1;
	o[2] = TCP_MD5_OPT_KIND;
	o[3] = TCP_MD5_OPT_LEN;
	memset(o + 4, 0, 16);
	return TCP_MD5_OPT_SPACE;
}

/*
 * Signs a finished segment whose options start with md5_opt_put (before
 * finish_tcp: the checksum is not part of the digest). A segment that
 * cannot be signed is not sent: false.
 */
static bool md5_sign(const struct tcp_md5_key *k, const struct ip_addr *src, const struct ip_addr *dst,
		     uint8_t *th, size_t tlen)
{
	return tcp_md5_digest(k, src, dst, th, tlen, th + 24) == 0;
}

/* RST answering seg, for which we have no connection (RFC 9293 3.10.7.1); signed with key if any. */
static void send_rst_for(struct tcp_stack *s, const struct tcp_seg *seg, uint32_t scope,
			 const struct tcp_md5_key *key)
{
	if (seg->flags & TH_RST)
		return;
	uint8_t *th;
	const struct ip_packet *p = seg->pkt;
	size_t tlen = key ? 20 + TCP_MD5_OPT_SPACE : 20;
	struct pbuf *b = build_packet(s, &p->dst, &p->src, 64, 0, tlen, &th);
	if (!b)
		return;
	memset(th, 0, 20);
	wr16(th, seg->dport);
	wr16(th + 2, seg->sport);
	if (seg->flags & TH_ACK) {
		wr32(th + 4, seg->ack);
		th[13] = TH_RST;
	} else {
		wr32(th + 8, seg->seq + seg->len);
		th[13] = TH_RST | TH_ACK;
	}
	th[12] = (uint8_t)((tlen / 4) << 4);
	if (key) {
		md5_opt_put(th + 20);
		if (!md5_sign(key, &p->dst, &p->src, th, tlen)) {
			pbuf_free(b);
			return;
		}
	}
	finish_tcp(&p->dst, &p->src, th, tlen);
	s->stats.resets_sent++;
	emit(s, b, scope);
}

static uint32_t conn_scope_out(const struct tcp_conn *c)
{
	return c->scope ? c->scope : c->remote.scope_id;
}

/* The window to announce now (RFC 9293 3.8.6.2.2: receiver-side SWS avoidance). */
static uint32_t rcv_window(struct tcp_conn *c)
{
	uint32_t limit = 65535u << (c->ws_ok ? c->rcv_wscale : 0);
	uint32_t space = c->rcvbuf > c->rbuf.len ? c->rcvbuf - c->rbuf.len : 0;
	space = min_u32(space, limit);
	uint32_t edge = c->rcv_nxt + space;
	uint32_t cur = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	if (seq_gt(edge, c->rcv_adv)) {
		uint32_t grow = edge - c->rcv_adv;
		if (grow >= min_u32(c->rcvbuf / 2, c->rcv_mss) || space == limit) {
			uint8_t ws = c->ws_ok ? c->rcv_wscale : 0;
			cur = (space >> ws) << ws;
			if (seq_gt(c->rcv_nxt + cur, c->rcv_adv))
				c->rcv_adv = c->rcv_nxt + cur;
		}
	}
	return seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
}

/* SACK blocks that fit: 4, or 2 next to a 20-byte MD5 signature (40 bytes of options in all). */
static unsigned sack_blocks_max(const struct tcp_conn *c)
{
	return c->md5 ? 2 : 4;
}

static size_t sack_opt_len(const struct tcp_conn *c)
{
	if (!c->sack_ok || !c->ooo.n)
		return 0;
	return 4 + 8 * (size_t)min_u32(c->ooo.n, sack_blocks_max(c));
}

static void write_sack(const struct tcp_conn *c, uint8_t *o)
{
	unsigned n = min_u32(c->ooo.n, sack_blocks_max(c)), k = 0;
	o[0] = 1;
	o[1] = 1;
	o[2] = 5;
	o[3] = (uint8_t)(2 + 8 * n);
	uint8_t *p = o + 4;
	/*
	 * RFC 2018 section 4: the first block holds the most recently received
	 * segment, the next ones the most recent earlier blocks, so each block
	 * is repeated in several ACKs and survives ACK loss; then the highest.
	 */
	const struct tcp_range *used[4];
	for (unsigned i = 0; i < 4u + c->ooo.n && k < n; i++) {
		const struct tcp_range *r = i < 4 ? rs_find(&c->ooo, c->sack_recent[i]) :
			&c->ooo.r[c->ooo.n - 1u - (i - 4u)];
		bool dup = !r;
		for (unsigned j = 0; j < k && !dup; j++)
			dup = used[j] == r;
		if (dup)
			continue;
		used[k++] = r;
		wr32(p, r->start);
		wr32(p + 4, r->end);
		p += 8;
	}
}

/*
 * Sends one segment of c: flags, seq, len payload bytes from the send
 * buffer at seq. Every segment but the first SYN carries the current ACK.
 */
static void send_segment(struct tcp_conn *c, uint32_t seq, uint32_t len, uint8_t flags)
{
	struct tcp_stack *s = c->s;
	uint8_t opts[TCP_OPT_MAX];
	size_t olen = 0;
	if (c->md5)
		olen = md5_opt_put(opts);   /* first, as Linux places it */
	if (flags & TH_SYN) {
		opts[olen] = 2;
		opts[olen + 1] = 4;
		wr16(opts + olen + 2, c->rcv_mss);
		olen += 4;
		if (!(flags & TH_ACK) || c->sack_ok) {
			opts[olen++] = 1;
			opts[olen++] = 1;
			opts[olen++] = 4;
			opts[olen++] = 2;
		}
		if (!(flags & TH_ACK) || c->ws_ok) {
			opts[olen++] = 1;
			opts[olen++] = 3;
			opts[olen++] = 3;
			opts[olen++] = c->rcv_wscale;
		}
	} else if (flags & TH_ACK && !(flags & TH_RST)) {
		size_t sl = sack_opt_len(c);
		if (sl)
			write_sack(c, opts + olen);
		olen += sl;
	}
	size_t tlen = 20 + olen + len;
	uint8_t *th;
	struct pbuf *b = build_packet(s, &c->local.addr, &c->remote.addr, c->opt.ttl, c->opt.tos, tlen, &th);
	if (!b)
		return;
	wr16(th, c->local.port);
	wr16(th + 2, c->remote.port);
	wr32(th + 4, seq);
	wr32(th + 8, (flags & TH_ACK) ? c->rcv_nxt : 0);
	th[12] = (uint8_t)(((20 + olen) / 4) << 4);
	th[13] = flags;
	uint32_t wnd = 0;
	if (!(flags & TH_RST)) {
		wnd = rcv_window(c);
		wnd = (flags & TH_SYN) ? min_u32(wnd, 65535) : wnd >> (c->ws_ok ? c->rcv_wscale : 0);
		if (wnd > 65535)
			wnd = 65535;
	}
	wr16(th + 14, (uint16_t)wnd);
	wr16(th + 18, 0);
	memcpy(th + 20, opts, olen);
	if (len)
		ring_read_at(&c->sbuf, seq - c->sbuf_seq, th + 20 + olen, len);
	if (c->md5 && !md5_sign(c->md5, &c->local.addr, &c->remote.addr, th, tlen)) {
		pbuf_free(b);   /* never unsigned: the retransmission timer tries again */
		return;
	}
	finish_tcp(&c->local.addr, &c->remote.addr, th, tlen);
	c->segs_out++;
	if ((len || (flags & (TH_SYN | TH_FIN))) && !c->rtx_stamp)
		c->rtx_stamp = stamp_ms(s);
	if (len) {
		c->data_segs_out++;
		c->bytes_sent += len;
		c->last_data_sent = stamp_ms(s);
		if (seq_lt(seq, c->snd_max)) {
			c->total_retrans++;
			c->bytes_retrans += len;
		}
	}
	if (flags & TH_ACK) {
		c->ack_pending = 0;
		timer_cancel(s->loop, &c->t_ack);
	}
	if (flags & TH_RST)
		s->stats.resets_sent++;
	emit(s, b, conn_scope_out(c));
}

static void send_ack(struct tcp_conn *c)
{
	send_segment(c, c->snd_nxt, 0, TH_ACK);
}

/* RFC 5961 section 7: challenge ACKs are rate limited per stack. */
static void send_challenge_ack(struct tcp_conn *c)
{
	struct tcp_stack *s = c->s;
	uint64_t sec = now_ns(s) / NSEC_PER_SEC;
	if (sec != s->chal_sec) {
		s->chal_sec = sec;
		s->chal_count = 0;
	}
	if (s->chal_count++ >= TCP_CHALLENGE_PER_SEC)
		return;
	send_ack(c);
}

/* ---- timers ---- */

static uint64_t rto_now(const struct tcp_conn *c)
{
	uint64_t rto = c->rto;
	for (unsigned i = 0; i < c->backoff && rto < TCP_RTO_MAX; i++)
		rto *= 2;
	return rto > TCP_RTO_MAX ? TCP_RTO_MAX : rto;
}

/* Something we sent (SYN, data, FIN) waits for its acknowledgment. */
static bool awaiting_ack(const struct tcp_conn *c)
{
	return c->snd_una != c->snd_max || c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED;
}

static void arm_rtx(struct tcp_conn *c)
{
	uint64_t now = now_ns(c->s), at = now + rto_now(c);
	if (c->opt.user_timeout_ms && c->rtx_stamp && awaiting_ack(c)) {
		/* the user timeout ends the connection on time, not at the next backoff */
		uint32_t waited = stamp_ms(c->s) - c->rtx_stamp;
		uint64_t left = waited >= c->opt.user_timeout_ms ? 0 : MS(c->opt.user_timeout_ms - waited);
		if (now + left < at)
			at = now + left;
	}
	timer_arm(c->s->loop, &c->t_rtx, at, MS(1));
}

static void rtt_sample(struct tcp_conn *c, uint64_t r)
{
	if (!c->srtt) {
		c->srtt = r;
		c->rttvar = r / 2;
	} else {
		uint64_t d = c->srtt > r ? c->srtt - r : r - c->srtt;
		c->rttvar = (3 * c->rttvar + d) / 4;
		c->srtt = (7 * c->srtt + r) / 8;
	}
	uint64_t rto = c->srtt + (4 * c->rttvar > MS(1) ? 4 * c->rttvar : MS(1));
	if (rto < TCP_RTO_MIN)
		rto = TCP_RTO_MIN;
	if (rto > TCP_RTO_MAX)
		rto = TCP_RTO_MAX;
	c->rto = rto;
	tcp_cc_rtt(&c->cc, r, now_ns(c->s));
}

static void keepalive_arm(struct tcp_conn *c)
{
	if (!c->opt.keepalive || (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT))
		return;
	uint64_t at = c->last_rcv + SEC(c->probes ? c->opt.keepintvl_s : c->opt.keepidle_s);
	if (c->probes) {
		/* after a probe: the next one an interval later */
		at = now_ns(c->s) + SEC(c->opt.keepintvl_s);
	}
	timer_arm(c->s->loop, &c->t_misc, at, MS(250));
}

static void enter_time_wait(struct tcp_conn *c)
{
	c->state = TCP_TIME_WAIT;
	timer_cancel(c->s->loop, &c->t_rtx);
	timer_cancel(c->s->loop, &c->t_ack);
	timer_arm(c->s->loop, &c->t_misc, now_ns(c->s) + TCP_TIMEWAIT, SEC(1));
	/* the conversation is over for the application (the TCB stays for late segments) */
	c->err = 0;
	c->ev |= EV_CLOSED;
	ring_free(&c->sbuf);
}

/* ---- connection lifecycle ---- */

static struct tcp_conn *conn_new(struct tcp_stack *s, const struct tcp_endpoint *local,
				 const struct tcp_endpoint *remote, uint32_t scope,
				 const struct tcp_options *opt);

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
static void tcp_done(struct tcp_conn *c, int err)
{
	if (c->state == TCP_CLOSED)
		return;
	bool was_syn_sent = c->state == TCP_SYN_SENT || (c->active && c->state == TCP_SYN_RECEIVED);
	c->state = TCP_CLOSED;
	conn_unhash(c);
	lis_unlink(c);
	conn_timers_cancel(c);
	ring_free(&c->sbuf);
	if (err) {
		ring_free(&c->rbuf);
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
		flush_events(c);
}

static void flush_events(struct tcp_conn *c)
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
			flush_events(c);
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

/* ---- sending data ---- */

static inline uint32_t snd_end(const struct tcp_conn *c) { return c->sbuf_seq + c->sbuf.len; }

static bool can_send_data(const struct tcp_conn *c)
{
	switch (c->state) {
	case TCP_ESTABLISHED: case TCP_CLOSE_WAIT: case TCP_FIN_WAIT_1: case TCP_CLOSING: case TCP_LAST_ACK:
		return true;
	default:
		return false;
	}
}

/* Highest sequence number the peer has SACKed (or snd_una). */
static uint32_t hi_sack(const struct tcp_conn *c)
{
	return c->sacked.n ? seq_max(c->sacked.r[c->sacked.n - 1].end, c->snd_una) : c->snd_una;
}

/*
 * RFC 6675 IsLost, for every unSACKed byte below the sequence number
 * returned: more than (DupThresh - 1) * MSS bytes are SACKed above it. The
 * segment at snd_una also counts as lost once DupThresh duplicate ACKs came
 * (a peer that negotiated SACK but sends no blocks still recovers).
 */
static uint32_t lost_below(const struct tcp_conn *c)
{
	uint32_t lb = c->snd_una, above = 0;
	for (int i = (int)c->sacked.n - 1; i >= 0; i--) {
		above += c->sacked.r[i].end - c->sacked.r[i].start;
		if (above > (TCP_DUPTHRESH - 1) * (uint32_t)c->mss) {
			lb = seq_max(c->sacked.r[i].start, c->snd_una);
			break;
		}
	}
	if (c->dupacks >= TCP_DUPTHRESH)
		lb = seq_max(lb, seq_min(c->snd_una + c->mss, c->snd_max));
	return lb;
}

static const struct tcp_rx *rx_find(const struct tcp_conn *c, uint32_t seq)
{
	for (unsigned i = 0; i < c->nrx; i++)
		if (seq_le(c->rx[i].start, seq) && seq_lt(seq, c->rx[i].end))
			return &c->rx[i];
	return NULL;
}

static void rx_remove(struct tcp_conn *c, unsigned i)
{
	c->rx[i] = c->rx[--c->nrx];
}

/*
 * Bytes we believe are in the network during SACK recovery (RFC 6675
 * "pipe"): unSACKed bytes not yet deemed lost, plus the retransmissions
 * still in flight.
 */
static uint32_t sack_pipe(const struct tcp_conn *c)
{
	uint32_t lb = lost_below(c);
	uint32_t out = (c->snd_max - c->snd_una) - rs_bytes_in(&c->sacked, c->snd_una, c->snd_max);
	uint32_t lost = (lb - c->snd_una) - rs_bytes_in(&c->sacked, c->snd_una, lb);
	uint32_t pipe = out - lost;
	for (unsigned i = 0; i < c->nrx; i++)
		pipe += (c->rx[i].end - c->rx[i].start) - rs_bytes_in(&c->sacked, c->rx[i].start, c->rx[i].end);
	return pipe;
}

/* RFC 6675 NextSeg (1): the first lost byte neither SACKed nor being retransmitted. */
static bool next_lost(const struct tcp_conn *c, uint32_t *seq)
{
	uint32_t lb = lost_below(c), h = c->snd_una;
	while (seq_lt(h, lb)) {
		const struct tcp_range *r = rs_find(&c->sacked, h);
		const struct tcp_rx *x = r ? NULL : rx_find(c, h);
		if (!r && !x) {
			*seq = h;
			return true;
		}
		h = r ? r->end : x->end;
	}
	return false;
}

/*
 * After an ACK in SACK recovery: retransmissions now ACKed or SACKed leave
 * the list; one is lost when data sent after it was SACKed (more than
 * DupThresh - 1 segments' worth), or when a retransmission sent DupThresh
 * places after it was delivered. Its bytes are a hole again, so NextSeg
 * sends them once more instead of waiting for the RTO (the idea of RACK,
 * RFC 8985, with sending order taken from sequence numbers).
 */
static void rx_update(struct tcp_conn *c)
{
	for (unsigned i = 0; i < c->nrx;) {
		const struct tcp_rx *x = &c->rx[i];
		if (seq_le(x->end, c->snd_una) ||
		    rs_bytes_in(&c->sacked, x->start, x->end) == x->end - x->start) {
			if ((int32_t)(x->id - c->rx_done_id) > 0)
				c->rx_done_id = x->id;
			rx_remove(c, i);
			continue;
		}
		i++;
	}
	for (unsigned i = 0; i < c->nrx;) {
		const struct tcp_rx *x = &c->rx[i];
		if (rs_bytes_in(&c->sacked, x->hi, c->snd_max) > (TCP_DUPTHRESH - 1) * (uint32_t)c->mss ||
		    (int32_t)(c->rx_done_id - x->id) >= TCP_DUPTHRESH) {
			rx_remove(c, i);
			continue;
		}
		i++;
	}
}

/* Retransmits the lost bytes at seq during SACK recovery; false when nothing could go. */
static bool rx_send(struct tcp_conn *c, uint32_t seq)
{
	if (c->nrx == TCP_MAX_RX)
		return false;
	if (!c->rx && !(c->rx = malloc(TCP_MAX_RX * sizeof(*c->rx))))
		return false;   /* out of memory: the RTO recovers */
	uint32_t n = retransmit_at(c, seq);
	if (!n)
		return false;
	c->rx[c->nrx++] = (struct tcp_rx){ seq, seq + n, c->snd_max, ++c->rx_id };
	c->prr_out += n;
	return true;
}

static void start_rtt(struct tcp_conn *c, uint32_t seq)
{
	if (!c->rtt_timing) {
		c->rtt_timing = true;
		c->rtt_seq = seq;
		c->rtt_start = now_ns(c->s);
	}
}

/* Retransmits up to one MSS at seq (bounded by SACKed data and what was sent). */
static uint32_t retransmit_at(struct tcp_conn *c, uint32_t seq)
{
	uint32_t end = seq_min(seq + c->mss, seq_min(snd_end(c), c->snd_max));
	for (unsigned i = 0; i < c->sacked.n; i++)
		if (seq_gt(c->sacked.r[i].start, seq)) {
			end = seq_min(end, c->sacked.r[i].start);
			break;
		}
	uint8_t flags = TH_ACK;
	uint32_t len = seq_gt(end, seq) ? end - seq : 0;
	if (c->fin_sent && seq + len == snd_end(c) && seq_gt(c->snd_max, snd_end(c)))
		flags |= TH_FIN;
	if (!len && !(flags & TH_FIN))
		return 0;
	if (len)
		flags |= TH_PSH;
	send_segment(c, seq, len, flags);
	c->s->stats.retransmits++;
	c->rtt_timing = false;   /* Karn */
	return len + ((flags & TH_FIN) ? 1 : 0);
}

/* Nothing in flight and the peer's window too small to send: probe it later. */
static void persist_arm(struct tcp_conn *c)
{
	if (c->snd_una != c->snd_max || timer_pending(&c->t_rtx))
		return;
	c->persist = true;
	arm_rtx(c);
}

static void tcp_output(struct tcp_conn *c)
{
	if (!can_send_data(c))
		return;
	struct tcp_stack *s = c->s;
	for (int guard = 0; guard < 4096; guard++) {
		/* SACK recovery: first the lost holes (RFC 6675 NextSeg rule 1) */
		uint32_t h;
		if (c->in_recovery && c->sack_ok && next_lost(c, &h) && sack_pipe(c) + c->mss <= c->cwnd) {
			if (!rx_send(c, h))
				break;
			continue;
		}
		/* then new data (or a go-back-N resend after a timeout) at snd_nxt */
		if (seq_lt(c->snd_nxt, c->snd_max)) {
			const struct tcp_range *r = rs_find(&c->sacked, c->snd_nxt);
			if (r) {
				c->snd_nxt = seq_min(r->end, c->snd_max);
				continue;
			}
		}
		uint32_t end = snd_end(c);
		uint32_t avail = seq_gt(end, c->snd_nxt) ? end - c->snd_nxt : 0;
		/* the FIN takes the sequence number after the last byte */
		bool fin_pending = c->fin_queued && seq_le(c->snd_nxt, end);
		if (!avail && !fin_pending)
			break;
		/* the congestion window */
		uint32_t flight = c->snd_nxt - c->snd_una;
		uint32_t cwnd = c->cwnd;
		if (c->in_recovery && c->sack_ok)
			flight = sack_pipe(c);
		else if (!c->in_recovery && c->dupacks && c->dupacks < 3)
			cwnd += c->dupacks * c->mss;   /* RFC 3042 limited transmit */
		uint32_t cwnd_room = cwnd > flight ? cwnd - flight : 0;
		c->cwnd_limited = cwnd_room < min_u32(avail, c->mss);
		/* the peer's window: its right edge is snd_una + snd_wnd */
		uint32_t redge = c->snd_una + c->snd_wnd;
		uint32_t wnd_room = seq_gt(redge, c->snd_nxt) ? redge - c->snd_nxt : 0;
		bool rexmit = seq_lt(c->snd_nxt, c->snd_max);
		uint32_t mss = c->mss - (uint32_t)sack_opt_len(c);
		uint32_t len = min_u32(min_u32(avail, mss), min_u32(cwnd_room, wnd_room));
		bool fin = fin_pending && c->snd_nxt + len == end;
		if (fin && !len && cwnd_room == 0 && flight)
			fin = false;   /* the FIN waits for the congestion window like data */
		if (!len && !fin) {
			if (avail && wnd_room == 0)
				persist_arm(c);
			break;
		}
		if (len && len < mss && !fin && !rexmit && !c->sws_override) {
			if (len < avail) {
				/* window-limited: sender-side SWS avoidance (RFC 9293 3.8.6.2.1) */
				if (len < c->max_sndwnd / 2) {
					if (len == wnd_room)
						persist_arm(c);
					break;
				}
			} else if (c->opt.cork) {
				/* TCP_CORK: only full segments until the app uncorks (no 200 ms ceiling) */
				break;
			} else if (!c->opt.nodelay && seq_gt(c->snd_sml, c->snd_una)) {
				/* Nagle, Minshall's variant (as Linux): at most one small segment in flight */
				break;
			}
		}
		c->sws_override = false;
		uint8_t flags = TH_ACK;
		if (len && len == avail)
			flags |= TH_PSH;
		if (fin)
			flags |= TH_FIN;
		if (!rexmit && len)
			start_rtt(c, c->snd_nxt);
		else if (rexmit) {
			s->stats.retransmits++;
			c->rtt_timing = false;
		}
		send_segment(c, c->snd_nxt, len, flags);
		if (len < mss)
			c->snd_sml = c->snd_nxt + len;
		if (c->persist) {
			/* the window opened: the timer is a retransmission timer again */
			c->persist = false;
			c->backoff = 0;
			timer_cancel(s->loop, &c->t_rtx);
		}
		c->snd_nxt += len + (fin ? 1 : 0);
		if (c->in_recovery)
			c->prr_out += len;
		if (fin)
			c->fin_sent = true;
		if (seq_gt(c->snd_nxt, c->snd_max))
			c->snd_max = c->snd_nxt;
		if (!timer_pending(&c->t_rtx))
			arm_rtx(c);
		if (fin)
			break;
	}
}

/* ---- the retransmission timer ---- */

/* TCP_USER_TIMEOUT: what was sent has waited too long for an acknowledgment. */
static bool user_timeout_expired(const struct tcp_conn *c)
{
	return c->opt.user_timeout_ms && c->rtx_stamp &&
	       stamp_ms(c->s) - c->rtx_stamp >= c->opt.user_timeout_ms;
}

static void rto_fired(struct tcp_conn *c)
{
	struct tcp_stack *s = c->s;
	if (user_timeout_expired(c) && awaiting_ack(c)) {
		s->stats.timeouts++;
		if (c->state != TCP_SYN_SENT)
			send_segment(c, c->snd_nxt, 0, TH_RST | TH_ACK);
		tcp_done(c, ETIMEDOUT);
		return;
	}
	if (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED) {
		unsigned limit = c->state == TCP_SYN_SENT ? TCP_SYN_RETRIES : TCP_SYNACK_RETRIES;
		if (c->retries >= limit) {
			s->stats.timeouts++;
			tcp_done(c, ETIMEDOUT);
			return;
		}
		c->retries++;
		c->backoff++;
		s->stats.retransmits++;
		send_segment(c, c->iss, 0, c->state == TCP_SYN_SENT ? TH_SYN : TH_SYN | TH_ACK);
		arm_rtx(c);
		return;
	}
	if (!can_send_data(c))
		return;
	if (c->persist || (c->snd_una == c->snd_max && c->snd_wnd == 0)) {
		/* zero-window probe: an old sequence number makes the peer answer with its window */
		uint32_t end = snd_end(c);
		if (c->snd_una != c->snd_max || (!seq_gt(end, c->snd_nxt) && !c->fin_queued)) {
			c->persist = false;
			tcp_output(c);
			return;
		}
		if (c->snd_wnd) {
			/* a small window that SWS avoidance would wait for forever: use it */
			c->sws_override = true;
			c->backoff = 0;
			tcp_output(c);
			c->sws_override = false;
			if (!timer_pending(&c->t_rtx))
				arm_rtx(c);
			return;
		}
		if (c->probes >= TCP_MAX_RETRIES) {
			s->stats.timeouts++;
			send_segment(c, c->snd_nxt, 0, TH_RST | TH_ACK);
			tcp_done(c, ETIMEDOUT);
			return;
		}
		c->probes++;
		send_segment(c, c->snd_una - 1, 0, TH_ACK);
		if (c->backoff < 16)
			c->backoff++;
		arm_rtx(c);
		return;
	}
	if (c->snd_una == c->snd_max)
		return;
	if (c->retries >= TCP_MAX_RETRIES) {
		s->stats.timeouts++;
		tcp_done(c, ETIMEDOUT);
		return;
	}
	/* RFC 5681 (4): after a timeout, one segment; RFC 6582: no fast retransmit below recover.
	 * The first timeout is a congestion event unless fast recovery already counted it. */
	if (!c->retries && !c->in_recovery)
		c->ssthresh = tcp_cc_loss(&c->cc, c->cwnd, c->snd_max - c->snd_una);
	c->retries++;
	s->stats.timeouts++;
	c->cwnd = c->mss;
	c->in_recovery = false;
	c->nrx = 0;
	c->dupacks = 0;
	c->recover = c->snd_max;
	c->rtt_timing = false;
	if (c->backoff < 16)
		c->backoff++;
	if (c->backoff > 1)
		c->sacked.n = 0;   /* the receiver may have reneged: trust only cumulative ACKs */
	c->snd_nxt = c->snd_una;
	timer_cancel(s->loop, &c->t_rtx);
	tcp_output(c);
	if (!timer_pending(&c->t_rtx))
		arm_rtx(c);
}

static void t_rtx_cb(struct timer *t)
{
	struct tcp_conn *c = container_of(t, struct tcp_conn, t_rtx);
	rto_fired(c);
	flush_events(c);
}

static void t_ack_cb(struct timer *t)
{
	struct tcp_conn *c = container_of(t, struct tcp_conn, t_ack);
	if (c->state != TCP_CLOSED && c->ack_pending)
		send_ack(c);
}

static void t_misc_cb(struct timer *t)
{
	struct tcp_conn *c = container_of(t, struct tcp_conn, t_misc);
	struct tcp_stack *s = c->s;
	switch (c->state) {
	case TCP_TIME_WAIT:
		tcp_done(c, 0);
		break;
	case TCP_FIN_WAIT_2:
		/* only an orphan times out here; a half-closed socket waits for its peer */
		if (!c->owned)
			tcp_done(c, ETIMEDOUT);
		break;
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
		if (!c->opt.keepalive)
			break;
		if (c->snd_una != c->snd_max || c->sbuf.len) {
			/* data is outstanding: the retransmission timer watches the peer */
			c->probes = 0;
			timer_arm(s->loop, &c->t_misc, now_ns(s) + SEC(c->opt.keepidle_s), MS(250));
			break;
		}
		if (!c->probes && now_ns(s) < c->last_rcv + SEC(c->opt.keepidle_s)) {
			keepalive_arm(c);
			break;
		}
		if (c->probes >= c->opt.keepcnt) {
			s->stats.timeouts++;
			send_segment(c, c->snd_nxt, 0, TH_RST | TH_ACK);
			tcp_done(c, ETIMEDOUT);
			break;
		}
		c->probes++;
		send_segment(c, c->snd_una - 1, 0, TH_ACK);
		keepalive_arm(c);
		break;
	default:
		break;
	}
	flush_events(c);
}

/* Gives c its own copy of key (NULL: unsigned from now on). 0 or -ENOMEM (c unchanged). */
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
	ring_free(&c->sbuf);
	ring_free(&c->rbuf);
	free(c->rx);
	conn_set_md5(c, NULL);
	free(c);
}

static void listener_free(struct tcp_listener *l)
{
	tcp_md5_keyset_clear(&l->md5);
	free(l);
}

static struct tcp_conn *conn_new(struct tcp_stack *s, const struct tcp_endpoint *local,
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
	c->rcv_wscale = wscale_for(c->rcvbuf);
	c->rcv_mss = mss_for(s, remote);
	if (c->opt.user_mss && c->opt.user_mss < c->rcv_mss)
		c->rcv_mss = c->opt.user_mss;   /* TCP_MAXSEG: what we announce and send */
	c->mss = local->addr.family == AF_INET ? 536 : 1220;
	c->rto = TCP_RTO_INIT;
	c->ssthresh = UINT32_MAX / 2;
	c->quickacks = TCP_QUICKACKS;
	c->last_rcv = now_ns(s);
	timer_init(&c->t_rtx, t_rtx_cb);
	timer_init(&c->t_ack, t_ack_cb);
	timer_init(&c->t_misc, t_misc_cb);
	c->anext = s->all;
	if (s->all)
		s->all->aprev = c;
	s->all = c;
	s->stats.connections++;
	return c;
}

static void conn_set_iss(struct tcp_conn *c, uint32_t iss)
{
	c->iss = iss;
	c->snd_una = c->snd_nxt = c->snd_max = iss;
	c->sbuf_seq = iss + 1;
	c->recover = iss;
	c->snd_sml = iss;
}

/* Applies the peer's SYN options; mss from the SYN (0 if absent). */
static void conn_syn_options(struct tcp_conn *c, uint16_t peer_mss, int ws, bool sack_ok)
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

static void conn_established_common(struct tcp_conn *c)
{
	c->state = TCP_ESTABLISHED;
	c->rtt_timing = false;
	c->retries = 0;
	c->backoff = 0;
	c->last_rcv = now_ns(c->s);
	timer_cancel(c->s->loop, &c->t_rtx);
	keepalive_arm(c);
}

/* ---- input ---- */

static bool parse_segment(struct tcp_stack *s, struct pbuf *b, const struct ip_packet *pkt,
			  struct tcp_seg *seg)
{
	const uint8_t *base = pbuf_data(b);
	const uint8_t *ip = pkt->hdr;
	if (pkt->proto != IPPROTO_TCP || ip < base || ip > base + b->len ||
	    pkt->total_len > (size_t)(base + b->len - ip) || pkt->hdr_len > pkt->total_len ||
	    pkt->src.family != pkt->family || pkt->dst.family != pkt->family ||
	    (pkt->family != AF_INET && pkt->family != AF_INET6))
		return false;
	if (pkt->family == AF_INET && pkt->hdr_len < 20)
		return false;
	if (pkt->family == AF_INET6 && pkt->hdr_len < 40)
		return false;
	const uint8_t *th = ip + pkt->hdr_len;
	size_t tlen = pkt->total_len - pkt->hdr_len;
	if (tlen < 20)
		return false;
	size_t doff = (size_t)(th[12] >> 4) * 4;
	if (doff < 20 || doff > tlen)
		return false;
	uint32_t sum = pkt->family == AF_INET ? csum_pseudo_v4(pkt->src.bytes, pkt->dst.bytes, IPPROTO_TCP, (uint32_t)tlen)
					      : csum_pseudo_v6(pkt->src.bytes, pkt->dst.bytes, IPPROTO_TCP, (uint32_t)tlen);
	if (csum_fold(csum_partial(th, tlen, sum)) != 0)
		return false;
	memset(seg, 0, sizeof(*seg));
	seg->pkt = pkt;
	seg->ttl = pkt->family == AF_INET ? ip[8] : ip[7];
	seg->sport = rd16(th);
	seg->dport = rd16(th + 2);
	seg->seq = rd32(th + 4);
	seg->ack = rd32(th + 8);
	seg->flags = th[13] & 0x3f;
	seg->wnd = rd16(th + 14);
	seg->data = th + doff;
	seg->dlen = (uint32_t)(tlen - doff);
	seg->th = th;
	seg->tlen = (uint32_t)tlen;
	seg->len = seg->dlen + ((seg->flags & TH_SYN) ? 1 : 0) + ((seg->flags & TH_FIN) ? 1 : 0);
	seg->ws = -1;
	if (seg->sport == 0 || seg->dport == 0)
		return false;
	/* options: every length checked against what is left */
	const uint8_t *o = th + 20, *oend = th + doff;
	while (o < oend) {
		uint8_t kind = o[0];
		if (kind == 0)
			break;
		if (kind == 1) {
			o++;
			continue;
		}
		if (oend - o < 2 || o[1] < 2 || o[1] > oend - o)
			break;   /* malformed: ignore the rest, as Linux does */
		uint8_t ol = o[1];
		switch (kind) {
		case 2:
			if (ol == 4 && (seg->flags & TH_SYN))
				seg->mss = rd16(o + 2);
			break;
		case 3:
			if (ol == 3 && (seg->flags & TH_SYN))
				seg->ws = (int8_t)(o[2] > 14 ? 14 : o[2]);
			break;
		case 4:
			if (ol == 2 && (seg->flags & TH_SYN))
				seg->sack_ok = true;
			break;
		case TCP_MD5_OPT_KIND:
			if (ol == TCP_MD5_OPT_LEN)
				seg->md5 = o + 2;
			break;
		case 5:
			if (ol >= 10 && (ol - 2) % 8 == 0) {
				for (unsigned i = 0; i < (unsigned)(ol - 2) / 8 && seg->nsack < 4; i++) {
					seg->sack[seg->nsack].start = rd32(o + 2 + 8 * i);
					seg->sack[seg->nsack].end = rd32(o + 6 + 8 * i);
					seg->nsack++;
				}
			}
			break;
		default:
			break;
		}
		o += ol;
	}
	(void)s;
	return true;
}

static bool addr_is_multicast(const struct ip_addr *a)
{
	if (a->family == AF_INET)
		return (a->bytes[0] & 0xf0) == 0xe0 || (a->bytes[0] == 255 && a->bytes[1] == 255 &&
							a->bytes[2] == 255 && a->bytes[3] == 255);
	return a->bytes[0] == 0xff;
}

/* Appends in-window payload to the receive ring; returns true if it filled a gap or was out of order. */
static bool receive_data(struct tcp_conn *c, uint32_t seq, const uint8_t *data, uint32_t len)
{
	bool ooo = seq != c->rcv_nxt || c->ooo.n;
	uint32_t off = seq - c->rcv_nxt;
	uint32_t space = c->rcvbuf > c->rbuf.len ? c->rcvbuf - c->rbuf.len : 0;
	if (off >= space)
		return true;
	if (len > space - off)
		len = space - off;
	if (ring_reserve(&c->rbuf, c->rbuf.len + off + len, c->rcvbuf) < 0)
		return true;   /* out of memory: drop, the peer retransmits */
	if (seq != c->rcv_nxt) {
		if (!rs_add(&c->ooo, seq, seq + len))
			return true;
		ring_write_at(&c->rbuf, c->rbuf.len + off, data, len);
		if (!rs_find(&c->ooo, c->sack_recent[0]) || rs_find(&c->ooo, c->sack_recent[0]) != rs_find(&c->ooo, seq)) {
			memmove(&c->sack_recent[1], &c->sack_recent[0], 3 * sizeof(c->sack_recent[0]));
		}
		c->sack_recent[0] = seq;
		return true;
	}
	ring_write_at(&c->rbuf, c->rbuf.len, data, len);
	c->rbuf.len += len;
	c->rcv_nxt += len;
	c->bytes_received += len;
	while (c->ooo.n && seq_le(c->ooo.r[0].start, c->rcv_nxt)) {
		if (seq_gt(c->ooo.r[0].end, c->rcv_nxt)) {
			uint32_t more = c->ooo.r[0].end - c->rcv_nxt;
			c->rbuf.len += more;
			c->rcv_nxt += more;
			c->bytes_received += more;
		}
		rs_trim_below(&c->ooo, c->rcv_nxt);
	}
	c->ev |= EV_READABLE;
	return ooo;
}

static void process_fin(struct tcp_conn *c)
{
	c->fin_rcvd = true;
	c->ooo_fin = false;
	c->rcv_nxt++;
	c->ev |= EV_READABLE;
	switch (c->state) {
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
		c->state = TCP_CLOSE_WAIT;
		break;
	case TCP_FIN_WAIT_1:
		if (c->fin_acked)
			enter_time_wait(c);
		else
			c->state = TCP_CLOSING;
		break;
	case TCP_FIN_WAIT_2:
		enter_time_wait(c);
		break;
	case TCP_TIME_WAIT:
		timer_arm(c->s->loop, &c->t_misc, now_ns(c->s) + TCP_TIMEWAIT, SEC(1));
		break;
	default:
		break;
	}
}

/* Updates the SACK scoreboard from seg's blocks (only plausible ones). */
static void take_sack(struct tcp_conn *c, const struct tcp_seg *seg)
{
	if (!c->sack_ok)
		return;
	for (unsigned i = 0; i < seg->nsack; i++) {
		uint32_t a = seg->sack[i].start, e = seg->sack[i].end;
		if (!seq_lt(a, e) || !seq_gt(a, c->snd_una) || seq_gt(e, c->snd_max))
			continue;   /* D-SACK or bogus */
		rs_add(&c->sacked, a, e);
	}
}

/*
 * Fast retransmit: one congestion event, so one reduction (tcp_cc_loss)
 * for every loss among the data sent so far (up to recover). With SACK, PRR
 * (RFC 6937) then paces the window down to ssthresh as ACKs come; without,
 * NewReno (RFC 6582) inflates it by the duplicate ACKs.
 */
static void enter_recovery(struct tcp_conn *c)
{
	struct tcp_stack *s = c->s;
	c->ssthresh = tcp_cc_loss(&c->cc, c->cwnd, c->snd_max - c->snd_una);
	c->recover = c->snd_max;
	c->in_recovery = true;
	c->rtt_timing = false;
	s->stats.fast_retransmits++;
	if (c->sack_ok) {
		c->prr_delivered = c->prr_out = 0;
		c->recover_fs = c->snd_max - c->snd_una;
		c->cwnd = c->ssthresh;
		uint32_t h;
		/* RFC 6675 (4.3): the first lost segment goes out whatever the window
		 * (retransmissions of an earlier episode still in flight are kept) */
		if (next_lost(c, &h))
			rx_send(c, h);
		else if (!rx_find(c, c->snd_una) && !rs_find(&c->sacked, c->snd_una))
			rx_send(c, c->snd_una);
	} else {
		c->cwnd = c->ssthresh + 3u * c->mss;
		uint32_t n = retransmit_at(c, c->snd_una);
		c->rexmit_nxt = c->snd_una + n;
	}
	arm_rtx(c);
}

/* RFC 6937 PRR: the window during SACK recovery, after each ACK (delivered: its new bytes). */
static void prr_update(struct tcp_conn *c, uint32_t delivered)
{
	c->prr_delivered += delivered;
	uint32_t pipe = sack_pipe(c);
	int64_t sndcnt;
	if (pipe > c->ssthresh) {
		/* proportional: send ssthresh/RecoverFS of what leaves the network */
		uint64_t fs = c->recover_fs ? c->recover_fs : 1;
		sndcnt = (int64_t)(((uint64_t)c->prr_delivered * c->ssthresh + fs - 1) / fs) - c->prr_out;
	} else {
		/* slow-start reduction bound: grow back to ssthresh, at most one MSS ahead */
		int64_t lim = (int64_t)c->prr_delivered - c->prr_out;
		if (lim < (int64_t)delivered)
			lim = delivered;
		lim += c->mss;
		sndcnt = (int64_t)(c->ssthresh - pipe);
		if (sndcnt > lim)
			sndcnt = lim;
	}
	if (sndcnt < 0)
		sndcnt = 0;
	c->cwnd = pipe + (uint32_t)sndcnt;
}

/* Send buffer autotuning (no SO_SNDBUF, as Linux): room for two windows of data. */
static void sndbuf_tune(struct tcp_conn *c)
{
	if (!c->sndbuf_auto)
		return;
	uint64_t want = 2ull * c->cwnd;
	if (want > TCP_SND_AUTO_MAX)
		want = TCP_SND_AUTO_MAX;
	if (want > c->sndbuf) {
		c->sndbuf = (uint32_t)want;
		if (c->snd_full_hint) {
			c->snd_full_hint = false;
			c->ev |= EV_WRITABLE;
		}
	}
}

/* ACK processing for synchronized states (RFC 9293 fifth check). False: drop the segment. */
static bool process_ack(struct tcp_conn *c, const struct tcp_seg *seg)
{
	struct tcp_stack *s = c->s;
	uint32_t ack = seg->ack;
	if (seq_gt(ack, c->snd_max)) {
		send_ack(c);
		return false;
	}
	/* RFC 5961 5.2: an ACK far below what was acknowledged is blind injection */
	if (seq_lt(ack, c->snd_una - max_u32(c->max_sndwnd, c->mss))) {
		send_challenge_ack(c);
		return false;
	}
	uint32_t wnd = (uint32_t)seg->wnd << (c->ws_ok ? c->snd_wscale : 0);
	bool wnd_changed = false;
	if (seq_lt(c->snd_wl1, seg->seq) || (c->snd_wl1 == seg->seq && seq_le(c->snd_wl2, ack))) {
		if (seq_ge(ack, c->snd_una)) {
			wnd_changed = wnd != c->snd_wnd;
			c->snd_wnd = wnd;
			c->snd_wl1 = seg->seq;
			c->snd_wl2 = ack;
			if (wnd > c->max_sndwnd)
				c->max_sndwnd = wnd;
		}
	}
	uint32_t sacked_before = rs_bytes(&c->sacked);
	uint32_t acked = seq_gt(ack, c->snd_una) ? ack - c->snd_una : 0;
	take_sack(c, seg);
	if (seq_gt(ack, c->snd_una)) {
		if (c->rtt_timing && seq_gt(ack, c->rtt_seq)) {
			c->rtt_timing = false;
			rtt_sample(c, now_ns(s) - c->rtt_start);
		}
		if (seq_gt(ack, c->sbuf_seq)) {
			uint32_t n = min_u32(ack - c->sbuf_seq, c->sbuf.len);
			ring_consume(&c->sbuf, n);
			c->sbuf_seq += n;
			if (c->fin_sent && ack == snd_end(c) + 1)
				c->fin_acked = true;
			if (c->snd_full_hint && (c->sndbuf - c->sbuf.len >= c->sndbuf / 4 || !c->sbuf.len)) {
				c->snd_full_hint = false;
				c->ev |= EV_WRITABLE;
			}
			if (!c->sbuf.len)
				ring_free(&c->sbuf);
		}
		if (ack - c->iss < c->snd_una - c->iss)
			c->acked_wraps++;
		c->snd_una = ack;
		c->rtx_stamp = ack == c->snd_max ? 0 : stamp_ms(s);   /* progress: TCP_USER_TIMEOUT anew */
		if (seq_lt(c->snd_nxt, c->snd_una))
			c->snd_nxt = c->snd_una;
		rs_trim_below(&c->sacked, c->snd_una);
		c->backoff = 0;
		c->retries = 0;
		c->probes = 0;
		if (c->in_recovery) {
			if (seq_ge(ack, c->recover)) {
				c->in_recovery = false;
				c->cwnd = c->sack_ok ? c->ssthresh :
					min_u32(c->ssthresh, max_u32(c->snd_max - c->snd_una, c->mss) + c->mss);
				c->dupacks = 0;
			} else if (!c->sack_ok) {
				/* RFC 6582 partial ACK: the segment at snd_una is lost too */
				if (seq_ge(c->snd_una, c->rexmit_nxt)) {
					uint32_t n = retransmit_at(c, c->snd_una);
					c->rexmit_nxt = c->snd_una + n;
				}
				c->cwnd = c->cwnd > acked ? c->cwnd - acked : 0;
				if (acked >= c->mss)
					c->cwnd += c->mss;
				c->cwnd = max_u32(c->cwnd, c->mss);
				arm_rtx(c);
			}
		} else {
			c->dupacks = 0;
			if (!c->cwnd_limited) {
				/* RFC 7661: an application- or buffer-limited window earns no growth */
			} else if (c->cwnd < c->ssthresh) {
				c->cwnd += min_u32(acked, 2u * c->mss);   /* RFC 3465, L = 2 */
			} else {
				c->cwnd = tcp_cc_avoid(&c->cc, c->cwnd, acked, now_ns(s),
						       c->srtt ? c->srtt : c->rto);
			}
			c->cwnd = min_u32(c->cwnd, 2 * max_u32(c->sndbuf, c->max_sndwnd) + 4u * c->mss);
			sndbuf_tune(c);
		}
		if (c->snd_una == c->snd_max) {
			timer_cancel(s->loop, &c->t_rtx);
		} else if (!c->in_recovery || c->sack_ok) {
			arm_rtx(c);
		}
	} else if (ack == c->snd_una && !seg->dlen && !(seg->flags & (TH_SYN | TH_FIN)) &&
		   c->snd_max != c->snd_una && (!wnd_changed || seg->nsack)) {
		/* a duplicate ACK (RFC 5681 section 2) */
		if (c->dupacks < 255)
			c->dupacks++;
		if (c->in_recovery) {
			if (!c->sack_ok)
				c->cwnd += c->mss;   /* window inflation */
		} else if (c->dupacks >= TCP_DUPTHRESH && seq_ge(c->snd_una, c->recover)) {
			enter_recovery(c);
		}
	}
	/* RFC 6675: any ACK whose SACK blocks show a loss starts recovery (data-bearing ones too) */
	if (!c->in_recovery && c->sack_ok && c->snd_una != c->snd_max && seq_ge(c->snd_una, c->recover) &&
	    seq_gt(lost_below(c), c->snd_una))
		enter_recovery(c);
	/* what this ACK delivered (newly ACKed bytes not SACKed before, newly SACKed ones) */
	int64_t dd = (int64_t)acked + (int64_t)rs_bytes(&c->sacked) - (int64_t)sacked_before;
	uint32_t delivered = dd > 0 ? (uint32_t)dd : 0;
	c->delivered += delivered;
	tcp_cc_delivered(&c->cc, now_ns(s), c->delivered, hi_sack(c), c->snd_max);
	if (c->nrx)
		rx_update(c);
	if (!c->nrx && !c->in_recovery && c->rx) {
		free(c->rx);   /* an idle connection holds only its TCB */
		c->rx = NULL;
	}
	if (c->in_recovery && c->sack_ok) {
		/* a random loss is no reason to stop probing: the target keeps growing */
		if (c->cc.random_loss && c->cwnd_limited && delivered)
			c->ssthresh = tcp_cc_avoid(&c->cc, c->ssthresh, delivered, now_ns(s),
						   c->srtt ? c->srtt : c->rto);
		prr_update(c, delivered);
	}
	if (c->persist && c->snd_wnd)
		c->persist = false;
	/* a peer answering zero-window probes is alive (Linux); an orphan still gives up */
	if (c->persist && c->owned)
		c->probes = 0;
	/* our FIN acknowledged: state changes (RFC 9293 fifth check, per state) */
	if (c->fin_acked) {
		switch (c->state) {
		case TCP_FIN_WAIT_1:
			c->state = TCP_FIN_WAIT_2;
			timer_cancel(s->loop, &c->t_rtx);
			if (!c->owned)
				timer_arm(s->loop, &c->t_misc, now_ns(s) + TCP_FIN_TIMEOUT, SEC(1));
			break;
		case TCP_CLOSING:
			enter_time_wait(c);
			break;
		case TCP_LAST_ACK:
			tcp_done(c, 0);
			return false;
		default:
			break;
		}
	}
	return true;
}

static void segment_to_conn(struct tcp_conn *c, const struct tcp_seg *seg);

static void process_syn_sent(struct tcp_conn *c, const struct tcp_seg *seg)
{
	struct tcp_stack *s = c->s;
	if (seg->flags & TH_ACK) {
		if (seq_le(seg->ack, c->iss) || seq_gt(seg->ack, c->snd_max)) {
			if (!(seg->flags & TH_RST))
				send_rst_for(s, seg, c->scope, c->md5);
			return;
		}
	}
	if (seg->flags & TH_RST) {
		if (seg->flags & TH_ACK) {
			s->stats.resets_received++;
			tcp_done(c, ECONNREFUSED);
		}
		return;
	}
	if (!(seg->flags & TH_SYN))
		return;
	c->irs = seg->seq;
	c->rcv_nxt = seg->seq + 1;
	conn_syn_options(c, seg->mss, seg->ws, seg->sack_ok);
	c->snd_wl1 = seg->seq;
	if (seg->flags & TH_ACK) {
		c->snd_una = seg->ack;
		c->rtx_stamp = 0;
		c->snd_wnd = (uint32_t)seg->wnd << (c->ws_ok ? c->snd_wscale : 0);
		c->max_sndwnd = c->snd_wnd;
		c->snd_wl2 = seg->ack;
		c->rcv_adv = c->rcv_nxt;
		if (c->retries == 0 && c->rtt_timing)
			rtt_sample(c, now_ns(s) - c->rtt_start);
		c->rtt_timing = false;
		conn_established_common(c);
		c->ev |= EV_CONNECTED;
		if (c->fin_queued)
			c->state = TCP_FIN_WAIT_1;
		if (seg->dlen || (seg->flags & TH_FIN)) {
			/* data on the SYN-ACK: handle it as on an established connection */
			struct tcp_seg rest = *seg;
			rest.seq = seg->seq + 1;
			rest.flags &= (uint8_t)~TH_SYN;
			rest.len = seg->len - 1;
			segment_to_conn(c, &rest);
			return;
		}
		send_ack(c);
		tcp_output(c);
		return;
	}
	/* simultaneous open (RFC 9293 3.5, figure 8) */
	c->state = TCP_SYN_RECEIVED;
	c->snd_wnd = (uint32_t)seg->wnd;
	c->rcv_adv = c->rcv_nxt;
	send_segment(c, c->iss, 0, TH_SYN | TH_ACK);
	arm_rtx(c);
}

/* Segment processing for every state from SYN-RECEIVED on (RFC 9293 3.10.7.4). */
static void segment_to_conn(struct tcp_conn *c, const struct tcp_seg *seg)
{
	struct tcp_stack *s = c->s;
	uint32_t seq = seg->seq, slen = seg->len;
	const uint8_t *data = seg->data;
	uint32_t dlen = seg->dlen;
	uint8_t flags = seg->flags;
	uint32_t wnd = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;

	if (c->state == TCP_SYN_RECEIVED && (flags & TH_SYN) && seq == c->irs) {
		if (!(flags & TH_ACK)) {
			/* a retransmitted SYN: repeat the SYN-ACK */
			send_segment(c, c->iss, 0, TH_SYN | TH_ACK);
			return;
		}
		/* simultaneous open (RFC 9293 figure 8): the peer's SYN-ACK; its SYN is old news */
		flags &= (uint8_t)~TH_SYN;
		seq++;
		slen--;
	}

	/* first: sequence number acceptability */
	bool ok;
	if (slen == 0)
		ok = wnd == 0 ? seq == c->rcv_nxt : seq_ge(seq, c->rcv_nxt) && seq_lt(seq, c->rcv_nxt + wnd);
	else
		ok = wnd != 0 && ((seq_ge(seq, c->rcv_nxt) && seq_lt(seq, c->rcv_nxt + wnd)) ||
				  (seq_ge(seq + slen - 1, c->rcv_nxt) && seq_lt(seq + slen - 1, c->rcv_nxt + wnd)));
	bool ack_now = false;
	if (!ok && wnd == 0 && seq == c->rcv_nxt && !(flags & TH_SYN)) {
		/* zero window: still take the ACK (and RST) of a segment at rcv_nxt */
		ok = true;
		ack_now = dlen != 0;
		dlen = 0;
		flags &= (uint8_t)~TH_FIN;
		slen = 0;
	}
	if (!ok) {
		if (!(flags & TH_RST))
			send_ack(c);
		if (c->state == TCP_TIME_WAIT && (flags & TH_FIN))
			timer_arm(s->loop, &c->t_misc, now_ns(s) + TCP_TIMEWAIT, SEC(1));
		return;
	}
	/* trim to the window */
	if (flags & TH_SYN) {
		if (seq_lt(seq, c->rcv_nxt)) {
			flags &= (uint8_t)~TH_SYN;
			seq++;
		}
	}
	if (seq_lt(seq, c->rcv_nxt)) {
		uint32_t cut = c->rcv_nxt - seq;
		if (cut > dlen) {
			cut = dlen;
			flags &= (uint8_t)~TH_FIN;   /* an old FIN */
		}
		data += cut;
		dlen -= cut;
		seq += cut;
	}
	if (dlen && seq_gt(seq + dlen, c->rcv_nxt + wnd)) {
		uint32_t keep = (c->rcv_nxt + wnd) - seq;
		if (seq_ge(seq, c->rcv_nxt + wnd))
			keep = 0;
		dlen = keep;
		flags &= (uint8_t)~TH_FIN;
	}

	/* second: RST (RFC 5961 section 3) */
	if (flags & TH_RST) {
		if (seq != c->rcv_nxt) {
			send_challenge_ack(c);
			return;
		}
		s->stats.resets_received++;
		if (c->state == TCP_SYN_RECEIVED && !c->active) {
			tcp_done(c, ECONNRESET);
			return;
		}
		bool orderly = c->state == TCP_CLOSING || c->state == TCP_LAST_ACK || c->state == TCP_TIME_WAIT;
		tcp_done(c, orderly ? 0 : (c->state == TCP_SYN_RECEIVED ? ECONNREFUSED : ECONNRESET));
		return;
	}
	/* fourth: SYN in a synchronized state (RFC 5961 section 4) */
	if (flags & TH_SYN) {
		send_challenge_ack(c);
		return;
	}
	/* fifth: ACK */
	if (!(flags & TH_ACK))
		return;
	c->last_rcv = now_ns(s);
	if (c->opt.keepalive && c->probes && c->state >= TCP_ESTABLISHED) {
		c->probes = 0;
		keepalive_arm(c);
	}
	if (c->state == TCP_SYN_RECEIVED) {
		if (!seq_gt(seg->ack, c->snd_una) || seq_gt(seg->ack, c->snd_max)) {
			send_rst_for(s, seg, c->scope, c->md5);
			return;
		}
		struct tcp_listener *l = c->lis;
		if (l && !c->active && l->acc_count >= l->backlog) {
			s->stats.syn_backlog_drops++;
			return;   /* accept queue full: the SYN-ACK will be repeated */
		}
		if (c->retries == 0)
			rtt_sample(c, now_ns(s) - c->rtt_start);
		c->snd_una = seg->ack;
		c->rtx_stamp = 0;
		c->snd_wnd = (uint32_t)seg->wnd << (c->ws_ok ? c->snd_wscale : 0);
		c->max_sndwnd = c->snd_wnd;
		c->snd_wl1 = seg->seq;
		c->snd_wl2 = seg->ack;
		conn_established_common(c);
		if (c->active)
			c->ev |= EV_CONNECTED;
		else
			c->ev |= EV_ACCEPT;
		if (c->fin_queued)
			c->state = TCP_FIN_WAIT_1;
	}
	if (!process_ack(c, seg))
		return;
	if (c->state == TCP_CLOSED)
		return;

	/* seventh: segment text */
	if (dlen) {
		switch (c->state) {
		case TCP_ESTABLISHED:
		case TCP_FIN_WAIT_1:
		case TCP_FIN_WAIT_2:
			if (!c->owned && !c->lis) {
				/* the application closed: nobody will read this (RFC 9293 3.10.4) */
				send_segment(c, c->snd_nxt, 0, TH_RST | TH_ACK);
				tcp_done(c, ECONNRESET);
				return;
			}
			if (dlen > c->rcv_seg)
				c->rcv_seg = min_u32(dlen, c->rcv_mss);
			if (receive_data(c, seq, data, dlen)) {
				ack_now = true;
			} else {
				/* delayed ACK: every second full-sized segment, else within 40 ms */
				c->ack_pending += dlen;
				if (c->quickacks) {
					c->quickacks--;
					ack_now = true;
				} else if (c->ack_pending >= 2u * min_u32(max_u32(c->rcv_seg, 536), c->rcv_mss)) {
					ack_now = true;
				}
			}
			break;
		default:
			ack_now = true;   /* after the peer's FIN: just acknowledge */
			break;
		}
	}
	/* eighth: FIN */
	if (flags & TH_FIN) {
		uint32_t fseq = seq + dlen;
		if (fseq == c->rcv_nxt && !c->fin_rcvd) {
			process_fin(c);
		} else if (!c->fin_rcvd && seq_gt(fseq, c->rcv_nxt)) {
			c->ooo_fin = true;
			c->fin_seq = fseq;
		} else if (c->state == TCP_TIME_WAIT) {
			timer_arm(s->loop, &c->t_misc, now_ns(s) + TCP_TIMEWAIT, SEC(1));
		}
		ack_now = true;
	}
	if (c->ooo_fin && c->fin_seq == c->rcv_nxt && !c->fin_rcvd) {
		process_fin(c);
		ack_now = true;
	}
	if (c->state == TCP_CLOSED)
		return;
	tcp_output(c);
	if (ack_now)
		send_ack(c);
	else if (c->ack_pending && !timer_pending(&c->t_ack))
		timer_arm(s->loop, &c->t_ack, now_ns(s) + TCP_DELACK, MS(4));
}

/* ---- listeners ---- */

static struct tcp_listener *listener_lookup(struct tcp_stack *s, const struct ip_addr *dst,
					    uint16_t port, uint32_t ifindex)
{
	struct tcp_listener *any = NULL;
	for (struct tcp_listener *l = s->listeners; l; l = l->next) {
		if (l->closed || l->local.port != port || l->family != dst->family)
			continue;
		if (l->local.scope_id && ifindex && l->local.scope_id != ifindex)
			continue;
		if (!l->any_addr && ip_addr_equal(&l->local.addr, dst))
			return l;
		if (l->any_addr && !any)
			any = l;
	}
	return any;
}

static unsigned mss_index(uint16_t mss)
{
	unsigned i = 3;
	while (i > 0 && cookie_mss[i] > mss)
		i--;
	return i;
}

static void send_cookie_synack(struct tcp_stack *s, struct tcp_listener *l, const struct tcp_seg *seg,
			       uint32_t scope)
{
	const struct ip_packet *p = seg->pkt;
	struct tcp_endpoint remote = { .addr = p->src, .port = seg->sport, .scope_id = scope };
	uint16_t peer_mss = seg->mss ? seg->mss : (p->family == AF_INET ? 536 : 1220);
	unsigned mi = mss_index(peer_mss);
	uint32_t rcvbuf = l->opt.rcvbuf;
	uint8_t ws = wscale_for(rcvbuf);
	uint32_t cookie = cookie_make(s, &p->dst, seg->dport, &p->src, seg->sport, seg->seq, mi,
				      seg->ws, seg->sack_ok);
	const struct tcp_md5_key *key = tcp_md5_keyset_lookup(&l->md5, &p->src, seg->ifindex);
	uint8_t opts[12 + TCP_MD5_OPT_SPACE];
	size_t olen = 0;
	if (key)
		olen = md5_opt_put(opts);
	opts[olen++] = 2;
	opts[olen++] = 4;
	uint16_t our_mss = mss_for(s, &remote);
	if (l->opt.user_mss && l->opt.user_mss < our_mss)
		our_mss = l->opt.user_mss;
	wr16(opts + olen, our_mss);
	olen += 2;
	if (seg->sack_ok) {
		opts[olen++] = 1; opts[olen++] = 1; opts[olen++] = 4; opts[olen++] = 2;
	}
	if (seg->ws >= 0) {
		opts[olen++] = 1; opts[olen++] = 3; opts[olen++] = 3; opts[olen++] = ws;
	}
	uint8_t *th;
	struct pbuf *b = build_packet(s, &p->dst, &p->src, l->opt.ttl, l->opt.tos, 20 + olen, &th);
	if (!b)
		return;
	wr16(th, seg->dport);
	wr16(th + 2, seg->sport);
	wr32(th + 4, cookie);
	wr32(th + 8, seg->seq + 1);
	th[12] = (uint8_t)(((20 + olen) / 4) << 4);
	th[13] = TH_SYN | TH_ACK;
	wr16(th + 14, (uint16_t)min_u32(rcvbuf, 65535));
	wr16(th + 18, 0);
	memcpy(th + 20, opts, olen);
	if (key && !md5_sign(key, &p->dst, &p->src, th, 20 + olen)) {
		pbuf_free(b);
		return;
	}
	finish_tcp(&p->dst, &p->src, th, 20 + olen);
	l->cookie_sent_at = now_ns(s) ? now_ns(s) : 1;
	s->stats.syncookies_sent++;
	emit(s, b, scope);
}

/* The options a connection of l starts with: l's, with l's keys to pick its peer's from. */
static const struct tcp_options *listener_opts(const struct tcp_listener *l, struct tcp_options *o)
{
	*o = l->opt;
	o->md5 = &l->md5;
	return o;
}

static void listen_input(struct tcp_stack *s, struct tcp_listener *l, const struct tcp_seg *seg,
			 uint32_t scope, const struct tcp_md5_key *key)
{
	const struct ip_packet *p = seg->pkt;
	struct tcp_options lo;
	if (seg->flags & TH_RST)
		return;
	if (seg->flags & TH_ACK) {
		if (!(seg->flags & TH_SYN) && l->cookie_sent_at &&
		    now_ns(s) < l->cookie_sent_at + 2 * TCP_COOKIE_PERIOD) {
			int info = cookie_check(s, &p->dst, seg->dport, &p->src, seg->sport, seg->seq - 1,
						seg->ack - 1);
			if (info >= 0) {
				if (l->acc_count >= l->backlog) {
					s->stats.syn_backlog_drops++;
					return;
				}
				struct tcp_endpoint local = { .addr = p->dst, .port = seg->dport,
							      .scope_id = scope };
				struct tcp_endpoint remote = { .addr = p->src, .port = seg->sport,
							       .scope_id = scope };
				struct tcp_conn *c = conn_new(s, &local, &remote, scope, listener_opts(l, &lo));
				if (!c)
					return;
				int ws = (info >> 2) & 15;
				conn_set_iss(c, seg->ack - 1);
				c->snd_nxt = c->snd_max = c->iss + 1;
				c->cookie = true;
				c->irs = seg->seq - 1;
				c->rcv_nxt = seg->seq;
				conn_syn_options(c, cookie_mss[info & 3], ws == 15 ? -1 : ws, (info & 64) != 0);
				if (!c->ws_ok)
					c->rcv_wscale = 0;
				c->rcv_adv = c->rcv_nxt + min_u32(c->rcvbuf, 65535);
				c->state = TCP_SYN_RECEIVED;
				c->lis = l;
				c->in_acceptq = false;
				/* a temporary SYN-queue membership so the accept path is the usual one */
				synq_add(l, c);
				conn_hash(c);
				c->rtt_start = now_ns(s);
				c->retries = 1;   /* no RTT sample: we do not know when the SYN-ACK left */
				s->stats.passive_opens++;
				s->stats.syncookies_ok++;
				segment_to_conn(c, seg);
				if (c->state == TCP_SYN_RECEIVED)
					tcp_done(c, 0);   /* not acceptable after all: forget it */
				flush_events(c);
				return;
			}
		}
		send_rst_for(s, seg, scope, key);
		return;
	}
	if (!(seg->flags & TH_SYN))
		return;
	if (l->acc_count >= l->backlog) {
		s->stats.syn_backlog_drops++;
		return;
	}
	if (l->syn_count >= l->syn_max || s->cookies_always) {
		send_cookie_synack(s, l, seg, scope);
		return;
	}
	struct tcp_endpoint local = { .addr = p->dst, .port = seg->dport, .scope_id = scope };
	struct tcp_endpoint remote = { .addr = p->src, .port = seg->sport, .scope_id = scope };
	struct tcp_conn *c = conn_new(s, &local, &remote, scope, listener_opts(l, &lo));
	if (!c) {
		s->stats.syn_backlog_drops++;
		return;
	}
	conn_set_iss(c, isn_for(s, &p->dst, seg->dport, &p->src, seg->sport));
	c->irs = seg->seq;
	c->rcv_nxt = seg->seq + 1;
	conn_syn_options(c, seg->mss, seg->ws, seg->sack_ok);
	c->rcv_adv = c->rcv_nxt;
	c->state = TCP_SYN_RECEIVED;
	c->snd_wnd = seg->wnd;
	synq_add(l, c);
	conn_hash(c);
	s->stats.passive_opens++;
	c->snd_nxt = c->snd_max = c->iss + 1;
	c->rtt_start = now_ns(s);
	send_segment(c, c->iss, 0, TH_SYN | TH_ACK);
	arm_rtx(c);
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
static bool md5_accept(struct tcp_stack *s, const struct tcp_md5_key *key, const struct tcp_seg *seg)
{
	const struct ip_packet *p = seg->pkt;
	const char *why;
	if (!key && !seg->md5)
		return true;
	if (key && seg->md5 && tcp_md5_verify(key, &p->src, &p->dst, seg->th, seg->tlen, seg->md5))
		return true;
	if (!key) {
		s->stats.md5_unexpected++;
		why = "signed, but no key is set for this peer";
	} else if (!seg->md5) {
		s->stats.md5_not_found++;
		why = "not signed, but a key is set for this peer";
	} else {
		s->stats.md5_failure++;
		why = "signature does not match the key (wrong password?)";
	}
	/* Logged at most every 10 s: a peer with a wrong password retries forever. */
	uint64_t now = now_ns(s);
	if (!s->md5_logged_at || now - s->md5_logged_at >= SEC(10)) {
		char a[IP_ADDR_STRLEN], b[IP_ADDR_STRLEN];
		s->md5_logged_at = now ? now : 1;
		log_warn("tcp: dropped a segment from %s port %u to %s port %u: TCP MD5 (RFC 2385) %s",
			 ip_addr_format(&p->src, a), seg->sport, ip_addr_format(&p->dst, b), seg->dport,
			 why);
	}
	return false;
}

void tcp_input(struct tcp_stack *s, struct pbuf *b, const struct ip_packet *pkt, uint32_t ingress_ifindex)
{
	struct tcp_seg seg;
	s->stats.segments_in++;
	if (!parse_segment(s, b, pkt, &seg) || addr_is_multicast(&pkt->dst) || addr_is_multicast(&pkt->src)) {
		s->stats.bad_segments++;
		pbuf_free(b);
		return;
	}
	seg.ifindex = ingress_ifindex;
	uint32_t scope = (ip_addr_is_link_local(&pkt->src) || ip_addr_is_link_local(&pkt->dst))
			 ? ingress_ifindex : 0;
	struct tcp_conn *c = conn_lookup(s, &pkt->dst, seg.dport, &pkt->src, seg.sport, scope);
	if (c && !md5_accept(s, c->md5, &seg)) {
		pbuf_free(b);
		return;
	}
	if (c) {
		c->segs_in++;
		if (seg.flags & TH_ACK)
			c->last_ack_rcv = stamp_ms(s);
		if (seg.dlen) {
			c->data_segs_in++;
			c->last_data_rcv = stamp_ms(s);
		}
	}
	if (c && c->state == TCP_TIME_WAIT && (seg.flags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN &&
	    seq_gt(seg.seq, c->rcv_nxt)) {
		/* RFC 9293 3.10.7.4 / RFC 6191: a new incarnation may reuse a TIME-WAIT pair */
		if (!c->opt.min_ttl || seg.ttl >= c->opt.min_ttl) {
			tcp_done(c, 0);
			flush_events(c);
			c = NULL;
		}
	}
	if (c) {
		if (c->opt.min_ttl && seg.ttl < c->opt.min_ttl) {
			s->stats.bad_segments++;   /* GTSM (RFC 5082): silently */
		} else if (c->state == TCP_SYN_SENT) {
			process_syn_sent(c, &seg);
			flush_events(c);
		} else {
			segment_to_conn(c, &seg);
			flush_events(c);
		}
		pbuf_free(b);
		return;
	}
	struct tcp_listener *l = listener_lookup(s, &pkt->dst, seg.dport, ingress_ifindex);
	if (l) {
		const struct tcp_md5_key *key = tcp_md5_keyset_lookup(&l->md5, &pkt->src, ingress_ifindex);
		if (l->opt.min_ttl && seg.ttl < l->opt.min_ttl)
			s->stats.bad_segments++;
		else if (md5_accept(s, key, &seg))
			listen_input(s, l, &seg, scope, key);
	} else if (seg.md5) {
		/* Linux answers a signed segment only with a signed RST, and has no key here. */
		s->stats.md5_unexpected++;
	} else {
		send_rst_for(s, &seg, scope, NULL);
	}
	pbuf_free(b);
}

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
			send_segment(c, c->snd_nxt, 0, TH_RST | TH_ACK);
		else if (c->state == TCP_SYN_RECEIVED)
			send_segment(c, c->iss + 1, 0, TH_RST | TH_ACK);
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
	    local->addr.family != remote->addr.family || addr_is_multicast(&remote->addr))
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
			if (!conn_lookup(s, &lo.addr, p, &re.addr, re.port, scope)) {
				lo.port = p;
				break;
			}
		}
		if (!lo.port)
			return -EADDRNOTAVAIL;
	} else if (conn_lookup(s, &lo.addr, lo.port, &re.addr, re.port, scope)) {
		return -EADDRINUSE;
	}
	struct tcp_conn *c = conn_new(s, &lo, &re, scope, opt);
	if (!c)
		return -ENOMEM;
	conn_set_iss(c, isn_for(s, &lo.addr, lo.port, &re.addr, re.port));
	c->active = true;
	c->owned = true;
	c->state = TCP_SYN_SENT;
	c->snd_nxt = c->snd_max = c->iss + 1;
	conn_hash(c);
	s->stats.active_opens++;
	c->rtt_timing = true;
	c->rtt_start = now_ns(s);
	send_segment(c, c->iss, 0, TH_SYN);
	arm_rtx(c);
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
	if (ring_reserve(&c->sbuf, c->sbuf.len + n, c->sndbuf) < 0) {
		c->snd_full_hint = true;
		return 0;
	}
	ring_write_at(&c->sbuf, c->sbuf.len, data, n);
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
		ring_read_at(&c->rbuf, 0, buf, n);
		ring_consume(&c->rbuf, n);
		if (!c->rbuf.len && !c->ooo.n)
			ring_free(&c->rbuf);
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
			send_ack(c);
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
		send_segment(c, c->snd_nxt, 0, TH_RST | TH_ACK);
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
		send_segment(c, c->snd_nxt, 0, TH_RST | TH_ACK);
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
		keepalive_arm(c);
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
	o->rto_us = ns_to_us(rto_now(c));
	o->snd_mss = c->mss;
	o->rcv_mss = c->rcv_mss;
	bool synced = c->state >= TCP_ESTABLISHED;
	o->unacked = c->snd_max - c->snd_una;
	o->sacked = rs_bytes(&c->sacked);
	o->lost = c->in_recovery && c->sack_ok ? lost_below(c) - c->snd_una : 0;
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
