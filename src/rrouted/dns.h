/*
 * Endpoint names of a long-running node. getaddrinfo blocks, so lookups run
 * on one worker thread and their results come back to the event loop
 * through an eventfd; the loop never waits for DNS.
 *
 * A peer whose Endpoint is a name (endpoint_is_name in its conf):
 * - without an endpoint yet (the name did not resolve at start or reload) is
 *   looked up every DNS_RETRY_S; the first failure of a streak is logged as a
 *   warning, the success as info, and the peer then gets the endpoint and a
 *   handshake at once;
 * - with one, is re-resolved as wireguard-tools' reresolve-dns.sh does: when
 *   its latest handshake is older than DNS_STALE_S (or it never had one), at
 *   most every DNS_RERESOLVE_S; a changed address replaces the endpoint.
 */
#ifndef RR_RROUTED_DNS_H
#define RR_RROUTED_DNS_H

#include "conf/config.h"
#include "core/loop.h"
#include "ip/router.h"

#define DNS_RETRY_S 5
#define DNS_STALE_S 135
#define DNS_RERESOLVE_S 30

struct endpoint_dns;

/* conf is the daemon's running configuration (read at every check; reloads replace its contents). */
struct endpoint_dns *endpoint_dns_new(struct loop *loop, struct ip_router *router,
				      const struct router_conf *conf);
/* Looks at every peer now (after start and after a reload) instead of at the next tick. */
void endpoint_dns_check(struct endpoint_dns *dns);
void endpoint_dns_free(struct endpoint_dns *dns);

#endif
