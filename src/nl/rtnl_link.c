/*
 * Links: the router's netifs, shown as the kernel shows a wireguard device,
 * and an emulated "lo" at ifindex 1 (the router has no netif for it).
 */
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <string.h>

#include "nl/rtnl_internal.h"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

/* linux/if.h's IF_OPER_UNKNOWN (that header clashes with net/if.h): what wireguard reports. */
#define OPER_UNKNOWN 0

#define WG_FLAGS (IFF_UP | IFF_RUNNING | IFF_POINTOPOINT | IFF_NOARP | IFF_LOWER_UP)
#define LO_FLAGS (IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP)
#define LO_MTU 65536
#define MTU_MIN 1280
#define MTU_MAX 1920
#define TXQLEN 1000

/* Flags a user may change with dev_change_flags (the rest are the driver's). */
#define USER_FLAGS (IFF_UP | IFF_DEBUG | IFF_NOTRAILERS | IFF_NOARP | IFF_DYNAMIC | \
		    IFF_MULTICAST | IFF_PORTSEL | IFF_AUTOMEDIA | IFF_PROMISC | IFF_ALLMULTI)

static void put_stats(struct nlbuf *b, const struct netif *nif)
{
	struct rtnl_link_stats64 st = { 0 };
	if (nif) {
		st.rx_packets = nif->stats.rx_packets;
		st.rx_bytes = nif->stats.rx_bytes;
		st.tx_packets = nif->stats.tx_packets;
		st.tx_bytes = nif->stats.tx_bytes;
		/* The WireGuard receive path's drops count as rx, the IP layer's and send's as tx. */
		for (int i = 0; i < DROP_MAX; i++) {
			if (i < DROP_NO_ROUTE)
				st.rx_dropped += nif->stats.drops[i];
			else
				st.tx_dropped += nif->stats.drops[i];
		}
	}
	nla_put(b, IFLA_STATS64, &st, sizeof(st));
}

bool rtnl_link_fill(struct rtnl *nl, struct nlbuf *b, uint32_t ifindex, uint16_t type,
		    uint16_t flags, uint32_t seq, uint32_t portid, uint32_t change)
{
	struct netif *nif = NULL;
	if (ifindex != IP_LOOPBACK_IFINDEX && !(nif = ip_router_netif_by_index(nl->router, ifindex)))
		return false;
	struct ifinfomsg ifi = {
		.ifi_family = AF_UNSPEC,
		.ifi_type = nif ? ARPHRD_NONE : ARPHRD_LOOPBACK,
		.ifi_index = (int)ifindex,
		.ifi_flags = nif ? WG_FLAGS : LO_FLAGS,
		.ifi_change = change,
	};
	size_t off = nlmsg_begin(b, type, flags, seq, portid, &ifi, sizeof(ifi));
	nla_put_str(b, IFLA_IFNAME, nif ? nif->name : "lo");
	nla_put_u32(b, IFLA_TXQLEN, TXQLEN);
	nla_put_u8(b, IFLA_OPERSTATE, OPER_UNKNOWN);
	nla_put_u8(b, IFLA_LINKMODE, 0);
	nla_put_u32(b, IFLA_MTU, nif ? nif->mtu : LO_MTU);
	nla_put_u32(b, IFLA_MIN_MTU, nif ? MTU_MIN : 0);
	nla_put_u32(b, IFLA_MAX_MTU, nif ? MTU_MAX : 0);
	nla_put_u32(b, IFLA_GROUP, 0);
	nla_put_u32(b, IFLA_PROMISCUITY, 0);
	nla_put_u32(b, IFLA_NUM_TX_QUEUES, 1);
	nla_put_u32(b, IFLA_NUM_RX_QUEUES, 1);
	nla_put_u8(b, IFLA_CARRIER, 1);
	nla_put_u32(b, IFLA_CARRIER_CHANGES, 0);
	nla_put_u8(b, IFLA_PROTO_DOWN, 0);
	nla_put_str(b, IFLA_QDISC, "noqueue");
	if (!nif) {
		static const uint8_t zero_mac[6];
		nla_put(b, IFLA_ADDRESS, zero_mac, sizeof(zero_mac));
		nla_put(b, IFLA_BROADCAST, zero_mac, sizeof(zero_mac));
	}
	put_stats(b, nif);
	if (nif) {
		size_t li = nla_nest_begin(b, IFLA_LINKINFO);
		nla_put_str(b, IFLA_INFO_KIND, netif_kind_name(nif->ops->kind));
		nla_nest_end(b, li);
	}
	nlmsg_end(b, off);
	return !b->nomem;
}

/* The name in an IFLA_IFNAME / IFLA_ALT_IFNAME attribute, NUL-terminated into out. */
static bool attr_name(const struct nla *a, char out[IFNAMSIZ])
{
	if (!a->data || !a->len)
		return false;
	size_t n = strnlen((const char *)a->data, a->len);
	if (n >= IFNAMSIZ)
		return false;
	memcpy(out, a->data, n);
	out[n] = '\0';
	return true;
}

/* ifindex of name, or 0. */
static uint32_t ifindex_by_name(struct rtnl *nl, const char *name)
{
	if (strcmp(name, "lo") == 0)
		return IP_LOOPBACK_IFINDEX;
	struct netif *nif = ip_router_netif_by_name(nl->router, name);
	return nif ? nif->ifindex : 0;
}

static int link_dump(struct rtnl_req *q)
{
	struct rtnl *nl = q->s->nl;
	struct nla tb[IFLA_MAX + 1];
	uint32_t master = 0;
	const char *kind = NULL;
	char kindbuf[32];
	if (q->body_len >= sizeof(struct ifinfomsg)) {
		struct ifinfomsg ifi;
		memcpy(&ifi, q->body, sizeof(ifi));
		if (q->s->strict) {
			if (ifi.__ifi_pad || ifi.ifi_type || ifi.ifi_flags || ifi.ifi_change)
				return rtnl_fail(q, -EINVAL,
						 "Invalid values in header for link dump request");
			if (ifi.ifi_index)
				return rtnl_fail(q, -EINVAL,
						 "Filter by device index not supported for link dumps");
		}
		size_t hl = NLMSG_ALIGN(sizeof(ifi));
		if (q->body_len > hl &&
		    nla_parse(q->body + hl, q->body_len - hl, q->msg, tb, IFLA_MAX) < 0) {
			if (q->s->strict)
				return rtnl_fail(q, -EINVAL, "Malformed attribute in link dump request");
		} else if (q->body_len > hl) {
			for (unsigned t = 1; t <= IFLA_MAX; t++) {
				if (!tb[t].data)
					continue;
				if (t == IFLA_MASTER) {
					if (!nla_get_u32(&tb[t], &master))
						return rtnl_fail(q, -EINVAL, "Invalid IFLA_MASTER");
				} else if (t == IFLA_LINKINFO) {
					struct nla li[IFLA_INFO_MAX + 1];
					if (nla_parse(tb[t].data, tb[t].len, q->msg, li,
						      IFLA_INFO_MAX) == 0 &&
					    li[IFLA_INFO_KIND].data && li[IFLA_INFO_KIND].len &&
					    li[IFLA_INFO_KIND].len < sizeof(kindbuf)) {
						memcpy(kindbuf, li[IFLA_INFO_KIND].data,
						       li[IFLA_INFO_KIND].len);
						kindbuf[li[IFLA_INFO_KIND].len] = '\0';
						kind = kindbuf;
					}
				} else if (t != IFLA_EXT_MASK && t != IFLA_TARGET_NETNSID &&
					   q->s->strict) {
					q->bad_attr = &tb[t];
					return rtnl_fail(q, -EINVAL,
							 "Unsupported attribute in link dump request");
				}
			}
		}
	} else if (q->s->strict) {
		return rtnl_fail(q, -EINVAL, "Invalid header for link dump");
	}

	struct rtnl_dump d;
	rtnl_dump_init(&d, q);
	struct nlbuf b = { 0 };
	/* No link has a master; the only kind is wireguard (lo has none). */
	bool any = master == 0;
	for (size_t i = 0; any && i <= nl->router->n_netifs; i++) {
		uint32_t idx = i == 0 ? IP_LOOPBACK_IFINDEX : nl->router->netifs[i - 1]->ifindex;
		if (kind && (i == 0 || strcmp(kind, "wireguard") != 0))
			continue;
		b.len = 0;
		if (rtnl_link_fill(nl, &b, idx, RTM_NEWLINK, NLM_F_MULTI, q->hdr.nlmsg_seq,
				   q->s->portid, 0))
			rtnl_dump_add(&d, b.data, b.len);
		else
			d.nomem = true;
	}
	nlbuf_free(&b);
	return rtnl_dump_finish(&d) < 0 ? -ENOMEM : RTNL_DONE;
}

int rtnl_link_get(struct rtnl_req *q)
{
	if ((q->hdr.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP)
		return link_dump(q);
	struct rtnl *nl = q->s->nl;
	struct ifinfomsg ifi;
	if (q->body_len < sizeof(ifi))
		return rtnl_fail(q, -EINVAL, "Invalid header for get link");
	memcpy(&ifi, q->body, sizeof(ifi));
	if (q->s->strict && (ifi.__ifi_pad || ifi.ifi_type || ifi.ifi_flags || ifi.ifi_change))
		return rtnl_fail(q, -EINVAL, "Invalid values in header for get link request");
	struct nla tb[IFLA_MAX + 1];
	size_t hl = NLMSG_ALIGN(sizeof(ifi));
	if (nla_parse(q->body + hl, q->body_len > hl ? q->body_len - hl : 0, q->msg, tb,
		      IFLA_MAX) < 0)
		return rtnl_fail(q, -EINVAL, "Malformed attribute");
	if (q->s->strict) {
		for (unsigned t = 1; t <= IFLA_MAX; t++)
			if (tb[t].data && t != IFLA_IFNAME && t != IFLA_ALT_IFNAME &&
			    t != IFLA_EXT_MASK && t != IFLA_TARGET_NETNSID) {
				q->bad_attr = &tb[t];
				return rtnl_fail(q, -EINVAL,
						 "Unsupported attribute in get link request");
			}
	}
	uint32_t idx = 0;
	char name[IFNAMSIZ];
	if (ifi.ifi_index > 0) {
		idx = (uint32_t)ifi.ifi_index;
	} else if (attr_name(&tb[IFLA_IFNAME], name) || attr_name(&tb[IFLA_ALT_IFNAME], name)) {
		idx = ifindex_by_name(nl, name);
	} else {
		return rtnl_fail(q, -EINVAL, "Neither ifindex nor a valid name given");
	}
	struct nlbuf b = { 0 };
	if (!idx || !rtnl_link_fill(nl, &b, idx, RTM_NEWLINK, 0, q->hdr.nlmsg_seq, q->s->portid,
				    0)) {
		bool nomem = b.nomem;
		nlbuf_free(&b);
		return nomem ? -ENOMEM : rtnl_fail(q, -ENODEV, "Device not found");
	}
	int r = rtnl_queue_reply(q->s, b.data, b.len);
	nlbuf_free(&b);
	return r;
}

int rtnl_link_set(struct rtnl_req *q)
{
	struct rtnl *nl = q->s->nl;
	struct ifinfomsg ifi;
	if (q->body_len < sizeof(ifi))
		return rtnl_fail(q, -EINVAL, "Invalid header for link request");
	memcpy(&ifi, q->body, sizeof(ifi));
	struct nla tb[IFLA_MAX + 1];
	size_t hl = NLMSG_ALIGN(sizeof(ifi));
	if (nla_parse(q->body + hl, q->body_len > hl ? q->body_len - hl : 0, q->msg, tb,
		      IFLA_MAX) < 0)
		return rtnl_fail(q, -EINVAL, "Malformed attribute");
	char name[IFNAMSIZ];
	bool has_name = attr_name(&tb[IFLA_IFNAME], name);
	if (tb[IFLA_IFNAME].data && !has_name) {
		q->bad_attr = &tb[IFLA_IFNAME];
		return rtnl_fail(q, -EINVAL, "Invalid interface name");
	}
	uint32_t idx = 0;
	if (ifi.ifi_index > 0) {
		idx = (uint32_t)ifi.ifi_index;
		if (idx != IP_LOOPBACK_IFINDEX && !ip_router_netif_by_index(nl->router, idx))
			return rtnl_fail(q, -ENODEV, "Device not found");
	} else if (has_name) {
		idx = ifindex_by_name(nl, name);
	}
	bool create = q->hdr.nlmsg_type == RTM_NEWLINK && (q->hdr.nlmsg_flags & NLM_F_CREATE);
	if (!idx)
		return create ? rtnl_fail(q, -EOPNOTSUPP,
					  "Creating interfaces is not supported: add a wg-quick file to rrouted's configuration")
			      : rtnl_fail(q, -ENODEV, "Device not found");
	if (create && (q->hdr.nlmsg_flags & NLM_F_EXCL))
		return rtnl_fail(q, -EEXIST, "Device already exists");
	struct netif *nif = ip_router_netif_by_index(nl->router, idx);
	const char *cur_name = nif ? nif->name : "lo";
	if (has_name && strcmp(name, cur_name) != 0)
		return rtnl_fail(q, -EOPNOTSUPP, "Interfaces cannot be renamed");

	/* Refuse anything we cannot do before changing anything. */
	for (unsigned t = 1; t <= IFLA_MAX; t++) {
		if (!tb[t].data || t == IFLA_IFNAME || t == IFLA_MTU || t == IFLA_EXT_MASK)
			continue;
		q->bad_attr = &tb[t];
		return rtnl_fail(q, -EOPNOTSUPP, "Only the MTU and the up state can be changed");
	}
	uint32_t cur_flags = nif ? WG_FLAGS : LO_FLAGS;
	if (ifi.ifi_flags || ifi.ifi_change) {
		/* rtnl_dev_combine_flags; a zero ifi_change (old tools) is read as "up only". */
		uint32_t mask = ifi.ifi_change ? ifi.ifi_change : IFF_UP;
		uint32_t want = (ifi.ifi_flags & mask) | (cur_flags & ~mask);
		if ((want ^ cur_flags) & USER_FLAGS & IFF_UP)
			return rtnl_fail(q, -EOPNOTSUPP,
					 "rrouted's interfaces are always up: remove the interface from the configuration instead");
		if ((want ^ cur_flags) & USER_FLAGS)
			return rtnl_fail(q, -EOPNOTSUPP, "Only the up flag can be set");
	}
	uint32_t mtu;
	if (tb[IFLA_MTU].data) {
		if (!nla_get_u32(&tb[IFLA_MTU], &mtu)) {
			q->bad_attr = &tb[IFLA_MTU];
			return rtnl_fail(q, -EINVAL, "Invalid IFLA_MTU attribute");
		}
		if (!nif) {
			if (mtu != LO_MTU)
				return rtnl_fail(q, -EOPNOTSUPP, "The loopback MTU cannot be changed");
		} else if (mtu < MTU_MIN) {
			q->bad_attr = &tb[IFLA_MTU];
			return rtnl_fail(q, -EINVAL, "mtu less than device minimum");
		} else if (mtu > MTU_MAX) {
			q->bad_attr = &tb[IFLA_MTU];
			return rtnl_fail(q, -EINVAL, "mtu greater than device maximum");
		} else if (mtu != nif->mtu) {
			nif->mtu = (uint16_t)mtu;
			struct nlbuf b = { 0 };
			if (rtnl_link_fill(nl, &b, idx, RTM_NEWLINK, 0, 0, 0, 0))
				rtnl_notify(nl, RTNLGRP_LINK, &b, false);
			nlbuf_free(&b);
		}
	}
	return 0;
}

void rtnl_link_observer(void *ctx, enum ip_link_event ev, struct netif *nif)
{
	struct rtnl *nl = ctx;
	struct nlbuf b = { 0 };
	if (ev == IP_LINK_REMOVING) {
		/* As the kernel: the addresses go first, then the link (its routes follow). */
		for (size_t i = nif->n_addrs; i-- > 0;)
			rtnl_addr_notify(nl, nif, i, RTM_DELADDR);
		if (rtnl_link_fill(nl, &b, nif->ifindex, RTM_DELLINK, 0, 0, 0, 0))
			rtnl_notify(nl, RTNLGRP_LINK, &b, false);
	} else if (rtnl_link_fill(nl, &b, nif->ifindex, RTM_NEWLINK, 0, 0, 0,
				  ev == IP_LINK_ADDED ? ~0u : 0)) {
		rtnl_notify(nl, RTNLGRP_LINK, &b, false);
	}
	nlbuf_free(&b);
}
