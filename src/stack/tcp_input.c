/*
 * TCP engine, input (RFC 9293 section 3.10.7): a segment is parsed and
 * checked (checksum, options, RFC 2385 signature), then goes to its
 * connection (tcp_segment_to_conn: the state machine, ACK processing with
 * SACK and loss recovery, data and FIN) or to a listener (SYN queue, SYN
 * cookies when it is full) or is answered with a RST.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack/tcp_int.h"

static void segment_to_conn(struct tcp_conn *c, const struct tcp_seg *seg);

/* ---- input ---- */

/* The MSS values a SYN cookie can encode (2 bits). */
static const uint16_t cookie_mss[4] = { 536, 1220, 1400, 1460 };

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

bool tcp_addr_is_multicast(const struct ip_addr *a)
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
	if (tcp_ring_reserve(&c->rbuf, c->rbuf.len + off + len, c->rcvbuf) < 0)
		return true;   /* out of memory: drop, the peer retransmits */
	if (seq != c->rcv_nxt) {
		if (!tcp_rs_add(&c->ooo, seq, seq + len))
			return true;
		tcp_ring_write_at(&c->rbuf, c->rbuf.len + off, data, len);
		if (!tcp_rs_find(&c->ooo, c->sack_recent[0]) || tcp_rs_find(&c->ooo, c->sack_recent[0]) != tcp_rs_find(&c->ooo, seq)) {
			memmove(&c->sack_recent[1], &c->sack_recent[0], 3 * sizeof(c->sack_recent[0]));
		}
		c->sack_recent[0] = seq;
		return true;
	}
	tcp_ring_write_at(&c->rbuf, c->rbuf.len, data, len);
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
		tcp_rs_trim_below(&c->ooo, c->rcv_nxt);
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
			tcp_enter_time_wait(c);
		else
			c->state = TCP_CLOSING;
		break;
	case TCP_FIN_WAIT_2:
		tcp_enter_time_wait(c);
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
		tcp_rs_add(&c->sacked, a, e);
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
		if (tcp_next_lost(c, &h))
			tcp_rx_send(c, h);
		else if (!tcp_rx_find(c, c->snd_una) && !tcp_rs_find(&c->sacked, c->snd_una))
			tcp_rx_send(c, c->snd_una);
	} else {
		c->cwnd = c->ssthresh + 3u * c->mss;
		uint32_t n = tcp_retransmit_at(c, c->snd_una);
		c->rexmit_nxt = c->snd_una + n;
	}
	tcp_arm_rtx(c);
}

/* RFC 6937 PRR: the window during SACK recovery, after each ACK (delivered: its new bytes). */
static void prr_update(struct tcp_conn *c, uint32_t delivered)
{
	c->prr_delivered += delivered;
	uint32_t pipe = tcp_sack_pipe(c);
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
/* Sent bytes up to ack are acknowledged: free them; our FIN too, perhaps. */
static void release_acked_data(struct tcp_conn *c, uint32_t ack)
{
	if (!seq_gt(ack, c->sbuf_seq))
		return;
	uint32_t n = min_u32(ack - c->sbuf_seq, c->sbuf.len);
	tcp_ring_consume(&c->sbuf, n);
	c->sbuf_seq += n;
	if (c->fin_sent && ack == snd_end(c) + 1)
		c->fin_acked = true;
	if (c->snd_full_hint && (c->sndbuf - c->sbuf.len >= c->sndbuf / 4 || !c->sbuf.len)) {
		c->snd_full_hint = false;
		c->ev |= EV_WRITABLE;
	}
	if (!c->sbuf.len)
		tcp_ring_free(&c->sbuf);
}

/* The congestion window after acked new bytes: recovery's end or partial ACK, else growth. */
static void window_after_ack(struct tcp_conn *c, uint32_t ack, uint32_t acked)
{
	if (c->in_recovery) {
		if (seq_ge(ack, c->recover)) {
			c->in_recovery = false;
			c->cwnd = c->sack_ok ? c->ssthresh :
				min_u32(c->ssthresh, max_u32(c->snd_max - c->snd_una, c->mss) + c->mss);
			c->dupacks = 0;
		} else if (!c->sack_ok) {
			/* RFC 6582 partial ACK: the segment at snd_una is lost too */
			if (seq_ge(c->snd_una, c->rexmit_nxt)) {
				uint32_t n = tcp_retransmit_at(c, c->snd_una);
				c->rexmit_nxt = c->snd_una + n;
			}
			c->cwnd = c->cwnd > acked ? c->cwnd - acked : 0;
			if (acked >= c->mss)
				c->cwnd += c->mss;
			c->cwnd = max_u32(c->cwnd, c->mss);
			tcp_arm_rtx(c);
		}
		return;
	}
	c->dupacks = 0;
	if (!c->cwnd_limited) {
		/* RFC 7661: an application- or buffer-limited window earns no growth */
	} else if (c->cwnd < c->ssthresh) {
		c->cwnd += min_u32(acked, 2u * c->mss);   /* RFC 3465, L = 2 */
	} else {
		c->cwnd = tcp_cc_avoid(&c->cc, c->cwnd, acked, now_ns(c->s),
				       c->srtt ? c->srtt : c->rto);
	}
	c->cwnd = min_u32(c->cwnd, 2 * max_u32(c->sndbuf, c->max_sndwnd) + 4u * c->mss);
	sndbuf_tune(c);
}

/* An ACK that acknowledges new data (acked bytes, up to ack). */
static void ack_advances(struct tcp_conn *c, uint32_t ack, uint32_t acked)
{
	struct tcp_stack *s = c->s;
	if (c->rtt_timing && seq_gt(ack, c->rtt_seq)) {
		c->rtt_timing = false;
		tcp_rtt_sample(c, now_ns(s) - c->rtt_start);
	}
	release_acked_data(c, ack);
	if (ack - c->iss < c->snd_una - c->iss)
		c->acked_wraps++;
	c->snd_una = ack;
	c->rtx_stamp = ack == c->snd_max ? 0 : stamp_ms(s);   /* progress: TCP_USER_TIMEOUT anew */
	if (seq_lt(c->snd_nxt, c->snd_una))
		c->snd_nxt = c->snd_una;
	tcp_rs_trim_below(&c->sacked, c->snd_una);
	c->backoff = 0;
	c->retries = 0;
	c->probes = 0;
	window_after_ack(c, ack, acked);
	if (c->snd_una == c->snd_max) {
		timer_cancel(s->loop, &c->t_rtx);
	} else if (!c->in_recovery || c->sack_ok) {
		tcp_arm_rtx(c);
	}
}

static bool process_ack(struct tcp_conn *c, const struct tcp_seg *seg)
{
	struct tcp_stack *s = c->s;
	uint32_t ack = seg->ack;
	if (seq_gt(ack, c->snd_max)) {
		tcp_send_ack(c);
		return false;
	}
	/* RFC 5961 5.2: an ACK far below what was acknowledged is blind injection */
	if (seq_lt(ack, c->snd_una - max_u32(c->max_sndwnd, c->mss))) {
		tcp_send_challenge_ack(c);
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
	uint32_t sacked_before = tcp_rs_bytes(&c->sacked);
	uint32_t acked = seq_gt(ack, c->snd_una) ? ack - c->snd_una : 0;
	take_sack(c, seg);
	if (seq_gt(ack, c->snd_una)) {
		ack_advances(c, ack, acked);
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
	    seq_gt(tcp_lost_below(c), c->snd_una))
		enter_recovery(c);
	/* what this ACK delivered (newly ACKed bytes not SACKed before, newly SACKed ones) */
	int64_t dd = (int64_t)acked + (int64_t)tcp_rs_bytes(&c->sacked) - (int64_t)sacked_before;
	uint32_t delivered = dd > 0 ? (uint32_t)dd : 0;
	c->delivered += delivered;
	tcp_cc_delivered(&c->cc, now_ns(s), c->delivered, tcp_hi_sack(c), c->snd_max);
	if (c->nrx)
		tcp_rx_update(c);
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
			tcp_enter_time_wait(c);
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


static void process_syn_sent(struct tcp_conn *c, const struct tcp_seg *seg)
{
	struct tcp_stack *s = c->s;
	if (seg->flags & TH_ACK) {
		if (seq_le(seg->ack, c->iss) || seq_gt(seg->ack, c->snd_max)) {
			if (!(seg->flags & TH_RST))
				tcp_send_rst_for(s, seg, c->scope, c->md5);
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
	tcp_conn_syn_options(c, seg->mss, seg->ws, seg->sack_ok);
	c->snd_wl1 = seg->seq;
	if (seg->flags & TH_ACK) {
		c->snd_una = seg->ack;
		c->rtx_stamp = 0;
		c->snd_wnd = (uint32_t)seg->wnd << (c->ws_ok ? c->snd_wscale : 0);
		c->max_sndwnd = c->snd_wnd;
		c->snd_wl2 = seg->ack;
		c->rcv_adv = c->rcv_nxt;
		if (c->retries == 0 && c->rtt_timing)
			tcp_rtt_sample(c, now_ns(s) - c->rtt_start);
		c->rtt_timing = false;
		tcp_conn_established_common(c);
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
		tcp_send_ack(c);
		tcp_output(c);
		return;
	}
	/* simultaneous open (RFC 9293 3.5, figure 8) */
	c->state = TCP_SYN_RECEIVED;
	c->snd_wnd = (uint32_t)seg->wnd;
	c->rcv_adv = c->rcv_nxt;
	tcp_send_segment(c, c->iss, 0, TH_SYN | TH_ACK);
	tcp_arm_rtx(c);
}

/* Segment processing for every state from SYN-RECEIVED on (RFC 9293 3.10.7.4). */
/* What is left of a segment once it is trimmed to the receive window. */
struct seg_view {
	uint32_t seq, slen, dlen;
	const uint8_t *data;
	uint8_t flags;
	bool ack_now;
};

/*
 * RFC 9293 3.10.7.4, first: is the segment acceptable? If so, trims it to the
 * window (v); if not, answers it as the RFC says and returns false.
 */
static bool accept_into_window(struct tcp_conn *c, const struct tcp_seg *seg, struct seg_view *v)
{
	struct tcp_stack *s = c->s;
	uint32_t wnd = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	*v = (struct seg_view){ .seq = seg->seq, .slen = seg->len, .dlen = seg->dlen,
				.data = seg->data, .flags = seg->flags };

	if (c->state == TCP_SYN_RECEIVED && (v->flags & TH_SYN) && v->seq == c->irs) {
		if (!(v->flags & TH_ACK)) {
			/* a retransmitted SYN: repeat the SYN-ACK */
			tcp_send_segment(c, c->iss, 0, TH_SYN | TH_ACK);
			return false;
		}
		/* simultaneous open (RFC 9293 figure 8): the peer's SYN-ACK; its SYN is old news */
		v->flags &= (uint8_t)~TH_SYN;
		v->seq++;
		v->slen--;
	}

	uint32_t seq = v->seq, slen = v->slen;
	bool ok;
	if (slen == 0)
		ok = wnd == 0 ? seq == c->rcv_nxt : seq_ge(seq, c->rcv_nxt) && seq_lt(seq, c->rcv_nxt + wnd);
	else
		ok = wnd != 0 && ((seq_ge(seq, c->rcv_nxt) && seq_lt(seq, c->rcv_nxt + wnd)) ||
				  (seq_ge(seq + slen - 1, c->rcv_nxt) && seq_lt(seq + slen - 1, c->rcv_nxt + wnd)));
	if (!ok && wnd == 0 && seq == c->rcv_nxt && !(v->flags & TH_SYN)) {
		/* zero window: still take the ACK (and RST) of a segment at rcv_nxt */
		ok = true;
		v->ack_now = v->dlen != 0;
		v->dlen = 0;
		v->flags &= (uint8_t)~TH_FIN;
		v->slen = 0;
	}
	if (!ok) {
		if (!(v->flags & TH_RST))
			tcp_send_ack(c);
		if (c->state == TCP_TIME_WAIT && (v->flags & TH_FIN))
			timer_arm(s->loop, &c->t_misc, now_ns(s) + TCP_TIMEWAIT, SEC(1));
		return false;
	}
	if ((v->flags & TH_SYN) && seq_lt(v->seq, c->rcv_nxt)) {
		v->flags &= (uint8_t)~TH_SYN;
		v->seq++;
	}
	if (seq_lt(v->seq, c->rcv_nxt)) {
		uint32_t cut = c->rcv_nxt - v->seq;
		if (cut > v->dlen) {
			cut = v->dlen;
			v->flags &= (uint8_t)~TH_FIN;   /* an old FIN */
		}
		v->data += cut;
		v->dlen -= cut;
		v->seq += cut;
	}
	if (v->dlen && seq_gt(v->seq + v->dlen, c->rcv_nxt + wnd)) {
		uint32_t keep = (c->rcv_nxt + wnd) - v->seq;
		if (seq_ge(v->seq, c->rcv_nxt + wnd))
			keep = 0;
		v->dlen = keep;
		v->flags &= (uint8_t)~TH_FIN;
	}
	return true;
}

/* The ACK that completes a handshake in SYN-RECEIVED; false: the segment goes no further. */
static bool establish_on_ack(struct tcp_conn *c, const struct tcp_seg *seg)
{
	struct tcp_stack *s = c->s;
	if (!seq_gt(seg->ack, c->snd_una) || seq_gt(seg->ack, c->snd_max)) {
		tcp_send_rst_for(s, seg, c->scope, c->md5);
		return false;
	}
	struct tcp_listener *l = c->lis;
	if (l && !c->active && l->acc_count >= l->backlog) {
		s->stats.syn_backlog_drops++;
		return false;   /* accept queue full: the SYN-ACK will be repeated */
	}
	if (c->retries == 0)
		tcp_rtt_sample(c, now_ns(s) - c->rtt_start);
	c->snd_una = seg->ack;
	c->rtx_stamp = 0;
	c->snd_wnd = (uint32_t)seg->wnd << (c->ws_ok ? c->snd_wscale : 0);
	c->max_sndwnd = c->snd_wnd;
	c->snd_wl1 = seg->seq;
	c->snd_wl2 = seg->ack;
	tcp_conn_established_common(c);
	if (c->active)
		c->ev |= EV_CONNECTED;
	else
		c->ev |= EV_ACCEPT;
	if (c->fin_queued)
		c->state = TCP_FIN_WAIT_1;
	return true;
}

/* RFC 9293 3.10.7.4, seventh: the segment text. False: the connection was reset. */
static bool take_segment_text(struct tcp_conn *c, struct seg_view *v)
{
	switch (c->state) {
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT_1:
	case TCP_FIN_WAIT_2:
		if (!c->owned && !c->lis) {
			/* the application closed: nobody will read this (RFC 9293 3.10.4) */
			tcp_send_segment(c, c->snd_nxt, 0, TH_RST | TH_ACK);
			tcp_done(c, ECONNRESET);
			return false;
		}
		if (v->dlen > c->rcv_seg)
			c->rcv_seg = min_u32(v->dlen, c->rcv_mss);
		if (receive_data(c, v->seq, v->data, v->dlen)) {
			v->ack_now = true;
		} else {
			/* delayed ACK: every second full-sized segment, else within 40 ms */
			c->ack_pending += v->dlen;
			if (c->quickacks) {
				c->quickacks--;
				v->ack_now = true;
			} else if (c->ack_pending >= 2u * min_u32(max_u32(c->rcv_seg, 536), c->rcv_mss)) {
				v->ack_now = true;
			}
		}
		break;
	default:
		v->ack_now = true;   /* after the peer's FIN: just acknowledge */
		break;
	}
	return true;
}

static void segment_to_conn(struct tcp_conn *c, const struct tcp_seg *seg)
{
	struct tcp_stack *s = c->s;
	struct seg_view v;
	if (!accept_into_window(c, seg, &v))
		return;

	/* second: RST (RFC 5961 section 3) */
	if (v.flags & TH_RST) {
		if (v.seq != c->rcv_nxt) {
			tcp_send_challenge_ack(c);
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
	if (v.flags & TH_SYN) {
		tcp_send_challenge_ack(c);
		return;
	}
	/* fifth: ACK */
	if (!(v.flags & TH_ACK))
		return;
	c->last_rcv = now_ns(s);
	if (c->opt.keepalive && c->probes && c->state >= TCP_ESTABLISHED) {
		c->probes = 0;
		tcp_keepalive_arm(c);
	}
	if (c->state == TCP_SYN_RECEIVED && !establish_on_ack(c, seg))
		return;
	if (!process_ack(c, seg))
		return;
	if (c->state == TCP_CLOSED)
		return;

	/* seventh: segment text */
	if (v.dlen && !take_segment_text(c, &v))
		return;
	/* eighth: FIN */
	if (v.flags & TH_FIN) {
		uint32_t fseq = v.seq + v.dlen;
		if (fseq == c->rcv_nxt && !c->fin_rcvd) {
			process_fin(c);
		} else if (!c->fin_rcvd && seq_gt(fseq, c->rcv_nxt)) {
			c->ooo_fin = true;
			c->fin_seq = fseq;
		} else if (c->state == TCP_TIME_WAIT) {
			timer_arm(s->loop, &c->t_misc, now_ns(s) + TCP_TIMEWAIT, SEC(1));
		}
		v.ack_now = true;
	}
	if (c->ooo_fin && c->fin_seq == c->rcv_nxt && !c->fin_rcvd) {
		process_fin(c);
		v.ack_now = true;
	}
	if (c->state == TCP_CLOSED)
		return;
	tcp_output(c);
	if (v.ack_now)
		tcp_send_ack(c);
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
	uint8_t ws = tcp_wscale_for(rcvbuf);
	uint32_t cookie = tcp_cookie_make(s, &p->dst, seg->dport, &p->src, seg->sport, seg->seq, mi,
				      seg->ws, seg->sack_ok);
	const struct tcp_md5_key *key = tcp_md5_keyset_lookup(&l->md5, &p->src, seg->ifindex);
	uint8_t opts[12 + TCP_MD5_OPT_SPACE];
	size_t olen = 0;
	if (key)
		olen = tcp_md5_opt_put(opts);
	opts[olen++] = 2;
	opts[olen++] = 4;
	uint16_t our_mss = tcp_mss_for(s, &remote);
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
	struct pbuf *b = tcp_build_packet(s, &p->dst, &p->src, l->opt.ttl, l->opt.tos, 20 + olen, &th);
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
	if (key && !tcp_md5_sign(key, &p->dst, &p->src, th, 20 + olen)) {
		pbuf_free(b);
		return;
	}
	tcp_finish_segment(&p->dst, &p->src, th, 20 + olen);
	l->cookie_sent_at = now_ns(s) ? now_ns(s) : 1;
	s->stats.syncookies_sent++;
	tcp_emit(s, b, scope);
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
			int info = tcp_cookie_check(s, &p->dst, seg->dport, &p->src, seg->sport, seg->seq - 1,
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
				struct tcp_conn *c = tcp_conn_new(s, &local, &remote, scope, listener_opts(l, &lo));
				if (!c)
					return;
				int ws = (info >> 2) & 15;
				tcp_conn_set_iss(c, seg->ack - 1);
				c->snd_nxt = c->snd_max = c->iss + 1;
				c->cookie = true;
				c->irs = seg->seq - 1;
				c->rcv_nxt = seg->seq;
				tcp_conn_syn_options(c, cookie_mss[info & 3], ws == 15 ? -1 : ws, (info & 64) != 0);
				if (!c->ws_ok)
					c->rcv_wscale = 0;
				c->rcv_adv = c->rcv_nxt + min_u32(c->rcvbuf, 65535);
				c->state = TCP_SYN_RECEIVED;
				c->lis = l;
				c->in_acceptq = false;
				/* a temporary SYN-queue membership so the accept path is the usual one */
				tcp_synq_add(l, c);
				tcp_conn_hash(c);
				c->rtt_start = now_ns(s);
				c->retries = 1;   /* no RTT sample: we do not know when the SYN-ACK left */
				s->stats.passive_opens++;
				s->stats.syncookies_ok++;
				segment_to_conn(c, seg);
				if (c->state == TCP_SYN_RECEIVED)
					tcp_done(c, 0);   /* not acceptable after all: forget it */
				tcp_flush_events(c);
				return;
			}
		}
		tcp_send_rst_for(s, seg, scope, key);
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
	struct tcp_conn *c = tcp_conn_new(s, &local, &remote, scope, listener_opts(l, &lo));
	if (!c) {
		s->stats.syn_backlog_drops++;
		return;
	}
	tcp_conn_set_iss(c, tcp_isn_for(s, &p->dst, seg->dport, &p->src, seg->sport));
	c->irs = seg->seq;
	c->rcv_nxt = seg->seq + 1;
	tcp_conn_syn_options(c, seg->mss, seg->ws, seg->sack_ok);
	c->rcv_adv = c->rcv_nxt;
	c->state = TCP_SYN_RECEIVED;
	c->snd_wnd = seg->wnd;
	tcp_synq_add(l, c);
	tcp_conn_hash(c);
	s->stats.passive_opens++;
	c->snd_nxt = c->snd_max = c->iss + 1;
	c->rtt_start = now_ns(s);
	tcp_send_segment(c, c->iss, 0, TH_SYN | TH_ACK);
	tcp_arm_rtx(c);
}

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
	if (!parse_segment(s, b, pkt, &seg) || tcp_addr_is_multicast(&pkt->dst) || tcp_addr_is_multicast(&pkt->src)) {
		s->stats.bad_segments++;
		pbuf_free(b);
		return;
	}
	seg.ifindex = ingress_ifindex;
	uint32_t scope = (ip_addr_is_link_local(&pkt->src) || ip_addr_is_link_local(&pkt->dst))
			 ? ingress_ifindex : 0;
	struct tcp_conn *c = tcp_conn_lookup(s, &pkt->dst, seg.dport, &pkt->src, seg.sport, scope);
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
			tcp_flush_events(c);
			c = NULL;
		}
	}
	if (c) {
		if (c->opt.min_ttl && seg.ttl < c->opt.min_ttl) {
			s->stats.bad_segments++;   /* GTSM (RFC 5082): silently */
		} else if (c->state == TCP_SYN_SENT) {
			process_syn_sent(c, &seg);
			tcp_flush_events(c);
		} else {
			segment_to_conn(c, &seg);
			tcp_flush_events(c);
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
		tcp_send_rst_for(s, &seg, scope, NULL);
	}
	pbuf_free(b);
}
