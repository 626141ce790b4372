/*
 * TCP congestion control (stack/tcp_cc.c): the cube root, CUBIC's
 * reduction and growth (RFC 9438), and the delivery-rate floor that tells
 * random loss from a full queue.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/loop.h"
#include "stack/tcp_cc.h"

#define MSS 1000u
#define MS(x) ((uint64_t)(x) * NSEC_PER_MSEC)

static void test_cbrt(void **state)
{
	static const double in[] = { 1, 8, 27, 1000, 0.125, 2, 1e9 };
	static const double out[] = { 1, 2, 3, 10, 0.5, 1.2599210498948732, 1000 };
	for (unsigned i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		double r = tcp_cc_cbrt(in[i]);
		double e = r - out[i];
		assert_true(e < 1e-9 * out[i] + 1e-12 && e > -1e-9 * out[i] - 1e-12);
	}
	assert_true(tcp_cc_cbrt(-27) < -2.999999 && tcp_cc_cbrt(-27) > -3.000001);
	assert_true(tcp_cc_cbrt(0) == 0);
}

/* Rounds at a steady rate: rate bytes per rtt, with window cwnd in flight. */
static uint64_t feed_rounds(struct tcp_cc *cc, uint64_t now, uint32_t per_round, uint64_t rtt,
			    unsigned rounds, uint64_t *delivered, uint32_t *seq)
{
	for (unsigned i = 0; i < rounds; i++) {
		tcp_cc_delivered(cc, now, *delivered, *seq, *seq + per_round);
		tcp_cc_rtt(cc, rtt, now);
		now += rtt;
		*delivered += per_round;
		*seq += per_round;
	}
	tcp_cc_delivered(cc, now, *delivered, *seq, *seq + per_round);
	return now;
}

static void test_no_estimate_is_cubic(void **state)
{
	struct tcp_cc cc;
	tcp_cc_init(&cc, MSS);
	/* no rate known: plain CUBIC, ssthresh = 0.7 cwnd, W_max = cwnd */
	assert_int_equal(tcp_cc_loss(&cc, 100 * MSS, 100 * MSS), 70 * MSS);
	assert_false(cc.random_loss);
	assert_true(cc.w_max == 100.0 * MSS);
	/* a second loss below W_max: fast convergence releases more */
	assert_int_equal(tcp_cc_loss(&cc, 80 * MSS, 80 * MSS), 56 * MSS);
	assert_true(cc.w_max == 80.0 * MSS * 1.7 / 2);
	/* never below two segments */
	assert_int_equal(tcp_cc_loss(&cc, MSS, MSS), 2 * MSS);
}

/* A fresh cc after six 40 ms rounds of 100 segments each, at the minimum RTT. */
static void init_on_100_segment_path(struct tcp_cc *cc)
{
	uint64_t delivered = 0;
	uint32_t seq = 1;
	tcp_cc_init(cc, MSS);
	feed_rounds(cc, MS(1000), 100 * MSS, MS(40), 6, &delivered, &seq);
}

static void test_random_loss_keeps_window(void **state)
{
	struct tcp_cc cc;
	/* 100 segments per 40 ms round at the minimum RTT: no queue */
	init_on_100_segment_path(&cc);
	uint32_t bdp = tcp_cc_bdp(&cc);
	assert_true(bdp >= 99 * MSS && bdp <= 101 * MSS);
	assert_int_equal(tcp_cc_loss(&cc, 100 * MSS, 100 * MSS), 100 * MSS);
	assert_true(cc.random_loss);
}

static void test_queue_loss_drains_to_bdp(void **state)
{
	struct tcp_cc cc;
	/* the path carries 100 segments per 40 ms; we have 140 in flight (40 queued) */
	init_on_100_segment_path(&cc);
	uint32_t ss = tcp_cc_loss(&cc, 140 * MSS, 140 * MSS);
	assert_false(cc.random_loss);
	/* 0.7 * 140 = 98 < the floor (100): back to what the path carries, the queue drains */
	assert_true(ss >= 99 * MSS && ss <= 101 * MSS);
	/* a big queue: CUBIC's own reduction is the larger */
	ss = tcp_cc_loss(&cc, 300 * MSS, 300 * MSS);
	assert_int_equal(ss, 210 * MSS);
}

static void test_growth(void **state)
{
	struct tcp_cc cc;
	tcp_cc_init(&cc, MSS);
	uint32_t cwnd = tcp_cc_loss(&cc, 100 * MSS, 100 * MSS);   /* 70, W_max 100 */
	uint64_t now = MS(1000), rtt = MS(40);
	uint32_t w = cwnd;
	/* one RTT of ACKs: growth, but well under a segment per ACK */
	for (unsigned i = 0; i < 70; i++)
		w = tcp_cc_avoid(&cc, w, MSS, now + i * rtt / 70, rtt);
	assert_true(w > cwnd);
	assert_true(w < cwnd + 10 * MSS);
	/*
	 * At 40 ms the Reno-friendly region rules (RFC 9438 4.3): W_est gains
	 * alpha = 3 * 0.3 / 1.7 = 0.53 segment per RTT up to W_max (56.7 RTTs
	 * from 70 to 100), then 1 per RTT: at t = 4.2 s (105 RTTs) about 148.
	 */
	now += rtt;
	while (now < MS(1000) + MS(4200)) {
		for (unsigned i = 0; i < w / MSS; i++)
			w = tcp_cc_avoid(&cc, w, MSS, now, rtt);
		now += rtt;
	}
	assert_true(w >= 135 * MSS && w <= 160 * MSS);
	/* with a 1 s RTT, the cubic curve rules: back at W_max after K = cbrt(30 / 0.4) = 4.2 s */
	tcp_cc_init(&cc, MSS);
	w = tcp_cc_loss(&cc, 100 * MSS, 100 * MSS);
	rtt = MS(1000);
	now = MS(1000);
	while (now < MS(1000) + MS(4000)) {
		for (unsigned i = 0; i < w / MSS; i++)
			w = tcp_cc_avoid(&cc, w, MSS, now, rtt);
		now += rtt;
	}
	assert_true(w >= 95 * MSS && w <= 105 * MSS);
	/* then it probes beyond (convex): W(8 s) = 0.4 * (8 - 4.2)^3 + 100 = 122 */
	while (now < MS(1000) + MS(8000)) {
		for (unsigned i = 0; i < w / MSS; i++)
			w = tcp_cc_avoid(&cc, w, MSS, now, rtt);
		now += rtt;
	}
	assert_true(w >= 110 * MSS && w <= 140 * MSS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cbrt),
		cmocka_unit_test(test_no_estimate_is_cubic),
		cmocka_unit_test(test_random_loss_keeps_window),
		cmocka_unit_test(test_queue_loss_drains_to_bdp),
		cmocka_unit_test(test_growth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
