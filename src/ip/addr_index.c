#include "ip/addr_index.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a over the family and the address bytes: addresses are not chosen by attackers here. */
static size_t hash_addr(const struct ip_addr *a)
{
	uint32_t h = 2166136261u ^ a->family;
	h *= 16777619u;
	size_t len = ip_addr_size(a);
	for (size_t i = 0; i < len; i++) {
		h ^= a->bytes[i];
		h *= 16777619u;
	}
	return h ^ (h >> 15);
}

int addr_index_reset(struct addr_index *ix, size_t expected)
{
	size_t cap = 8;
	while (cap < 2 * expected)
		cap *= 2;
	if (cap != ix->cap) {
		struct addr_index_slot *s = calloc(cap, sizeof(*s));
		if (!s) {
			addr_index_free(ix);
			return -ENOMEM;
		}
		free(ix->slots);
		ix->slots = s;
		ix->cap = cap;
	} else {
		memset(ix->slots, 0, cap * sizeof(*ix->slots));
	}
	ix->n = 0;
	return 0;
}

int addr_index_put(struct addr_index *ix, const struct ip_addr *addr, void *value)
{
	if (2 * (ix->n + 1) > ix->cap)
		return -ENOMEM;
	size_t mask = ix->cap - 1;
	for (size_t i = hash_addr(addr) & mask;; i = (i + 1) & mask) {
		struct addr_index_slot *s = &ix->slots[i];
		if (!s->addr.family) {
			s->addr = *addr;
			s->value = value;
			ix->n++;
			return 0;
		}
		if (ip_addr_equal(&s->addr, addr))
			return 0;
	}
}

void *addr_index_get(const struct addr_index *ix, const struct ip_addr *addr)
{
	if (ix->n == 0 || !addr->family)
		return NULL;
	size_t mask = ix->cap - 1;
	for (size_t i = hash_addr(addr) & mask;; i = (i + 1) & mask) {
		const struct addr_index_slot *s = &ix->slots[i];
		if (!s->addr.family)
			return NULL;   /* at most half full: an empty slot always ends the probe */
		if (ip_addr_equal(&s->addr, addr))
			return s->value;
	}
}

void addr_index_free(struct addr_index *ix)
{
	free(ix->slots);
	*ix = (struct addr_index){ 0 };
}
