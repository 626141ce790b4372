/*
 * RFC 6479 sliding window. Bit n of the ring (word n / 64, bit n % 64,
 * words taken modulo the ring size) stands for counter n. The window's top
 * is w->next - 1; counters more than COUNTER_WINDOW_SIZE below next are too
 * old. Because the ring has one word more than the window needs, advancing
 * only ever has to clear the words between the old and the new top word.
 */
#include <string.h>

#include "wg/replay.h"

#define RING_WORDS (COUNTER_BITS_TOTAL / 64)

_Static_assert((RING_WORDS & (RING_WORDS - 1)) == 0, "ring size must be a power of two");

void replay_init(struct replay_window *w)
{
	memset(w, 0, sizeof(*w));
}

bool replay_check_and_update(struct replay_window *w, uint64_t counter, uint64_t limit)
{
	uint64_t word, bit, mask;

	/* UINT64_MAX too, as next = counter + 1 must not wrap. */
	if (counter >= limit || counter == UINT64_MAX)
		return false;
	/* Too old: below the window that ends at next - 1. */
	if (w->next > COUNTER_WINDOW_SIZE && counter < w->next - COUNTER_WINDOW_SIZE)
		return false;

	word = counter / 64;
	if (counter >= w->next) {
		/* Advance: clear every word after the current top word up to the
		 * new one, but at most the whole ring once (a huge jump). */
		uint64_t top_word = w->next == 0 ? 0 : (w->next - 1) / 64;
		uint64_t steps = word - top_word;

		if (w->next == 0) {
			memset(w->bitmap, 0, sizeof(w->bitmap));
		} else {
			if (steps > RING_WORDS)
				steps = RING_WORDS;
			for (uint64_t i = 1; i <= steps; i++)
				w->bitmap[(top_word + i) & (RING_WORDS - 1)] = 0;
		}
		w->next = counter + 1;
	}

	bit = counter % 64;
	mask = 1ULL << bit;
	word &= RING_WORDS - 1;
	if (w->bitmap[word] & mask)
		return false;
	w->bitmap[word] |= mask;
	return true;
}
