/*
 * Anti-replay window for transport counters (RFC 6479): a ring of
 * COUNTER_BITS_TOTAL bits in 64-bit words, one word of which is slack, so
 * the last COUNTER_WINDOW_SIZE (8128) counters below the highest seen are
 * tracked exactly and older ones are rejected. Moving the window forward
 * clears whole words, never single bits.
 *
 * Call only after the packet authenticated (else a forged counter would
 * move the window).
 */
#ifndef RR_WG_REPLAY_H
#define RR_WG_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "wg/messages.h"

struct replay_window {
	uint64_t next;   /* one more than the highest counter accepted (0: none yet) */
	uint64_t bitmap[COUNTER_BITS_TOTAL / 64];
};

void replay_init(struct replay_window *w);

/*
 * True if counter was not seen before and is still inside the window (and
 * then marks it seen); false for duplicates, counters too old for the
 * window, and counters >= limit (pass REJECT_AFTER_MESSAGES).
 */
bool replay_check_and_update(struct replay_window *w, uint64_t counter, uint64_t limit);

#endif
