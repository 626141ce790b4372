/*
 * TCP engine, timers: the retransmission timer (RTO with backoff, SYN and
 * SYN-ACK retries, zero-window probes, TCP_USER_TIMEOUT), the delayed ACK,
 * and the "misc" timer (keepalive, FIN-WAIT-2 orphan timeout, TIME-WAIT).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack/tcp_int.h"

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
	if (user_timeout_expired(c) && tcp_awaiting_ack(c)) {
		s->stats.timeouts++;
		if (c->state != TCP_SYN_SENT)
			tcp_send_segment(c, c->snd_nxt, 0, TH_RST | TH_ACK);
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
		tcp_send_segment(c, c->iss, 0, c->state == TCP_SYN_SENT ? TH_SYN : TH_SYN | TH_ACK);
		tcp_arm_rtx(c);
		return;
	}
	if (!tcp_can_send_data(c))
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
				tcp_arm_rtx(c);
			return;
		}
		if (c->probes >= TCP_MAX_RETRIES) {
			s->stats.timeouts++;
			tcp_send_segment(c, c->snd_nxt, 0, TH_RST | TH_ACK);
			tcp_done(c, ETIMEDOUT);
			return;
		}
		c->probes++;
		tcp_send_segment(c, c->snd_una - 1, 0, TH_ACK);
		if (c->backoff < 16)
			c->backoff++;
		tcp_arm_rtx(c);
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
		tcp_arm_rtx(c);
}

void tcp_rtx_timer_fired(struct timer *t)
{
	struct tcp_conn *c = container_of(t, struct tcp_conn, t_rtx);
	rto_fired(c);
	tcp_flush_events(c);
}

void tcp_ack_timer_fired(struct timer *t)
{
	struct tcp_conn *c = container_of(t, struct tcp_conn, t_ack);
	if (c->state != TCP_CLOSED && c->ack_pending)
		tcp_send_ack(c);
}

void tcp_misc_timer_fired(struct timer *t)
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
			tcp_keepalive_arm(c);
			break;
		}
		if (c->probes >= c->opt.keepcnt) {
			s->stats.timeouts++;
			tcp_send_segment(c, c->snd_nxt, 0, TH_RST | TH_ACK);
			tcp_done(c, ETIMEDOUT);
			break;
		}
		c->probes++;
		tcp_send_segment(c, c->snd_una - 1, 0, TH_ACK);
		tcp_keepalive_arm(c);
		break;
	default:
		break;
	}
	tcp_flush_events(c);
}

/* Gives c its own copy of key (NULL: unsigned from now on). 0 or -ENOMEM (c unchanged). */
