/* Replay window: RFC 6479 behaviour checked against a naive reference. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "wg/replay.h"

#define LIMIT REJECT_AFTER_MESSAGES

static void test_in_order(void **state)
{
	struct replay_window w;

	(void)state;
	replay_init(&w);
	for (uint64_t i = 0; i < 20000; i++)
		assert_true(replay_check_and_update(&w, i, LIMIT));
	for (uint64_t i = 20000 - COUNTER_WINDOW_SIZE; i < 20000; i++)
		assert_false(replay_check_and_update(&w, i, LIMIT));
}

static void test_counter_zero_and_duplicates(void **state)
{
	struct replay_window w;

	(void)state;
	replay_init(&w);
	assert_true(replay_check_and_update(&w, 0, LIMIT));
	assert_false(replay_check_and_update(&w, 0, LIMIT));
	assert_true(replay_check_and_update(&w, 1, LIMIT));
	assert_false(replay_check_and_update(&w, 1, LIMIT));
	assert_false(replay_check_and_update(&w, 0, LIMIT));
	/* First packet need not be 0; 0 is then still inside the window. */
	replay_init(&w);
	assert_true(replay_check_and_update(&w, 5, LIMIT));
	assert_true(replay_check_and_update(&w, 0, LIMIT));
	assert_false(replay_check_and_update(&w, 0, LIMIT));
	assert_false(replay_check_and_update(&w, 5, LIMIT));
}

static void test_out_of_order_within_window(void **state)
{
	struct replay_window w;

	(void)state;
	replay_init(&w);
	assert_true(replay_check_and_update(&w, 100, LIMIT));
	for (uint64_t i = 99; i > 50; i--)
		assert_true(replay_check_and_update(&w, i, LIMIT));
	for (uint64_t i = 51; i <= 100; i++)
		assert_false(replay_check_and_update(&w, i, LIMIT));
	assert_true(replay_check_and_update(&w, 50, LIMIT));
	assert_true(replay_check_and_update(&w, 102, LIMIT));
	assert_true(replay_check_and_update(&w, 101, LIMIT));
	assert_false(replay_check_and_update(&w, 101, LIMIT));
}

static void test_window_edge(void **state)
{
	struct replay_window w;
	const uint64_t top = 10000;

	(void)state;
	replay_init(&w);
	assert_true(replay_check_and_update(&w, top, LIMIT));
	/* The oldest counter still tracked is top - (WINDOW - 1). */
	assert_true(replay_check_and_update(&w, top - (COUNTER_WINDOW_SIZE - 1), LIMIT));
	assert_false(replay_check_and_update(&w, top - (COUNTER_WINDOW_SIZE - 1), LIMIT));
	assert_false(replay_check_and_update(&w, top - COUNTER_WINDOW_SIZE, LIMIT));
	assert_false(replay_check_and_update(&w, top - COUNTER_WINDOW_SIZE - 1, LIMIT));
	assert_false(replay_check_and_update(&w, 0, LIMIT));
	/* At least 2048 packets of reordering are tolerated (brief). */
	assert_true(COUNTER_WINDOW_SIZE >= 2048);
}

static void test_huge_jump(void **state)
{
	struct replay_window w;

	(void)state;
	replay_init(&w);
	for (uint64_t i = 0; i < 64 * 3; i++)
		assert_true(replay_check_and_update(&w, i, LIMIT));
	/* Jump by far more than the ring: the whole window resets. */
	const uint64_t far = 1ULL << 40;
	assert_true(replay_check_and_update(&w, far, LIMIT));
	assert_false(replay_check_and_update(&w, 5, LIMIT));
	/* Counters just below the new top that aliased old bits are fresh. */
	for (uint64_t i = far - 1; i > far - 200; i--)
		assert_true(replay_check_and_update(&w, i, LIMIT));
	/* A jump of exactly the ring size maps onto the same bit position. */
	replay_init(&w);
	assert_true(replay_check_and_update(&w, 7, LIMIT));
	assert_true(replay_check_and_update(&w, 7 + COUNTER_BITS_TOTAL, LIMIT));
	assert_false(replay_check_and_update(&w, 7 + COUNTER_BITS_TOTAL, LIMIT));
	assert_true(replay_check_and_update(&w, 8 + COUNTER_BITS_TOTAL - 64, LIMIT));
}

static void test_limits(void **state)
{
	struct replay_window w;

	(void)state;
	replay_init(&w);
	assert_false(replay_check_and_update(&w, LIMIT, LIMIT));
	assert_false(replay_check_and_update(&w, UINT64_MAX, LIMIT));
	assert_false(replay_check_and_update(&w, UINT64_MAX, UINT64_MAX));
	assert_true(replay_check_and_update(&w, LIMIT - 1, LIMIT));
	assert_false(replay_check_and_update(&w, LIMIT - 1, LIMIT));
	assert_true(replay_check_and_update(&w, LIMIT - 2, LIMIT));
	assert_false(replay_check_and_update(&w, LIMIT, LIMIT));
	/* Near the top of the counter space, arithmetic must not wrap. */
	replay_init(&w);
	assert_true(replay_check_and_update(&w, UINT64_MAX - 1, UINT64_MAX));
	assert_true(replay_check_and_update(&w, UINT64_MAX - 100, UINT64_MAX));
	assert_false(replay_check_and_update(&w, 3, UINT64_MAX));
	/* A small custom limit. */
	replay_init(&w);
	assert_true(replay_check_and_update(&w, 9, 10));
	assert_false(replay_check_and_update(&w, 10, 10));
}

static void test_word_boundaries(void **state)
{
	struct replay_window w;

	(void)state;
	replay_init(&w);
	/* Advance one word at a time; bit 63 and bit 0 of neighbours are distinct. */
	assert_true(replay_check_and_update(&w, 63, LIMIT));
	assert_true(replay_check_and_update(&w, 64, LIMIT));
	assert_true(replay_check_and_update(&w, 127, LIMIT));
	assert_true(replay_check_and_update(&w, 128, LIMIT));
	assert_false(replay_check_and_update(&w, 63, LIMIT));
	assert_false(replay_check_and_update(&w, 64, LIMIT));
	assert_true(replay_check_and_update(&w, 62, LIMIT));
	assert_true(replay_check_and_update(&w, 65, LIMIT));
	/* Wrap around the ring: the word reused for new counters is cleared. */
	assert_true(replay_check_and_update(&w, COUNTER_BITS_TOTAL + 62, LIMIT));
	assert_true(replay_check_and_update(&w, COUNTER_BITS_TOTAL + 63, LIMIT));
	assert_false(replay_check_and_update(&w, 63, LIMIT));
}

/*
 * Differential: random walks against a naive "set of seen counters plus
 * highest" model with the same window definition.
 */
static void test_against_reference(void **state)
{
	enum { N = 200000, SPAN = 40000 };
	struct replay_window w;
	uint8_t *seen = calloc(SPAN + 20000, 1);
	uint64_t highest = 0;
	bool any = false;
	unsigned seed = 12345;

	(void)state;
	assert_non_null(seen);
	replay_init(&w);
	for (int i = 0; i < N; i++) {
		uint64_t c;

		seed = seed * 1103515245u + 12345u;
		unsigned r = (seed >> 8) % 1000;
		if (r < 700)
			c = any ? highest + 1 + (seed >> 20) % 4 : 0;
		else
			c = any && highest > (seed >> 12) % 9000 ? highest - (seed >> 12) % 9000 : 0;
		if (c >= SPAN)
			break;
		bool expect = !seen[c] && (!any || c + COUNTER_WINDOW_SIZE >= highest + 1);
		bool got = replay_check_and_update(&w, c, LIMIT);
		assert_int_equal(got, expect);
		if (got) {
			seen[c] = 1;
			if (!any || c > highest)
				highest = c;
			any = true;
		}
	}
	free(seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_counter_zero_and_duplicates),
		cmocka_unit_test(test_out_of_order_within_window),
		cmocka_unit_test(test_window_edge),
		cmocka_unit_test(test_huge_jump),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_word_boundaries),
		cmocka_unit_test(test_against_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
