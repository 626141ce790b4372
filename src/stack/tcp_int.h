/*
 * Internal to the TCP engine (stack/tcp*.c): constants, sequence arithmetic,
 * the connection, listener and stack structures, and the functions its files
 * share. Nothing outside the engine includes this; the API is stack/tcp.h.
 */
#ifndef RR_STACK_TCP_INT_H
#define RR_STACK_TCP_INT_H

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

/* ---- byte rings that grow on demand ---- */

struct tcp_ring {
	uint8_t *buf;
	uint32_t cap, head, len;
};

/* Makes room for need bytes of logical content (max: the configured buffer). */

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

static inline uint64_t now_ns(const struct tcp_stack *s) { return loop_now(s->loop); }
/* A 32-bit millisecond time stamp (TCP_INFO's last_* times), never 0 (0 means never). */
static inline uint32_t stamp_ms(const struct tcp_stack *s)
{
	uint32_t ms = (uint32_t)(now_ns(s) / NSEC_PER_MSEC);
	return ms ? ms : 1;
}
static inline uint32_t snd_end(const struct tcp_conn *c) { return c->sbuf_seq + c->sbuf.len; }

/* tcp_buf.c */
bool tcp_rs_add(struct tcp_rangeset *rs, uint32_t start, uint32_t end);
void tcp_rs_trim_below(struct tcp_rangeset *rs, uint32_t seq);
const struct tcp_range *tcp_rs_find(const struct tcp_rangeset *rs, uint32_t seq);
uint32_t tcp_rs_bytes(const struct tcp_rangeset *rs);
uint32_t tcp_rs_bytes_in(const struct tcp_rangeset *rs, uint32_t a, uint32_t b);
int tcp_ring_reserve(struct tcp_ring *r, uint32_t need, uint32_t max);
void tcp_ring_write_at(struct tcp_ring *r, uint32_t off, const uint8_t *src, uint32_t n);
void tcp_ring_read_at(const struct tcp_ring *r, uint32_t off, uint8_t *dst, uint32_t n);
void tcp_ring_consume(struct tcp_ring *r, uint32_t n);
void tcp_ring_free(struct tcp_ring *r);

/* tcp.c */
struct tcp_conn *tcp_conn_lookup(struct tcp_stack *s, const struct ip_addr *la, uint16_t lp,
				 const struct ip_addr *ra, uint16_t rp, uint32_t scope);
void tcp_conn_hash(struct tcp_conn *c);
void tcp_synq_add(struct tcp_listener *l, struct tcp_conn *c);
uint8_t tcp_wscale_for(uint32_t rcvbuf);
uint16_t tcp_mss_for(const struct tcp_stack *s, const struct tcp_endpoint *dst);
uint32_t tcp_isn_for(struct tcp_stack *s, const struct ip_addr *la, uint16_t lp,
		     const struct ip_addr *ra, uint16_t rp);
uint32_t tcp_cookie_make(struct tcp_stack *s, const struct ip_addr *la, uint16_t lp,
			 const struct ip_addr *ra, uint16_t rp, uint32_t peer_isn,
			 unsigned mss_idx, int ws, bool sack);
int tcp_cookie_check(struct tcp_stack *s, const struct ip_addr *la, uint16_t lp,
		     const struct ip_addr *ra, uint16_t rp, uint32_t peer_isn, uint32_t cookie);
void tcp_done(struct tcp_conn *c, int err);
void tcp_flush_events(struct tcp_conn *c);
struct tcp_conn *tcp_conn_new(struct tcp_stack *s, const struct tcp_endpoint *local,
			      const struct tcp_endpoint *remote, uint32_t scope,
			      const struct tcp_options *opt);
void tcp_conn_set_iss(struct tcp_conn *c, uint32_t iss);
void tcp_conn_syn_options(struct tcp_conn *c, uint16_t peer_mss, int ws, bool sack_ok);
void tcp_conn_established_common(struct tcp_conn *c);

/* tcp_output.c */
struct pbuf *tcp_build_packet(struct tcp_stack *s, const struct ip_addr *src, const struct ip_addr *dst,
			      uint8_t ttl, uint8_t tos, size_t tcp_len, uint8_t **tcp);
void tcp_finish_segment(const struct ip_addr *src, const struct ip_addr *dst, uint8_t *th, size_t len);
void tcp_emit(struct tcp_stack *s, struct pbuf *b, uint32_t scope);
size_t tcp_md5_opt_put(uint8_t *o);
bool tcp_md5_sign(const struct tcp_md5_key *k, const struct ip_addr *src, const struct ip_addr *dst,
		  uint8_t *th, size_t tlen);
void tcp_send_rst_for(struct tcp_stack *s, const struct tcp_seg *seg, uint32_t scope,
		      const struct tcp_md5_key *key);
void tcp_send_segment(struct tcp_conn *c, uint32_t seq, uint32_t len, uint8_t flags);
void tcp_send_ack(struct tcp_conn *c);
void tcp_send_challenge_ack(struct tcp_conn *c);
uint64_t tcp_rto_now(const struct tcp_conn *c);
bool tcp_awaiting_ack(const struct tcp_conn *c);
void tcp_arm_rtx(struct tcp_conn *c);
void tcp_rtt_sample(struct tcp_conn *c, uint64_t r);
void tcp_keepalive_arm(struct tcp_conn *c);
void tcp_enter_time_wait(struct tcp_conn *c);
bool tcp_can_send_data(const struct tcp_conn *c);
uint32_t tcp_hi_sack(const struct tcp_conn *c);
uint32_t tcp_lost_below(const struct tcp_conn *c);
const struct tcp_rx *tcp_rx_find(const struct tcp_conn *c, uint32_t seq);
uint32_t tcp_sack_pipe(const struct tcp_conn *c);
bool tcp_next_lost(const struct tcp_conn *c, uint32_t *seq);
void tcp_rx_update(struct tcp_conn *c);
bool tcp_rx_send(struct tcp_conn *c, uint32_t seq);
uint32_t tcp_retransmit_at(struct tcp_conn *c, uint32_t seq);
void tcp_output(struct tcp_conn *c);

/* tcp_timer.c */
void tcp_rtx_timer_fired(struct timer *t);
void tcp_ack_timer_fired(struct timer *t);
void tcp_misc_timer_fired(struct timer *t);

/* tcp_input.c */
bool tcp_addr_is_multicast(const struct ip_addr *a);

#endif
