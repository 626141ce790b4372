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

enum netif_drop_reason {
	/* WireGuard receive path */
	DROP_INVALID_MESSAGE,    /* unknown type or wrong length */
	DROP_INVALID_MAC,        /* mac1/mac2 wrong */
	DROP_HANDSHAKE_FAILED,   /* did not decrypt, unknown peer, replayed or flooded */
	DROP_HANDSHAKE_RATELIMITED, /* under load, its source sent more than 20/s */
	DROP_UNKNOWN_INDEX,      /* receiver index matches no session */
	DROP_DECRYPT_FAILED,     /* transport packet did not authenticate */
	DROP_REPLAYED,           /* counter seen before or too old */
	DROP_KEY_EXPIRED,        /* session past REJECT_AFTER_TIME/MESSAGES */
	DROP_ALLOWEDIPS,         /* inner source not in the peer's AllowedIPs */
	DROP_INVALID_PACKET,     /* inner packet not IPv4/IPv6 or lengths wrong */
	DROP_TRUNCATED,          /* UDP datagram larger than a packet buffer */
	/* IP layer and send path */
	DROP_NO_ROUTE,
	DROP_NO_PEER,            /* no peer's AllowedIPs covers the destination */
	DROP_TTL_EXCEEDED,
	DROP_MARTIAN,
	DROP_TOO_BIG,
	DROP_UNSUPPORTED,        /* local delivery of a protocol nobody handles */
	DROP_QUEUE_FULL,         /* staged queue of a peer waiting for a handshake */
	DROP_NOMEM,
	DROP_SEND_FAILED,        /* the underlay socket refused it */
	DROP_ROUTE_REJECT,       /* unreachable/prohibit/blackhole route */
	DROP_MAX
};
extern const char *const netif_drop_names[DROP_MAX];

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
};

/* "wireguard", "dummy", "loopback". */
const char *netif_kind_name(enum netif_kind kind);

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

static inline void netif_drop(struct netif *nif, enum netif_drop_reason why)
{
	nif->stats.drops[why]++;
}

/* Hands a received plaintext IP packet to the IP layer (ip/router.c). Consumes b. */
void netif_input(struct netif *nif, struct pbuf *b);

#endif
