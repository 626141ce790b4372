/*
 * Per-source rate limit for handshake messages, as kernel WireGuard's
 * ratelimiter: a token bucket per source address (IPv4 address, IPv6 /64),
 * 20 messages a second with a burst of 5. The receive path consults it only
 * while a device is under load, so that a flood from one source costs a hash
 * lookup per message instead of a DH or a cookie reply (a sendto) each,
 * while other sources still get their handshakes through.
 */
#ifndef RR_WG_RATELIMIT_H
#define RR_WG_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ip/addr.h"

#define WG_RATELIMIT_PER_SEC 20u
#define WG_RATELIMIT_BURST   5u
/* Table slots (a power of two) and how far a lookup probes. */
#define WG_RATELIMIT_SLOTS   4096u
#define WG_RATELIMIT_PROBE   8u

struct wg_ratelimit_entry {
	uint64_t key;        /* IPv4 address or IPv6 /64, with the family folded in; 0 = free */
	uint64_t last;       /* CLOCK_MONOTONIC ns of the last refill */
	uint64_t tokens;     /* ns of credit, at most cost * burst */
};

struct wg_ratelimit {
	struct wg_ratelimit_entry *slots;   /* NULL until first used */
	uint64_t seed[2];                   /* random: sources cannot aim at one slot */
};

/*
 * True if a handshake message from `from` at `now` may be processed; counts
 * it. Sources beyond the table's reach evict the stalest entry in their
 * probe window. Allocation failure lets everything through (fail open: the
 * cookie mechanism still stands).
 */
bool wg_ratelimit_allow(struct wg_ratelimit *rl, const union sockaddr_inet *from, uint64_t now);
void wg_ratelimit_free(struct wg_ratelimit *rl);

/* The process-wide limiter all devices share (one thread, like the kernel's per namespace). */
struct wg_ratelimit *wg_ratelimit_global(void);

#endif
