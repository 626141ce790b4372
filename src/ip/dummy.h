/*
 * A dummy interface ("ip link add dn42 type dummy"): somewhere to put the
 * node's own addresses. Its addresses are local like any other (answered,
 * usable as a route's preferred source); what is routed into it is dropped
 * and counted, as Linux's dummy driver does.
 */
#ifndef RR_IP_DUMMY_H
#define RR_IP_DUMMY_H

#include "ip/netif.h"

#define DUMMY_MTU 1500

/* A new unlinked dummy named name (add it with ip_router_add_netif). NULL: out of memory. */
struct netif *dummy_new(const char *name);

#endif
