#include "ip/router.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "ip/icmp.h"
#include "ip/packet.h"

const char *const netif_drop_names[DROP_MAX] = {
	[DROP_INVALID_MESSAGE] = "invalid_message",
	[DROP_INVALID_MAC] = "invalid_mac",
	[DROP_HANDSHAKE_FAILED] = "handshake_failed",
	[DROP_UNKNOWN_INDEX] = "unknown_index",
	[DROP_DECRYPT_FAILED] = "decrypt_failed",
	[DROP_REPLAYED] = "replayed",
	[DROP_KEY_EXPIRED] = "key_expired",
	[DROP_ALLOWEDIPS] = "allowedips",
	[DROP_INVALID_PACKET] = "invalid_packet",
	[DROP_TRUNCATED] = "truncated",
	[DROP_NO_ROUTE] = "no_route",
	[DROP_NO_PEER] = "no_peer",
	[DROP_TTL_EXCEEDED] = "ttl_exceeded",
	[DROP_MARTIAN] = "martian",
	[DROP_TOO_BIG] = "too_big",
	[DROP_UNSUPPORTED] = "unsupported",
	[DROP_QUEUE_FULL] = "queue_full",
	[DROP_NOMEM] = "nomem",
	[DROP_SEND_FAILED] = "send_failed",
	[DROP_ROUTE_REJECT] = "route_reject",
};

int ip_router_init(struct ip_router *r, struct loop *loop)
{
	*r = (struct ip_router){ .loop = loop, .next_ifindex = 1 };
	return 0;
}

void ip_router_free(struct ip_router *r)
{
	free(r->netifs);
	r->netifs = NULL;
	r->n_netifs = r->cap_netifs = 0;
}

int ip_router_add_netif(struct ip_router *r, struct netif *nif)
{
	if (r->n_netifs == r->cap_netifs) {
		size_t cap = r->cap_netifs ? r->cap_netifs * 2 : 8;
		struct netif **n = realloc(r->netifs, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->netifs = n;
		r->cap_netifs = cap;
	}
	nif->ifindex = r->next_ifindex++;
	nif->router = r;
	r->netifs[r->n_netifs++] = nif;
	return 0;
}

struct netif *ip_router_netif_by_name(const struct ip_router *r, const char *name)
{
	for (size_t i = 0; i < r->n_netifs; i++)
		if (strcmp(r->netifs[i]->name, name) == 0)
			return r->netifs[i];
	return NULL;
}

struct netif *ip_router_netif_by_index(const struct ip_router *r, uint32_t ifindex)
{
	for (size_t i = 0; i < r->n_netifs; i++)
		if (r->netifs[i]->ifindex == ifindex)
			return r->netifs[i];
	return NULL;
}

static bool netif_has_address(const struct netif *nif, const struct ip_addr *addr)
{
	for (size_t i = 0; i < nif->n_addrs; i++)
		if (ip_addr_equal(&nif->addrs[i].addr, addr))
			return true;
	return false;
}

struct netif *ip_router_local_netif(const struct ip_router *r, const struct ip_addr *addr,
				    const struct netif *ingress)
{
	if (ip_addr_is_link_local(addr))
		return ingress && netif_has_address(ingress, addr) ? (struct netif *)ingress : NULL;
	for (size_t i = 0; i < r->n_netifs; i++)
		if (netif_has_address(r->netifs[i], addr))
			return r->netifs[i];
	return NULL;
}

static void deliver_local(struct ip_router *r, struct netif *in, struct pbuf *b,
			  struct ip_packet *pkt)
{
	r->local_delivered++;
	if (icmp_echo_reply_in_place(b, pkt) == 0) {
		r->echo_replies++;
		/* Replies leave through the interface the request came in on. */
		in->ops->output(in, b, &pkt->dst);
		return;
	}
	netif_drop(in, DROP_UNSUPPORTED);
	pbuf_free(b);
}

void ip_router_input(struct ip_router *r, struct netif *in, struct pbuf *b)
{
	struct ip_packet pkt;
	if (ip_packet_parse(b, &pkt) < 0) {
		netif_drop(in, DROP_INVALID_PACKET);
		pbuf_free(b);
		return;
	}
	if (ip_router_local_netif(r, &pkt.dst, in)) {
		deliver_local(r, in, b, &pkt);
		return;
	}
	/* Forwarding between interfaces arrives with the FIB. */
	netif_drop(in, DROP_NO_ROUTE);
	pbuf_free(b);
}

void netif_input(struct netif *nif, struct pbuf *b)
{
	ip_router_input(nif->router, nif, b);
}
