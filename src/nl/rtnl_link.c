/*
 * Links: the router's netifs ("lo" at ifindex 1, wireguard devices, dummies),
 * shown as the kernel shows them; created (registered kinds), deleted, set up
 * or down and resized by iproute2 and wg-quick.
 */
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <string.h>

#include "ip/dummy.h"
#include "nl/rtnl_internal.h"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

/* linux/if.h's IF_OPER_* (that header clashes with net/if.h). */
#define OPER_UNKNOWN 0
#define OPER_DOWN 2

#define UP_FLAGS (IFF_UP | IFF_RUNNING | IFF_LOWER_UP)
#define LO_MTU 65536
#define TXQLEN 1000

/* Flags a user may change with dev_change_flags (the rest are the driver's). */
#define USER_FLAGS (IFF_UP | IFF_DEBUG | IFF_NOTRAILERS | IFF_NOARP | IFF_DYNAMIC | \
		    IFF_MULTICAST | IFF_PORTSEL | IFF_AUTOMEDIA | IFF_PROMISC | IFF_ALLMULTI)

/* What each kind of link looks like to rtnetlink, and the MTUs it accepts. */
struct link_look {
	uint16_t arphrd;
	uint32_t flags;            /* besides UP_FLAGS */
	uint32_t min_mtu, max_mtu; /* what IFLA_MIN/MAX_MTU report (0: none) */
	uint32_t mtu_lo, mtu_hi;   /* what a request may set */
	bool has_kind;             /* IFLA_INFO_KIND (lo has none) */
};

static struct link_look link_look(enum netif_kind kind)
{
	switch (kind) {
	case NETIF_KIND_LOOPBACK:
		return (struct link_look){ ARPHRD_LOOPBACK, IFF_LOOPBACK, 0, 0, LO_MTU, LO_MTU,
					   false };
	case NETIF_KIND_DUMMY:
		/* Linux's dummy has no MTU limits; ours stops at what a packet can be. */
		return (struct link_look){ ARPHRD_ETHER, IFF_BROADCAST | IFF_NOARP, 0, 0, 68,
					   UINT16_MAX, true };
	case NETIF_KIND_WIREGUARD:
		break;
	}
	/* The packet buffers hold at most 1920 bytes of plaintext. */
	return (struct link_look){ ARPHRD_NONE, IFF_POINTOPOINT | IFF_NOARP, 1280, 1920, 1280,
				   1920, true };
}

static uint32_t link_flags(const struct netif *nif)
{
	return link_look(nif->ops->kind).flags | (nif->down ? 0 : UP_FLAGS);
}

static void put_stats(struct nlbuf *b, const struct netif *nif)
{
	struct rtnl_link_stats64 st = { 0 };
	if (nif) {
		st.rx_packets = nif->stats.rx_packets;
		st.rx_bytes = nif->stats.rx_bytes;
		st.tx_packets = nif->stats.tx_packets;
		st.tx_bytes = nif->stats.tx_bytes;
		for (unsigned i = 0; i < DROP_MAX; i++) {
			if (netif_drop_is_rx(nif, i))
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
	struct netif *nif = ip_router_netif_by_index(nl->router, ifindex);
	if (!nif)
		return false;
	struct link_look look = link_look(nif->ops->kind);
	bool lo = nif->ops->kind == NETIF_KIND_LOOPBACK;
	struct ifinfomsg ifi = {
		.ifi_family = AF_UNSPEC,
		.ifi_type = look.arphrd,
		.ifi_index = (int)ifindex,
		.ifi_flags = link_flags(nif),
		.ifi_change = change,
	};
	size_t off = nlmsg_begin(b, type, flags, seq, portid, &ifi, sizeof(ifi));
	nla_put_str(b, IFLA_IFNAME, nif->name);
	nla_put_u32(b, IFLA_TXQLEN, lo ? 1000 : TXQLEN);
	nla_put_u8(b, IFLA_OPERSTATE, nif->down ? OPER_DOWN : OPER_UNKNOWN);
	nla_put_u8(b, IFLA_LINKMODE, 0);
	nla_put_u32(b, IFLA_MTU, lo ? LO_MTU : nif->mtu);
	nla_put_u32(b, IFLA_MIN_MTU, look.min_mtu);
	nla_put_u32(b, IFLA_MAX_MTU, look.max_mtu);
	nla_put_u32(b, IFLA_GROUP, 0);
	nla_put_u32(b, IFLA_PROMISCUITY, 0);
	nla_put_u32(b, IFLA_NUM_TX_QUEUES, 1);
	nla_put_u32(b, IFLA_NUM_RX_QUEUES, 1);
	nla_put_u8(b, IFLA_CARRIER, !nif->down);
	nla_put_u32(b, IFLA_CARRIER_CHANGES, 0);
	nla_put_u8(b, IFLA_PROTO_DOWN, 0);
	nla_put_str(b, IFLA_QDISC, "noqueue");
	if (look.arphrd == ARPHRD_LOOPBACK) {
		static const uint8_t zero_mac[6];
		nla_put(b, IFLA_ADDRESS, zero_mac, sizeof(zero_mac));
		nla_put(b, IFLA_BROADCAST, zero_mac, sizeof(zero_mac));
	} else if (look.arphrd == ARPHRD_ETHER) {
		/* A locally administered address made from the ifindex: stable, unique here. */
		uint8_t mac[6] = { 0x02, 'r', 'r', (uint8_t)(ifindex >> 16), (uint8_t)(ifindex >> 8),
				   (uint8_t)ifindex };
		static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
		nla_put(b, IFLA_ADDRESS, mac, sizeof(mac));
		nla_put(b, IFLA_BROADCAST, bcast, sizeof(bcast));
	}
	put_stats(b, nif);
	if (look.has_kind) {
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
	/* No link has a master; lo has no kind. */
	bool any = master == 0;
	for (size_t i = 0; any && i < nl->router->n_netifs; i++) {
		const struct netif *nif = nl->router->netifs[i];
		uint32_t idx = nif->ifindex;
		if (kind && (!link_look(nif->ops->kind).has_kind ||
			     strcmp(kind, netif_kind_name(nif->ops->kind)) != 0))
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
	int attrs_err = rtnl_req_attrs(q, sizeof(ifi), tb, IFLA_MAX, "Malformed attribute");
	if (attrs_err)
		return attrs_err;
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

/* The IFLA_INFO_KIND inside IFLA_LINKINFO into out ("" if none). -EINVAL if malformed. */
static int linkinfo_kind(struct rtnl_req *q, const struct nla *linkinfo, char out[16],
			 bool *has_data)
{
	out[0] = '\0';
	*has_data = false;
	if (!linkinfo->data)
		return 0;
	struct nla li[IFLA_INFO_MAX + 1];
	if (nla_parse(linkinfo->data, linkinfo->len, q->msg, li, IFLA_INFO_MAX) < 0) {
		q->bad_attr = linkinfo;
		return rtnl_fail(q, -EINVAL, "Malformed IFLA_LINKINFO");
	}
	*has_data = li[IFLA_INFO_DATA].data || li[IFLA_INFO_SLAVE_DATA].data;
	const struct nla *k = &li[IFLA_INFO_KIND];
	if (!k->data)
		return 0;
	size_t n = strnlen((const char *)k->data, k->len);
	if (n >= 16) {
		q->bad_attr = k;
		return rtnl_fail(q, -EINVAL, "Invalid IFLA_INFO_KIND");
	}
	memcpy(out, k->data, n);
	out[n] = '\0';
	return 0;
}

/* dev_valid_name: not empty, not "." or "..", no '/', ':' or white space. */
static bool valid_ifname(const char *name)
{
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (const char *c = name; *c; c++)
		if (*c == '/' || *c == ':' || *c == ' ' || (*c >= '\t' && *c <= '\r'))
			return false;
	return true;
}

/*
 * dev_alloc_name: pattern (kind "%d" when NULL) with its one "%d" replaced by
 * the lowest number no interface uses. -EINVAL for a bad pattern, -ENFILE
 * when none is free.
 */
static int expand_ifname(const struct ip_router *r, const char *pattern, const char *kind,
			 char out[IFNAMSIZ])
{
	char pat[IFNAMSIZ];
	if (!pattern) {
		if (!kind[0] || snprintf(pat, sizeof(pat), "%s%%d", kind) >= (int)sizeof(pat))
			return -EINVAL;
		pattern = pat;
	}
	const char *pct = strchr(pattern, '%');
	if (!pct || pct[1] != 'd' || strchr(pct + 1, '%'))
		return -EINVAL;
	for (unsigned i = 0; i < 32768; i++) {
		int n = snprintf(out, IFNAMSIZ, "%.*s%u%s", (int)(pct - pattern), pattern, i, pct + 2);
		if (n < 0 || n >= IFNAMSIZ)
			return -EINVAL;
		if (!ip_router_netif_by_name(r, out))
			return 0;
	}
	return -ENFILE;
}

/* The up state the request asks for, given the current one (rtnl_dev_combine_flags). */
static int wanted_up(struct rtnl_req *q, const struct ifinfomsg *ifi, uint32_t cur_flags,
		     bool *up)
{
	*up = cur_flags & IFF_UP;
	if (!ifi->ifi_flags && !ifi->ifi_change)
		return 0;
	/* A zero ifi_change (old tools) is read as "up only". */
	uint32_t mask = ifi->ifi_change ? ifi->ifi_change : IFF_UP;
	uint32_t want = (ifi->ifi_flags & mask) | (cur_flags & ~mask);
	if ((want ^ cur_flags) & USER_FLAGS & ~(uint32_t)IFF_UP)
		return rtnl_fail(q, -EOPNOTSUPP, "Only the up flag can be set");
	*up = want & IFF_UP;
	return 0;
}

static int check_mtu(struct rtnl_req *q, const struct nla *a, enum netif_kind kind, uint32_t *mtu)
{
	if (!nla_get_u32(a, mtu)) {
		q->bad_attr = a;
		return rtnl_fail(q, -EINVAL, "Invalid IFLA_MTU attribute");
	}
	struct link_look look = link_look(kind);
	if (kind == NETIF_KIND_LOOPBACK && *mtu != LO_MTU)
		return rtnl_fail(q, -EOPNOTSUPP, "The loopback MTU cannot be changed");
	if (*mtu < look.mtu_lo) {
		q->bad_attr = a;
		return rtnl_fail(q, -EINVAL, "mtu less than device minimum");
	}
	if (*mtu > look.mtu_hi) {
		q->bad_attr = a;
		return rtnl_fail(q, -EINVAL, "mtu greater than device maximum");
	}
	return 0;
}

struct netif *rtnl_dummy_create(void *ctx, const char *name, int *err)
{
	struct ip_router *r = ctx;
	struct netif *nif = dummy_new(name);
	if (!nif) {
		*err = -ENOMEM;
		return NULL;
	}
	int e = ip_router_add_netif(r, nif);
	if (e < 0) {
		nif->ops->destroy(nif);
		*err = e;
		return NULL;
	}
	return nif;
}

int rtnl_register_link_kind(struct rtnl *nl, const char *kind, rtnl_link_create_fn create,
			    void *ctx)
{
	if (strlen(kind) >= sizeof(nl->kinds[0].name))
		return -EINVAL;
	for (size_t i = 0; i < nl->n_kinds; i++)
		if (strcmp(nl->kinds[i].name, kind) == 0)
			return -EEXIST;
	if (nl->n_kinds == RTNL_LINK_KINDS_MAX)
		return -ENOSPC;
	struct rtnl_link_kind *k = &nl->kinds[nl->n_kinds++];
	snprintf(k->name, sizeof(k->name), "%s", kind);
	k->create = create;
	k->ctx = ctx;
	return 0;
}

static enum netif_kind kind_of_name(const char *kind)
{
	return strcmp(kind, "dummy") == 0 ? NETIF_KIND_DUMMY : NETIF_KIND_WIREGUARD;
}

/* "ip link add NAME type KIND [mtu N] [up]". */
static int link_create(struct rtnl_req *q, const struct ifinfomsg *ifi, struct nla *tb,
		       const char *name)
{
	struct rtnl *nl = q->s->nl;
	char kind[16];
	bool has_data;
	int e = linkinfo_kind(q, &tb[IFLA_LINKINFO], kind, &has_data);
	if (e)
		return e;
	char named[IFNAMSIZ];
	if (!name || strchr(name, '%')) {
		/* "ip link add type dummy" -> dummy0; "wg%d" -> wg0: the first free number. */
		if ((e = expand_ifname(nl->router, name, kind, named)) < 0)
			return rtnl_fail(q, e, "Invalid interface name pattern");
		name = named;
	}
	if (!valid_ifname(name)) {
		q->bad_attr = &tb[IFLA_IFNAME];
		return rtnl_fail(q, -EINVAL, "Invalid interface name");
	}
	const struct rtnl_link_kind *k = NULL;
	for (size_t i = 0; i < nl->n_kinds; i++)
		if (strcmp(nl->kinds[i].name, kind) == 0)
			k = &nl->kinds[i];
	if (!k)
		return rtnl_fail(q, -EOPNOTSUPP, kind[0] ? "Unknown device type"
							 : "Interfaces of this kind cannot be created here");
	if (has_data) {
		q->bad_attr = &tb[IFLA_LINKINFO];
		return rtnl_fail(q, -EOPNOTSUPP, "Options for this kind are not supported");
	}
	for (unsigned t = 1; t <= IFLA_MAX; t++) {
		if (!tb[t].data || t == IFLA_IFNAME || t == IFLA_MTU || t == IFLA_EXT_MASK ||
		    t == IFLA_LINKINFO || t == IFLA_TXQLEN)
			continue;
		q->bad_attr = &tb[t];
		return rtnl_fail(q, -EOPNOTSUPP, "Attribute not supported for a new link");
	}
	uint32_t mtu = 0;
	if (tb[IFLA_MTU].data && (e = check_mtu(q, &tb[IFLA_MTU], kind_of_name(kind), &mtu)))
		return e;
	bool up;
	if ((e = wanted_up(q, ifi, 0, &up)))
		return e;

	/* One RTM_NEWLINK, after the link has its final flags and MTU. */
	nl->creating_link = true;
	int err = -ENOMEM;
	struct netif *nif = k->create(k->ctx, name, &err);
	if (!nif) {
		nl->creating_link = false;
		return err == -EEXIST ? -EEXIST
				      : rtnl_fail(q, err < 0 ? err : -ENOMEM, "Cannot create the link");
	}
	if (mtu)
		nif->mtu = (uint16_t)mtu;
	ip_router_set_up(nl->router, nif, up);   /* the links it creates start down, as on Linux */
	nl->creating_link = false;
	struct nlbuf b = { 0 };
	if (rtnl_link_fill(nl, &b, nif->ifindex, RTM_NEWLINK, 0, 0, 0, ~0u))
		rtnl_notify(nl, RTNLGRP_LINK, &b, false);
	nlbuf_free(&b);
	return 0;
}

/* The header and attributes of a request that changes or deletes a link. 0 or -errno. */
static int link_change_parse(struct rtnl_req *q, struct ifinfomsg *ifi, struct nla tb[IFLA_MAX + 1])
{
	if (q->body_len < sizeof(*ifi))
		return rtnl_fail(q, -EINVAL, "Invalid header for link request");
	memcpy(ifi, q->body, sizeof(*ifi));
	return rtnl_req_attrs(q, sizeof(*ifi), tb, IFLA_MAX, "Malformed attribute");
}

int rtnl_link_set(struct rtnl_req *q)
{
	struct rtnl *nl = q->s->nl;
	struct ifinfomsg ifi;
	struct nla tb[IFLA_MAX + 1];
	int e = link_change_parse(q, &ifi, tb);
	if (e)
		return e;
	char name[IFNAMSIZ];
	bool has_name = attr_name(&tb[IFLA_IFNAME], name);
	if (tb[IFLA_IFNAME].data && !has_name) {
		q->bad_attr = &tb[IFLA_IFNAME];
		return rtnl_fail(q, -EINVAL, "Invalid interface name");
	}
	struct netif *nif = NULL;
	if (ifi.ifi_index > 0) {
		nif = ip_router_netif_by_index(nl->router, (uint32_t)ifi.ifi_index);
		if (!nif)
			return rtnl_fail(q, -ENODEV, "Device not found");
	} else if (has_name) {
		nif = ip_router_netif_by_name(nl->router, name);
	}
	bool newlink = q->hdr.nlmsg_type == RTM_NEWLINK;
	if (!nif) {
		if (newlink && (q->hdr.nlmsg_flags & NLM_F_CREATE))
			return link_create(q, &ifi, tb, has_name ? name : NULL);
		return rtnl_fail(q, -ENODEV, "Device not found");
	}
	if (newlink && (q->hdr.nlmsg_flags & NLM_F_EXCL))
		return -EEXIST;   /* the kernel's plain "File exists", no extended message */
	if (has_name && strcmp(name, nif->name) != 0)
		return rtnl_fail(q, -EOPNOTSUPP, "Interfaces cannot be renamed");

	/* Refuse anything we cannot do before changing anything. */
	for (unsigned t = 1; t <= IFLA_MAX; t++) {
		if (!tb[t].data || t == IFLA_IFNAME || t == IFLA_MTU || t == IFLA_EXT_MASK ||
		    t == IFLA_LINKINFO)
			continue;
		q->bad_attr = &tb[t];
		return rtnl_fail(q, -EOPNOTSUPP, "Only the MTU and the up state can be changed");
	}
	if (tb[IFLA_LINKINFO].data) {
		char kind[16];
		bool has_data;
		e = linkinfo_kind(q, &tb[IFLA_LINKINFO], kind, &has_data);
		if (e)
			return e;
		struct link_look look = link_look(nif->ops->kind);
		if (has_data || (kind[0] && (!look.has_kind ||
					     strcmp(kind, netif_kind_name(nif->ops->kind)) != 0))) {
			q->bad_attr = &tb[IFLA_LINKINFO];
			return rtnl_fail(q, -EOPNOTSUPP, "The kind of a link cannot be changed");
		}
	}
	bool up;
	e = wanted_up(q, &ifi, link_flags(nif), &up);
	if (e)
		return e;
	if (!up && nif->ops->kind == NETIF_KIND_LOOPBACK)
		return rtnl_fail(q, -EOPNOTSUPP, "lo is always up in rrouted");
	uint32_t mtu = nif->ops->kind == NETIF_KIND_LOOPBACK ? LO_MTU : nif->mtu;
	if (tb[IFLA_MTU].data && (e = check_mtu(q, &tb[IFLA_MTU], nif->ops->kind, &mtu)))
		return e;

	bool mtu_changed = nif->ops->kind != NETIF_KIND_LOOPBACK && mtu != nif->mtu;
	if (mtu_changed)
		nif->mtu = (uint16_t)mtu;
	if (up == nif->down)
		ip_router_set_up(nl->router, nif, up);   /* tells the observer, new MTU included */
	else if (mtu_changed)
		ip_router_netif_changed(nl->router, nif);
	return 0;
}

/* "ip link del NAME": the interface goes with its addresses and routes (notified). */
int rtnl_link_del(struct rtnl_req *q)
{
	struct rtnl *nl = q->s->nl;
	struct ifinfomsg ifi;
	struct nla tb[IFLA_MAX + 1];
	int e = link_change_parse(q, &ifi, tb);
	if (e)
		return e;
	char name[IFNAMSIZ];
	struct netif *nif = NULL;
	if (ifi.ifi_index > 0)
		nif = ip_router_netif_by_index(nl->router, (uint32_t)ifi.ifi_index);
	else if (attr_name(&tb[IFLA_IFNAME], name) || attr_name(&tb[IFLA_ALT_IFNAME], name))
		nif = ip_router_netif_by_name(nl->router, name);
	else
		return rtnl_fail(q, -EINVAL, "Neither ifindex nor a valid name given");
	if (!nif)
		return rtnl_fail(q, -ENODEV, "Device not found");
	if (nif->ops->kind == NETIF_KIND_LOOPBACK)
		return -EOPNOTSUPP;   /* as the kernel: lo has no dellink */
	ip_router_destroy_netif(nl->router, nif);
	return 0;
}

void rtnl_link_observer(void *ctx, enum ip_link_event ev, struct netif *nif)
{
	struct rtnl *nl = ctx;
	if (nl->creating_link && ev != IP_LINK_REMOVING)
		return;   /* link_create sends the one RTM_NEWLINK */
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
	/* A link that arrives with addresses (a reload's new interface): they follow, as when
	 * wg-quick adds them one by one, so BIRD's direct protocol need not wait for a scan. */
	if (ev == IP_LINK_ADDED)
		for (size_t i = 0; i < nif->n_addrs; i++)
			rtnl_addr_notify(nl, nif, i, RTM_NEWADDR);
	nlbuf_free(&b);
}
