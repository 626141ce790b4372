/*
 * CUBIC (RFC 9438) with a delivery-rate floor on the loss response; see
 * tcp_cc.h for why. Window arithmetic is done in doubles (bytes), which
 * keeps the sub-byte per-ACK increments of large windows.
 */
#include <string.h>

#include "core/loop.h"
#include "stack/tcp_cc.h"

#define CUBIC_BETA 0.7
#define CUBIC_C    0.4                    /* segments / s^3 */
#define CUBIC_ALPHA (3.0 * (1.0 - CUBIC_BETA) / (1.0 + CUBIC_BETA))
/* A loss with less than this much of the window queued (bytes in flight
 * over rate * min RTT) is taken as random, not congestion. */
#define RANDOM_LOSS_QUEUE 0.1

void tcp_cc_init(struct tcp_cc *cc, uint32_t mss)
{
	memset(cc, 0, sizeof(*cc));
	cc->mss = mss ? mss : 536;
}

double tcp_cc_cbrt(double x)
{
	if (x == 0.0)
		return 0.0;
	bool neg = x < 0;
	if (neg)
		x = -x;
	/* a start within a factor of two, then Newton: converges in a few steps */
	double r = 1.0;
	while (r * r * r < x)
		r *= 2.0;
	while (r * r * r > 8.0 * x)
		r /= 2.0;
	for (int i = 0; i < 60; i++) {
		double n = (2.0 * r + x / (r * r)) / 3.0;
		if (n == r)
			break;
		r = n;
	}
	return neg ? -r : r;
}

void tcp_cc_rtt(struct tcp_cc *cc, uint64_t rtt, uint64_t now)
{
	if (!rtt)
		rtt = 1;
	/* the connection's minimum: a longer path only makes the floor more cautious */
	if (!cc->min_rtt || rtt <= cc->min_rtt) {
		cc->min_rtt = rtt;
		cc->min_rtt_at = now;
	}
}

void tcp_cc_delivered(struct tcp_cc *cc, uint64_t now, uint64_t delivered, uint32_t reached,
		      uint32_t snd_max)
{
	if (!cc->rnd_open) {
		cc->rnd_open = true;
		cc->rnd_start = now;
		cc->rnd_delivered = delivered;
		cc->rnd_end = snd_max;
		return;
	}
	if ((int32_t)(reached - cc->rnd_end) < 0 || now <= cc->rnd_start)
		return;
	/* one round trip is over: what was delivered in it, per second */
	uint64_t bytes = delivered - cc->rnd_delivered;
	uint64_t dt = now - cc->rnd_start;
	cc->bw[cc->bw_next] = (uint64_t)((double)bytes * 1e9 / (double)dt);
	cc->bw_next = (cc->bw_next + 1) % TCP_CC_BW_ROUNDS;
	cc->rnd_start = now;
	cc->rnd_delivered = delivered;
	cc->rnd_end = snd_max;
}

uint64_t tcp_cc_bw(const struct tcp_cc *cc)
{
	uint64_t m = 0;
	for (unsigned i = 0; i < TCP_CC_BW_ROUNDS; i++)
		if (cc->bw[i] > m)
			m = cc->bw[i];
	return m;
}

uint32_t tcp_cc_bdp(const struct tcp_cc *cc)
{
	double b = (double)tcp_cc_bw(cc) * (double)cc->min_rtt / 1e9;
	return b > (double)UINT32_MAX ? UINT32_MAX : (uint32_t)b;
}

uint32_t tcp_cc_loss(struct tcp_cc *cc, uint32_t cwnd, uint32_t flight)
{
	double w = cwnd;
	double bdp = tcp_cc_bdp(cc);
	double in_flight = flight < cwnd ? flight : cwnd;
	/* the path delivered all in flight at the minimum RTT: no queue of ours overflowed */
	cc->random_loss = bdp > 0 && in_flight <= bdp * (1.0 + RANDOM_LOSS_QUEUE) + 2.0 * cc->mss;
	if (cc->random_loss)
		return cwnd > 2 * cc->mss ? cwnd : 2 * cc->mss;
	/* fast convergence (RFC 9438 4.7): a flow losing ground releases more */
	if (w < cc->w_max)
		cc->w_max = w * (1.0 + CUBIC_BETA) / 2.0;
	else
		cc->w_max = w;
	double ss = w * CUBIC_BETA;
	/* the floor: what the path carried without a queue, never above cwnd */
	if (bdp > ss)
		ss = bdp < w ? bdp : w;
	if (ss < 2.0 * cc->mss)
		ss = 2.0 * cc->mss;
	cc->epoch_start = 0;
	return (uint32_t)ss;
}

uint32_t tcp_cc_avoid(struct tcp_cc *cc, uint32_t cwnd, uint32_t acked, uint64_t now, uint64_t srtt)
{
	double w = cwnd, seg = cc->mss;
	if (!cc->epoch_start) {
		cc->epoch_start = now;
		cc->cwnd_epoch = w;
		cc->w_est = w;
		if (cc->w_max > w) {
			cc->k_s = tcp_cc_cbrt((cc->w_max - w) / seg / CUBIC_C);
		} else {
			cc->k_s = 0;
			cc->w_max = w;
		}
	}
	double t = (double)(now - cc->epoch_start) / 1e9;
	double rtt = (double)srtt / 1e9;
	double d = t - cc->k_s, dn = t + rtt - cc->k_s;
	double w_cubic = CUBIC_C * d * d * d * seg + cc->w_max;
	double target = CUBIC_C * dn * dn * dn * seg + cc->w_max;
	/* RFC 9438 4.3: Reno's rate until W_est passes the old maximum, then 1 segment per RTT */
	double alpha = cc->w_est < cc->w_max ? CUBIC_ALPHA : 1.0;
	cc->w_est += alpha * seg * (double)acked / w;
	double nw;
	if (w_cubic < cc->w_est) {
		nw = cc->w_est > w ? cc->w_est : w;   /* the Reno-friendly region */
	} else {
		if (target < w)
			target = w;
		if (target > 1.5 * w)
			target = 1.5 * w;
		nw = w + (target - w) * (double)acked / w;
	}
	if (nw > (double)(UINT32_MAX / 2))
		nw = (double)(UINT32_MAX / 2);
	return (uint32_t)nw;
}
