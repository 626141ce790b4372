/*
 * Longest-prefix-match table for one address family: prefix -> opaque value.
 * Used for WireGuard AllowedIPs (value = peer) and for the FIB (value = route
 * list), from a handful of entries to a full Internet table.
 *
 * Addresses are network-order byte strings (4 bytes for AF_INET, 16 for
 * AF_INET6). Host bits beyond plen are ignored. Values must not be NULL
 * (NULL means "no match"). Not thread-safe; lookups do not modify the table.
 */
#ifndef RR_IP_LPM_H
#define RR_IP_LPM_H

#include <stddef.h>
#include <stdint.h>

struct lpm;

/* AF_INET or AF_INET6; NULL on a bad family or out of memory. */
struct lpm *lpm_new(int family);
/* Frees the table; free_value (may be NULL) is called once per entry. */
void lpm_free(struct lpm *t, void (*free_value)(void *value, void *ctx), void *ctx);

int lpm_family(const struct lpm *t);

/*
 * Inserts or replaces. *old (old may be NULL) gets the replaced value or NULL.
 * 0, -EINVAL (plen too long, value NULL) or -ENOMEM (table unchanged).
 */
int lpm_insert(struct lpm *t, const uint8_t *addr, unsigned plen, void *value, void **old);
/* Removes the exact prefix. 0 with *old set (old may be NULL), or -ENOENT / -EINVAL. */
int lpm_remove(struct lpm *t, const uint8_t *addr, unsigned plen, void **old);

/* The value of the longest prefix containing addr, or NULL. */
void *lpm_lookup(const struct lpm *t, const uint8_t *addr);
/* Same, and *plen_out (may be NULL) gets the matched prefix length. */
void *lpm_lookup_prefix(const struct lpm *t, const uint8_t *addr, unsigned *plen_out);
/* The value stored for exactly addr/plen, or NULL. */
void *lpm_get(const struct lpm *t, const uint8_t *addr, unsigned plen);

/*
 * Calls cb for every entry in prefix order: by masked address, and a shorter
 * prefix before the longer ones it contains (10/8, 10.0/16, 10.1/16, 11/8).
 * addr has its host bits cleared. cb must not modify the table. A non-zero
 * return from cb stops the walk and is returned; otherwise 0.
 */
int lpm_walk(const struct lpm *t,
	     int (*cb)(const uint8_t *addr, unsigned plen, void *value, void *ctx), void *ctx);

size_t lpm_count(const struct lpm *t);
/* Bytes allocated by the table (nodes and value arrays), excluding the values. */
size_t lpm_memory(const struct lpm *t);

/* Removes every entry whose value is value (a peer went away). Never allocates. */
void lpm_remove_value(struct lpm *t, void *value);

#endif
