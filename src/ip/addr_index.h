/*
 * A hash from IP address to a pointer (the router's own addresses to their
 * interface), so "is this packet for us?" costs one probe instead of a scan
 * of every interface's addresses. Open addressing, at most half full; the
 * first value put for an address stays (the router puts interfaces in their
 * order, as the scan it replaces found them).
 */
#ifndef RR_IP_ADDR_INDEX_H
#define RR_IP_ADDR_INDEX_H

#include <stddef.h>

#include "ip/addr.h"

struct addr_index_slot {
	struct ip_addr addr;   /* family 0: empty */
	void *value;
};

struct addr_index {
	struct addr_index_slot *slots;
	size_t cap, n;         /* cap is 0 or a power of two */
};

/* Empties the index and makes room for `expected` addresses; 0 or -ENOMEM (then it is empty). */
int addr_index_reset(struct addr_index *ix, size_t expected);
/* Adds addr -> value unless addr is there already; 0, or -ENOMEM when full (reset bigger). */
int addr_index_put(struct addr_index *ix, const struct ip_addr *addr, void *value);
/* The value of addr, or NULL. */
void *addr_index_get(const struct addr_index *ix, const struct ip_addr *addr);
void addr_index_free(struct addr_index *ix);

#endif
