/*
 * TCP engine, output: building and signing segments, the receive window and
 * SACK blocks we announce, arming the timers, and tcp_output(), which decides
 * what to send now: new data within the congestion and peer windows (Nagle,
 * Minshall, SWS avoidance, persist), retransmissions in loss recovery
 * (RFC 6675 NextSeg with PRR, or NewReno), and FIN. Retransmissions in flight
 * are tracked (tcp_rx_*) so that a lost retransmission is found from SACKs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack/tcp_int.h"

/* ---- segment output ---- */

struct pbuf *tcp_build_packet(struct tcp_stack *s, const struct ip_addr *src, const struct ip_addr *dst,
			      uint8_t ttl, uint8_t tos, size_t tcp_len, uint8_t **tcp)
{
	bool v4 = src->family == AF_INET;
	size_t iphl = v4 ? 20 : 40;
	if (iphl + tcp_len > PBUF_MTU_MAX)
		return NULL;
	uint8_t *ip;
	struct pbuf *b = pbuf_alloc_put(iphl + tcp_len, &ip);
	if (!b)
		return NULL;
	/* DF on IPv4: we size segments to the path MTU. */
	ip_header_write(ip, src, dst, IPPROTO_TCP, ttl, tos, v4 ? s->ip_id++ : 0, IP_DF, tcp_len);
	*tcp = ip + iphl;
	return b;
}

void tcp_finish_segment(const struct ip_addr *src, const struct ip_addr *dst, uint8_t *th, size_t len)
{
	uint32_t sum = src->family == AF_INET ? csum_pseudo_v4(src->bytes, dst->bytes, IPPROTO_TCP, (uint32_t)len)
					       : csum_pseudo_v6(src->bytes, dst->bytes, IPPROTO_TCP, (uint32_t)len);
	th[16] = th[17] = 0;
	uint16_t ck = csum_fold(csum_partial(th, len, sum));
	memcpy(th + 16, &ck, 2);
}

void tcp_emit(struct tcp_stack *s, struct pbuf *b, uint32_t scope)
{
	s->stats.segments_out++;
	s->ops->output(s->ctx, b, scope);
}

/* Writes the RFC 2385 option placeholder (NOP, NOP, kind 19, length 18, digest) at o. */
size_t tcp_md5_opt_put(uint8_t *o)
{
	o[0] = o[1] = 1;
	o[2] = TCP_MD5_OPT_KIND;
	o[3] = TCP_MD5_OPT_LEN;
	memset(o + 4, 0, 16);
	return TCP_MD5_OPT_SPACE;
}

/*
 * Signs a finished segment whose options start with tcp_md5_opt_put (before
 * tcp_finish_segment: the checksum is not part of the digest). A segment that
 * cannot be signed is not sent: false.
 */
bool tcp_md5_sign(const struct tcp_md5_key *k, const struct ip_addr *src, const struct ip_addr *dst,
		  uint8_t *th, size_t tlen)
{
	return tcp_md5_digest(k, src, dst, th, tlen, th + 24) == 0;
}

/* RST answering seg, for which we have no connection (RFC 9293 3.10.7.1); signed with key if any. */
void tcp_send_rst_for(struct tcp_stack *s, const struct tcp_seg *seg, uint32_t scope,
		      const struct tcp_md5_key *key)
{
	if (seg->flags & TH_RST)
		return;
	uint8_t *th;
	const struct ip_packet *p = seg->pkt;
	size_t tlen = key ? 20 + TCP_MD5_OPT_SPACE : 20;
	struct pbuf *b = tcp_build_packet(s, &p->dst, &p->src, 64, 0, tlen, &th);
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
		tcp_md5_opt_put(th + 20);
		if (!tcp_md5_sign(key, &p->dst, &p->src, th, tlen)) {
			pbuf_free(b);
			return;
		}
	}
	tcp_finish_segment(&p->dst, &p->src, th, tlen);
	s->stats.resets_sent++;
	tcp_emit(s, b, scope);
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
		const struct tcp_range *r = i < 4 ? tcp_rs_find(&c->ooo, c->sack_recent[i]) :
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
void tcp_send_segment(struct tcp_conn *c, uint32_t seq, uint32_t len, uint8_t flags)
{
	struct tcp_stack *s = c->s;
	uint8_t opts[TCP_OPT_MAX];
	size_t olen = 0;
	if (c->md5)
		olen = tcp_md5_opt_put(opts);   /* first, as Linux places it */
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
	struct pbuf *b = tcp_build_packet(s, &c->local.addr, &c->remote.addr, c->opt.ttl, c->opt.tos, tlen, &th);
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
		tcp_ring_read_at(&c->sbuf, seq - c->sbuf_seq, th + 20 + olen, len);
	if (c->md5 && !tcp_md5_sign(c->md5, &c->local.addr, &c->remote.addr, th, tlen)) {
		pbuf_free(b);   /* never unsigned: the retransmission timer tries again */
		return;
	}
	tcp_finish_segment(&c->local.addr, &c->remote.addr, th, tlen);
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
	tcp_emit(s, b, conn_scope_out(c));
}

void tcp_send_ack(struct tcp_conn *c)
{
	tcp_send_segment(c, c->snd_nxt, 0, TH_ACK);
}

/* RFC 5961 section 7: challenge ACKs are rate limited per stack. */
void tcp_send_challenge_ack(struct tcp_conn *c)
{
	struct tcp_stack *s = c->s;
	uint64_t sec = now_ns(s) / NSEC_PER_SEC;
	if (sec != s->chal_sec) {
		s->chal_sec = sec;
		s->chal_count = 0;
	}
	if (s->chal_count++ >= TCP_CHALLENGE_PER_SEC)
		return;
	tcp_send_ack(c);
}

/* ---- timers ---- */

uint64_t tcp_rto_now(const struct tcp_conn *c)
{
	uint64_t rto = c->rto;
	for (unsigned i = 0; i < c->backoff && rto < TCP_RTO_MAX; i++)
		rto *= 2;
	return rto > TCP_RTO_MAX ? TCP_RTO_MAX : rto;
}

/* Something we sent (SYN, data, FIN) waits for its acknowledgment. */
bool tcp_awaiting_ack(const struct tcp_conn *c)
{
	return c->snd_una != c->snd_max || c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED;
}

void tcp_arm_rtx(struct tcp_conn *c)
{
	uint64_t now = now_ns(c->s), at = now + tcp_rto_now(c);
	if (c->opt.user_timeout_ms && c->rtx_stamp && tcp_awaiting_ack(c)) {
		/* the user timeout ends the connection on time, not at the next backoff */
		uint32_t waited = stamp_ms(c->s) - c->rtx_stamp;
		uint64_t left = waited >= c->opt.user_timeout_ms ? 0 : MS(c->opt.user_timeout_ms - waited);
		if (now + left < at)
			at = now + left;
	}
	timer_arm(c->s->loop, &c->t_rtx, at, MS(1));
}

void tcp_rtt_sample(struct tcp_conn *c, uint64_t r)
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

void tcp_keepalive_arm(struct tcp_conn *c)
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

void tcp_enter_time_wait(struct tcp_conn *c)
{
	c->state = TCP_TIME_WAIT;
	timer_cancel(c->s->loop, &c->t_rtx);
	timer_cancel(c->s->loop, &c->t_ack);
	timer_arm(c->s->loop, &c->t_misc, now_ns(c->s) + TCP_TIMEWAIT, SEC(1));
	/* the conversation is over for the application (the TCB stays for late segments) */
	c->err = 0;
	c->ev |= EV_CLOSED;
	tcp_ring_free(&c->sbuf);
}

/* ---- sending data ---- */

bool tcp_can_send_data(const struct tcp_conn *c)
{
	switch (c->state) {
	case TCP_ESTABLISHED: case TCP_CLOSE_WAIT: case TCP_FIN_WAIT_1: case TCP_CLOSING: case TCP_LAST_ACK:
		return true;
	default:
		return false;
	}
}

/* Highest sequence number the peer has SACKed (or snd_una). */
uint32_t tcp_hi_sack(const struct tcp_conn *c)
{
	return c->sacked.n ? seq_max(c->sacked.r[c->sacked.n - 1].end, c->snd_una) : c->snd_una;
}

/*
 * RFC 6675 IsLost, for every unSACKed byte below the sequence number
 * returned: more than (DupThresh - 1) * MSS bytes are SACKed above it. The
 * segment at snd_una also counts as lost once DupThresh duplicate ACKs came
 * (a peer that negotiated SACK but sends no blocks still recovers).
 */
uint32_t tcp_lost_below(const struct tcp_conn *c)
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

const struct tcp_rx *tcp_rx_find(const struct tcp_conn *c, uint32_t seq)
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
uint32_t tcp_sack_pipe(const struct tcp_conn *c)
{
	uint32_t lb = tcp_lost_below(c);
	uint32_t out = (c->snd_max - c->snd_una) - tcp_rs_bytes_in(&c->sacked, c->snd_una, c->snd_max);
	uint32_t lost = (lb - c->snd_una) - tcp_rs_bytes_in(&c->sacked, c->snd_una, lb);
	uint32_t pipe = out - lost;
	for (unsigned i = 0; i < c->nrx; i++)
		pipe += (c->rx[i].end - c->rx[i].start) - tcp_rs_bytes_in(&c->sacked, c->rx[i].start, c->rx[i].end);
	return pipe;
}

/* RFC 6675 NextSeg (1): the first lost byte neither SACKed nor being retransmitted. */
bool tcp_next_lost(const struct tcp_conn *c, uint32_t *seq)
{
	uint32_t lb = tcp_lost_below(c), h = c->snd_una;
	while (seq_lt(h, lb)) {
		const struct tcp_range *r = tcp_rs_find(&c->sacked, h);
		const struct tcp_rx *x = r ? NULL : tcp_rx_find(c, h);
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
void tcp_rx_update(struct tcp_conn *c)
{
	for (unsigned i = 0; i < c->nrx;) {
		const struct tcp_rx *x = &c->rx[i];
		if (seq_le(x->end, c->snd_una) ||
		    tcp_rs_bytes_in(&c->sacked, x->start, x->end) == x->end - x->start) {
			if ((int32_t)(x->id - c->rx_done_id) > 0)
				c->rx_done_id = x->id;
			rx_remove(c, i);
			continue;
		}
		i++;
	}
	for (unsigned i = 0; i < c->nrx;) {
		const struct tcp_rx *x = &c->rx[i];
		if (tcp_rs_bytes_in(&c->sacked, x->hi, c->snd_max) > (TCP_DUPTHRESH - 1) * (uint32_t)c->mss ||
		    (int32_t)(c->rx_done_id - x->id) >= TCP_DUPTHRESH) {
			rx_remove(c, i);
			continue;
		}
		i++;
	}
}

/* Retransmits the lost bytes at seq during SACK recovery; false when nothing could go. */
bool tcp_rx_send(struct tcp_conn *c, uint32_t seq)
{
	if (c->nrx == TCP_MAX_RX)
		return false;
	if (!c->rx && !(c->rx = malloc(TCP_MAX_RX * sizeof(*c->rx))))
		return false;   /* out of memory: the RTO recovers */
	uint32_t n = tcp_retransmit_at(c, seq);
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
uint32_t tcp_retransmit_at(struct tcp_conn *c, uint32_t seq)
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
	tcp_send_segment(c, seq, len, flags);
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
	tcp_arm_rtx(c);
}

void tcp_output(struct tcp_conn *c)
{
	if (!tcp_can_send_data(c))
		return;
	struct tcp_stack *s = c->s;
	for (int guard = 0; guard < 4096; guard++) {
		/* SACK recovery: first the lost holes (RFC 6675 NextSeg rule 1) */
		uint32_t h;
		if (c->in_recovery && c->sack_ok && tcp_next_lost(c, &h) && tcp_sack_pipe(c) + c->mss <= c->cwnd) {
			if (!tcp_rx_send(c, h))
				break;
			continue;
		}
		/* then new data (or a go-back-N resend after a timeout) at snd_nxt */
		if (seq_lt(c->snd_nxt, c->snd_max)) {
			const struct tcp_range *r = tcp_rs_find(&c->sacked, c->snd_nxt);
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
			flight = tcp_sack_pipe(c);
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
		tcp_send_segment(c, c->snd_nxt, len, flags);
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
			tcp_arm_rtx(c);
		if (fin)
			break;
	}
}
