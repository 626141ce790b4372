/*
 * A network interface as the IP layer sees it. The WireGuard device (wg/)
 * implements one; the IP layer only calls ops->output and never includes wg/.
 */
#ifndef RR_IP_NETIF_H
#define RR_IP_NETIF_H

#include <stdbool.h>
#include <stdint.h>

#include "core/pbuf.h"
#include "ip/addr.h"

/*
 * Why a packet was dropped. The IP layer's reasons come first; an interface's
 * link protocol numbers its own from NETIF_DROP_LINK_BASE and names them in
 * its ops (as Linux's drop reasons have subsystems), so the counters of both
 * are the interface's counters.
 */
enum netif_drop_reason {
	DROP_INVALID_PACKET,     /* not IPv4/IPv6 or lengths wrong */
	DROP_NO_ROUTE,
	DROP_TTL_EXCEEDED,
	DROP_MARTIAN,
	DROP_TOO_BIG,
	DROP_UNSUPPORTED,        /* local delivery of a protocol nobody handles */
	DROP_NOMEM,
	DROP_ROUTE_REJECT,       /* unreachable/prohibit/blackhole route */
	NETIF_DROP_LINK_BASE,
	DROP_MAX = NETIF_DROP_LINK_BASE + 16
};

struct netif_stats {
	uint64_t rx_packets, rx_bytes;    /* plaintext IP packets received from peers */
	uint64_t tx_packets, tx_bytes;    /* plaintext IP packets sent to peers */
	uint64_t drops[DROP_MAX];
};

/* What rtnetlink reports as IFLA_INFO_KIND, and what decides how a link is shown. */
enum netif_kind {
	NETIF_KIND_WIREGUARD,
	NETIF_KIND_DUMMY,
	NETIF_KIND_LOOPBACK,     /* "lo", ifindex 1, part of every router (no IFLA_INFO_KIND) */
};

struct netif;
struct netif_ops {
	enum netif_kind kind;
	/* Sends the IP packet b toward nexthop (the destination for on-link). Consumes b. */
	void (*output)(struct netif *nif, struct pbuf *b, const struct ip_addr *nexthop);
	/*
	 * Frees the interface and everything it owns, after ip_router_del_netif
	 * unlinked it (never called for one still in the router).
	 */
	void (*destroy)(struct netif *nif);
	/*
	 * The link protocol's drop reasons, numbered from NETIF_DROP_LINK_BASE;
	 * the first n_link_rx_drops of them happen on the receive path.
	 */
	const char *const *link_drop_names;
	unsigned n_link_drops, n_link_rx_drops;
};

/* "wireguard", "dummy", "loopback". */
const char *netif_kind_name(enum netif_kind kind);

#define NETIF_NAME_MAX 15            /* like IFNAMSIZ - 1 */
/* wg-quick's rule for interface names: 1 to 15 of [A-Za-z0-9_=+.-]. */
bool netif_name_valid(const char *name);

struct ip_router;

struct netif {
	char name[16];
	uint32_t ifindex;
	uint16_t mtu;
	struct ip_prefix *addrs;       /* the interface's own addresses (host bits kept) */
	size_t n_addrs;
	/*
	 * NULL, or parallel to addrs: the far end of a point-to-point address
	 * ("ip addr add 172.20.1.1/32 peer 172.20.2.2/32"), family 0 when the
	 * address has none; addrs[i] is then a host prefix. Set only by
	 * ip_router_add_address, which puts it in the same allocation as addrs
	 * (after it), so whoever frees addrs frees it too.
	 */
	struct ip_prefix *addr_peers;
	const struct netif_ops *ops;
	struct ip_router *router;      /* set when added to the router */
	/*
	 * Administratively down ("ip link set X down", and links "ip link add"
	 * creates): the interface neither sends nor receives, its addresses are
	 * not local and it has no routes, as on Linux. Change it only through
	 * ip_router_set_up. Zero (up) for interfaces built from the config.
	 */
	bool down;
	struct netif_stats stats;
};

/* why: an enum netif_drop_reason or one of the link protocol's reasons. */
static inline void netif_drop(struct netif *nif, unsigned why)
{
	nif->stats.drops[why]++;
}

/* The name of drop reason why on nif (metrics, `rrctl show`), NULL for a number it does not use. */
const char *netif_drop_name(const struct netif *nif, unsigned why);
/* Whether drop reason why happens on nif's receive path (rtnetlink's rx_dropped, else tx_dropped). */
bool netif_drop_is_rx(const struct netif *nif, unsigned why);

/* Hands a received plaintext IP packet to the IP layer (ip/router.c). Consumes b. */
void netif_input(struct netif *nif, struct pbuf *b);

#endif
