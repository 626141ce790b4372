/*
 * TCP congestion control for the engine in stack/tcp.c (internal to the
 * stack): CUBIC (RFC 9438, beta 0.7, C 0.4, fast convergence, the
 * Reno-friendly region) with a Westwood+-style floor on the loss response.
 *
 * Why the floor: on a path with random (non-congestive) loss, any pure
 * loss-based controller is held near the Mathis bound, MSS/RTT *
 * 1.22/sqrt(p), whatever its growth function (2.4 Mbit/s at 2% loss and
 * 40 ms). The controller therefore measures the delivery rate per round
 * trip (max over the last few rounds) and the minimum RTT, and on a loss
 * event never drops ssthresh below rate * min_rtt: the data the path was
 * really carrying without a standing queue. When the loss comes from a full
 * queue, cwnd exceeds that product by the queue, and the reduction drains
 * it; when the loss is random, the window is kept.
 *
 * Units: bytes and nanoseconds. No timers, no I/O: the engine feeds it.
 */
#ifndef RR_STACK_TCP_CC_H
#define RR_STACK_TCP_CC_H

#include <stdbool.h>
#include <stdint.h>

#define TCP_CC_BW_ROUNDS 4

struct tcp_cc {
	uint32_t mss;
	/* CUBIC, in bytes */
	double w_max, w_est, cwnd_epoch, k_s;
	uint64_t epoch_start;      /* 0: no epoch (next ACK in congestion avoidance starts one) */
	/* delivery rate per round trip */
	bool rnd_open;
	uint32_t rnd_end;          /* the round ends when this sequence number is delivered */
	uint64_t rnd_start, rnd_delivered;
	uint64_t bw[TCP_CC_BW_ROUNDS];   /* bytes per second, one per recent round */
	unsigned bw_next;
	/* the connection's minimum RTT */
	uint64_t min_rtt, min_rtt_at;
	bool random_loss;          /* the last loss event was judged random: window kept */
};

void tcp_cc_init(struct tcp_cc *cc, uint32_t mss);
/* A valid RTT sample (Karn) taken at now. */
void tcp_cc_rtt(struct tcp_cc *cc, uint64_t rtt, uint64_t now);
/*
 * After each ACK: delivered is the running count of bytes the peer has
 * (cumulatively acknowledged + SACKed), reached the highest sequence number
 * known delivered, snd_max the highest sent.
 */
void tcp_cc_delivered(struct tcp_cc *cc, uint64_t now, uint64_t delivered, uint32_t reached,
		      uint32_t snd_max);
/* Estimated bytes per second (0: not known yet). */
uint64_t tcp_cc_bw(const struct tcp_cc *cc);
/* rate * min RTT in bytes (0: not known yet). */
uint32_t tcp_cc_bdp(const struct tcp_cc *cc);
/*
 * A loss event (fast retransmit or timeout) with window cwnd and flight
 * bytes outstanding: returns the new ssthresh (>= 2 MSS). When what was in
 * flight did not exceed rate * min RTT by more than a tenth, the loss is
 * judged random (random_loss set): ssthresh stays at cwnd and the CUBIC
 * epoch goes on. Otherwise it is congestion: CUBIC's reduction, floored at
 * rate * min RTT, and a new epoch.
 */
uint32_t tcp_cc_loss(struct tcp_cc *cc, uint32_t cwnd, uint32_t flight);
/*
 * Congestion avoidance (cwnd >= ssthresh, not in recovery): acked new bytes
 * at now with smoothed RTT srtt; returns the new cwnd.
 */
uint32_t tcp_cc_avoid(struct tcp_cc *cc, uint32_t cwnd, uint32_t acked, uint64_t now, uint64_t srtt);
/* The cubic root (exported for tests). */
double tcp_cc_cbrt(double x);

#endif
