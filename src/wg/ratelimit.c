#include "wg/ratelimit.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "core/loop.h"
#include "crypto/crypto.h"

#define COST      (NSEC_PER_SEC / WG_RATELIMIT_PER_SEC)
#define TOKEN_MAX (COST * WG_RATELIMIT_BURST)

/*
 * The source as one nonzero 64-bit key: IPv4 address, or the /64 of an IPv6
 * one (a host has a whole /64). A rare IPv4/IPv6 key clash only shares a bucket.
 */
static uint64_t source_key(const union sockaddr_inet *from)
{
	uint64_t k;
	if (from->sa.sa_family == AF_INET) {
		uint32_t a;
		memcpy(&a, &from->in4.sin_addr, 4);
		k = (uint64_t)a | (1ULL << 32);
	} else {
		memcpy(&k, &from->in6.sin6_addr, 8);
		k ^= 0x6ULL << 60;
	}
	return k ? k : 1;
}

/* A keyed mix (not cryptographic, but the seed is secret and the probe window is bounded). */
static size_t slot_of(const struct wg_ratelimit *rl, uint64_t key)
{
	uint64_t h = (key ^ rl->seed[0]) * 0x9e3779b97f4a7c15ULL;
	h ^= h >> 29;
	h = (h ^ rl->seed[1]) * 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (size_t)h & (WG_RATELIMIT_SLOTS - 1);
}

bool wg_ratelimit_allow(struct wg_ratelimit *rl, const union sockaddr_inet *from, uint64_t now)
{
	if (!rl->slots) {
		rl->slots = calloc(WG_RATELIMIT_SLOTS, sizeof(*rl->slots));
		if (!rl->slots)
			return true;
		crypto_random(rl->seed, sizeof(rl->seed));
	}
	uint64_t key = source_key(from);
	size_t first = slot_of(rl, key);
	struct wg_ratelimit_entry *e = NULL, *victim = NULL;
	for (size_t i = 0; i < WG_RATELIMIT_PROBE; i++) {
		struct wg_ratelimit_entry *s = &rl->slots[(first + i) & (WG_RATELIMIT_SLOTS - 1)];
		if (s->key == key) {
			e = s;
			break;
		}
		if (s->key == 0) {
			/* Nothing is ever deleted, so the key is not further on: take this one. */
			victim = s;
			break;
		}
		if (!victim || s->last < victim->last)
			victim = s;   /* the stalest: its bucket is the likeliest to be full anyway */
	}
	if (!e) {
		e = victim;
		e->key = key;
		e->last = now;
		e->tokens = TOKEN_MAX - COST;   /* a new source starts with a full bucket, this one spent */
		return true;
	}
	uint64_t tokens = e->tokens + (now - e->last);
	e->last = now;
	if (tokens > TOKEN_MAX)
		tokens = TOKEN_MAX;
	if (tokens < COST) {
		e->tokens = tokens;
		return false;
	}
	e->tokens = tokens - COST;
	return true;
}

void wg_ratelimit_free(struct wg_ratelimit *rl)
{
	free(rl->slots);
	rl->slots = NULL;
}

struct wg_ratelimit *wg_ratelimit_global(void)
{
	static struct wg_ratelimit global;
	return &global;
}
