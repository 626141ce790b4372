/*
 * The IP layer: takes plaintext packets from interfaces, delivers the ones
 * addressed to the router itself (ICMP echo now, the host stack later) and
 * forwards the rest. It owns the list of interfaces.
 */
#ifndef RR_IP_ROUTER_H
#define RR_IP_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "core/pbuf.h"
#include "ip/addr.h"
#include "ip/netif.h"

struct ip_router {
	struct loop *loop;
	struct netif **netifs;
	size_t n_netifs, cap_netifs;
	uint32_t next_ifindex;
	uint64_t local_delivered;      /* packets addressed to the router itself */
	uint64_t echo_replies;
};

int ip_router_init(struct ip_router *r, struct loop *loop);
void ip_router_free(struct ip_router *r);
/* Assigns nif->ifindex (1, 2, …) and links it to the router. 0 or -ENOMEM. */
int ip_router_add_netif(struct ip_router *r, struct netif *nif);
struct netif *ip_router_netif_by_name(const struct ip_router *r, const char *name);
struct netif *ip_router_netif_by_index(const struct ip_router *r, uint32_t ifindex);
/*
 * The interface owning addr if it is one of the router's own addresses.
 * Link-local addresses are only local on the interface they belong to, so
 * the ingress interface is passed for them (may be NULL).
 */
struct netif *ip_router_local_netif(const struct ip_router *r, const struct ip_addr *addr,
				    const struct netif *ingress);

/* A packet from an interface (netif_input lands here). Consumes b. */
void ip_router_input(struct ip_router *r, struct netif *in, struct pbuf *b);

#endif
