/*
 * The IP layer: takes plaintext packets from interfaces, delivers the ones
 * addressed to the router itself (ICMP echo now, the host stack later),
 * forwards the rest by the FIB as a router must (TTL, MTU, ICMP errors,
 * MSS clamping), and routes what the router itself originates.
 */
#ifndef RR_IP_ROUTER_H
#define RR_IP_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "core/pbuf.h"
#include "ip/addr.h"
#include "ip/addr_index.h"
#include "ip/fib.h"
#include "ip/netif.h"
#include "ip/packet.h"

#define IP_LOOPBACK_IFINDEX 1

/* ICMP errors: a token bucket shared by all destinations (RFC 1812 4.3.2.8). */
#define ICMP_ERRORS_PER_SEC 200
#define ICMP_ERRORS_BURST   50

struct ip_reasm;

struct ip_router_stats {
	uint64_t local_delivered;      /* packets addressed to the router itself */
	uint64_t echo_replies;
	uint64_t forwarded;
	uint64_t fragmented;           /* IPv4 packets split to fit the egress MTU */
	uint64_t mss_clamped;
	uint64_t icmp_errors_sent;
	uint64_t icmp_errors_ratelimited;
};

/*
 * The host stack's entry point for packets to the router's own addresses
 * (everything but echo requests, which the router answers itself).
 * Returns true if it took (consumed) b.
 */
typedef bool (*ip_local_handler)(void *ctx, struct netif *in, struct pbuf *b,
				 struct ip_packet *pkt);

/* Interface life events, for the rtnetlink emulation (RTM_NEWLINK/DELLINK multicasts). */
enum ip_link_event {
	IP_LINK_ADDED = 1,     /* after ip_router_add_netif linked it */
	IP_LINK_CHANGED,       /* mtu, flags or name changed (ip_router_netif_changed) */
	IP_LINK_REMOVING,      /* ip_router_del_netif is about to unlink it: still complete */
};
typedef void (*ip_link_observer)(void *ctx, enum ip_link_event ev, struct netif *nif);

struct ip_router {
	struct loop *loop;
	/* Every interface, in ifindex order; the registry that rtnetlink, ctl and reload read. */
	struct netif **netifs;
	size_t n_netifs, cap_netifs;
	uint32_t next_ifindex;
	struct fib *fib;
	uint32_t icmp_tokens;
	uint64_t icmp_refilled_at;
	struct ip_router_stats stats;
	ip_local_handler local_handler;
	void *local_ctx;
	ip_link_observer link_observer;
	void *link_observer_ctx;
	/* "lo": netifs[0], ifindex 1; holds the node's own addresses (not 127.0.0.1, ::1). */
	struct netif loopback;
	struct ip_reasm *reasm;          /* fragments to our addresses (ip/reasm.h), made on demand */
	/*
	 * The global addresses of the interfaces that are up -> the first such interface, rebuilt
	 * by every change of interfaces, addresses or link state made through this API; when a
	 * rebuild ran out of memory, ip_router_local_netif scans as before.
	 */
	struct addr_index local_addrs;
	bool local_addrs_ok;
	struct timer reasm_timer;        /* gives up datagrams whose time ran out */
};

/* Also links "lo" (ifindex 1, r->loopback): the router's interface list is never empty. */
int ip_router_init(struct ip_router *r, struct loop *loop);
/* Frees the FIB and lo's addresses; destroy the other interfaces first. */
void ip_router_free(struct ip_router *r);
/*
 * Assigns nif->ifindex (2, 3, …; 1 is the loopback), links it to the router and installs its
 * connected routes (one per address shorter than a host prefix) unless it is down.
 * 0, -EEXIST (an interface has that name already) or -ENOMEM.
 */
int ip_router_add_netif(struct ip_router *r, struct netif *nif);
/*
 * Unlinks nif: the observer sees IP_LINK_REMOVING first, then its addresses
 * and every route through it (all tables) go, and ifindex lookups stop finding
 * it. The caller still owns nif (destroy it with nif->ops->destroy). 0, -ENODEV,
 * or -EOPNOTSUPP for lo (it lives as long as the router).
 */
int ip_router_del_netif(struct ip_router *r, struct netif *nif);
/* ip_router_del_netif + ops->destroy. Does nothing for lo. */
void ip_router_destroy_netif(struct ip_router *r, struct netif *nif);
/* Destroys every interface but lo (shutdown), last added first. */
void ip_router_destroy_netifs(struct ip_router *r);
/*
 * "ip link set nif up/down". Down: every route through nif goes (all tables,
 * with FIB notifications), as Linux flushes them; up: its connected routes
 * come back (other routes are their owners' to re-add, as on Linux). Then
 * tells the observer (IP_LINK_CHANGED). No-op if nothing changes.
 * -EOPNOTSUPP for lo, which is always up.
 */
int ip_router_set_up(struct ip_router *r, struct netif *nif, bool up);
/* Tells the observer that nif's mtu, flags or name changed. */
void ip_router_netif_changed(struct ip_router *r, struct netif *nif);
/* One observer (the rtnetlink emulation); NULL turns it off. */
void ip_router_set_link_observer(struct ip_router *r, ip_link_observer cb, void *ctx);
/*
 * Adds an address to nif (RTM_NEWADDR). p keeps its host bits. peer (may be
 * NULL) is the far end of a point-to-point address ("peer" in ip addr): p is
 * then stored as a host prefix and peer, masked, becomes the connected route;
 * without one, p shorter than a host prefix gets its connected route as in
 * ip_router_add_netif. 0, -EEXIST (nif already has that address), -EINVAL
 * (families or lengths wrong) or -ENOMEM.
 */
int ip_router_add_address(struct ip_router *r, struct netif *nif, const struct ip_prefix *p,
			  const struct ip_prefix *peer);
/* Removes the address p->addr (any length) from nif with its connected route. 0 or -EADDRNOTAVAIL. */
int ip_router_del_address(struct ip_router *r, struct netif *nif, const struct ip_prefix *p);
struct netif *ip_router_netif_by_name(const struct ip_router *r, const char *name);
struct netif *ip_router_netif_by_index(const struct ip_router *r, uint32_t ifindex);
/*
 * The interface owning addr if it is one of the router's own addresses.
 * Link-local addresses are only local on the interface they belong to, so
 * the ingress interface is passed for them (may be NULL). Addresses of a
 * down interface are not local.
 */
struct netif *ip_router_local_netif(const struct ip_router *r, const struct ip_addr *addr,
				    const struct netif *ingress);

void ip_router_set_local_handler(struct ip_router *r, ip_local_handler h, void *ctx);
/*
 * The source address the router uses toward dst: the route's preferred
 * source, else an address of the egress interface (link-local only for a
 * link-local dst, on interface scope_id). false if it has none.
 */
bool ip_router_select_source(struct ip_router *r, const struct ip_addr *dst, uint32_t scope_id,
			     struct ip_addr *out);
/* The egress interface toward dst (scope_id for link-local), or NULL. */
struct netif *ip_router_route_netif(struct ip_router *r, const struct ip_addr *dst,
				    uint32_t scope_id);

/* A packet from an interface (netif_input lands here). Consumes b. */
void ip_router_input(struct ip_router *r, struct netif *in, struct pbuf *b);
/*
 * Sends a packet the router originates (its source is one of ours): by the
 * FIB, or through hint (may be NULL) for link-local destinations and when no
 * route exists. Consumes b.
 */
void ip_router_output_local(struct ip_router *r, struct pbuf *b, struct netif *hint);

#endif
