/* Handshake rate limit per source (wg/ratelimit.c), against a manual clock. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "core/loop.h"
#include "wg/ratelimit.h"

#define COST (NSEC_PER_SEC / WG_RATELIMIT_PER_SEC)

static union sockaddr_inet v4(uint32_t host_order, uint16_t port)
{
	union sockaddr_inet a;
	memset(&a, 0, sizeof(a));
	a.in4.sin_family = AF_INET;
	a.in4.sin_addr.s_addr = htonl(host_order);
	a.in4.sin_port = htons(port);
	return a;
}

static union sockaddr_inet v6(const char *text)
{
	union sockaddr_inet a;
	memset(&a, 0, sizeof(a));
	a.in6.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, text, &a.in6.sin6_addr), 1);
	return a;
}

/* How many of n messages at one instant get through. */
static unsigned allowed(struct wg_ratelimit *rl, const union sockaddr_inet *a, uint64_t now, unsigned n)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++)
		k += wg_ratelimit_allow(rl, a, now);
	return k;
}

static void test_burst_then_rate(void **state)
{
	(void)state;
	struct wg_ratelimit rl = { 0 };
	union sockaddr_inet a = v4(0xc0000202, 51820);
	uint64_t t = 1000 * NSEC_PER_SEC;

	assert_int_equal(allowed(&rl, &a, t, 100), WG_RATELIMIT_BURST);
	/* One message's worth of time buys exactly one message. */
	assert_int_equal(allowed(&rl, &a, t + COST - 1, 10), 0);
	assert_int_equal(allowed(&rl, &a, t + COST, 10), 1);
	/* A steady sender at the rate is never refused, over ten seconds. */
	uint64_t u = t + COST;
	for (unsigned i = 0; i < 10 * WG_RATELIMIT_PER_SEC; i++) {
		u += COST;
		assert_true(wg_ratelimit_allow(&rl, &a, u));
	}
	/* After a long pause the bucket holds a burst, not more. */
	assert_int_equal(allowed(&rl, &a, u + 60 * NSEC_PER_SEC, 100), WG_RATELIMIT_BURST);
	wg_ratelimit_free(&rl);
}

static void test_sources_are_independent(void **state)
{
	(void)state;
	struct wg_ratelimit rl = { 0 };
	union sockaddr_inet a = v4(0xc0000202, 1), a_other_port = v4(0xc0000202, 2);
	union sockaddr_inet b = v4(0xc0000203, 1);
	uint64_t t = NSEC_PER_SEC;

	assert_int_equal(allowed(&rl, &a, t, 100), WG_RATELIMIT_BURST);
	/* The port is not part of the source: a flood cannot rotate ports. */
	assert_int_equal(allowed(&rl, &a_other_port, t, 100), 0);
	assert_int_equal(allowed(&rl, &b, t, 100), WG_RATELIMIT_BURST);

	/* IPv6: one bucket per /64. */
	union sockaddr_inet x1 = v6("2001:db8:1:2::1"), x2 = v6("2001:db8:1:2:ffff::9");
	union sockaddr_inet y = v6("2001:db8:1:3::1");
	assert_int_equal(allowed(&rl, &x1, t, 100), WG_RATELIMIT_BURST);
	assert_int_equal(allowed(&rl, &x2, t, 100), 0);
	assert_int_equal(allowed(&rl, &y, t, 100), WG_RATELIMIT_BURST);
	wg_ratelimit_free(&rl);
}

/*
 * Far more sources than slots: every new source gets its first message
 * through (the stalest entry makes room), and a source that keeps flooding
 * is still held to the rate while the table churns around it.
 */
static void test_many_sources(void **state)
{
	(void)state;
	struct wg_ratelimit rl = { 0 };
	union sockaddr_inet flooder = v4(0xcb007101, 1);
	uint64_t t = NSEC_PER_SEC;
	unsigned flooder_ok = 0;
	for (uint32_t i = 0; i < 4 * WG_RATELIMIT_SLOTS; i++) {
		union sockaddr_inet s = v4(0x0a000000 + i, 1);
		t += 1000;   /* 1 µs apart: 16384 sources in 16 ms */
		assert_true(wg_ratelimit_allow(&rl, &s, t));
		flooder_ok += wg_ratelimit_allow(&rl, &flooder, t);
	}
	/* 16 ms at 20/s is well under one message beyond the burst. */
	assert_int_equal(flooder_ok, WG_RATELIMIT_BURST);
	wg_ratelimit_free(&rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_rate),
		cmocka_unit_test(test_sources_are_independent),
		cmocka_unit_test(test_many_sources),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
