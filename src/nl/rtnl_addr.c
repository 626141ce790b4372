/*
 * Addresses: each netif's addrs (with their point-to-point peers); lo shows
 * 127.0.0.1/8 and ::1/128 (the host's, never the router's: the shim keeps
 * loopback traffic on the host) before the node addresses added to it.
 */
#include <errno.h>
#include <linux/if_addr.h>
#include <string.h>

#include "nl/rtnl_internal.h"

#define LIFE_FOREVER 0xffffffffu

/* One address as the message describes it. */
struct addr_view {
	uint32_t ifindex;
	const char *label;
	struct ip_prefix local;      /* len: the prefix length reported (the peer's if any) */
	struct ip_addr peer;         /* family 0 if none */
	bool loopback;
};

static void addr_fill(struct nlbuf *b, const struct addr_view *v, uint16_t type, uint16_t flags,
		      uint32_t seq, uint32_t portid)
{
	int fam = v->local.addr.family;
	uint32_t aflags = IFA_F_PERMANENT | (fam == AF_INET6 ? IFA_F_NODAD : 0);
	uint8_t scope = v->loopback ? RT_SCOPE_HOST
			: ip_addr_is_link_local(&v->local.addr) ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	struct ifaddrmsg ifa = { .ifa_family = (uint8_t)fam, .ifa_prefixlen = v->local.len,
				 .ifa_flags = (uint8_t)aflags, .ifa_scope = scope,
				 .ifa_index = v->ifindex };
	size_t off = nlmsg_begin(b, type, flags, seq, portid, &ifa, sizeof(ifa));
	if (fam == AF_INET) {
		nla_put_addr(b, IFA_ADDRESS, v->peer.family ? &v->peer : &v->local.addr);
		nla_put_addr(b, IFA_LOCAL, &v->local.addr);
		nla_put_str(b, IFA_LABEL, v->label);
	} else if (v->peer.family) {
		nla_put_addr(b, IFA_LOCAL, &v->local.addr);
		nla_put_addr(b, IFA_ADDRESS, &v->peer);
	} else {
		nla_put_addr(b, IFA_ADDRESS, &v->local.addr);
	}
	nla_put_u32(b, IFA_FLAGS, aflags);
	struct ifa_cacheinfo ci = { .ifa_prefered = LIFE_FOREVER, .ifa_valid = LIFE_FOREVER };
	nla_put(b, IFA_CACHEINFO, &ci, sizeof(ci));
	nlmsg_end(b, off);
}

static bool lo_view(int family, struct addr_view *v)
{
	*v = (struct addr_view){ .ifindex = IP_LOOPBACK_IFINDEX, .label = "lo", .loopback = true };
	if (family == AF_INET) {
		static const uint8_t a[4] = { 127, 0, 0, 1 };
		ip_addr_from_v4(&v->local.addr, a);
		v->local.len = 8;
	} else {
		static const uint8_t a[16] = { [15] = 1 };
		ip_addr_from_v6(&v->local.addr, a);
		v->local.len = 128;
	}
	return true;
}

static bool is_host_loopback(const struct ip_addr *a)
{
	if (a->family == AF_INET)
		return a->bytes[0] == 127;
	return IN6_IS_ADDR_LOOPBACK(&a->v6);
}

static void netif_view(const struct netif *nif, size_t i, struct addr_view *v)
{
	*v = (struct addr_view){ .ifindex = nif->ifindex, .label = nif->name,
				 .local = nif->addrs[i] };   /* scope global, even on lo */
	if (nif->addr_peers && nif->addr_peers[i].addr.family) {
		v->peer = nif->addr_peers[i].addr;
		v->local.len = nif->addr_peers[i].len;
	}
}

static int parse_dump_req(struct rtnl_req *q, int *family, uint32_t *ifindex)
{
	struct ifaddrmsg ifa;
	*ifindex = 0;
	if (q->body_len < sizeof(ifa)) {
		if (q->s->strict)
			return rtnl_fail(q, -EINVAL, "Invalid header for address dump request");
		*family = ((const struct rtgenmsg *)q->body)->rtgen_family;
		return 0;
	}
	memcpy(&ifa, q->body, sizeof(ifa));
	*family = ifa.ifa_family;
	if (!q->s->strict)
		return 0;
	if (ifa.ifa_prefixlen || ifa.ifa_flags || ifa.ifa_scope)
		return rtnl_fail(q, -EINVAL, "Invalid values in header for address dump request");
	if (ifa.ifa_index) {
		if (!ip_router_netif_by_index(q->s->nl->router, ifa.ifa_index))
			return rtnl_fail(q, -ENODEV, "Device not found");
		*ifindex = ifa.ifa_index;
	}
	struct nla tb[IFA_MAX + 1];
	int attrs_err = rtnl_req_attrs(q, sizeof(ifa), tb, IFA_MAX,
				       "Malformed attribute in address dump request");
	if (attrs_err)
		return attrs_err;
	for (unsigned t = 1; t <= IFA_MAX; t++)
		if (tb[t].data && t != IFA_TARGET_NETNSID) {
			q->bad_attr = &tb[t];
			return rtnl_fail(q, -EINVAL, "Unsupported attribute in dump request");
		}
	return 0;
}

int rtnl_addr_get(struct rtnl_req *q)
{
	if ((q->hdr.nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP)
		return rtnl_fail(q, -EOPNOTSUPP, "Address get is not supported: dump instead");
	int family;
	uint32_t only;
	int e = parse_dump_req(q, &family, &only);
	if (e)
		return e;
	const struct ip_router *r = q->s->nl->router;
	struct rtnl_dump d;
	rtnl_dump_init(&d, q);
	struct nlbuf b = { 0 };
	static const int fams[] = { AF_INET, AF_INET6 };
	for (size_t f = 0; f < 2; f++) {
		int fam = fams[f];
		if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
			family = AF_UNSPEC;   /* rtnetlink falls back to dumping all */
		if (family != AF_UNSPEC && family != fam)
			continue;
		struct addr_view v;
		for (size_t n = 0; n < r->n_netifs; n++) {
			const struct netif *nif = r->netifs[n];
			if (only && nif->ifindex != only)
				continue;
			if (nif->ops->kind == NETIF_KIND_LOOPBACK && lo_view(fam, &v)) {
				b.len = 0;
				addr_fill(&b, &v, RTM_NEWADDR, NLM_F_MULTI, q->hdr.nlmsg_seq,
					  q->s->portid);
				rtnl_dump_add(&d, b.data, b.len);
			}
			for (size_t i = 0; i < nif->n_addrs; i++) {
				if (nif->addrs[i].addr.family != fam)
					continue;
				netif_view(nif, i, &v);
				b.len = 0;
				addr_fill(&b, &v, RTM_NEWADDR, NLM_F_MULTI, q->hdr.nlmsg_seq,
					  q->s->portid);
				rtnl_dump_add(&d, b.data, b.len);
			}
		}
	}
	if (b.nomem)
		d.nomem = true;
	nlbuf_free(&b);
	return rtnl_dump_finish(&d) < 0 ? -ENOMEM : RTNL_DONE;
}

/* What NEWADDR/DELADDR ask for. */
static size_t find_addr(const struct netif *nif, const struct ip_addr *addr)
{
	size_t i;
	for (i = 0; i < nif->n_addrs; i++)
		if (ip_addr_equal(&nif->addrs[i].addr, addr))
			break;
	return i;
}

struct addr_req {
	struct netif *nif;
	struct ip_prefix local;
	struct ip_prefix peer;       /* family 0 if none */
	size_t index;                /* of local among nif's addresses; nif->n_addrs: not there */
};

static int parse_change(struct rtnl_req *q, struct addr_req *a)
{
	struct ifaddrmsg ifa;
	if (q->body_len < sizeof(ifa))
		return rtnl_fail(q, -EINVAL, "Invalid header for address request");
	memcpy(&ifa, q->body, sizeof(ifa));
	int fam = ifa.ifa_family;
	if (fam != AF_INET && fam != AF_INET6)
		return rtnl_fail(q, -EAFNOSUPPORT, "Only IPv4 and IPv6 addresses");
	if (ifa.ifa_prefixlen > ip_family_bits(fam))
		return rtnl_fail(q, -EINVAL, "Invalid prefix length");
	struct nla tb[IFA_MAX + 1];
	int attrs_err = rtnl_req_attrs(q, sizeof(ifa), tb, IFA_MAX, "Malformed attribute");
	if (attrs_err)
		return attrs_err;
	struct ip_addr local = { 0 }, address = { 0 };
	if (tb[IFA_LOCAL].data && !nla_get_addr(&tb[IFA_LOCAL], fam, &local)) {
		q->bad_attr = &tb[IFA_LOCAL];
		return rtnl_fail(q, -EINVAL, "Invalid IFA_LOCAL attribute");
	}
	if (tb[IFA_ADDRESS].data && !nla_get_addr(&tb[IFA_ADDRESS], fam, &address)) {
		q->bad_attr = &tb[IFA_ADDRESS];
		return rtnl_fail(q, -EINVAL, "Invalid IFA_ADDRESS attribute");
	}
	if (!local.family && !address.family)
		return rtnl_fail(q, -EINVAL, "Missing address (IFA_LOCAL or IFA_ADDRESS)");
	*a = (struct addr_req){ 0 };
	/* IFA_LOCAL is ours; an IFA_ADDRESS that differs is the far end (extract_addr). */
	a->local.addr = local.family ? local : address;
	a->local.len = ifa.ifa_prefixlen;
	if (local.family && address.family && !ip_addr_equal(&local, &address))
		a->peer = (struct ip_prefix){ .addr = address, .len = ifa.ifa_prefixlen };
	a->nif = ip_router_netif_by_index(q->s->nl->router, ifa.ifa_index);
	if (!a->nif)
		return rtnl_fail(q, -ENODEV, "Device not found");
	if (a->nif->ops->kind == NETIF_KIND_LOOPBACK && is_host_loopback(&a->local.addr))
		return rtnl_fail(q, -EOPNOTSUPP,
				 "127.0.0.0/8 and ::1 belong to the host: traffic to them never enters the router");
	a->index = find_addr(a->nif, &a->local.addr);
	return 0;
}

/* Sends an address message b to the group of its family's address changes. */
static void notify_addr_msg(struct rtnl *nl, int fam, struct nlbuf *b)
{
	/* IPv4 notifications name the request (rtmsg_ifa); IPv6 ones do not. */
	rtnl_notify(nl, fam == AF_INET ? RTNLGRP_IPV4_IFADDR : RTNLGRP_IPV6_IFADDR, b,
		    fam == AF_INET);
}

void rtnl_addr_notify(struct rtnl *nl, const struct netif *nif, size_t i, uint16_t type)
{
	struct addr_view v;
	netif_view(nif, i, &v);
	struct nlbuf b = { 0 };
	addr_fill(&b, &v, type, 0, 0, 0);
	notify_addr_msg(nl, v.local.addr.family, &b);
	nlbuf_free(&b);
}

void rtnl_address_changed(struct rtnl *nl, const struct netif *nif, const struct ip_addr *addr,
			  bool added)
{
	size_t i = find_addr(nif, addr);
	if (i < nif->n_addrs)
		rtnl_addr_notify(nl, nif, i, added ? RTM_NEWADDR : RTM_DELADDR);
}

int rtnl_addr_new(struct rtnl_req *q)
{
	struct addr_req a;
	int e = parse_change(q, &a);
	if (e)
		return e;
	struct rtnl *nl = q->s->nl;
	size_t i = a.index;
	if (i < a.nif->n_addrs) {
		if (!(q->hdr.nlmsg_flags & NLM_F_REPLACE) || (q->hdr.nlmsg_flags & NLM_F_EXCL))
			return rtnl_fail(q, -EEXIST, "Address already assigned");
		struct addr_view v;
		netif_view(a.nif, i, &v);
		if (v.local.len == a.local.len && ip_addr_equal(&v.peer, &a.peer.addr))
			return 0;
		rtnl_addr_notify(nl, a.nif, i, RTM_DELADDR);
		ip_router_del_address(nl->router, a.nif, &a.local);
	} else if (!(q->hdr.nlmsg_flags & NLM_F_CREATE)) {
		return rtnl_fail(q, -ENOENT, "Address not found and NLM_F_CREATE not set");
	}
	e = ip_router_add_address(nl->router, a.nif, &a.local, a.peer.addr.family ? &a.peer : NULL);
	if (e == -ENOMEM)
		return e;
	if (e < 0)
		return rtnl_fail(q, e, "Cannot add the address");
	rtnl_addr_notify(nl, a.nif, a.nif->n_addrs - 1, RTM_NEWADDR);
	return 0;
}

int rtnl_addr_del(struct rtnl_req *q)
{
	struct addr_req a;
	int e = parse_change(q, &a);
	if (e)
		return e;
	if (a.index == a.nif->n_addrs)
		return rtnl_fail(q, -EADDRNOTAVAIL, "Address not found");
	struct rtnl *nl = q->s->nl;
	struct addr_view v;
	netif_view(a.nif, a.index, &v);
	struct nlbuf b = { 0 };
	addr_fill(&b, &v, RTM_DELADDR, 0, 0, 0);
	ip_router_del_address(nl->router, a.nif, &a.local);
	notify_addr_msg(nl, a.local.addr.family, &b);
	nlbuf_free(&b);
	return 0;
}
