/*
 * The router's routing tables (FIB): per table, one lpm for IPv4 and one for
 * IPv6. Several routes may share a prefix (different metric or origin); the
 * best is the lowest priority, then the earliest added.
 *
 * Routes are stored compactly (the next-hop part is interned and shared, as
 * the kernel shares fib_info), so lookups copy the winning route out rather
 * than hand back a pointer: a copy stays valid whatever happens to the table.
 */
#ifndef RR_IP_FIB_H
#define RR_IP_FIB_H

#include <stddef.h>
#include <stdint.h>

#include "ip/addr.h"

/* Same values as enum route_type in conf/config.h (checked at compile time in conf/config.c). */
enum {
	FIB_TYPE_UNICAST = 0,
	FIB_TYPE_UNREACHABLE = 1,
	FIB_TYPE_BLACKHOLE = 2,
	FIB_TYPE_PROHIBIT = 3,
};

#define FIB_TABLE_MAIN 254          /* table 0 in a route means this one */
#define FIB_PROTO_KERNEL 2          /* rtnetlink RTPROT_* values */
#define FIB_PROTO_BOOT 3
#define FIB_PROTO_STATIC 4
#define FIB_PROTO_BIRD 12
#define FIB_SCOPE_UNIVERSE 0        /* rtnetlink RT_SCOPE_* values */
#define FIB_SCOPE_LINK 253
#define FIB_SCOPE_HOST 254
#define FIB_SCOPE_NOWHERE 255

struct fib_route {
	struct ip_prefix prefix;     /* host bits are cleared when stored */
	uint8_t type;                /* FIB_TYPE_* */
	struct ip_addr gateway;      /* family 0 when directly connected; may be IPv6 for IPv4 */
	uint32_t ifindex;            /* 0 when not given */
	uint32_t priority;           /* metric, lower wins */
	uint8_t protocol;            /* origin, FIB_PROTO_* / RTPROT_* */
	uint8_t scope;               /* FIB_SCOPE_* / RT_SCOPE_* */
	struct ip_addr prefsrc;      /* family 0 if none */
	uint32_t table;              /* 0 = FIB_TABLE_MAIN */
};

/* fib_add flags */
#define FIB_REPLACE 1u   /* replace the first route with the same prefix+priority+table */
#define FIB_EXCL    2u   /* fail with -EEXIST if a route with the same prefix+priority+table exists */

enum fib_event { FIB_ADDED = 1, FIB_REMOVED = 2 };

struct fib;

struct fib *fib_new(void);
void fib_free(struct fib *fib);

/*
 * Adds a route. Without flags it is appended after routes of equal priority,
 * unless an identical route exists (-EEXIST), as the kernel's NLM_F_APPEND.
 * FIB_REPLACE replaces (an observer sees FIB_REMOVED then FIB_ADDED), or adds
 * when there is nothing to replace. Returns 0, -EEXIST, -EINVAL (bad family,
 * prefix length, type or gateway family) or -ENOMEM.
 */
int fib_add(struct fib *fib, const struct fib_route *r, unsigned flags);
/*
 * Deletes the first route matching, like RTM_DELROUTE: prefix (exact, after
 * masking) and table (0 = main) always; every other field only when set:
 * gateway/prefsrc family != 0, ifindex/priority/protocol != 0, type other
 * than FIB_TYPE_UNICAST, scope other than UNIVERSE and NOWHERE. 0 or -ESRCH.
 */
int fib_del(struct fib *fib, const struct fib_route *match);
/* Deletes every route whose ifindex is ifindex (in all tables). Returns how many. */
size_t fib_del_by_ifindex(struct fib *fib, uint32_t ifindex);

/* Best route to dst in the main table copied to *out; 0 or -ENETUNREACH. */
int fib_lookup(const struct fib *fib, const struct ip_addr *dst, struct fib_route *out);
int fib_lookup_table(const struct fib *fib, uint32_t table, const struct ip_addr *dst,
		     struct fib_route *out);

/*
 * Calls cb for every route of family (AF_INET, AF_INET6, or AF_UNSPEC for
 * both, IPv4 first), tables in ascending order, each in prefix order (see
 * lpm_walk), routes of one prefix best first. cb must not change the FIB.
 * A non-zero return from cb stops the walk and is returned.
 */
int fib_walk(const struct fib *fib, int family, int (*cb)(const struct fib_route *r, void *ctx),
	     void *ctx);

/* Number of routes of family (AF_UNSPEC: all). */
size_t fib_count(const struct fib *fib, int family);
/* Bytes held by the FIB: tries, route entries, shared next hops. */
size_t fib_memory(const struct fib *fib);

/*
 * Change notification (for the rtnetlink emulation): called after each route
 * is added or removed, with the route as stored. cb must not change the FIB.
 * NULL cb turns it off.
 */
void fib_set_observer(struct fib *fib,
		      void (*cb)(void *ctx, int event, const struct fib_route *r), void *ctx);

#endif
