/*
 * Routes: the FIB, every table, as RTM_NEWROUTE messages; route changes and
 * lookups (ip route get) checked the way Linux's IPv4/IPv6 code checks them,
 * with the same extended-ACK messages where we know them.
 */
#include <errno.h>
#include <string.h>

#include "core/log.h"
#include "nl/rtnl_internal.h"

/* What Linux gives an IPv6 route added without a metric (IP6_RT_PRIO_USER). */
#define IP6_PRIO_USER 1024

int rtnl_type_to_fib(uint8_t rtn)
{
	switch (rtn) {
	case RTN_UNSPEC:
	case RTN_UNICAST: return FIB_TYPE_UNICAST;
	case RTN_UNREACHABLE: return FIB_TYPE_UNREACHABLE;
	case RTN_BLACKHOLE: return FIB_TYPE_BLACKHOLE;
	case RTN_PROHIBIT: return FIB_TYPE_PROHIBIT;
	default: return -1;
	}
}

uint8_t rtnl_type_from_fib(uint8_t t)
{
	switch (t) {
	case FIB_TYPE_UNREACHABLE: return RTN_UNREACHABLE;
	case FIB_TYPE_BLACKHOLE: return RTN_BLACKHOLE;
	case FIB_TYPE_PROHIBIT: return RTN_PROHIBIT;
	default: return RTN_UNICAST;
	}
}

static uint32_t table_of(const struct fib_route *r)
{
	return r->table ? r->table : FIB_TABLE_MAIN;
}

/* The next hop: RTA_GATEWAY of the route's family, RTA_VIA for an IPv6 one of an IPv4 route. */
static void put_gateway(struct nlbuf *b, int family, const struct ip_addr *gw)
{
	if (!gw->family)
		return;
	if (gw->family == family) {
		nla_put_addr(b, RTA_GATEWAY, gw);
		return;
	}
	uint8_t via[2 + 16];
	uint16_t fam = gw->family;
	memcpy(via, &fam, 2);
	memcpy(via + 2, gw->bytes, ip_addr_size(gw));
	nla_put(b, RTA_VIA, via, 2 + ip_addr_size(gw));
}

/*
 * A unicast route given only a gateway (from the configuration) still names
 * a device, as every kernel route does: BIRD drops routes without RTA_OIF.
 */
static uint32_t route_ifindex(const struct fib *fib, const struct fib_route *r)
{
	struct fib_route via;
	if (r->ifindex || r->type != FIB_TYPE_UNICAST || !r->gateway.family || !fib ||
	    fib_lookup(fib, &r->gateway, &via) < 0 || via.type != FIB_TYPE_UNICAST)
		return r->ifindex;
	return via.ifindex;
}

static void route_fill(struct nlbuf *b, const struct fib *fib, const struct fib_route *r,
		       uint16_t type, uint16_t flags, uint32_t seq, uint32_t portid)
{
	int fam = r->prefix.addr.family;
	uint32_t ifindex = route_ifindex(fib, r);
	uint32_t table = table_of(r);
	struct rtmsg rtm = {
		.rtm_family = (uint8_t)fam,
		.rtm_dst_len = r->prefix.len,
		.rtm_table = (uint8_t)(table < 256 ? table : RT_TABLE_COMPAT),
		.rtm_protocol = r->protocol,
		/* Linux keeps no scope for IPv6 routes: always universe. */
		.rtm_scope = fam == AF_INET6 ? RT_SCOPE_UNIVERSE : r->scope,
		.rtm_type = rtnl_type_from_fib(r->type),
	};
	size_t off = nlmsg_begin(b, type, flags, seq, portid, &rtm, sizeof(rtm));
	nla_put_u32(b, RTA_TABLE, table);
	if (r->prefix.len)
		nla_put_addr(b, RTA_DST, &r->prefix.addr);
	if (r->priority || fam == AF_INET6)
		nla_put_u32(b, RTA_PRIORITY, r->priority);
	if (r->prefsrc.family)
		nla_put_addr(b, RTA_PREFSRC, &r->prefsrc);
	put_gateway(b, fam, &r->gateway);
	if (ifindex)
		nla_put_u32(b, RTA_OIF, ifindex);
	if (fam == AF_INET6)
		nla_put_u8(b, RTA_PREF, 0);   /* ICMPV6_ROUTER_PREF_MEDIUM */
	nlmsg_end(b, off);
}

void rtnl_route_observer(void *ctx, int event, const struct fib_route *r)
{
	struct rtnl *nl = ctx;
	nl->route_gen++;
	struct nlbuf b = { 0 };
	route_fill(&b, nl->router->fib, r, event == FIB_ADDED ? RTM_NEWROUTE : RTM_DELROUTE, 0, 0,
		   0);
	rtnl_notify(nl, r->prefix.addr.family == AF_INET ? RTNLGRP_IPV4_ROUTE : RTNLGRP_IPV6_ROUTE,
		    &b, true);
	nlbuf_free(&b);
}

/* ---- dumps ---- */

/*
 * A route dump goes out in pieces of about RTNL_DUMP_PIECE bytes: the first
 * when the request comes, each next one when the reader has taken the one
 * before (rtnl_sock_recv). The FIB walk resumes by position, as the kernel's
 * dump callbacks do by index, so a dump of a large table never sits whole in
 * memory and never holds the loop for long. Routes added or removed meanwhile
 * may be missed or seen twice; the messages after such a change carry
 * NLM_F_DUMP_INTR (and the change itself is multicast), as on Linux.
 */
struct route_filter {
	struct rtnl_dump *d;
	const struct fib *fib;
	struct nlbuf b;
	struct rtnl_route_cursor *c;
	uint16_t flags;
	size_t walked, bytes;
};

static int dump_one(const struct fib_route *r, void *ctx)
{
	struct route_filter *f = ctx;
	const struct rtnl_route_cursor *c = f->c;
	f->walked++;
	if (c->table && table_of(r) != c->table)
		return 0;
	if (c->oif && r->ifindex != c->oif)
		return 0;
	if (c->protocol && r->protocol != c->protocol)
		return 0;
	if (c->type && rtnl_type_from_fib(r->type) != c->type)
		return 0;
	f->b.len = 0;
	route_fill(&f->b, f->fib, r, RTM_NEWROUTE, f->flags, f->d->seq, f->d->s->portid);
	if (f->b.nomem)
		return -ENOMEM;
	rtnl_dump_add(f->d, f->b.data, f->b.len);
	if (f->d->nomem)
		return -ENOMEM;
	f->bytes += f->b.len;
	return f->bytes >= RTNL_DUMP_PIECE ? 1 : 0;   /* 1: this piece is full */
}

void rtnl_route_dump_step(struct rtnl_sock *s)
{
	struct rtnl_route_cursor *c = &s->route_dump;
	if (!c->active)
		return;
	if (s->nl->route_gen != c->gen)
		c->intr = true;
	struct rtnl_dump d;
	rtnl_dump_init_sock(&d, s, c->seq);
	uint16_t flags = NLM_F_MULTI | (c->intr ? NLM_F_DUMP_INTR : 0);
	struct route_filter f = { .d = &d, .fib = s->nl->router->fib, .c = c, .flags = flags };
	int r = fib_walk_from(f.fib, c->family, c->pos, dump_one, &f);
	nlbuf_free(&f.b);
	c->pos += f.walked;
	bool last = r == 0;
	if (r < 0)
		d.nomem = true;
	if (rtnl_dump_emit(&d, last, flags) < 0) {
		/* Out of memory: end the dump; the reader learns it must start again. */
		log_warn("rtnetlink: out of memory in a route dump (portid %u); abandoned",
			 s->portid);
		c->active = false;
		s->enobufs = true;
		return;
	}
	if (last)
		c->active = false;
}

static int route_dump(struct rtnl_req *q)
{
	struct rtnl_route_cursor f = { 0 };
	int family;
	bool cloned = false;
	struct rtmsg rtm;
	if (q->body_len >= sizeof(rtm)) {
		memcpy(&rtm, q->body, sizeof(rtm));
		family = rtm.rtm_family;
		cloned = rtm.rtm_flags & RTM_F_CLONED;
		if (q->s->strict) {
			if (rtm.rtm_dst_len || rtm.rtm_src_len || rtm.rtm_tos || rtm.rtm_scope ||
			    rtm.rtm_type)
				return rtnl_fail(q, -EINVAL,
						 "Invalid values in header for FIB dump request");
			if (rtm.rtm_flags & ~(unsigned)(RTM_F_CLONED | RTM_F_PREFIX))
				return rtnl_fail(q, -EINVAL, "Invalid flags for FIB dump request");
			f.table = rtm.rtm_table;
			f.protocol = rtm.rtm_protocol;
			struct nla tb[RTA_MAX + 1];
			int attrs_err = rtnl_req_attrs(q, sizeof(rtm), tb, RTA_MAX,
						       "Malformed attribute in dump request");
			if (attrs_err)
				return attrs_err;
			for (unsigned t = 1; t <= RTA_MAX; t++) {
				if (!tb[t].data)
					continue;
				q->bad_attr = &tb[t];
				if (t == RTA_TABLE) {
					if (!nla_get_u32(&tb[t], &f.table))
						return rtnl_fail(q, -EINVAL, "Invalid RTA_TABLE");
				} else if (t == RTA_OIF) {
					if (!nla_get_u32(&tb[t], &f.oif))
						return rtnl_fail(q, -EINVAL, "Invalid RTA_OIF");
					if (f.oif &&
					    !ip_router_netif_by_index(q->s->nl->router, f.oif))
						return rtnl_fail(q, -ENODEV, "Invalid device index");
				} else {
					return rtnl_fail(q, -EINVAL,
							 "Unsupported attribute in dump request");
				}
			}
			q->bad_attr = NULL;
		}
	} else if (q->s->strict) {
		return rtnl_fail(q, -EINVAL, "Invalid header for FIB dump request");
	} else {
		family = ((const struct rtgenmsg *)q->body)->rtgen_family;
	}
	if (family != AF_INET && family != AF_INET6)
		family = AF_UNSPEC;

	/* The router keeps no route cache: "ip route show cache" is empty. */
	if (cloned) {
		struct rtnl_dump d;
		rtnl_dump_init(&d, q);
		return rtnl_dump_finish(&d) < 0 ? -ENOMEM : RTNL_DONE;
	}
	struct rtnl_sock *s = q->s;
	if (s->route_dump.active)
		return rtnl_fail(q, -EBUSY, "A dump is already in progress on this socket");
	f.active = true;
	f.family = family;
	f.seq = q->hdr.nlmsg_seq;
	f.gen = s->nl->route_gen;
	s->route_dump = f;
	rtnl_route_dump_step(s);
	return RTNL_DONE;
}

/* ---- ip route get ---- */

static bool is_loopback_addr(const struct ip_addr *a)
{
	if (a->family == AF_INET)
		return a->bytes[0] == 127;
	return a->family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&a->v6);
}

static bool is_local_addr(const struct ip_router *r, const struct ip_addr *a)
{
	return is_loopback_addr(a) || ip_router_local_netif(r, a, NULL);
}

static int route_lookup_reply(struct rtnl_req *q)
{
	struct rtnl *nl = q->s->nl;
	struct rtmsg rtm;
	if (q->body_len < sizeof(rtm))
		return rtnl_fail(q, -EINVAL, "Invalid header for route get request");
	memcpy(&rtm, q->body, sizeof(rtm));
	int fam = rtm.rtm_family;
	if (fam != AF_INET && fam != AF_INET6)
		return rtnl_fail(q, -EAFNOSUPPORT, "Only IPv4 and IPv6 routes");
	unsigned bits = ip_family_bits(fam);
	struct nla tb[RTA_MAX + 1];
	int attrs_err = rtnl_req_attrs(q, sizeof(rtm), tb, RTA_MAX, "Malformed attribute");
	if (attrs_err)
		return attrs_err;
	if (q->s->strict) {
		if ((rtm.rtm_src_len && rtm.rtm_src_len != bits) ||
		    (rtm.rtm_dst_len && rtm.rtm_dst_len != bits))
			return rtnl_fail(q, -EINVAL, "Invalid prefix for route get request");
		if (rtm.rtm_flags & ~(unsigned)(RTM_F_NOTIFY | RTM_F_LOOKUP_TABLE | RTM_F_FIB_MATCH))
			return rtnl_fail(q, -EINVAL, "Unsupported rtm_flags for route get request");
		if (rtm.rtm_table || rtm.rtm_protocol || rtm.rtm_scope || rtm.rtm_type)
			return rtnl_fail(q, -EINVAL,
					 "Invalid values in header for route get request");
		for (unsigned t = 1; t <= RTA_MAX; t++) {
			if (!tb[t].data)
				continue;
			switch (t) {
			case RTA_IIF: case RTA_OIF: case RTA_SRC: case RTA_DST: case RTA_IP_PROTO:
			case RTA_SPORT: case RTA_DPORT: case RTA_MARK: case RTA_UID:
				break;
			default:
				q->bad_attr = &tb[t];
				return rtnl_fail(q, -EINVAL,
						 "Unsupported attribute in route get request");
			}
		}
	}
	struct ip_addr dst = { .family = (uint8_t)fam };
	if (tb[RTA_DST].data && !nla_get_addr(&tb[RTA_DST], fam, &dst)) {
		q->bad_attr = &tb[RTA_DST];
		return rtnl_fail(q, -EINVAL, "Invalid RTA_DST attribute");
	}
	if (tb[RTA_IIF].data)
		return rtnl_fail(q, -EOPNOTSUPP, "Lookups for an input interface are not supported");
	uint32_t oif = 0;
	if (tb[RTA_OIF].data && !nla_get_u32(&tb[RTA_OIF], &oif))
		return rtnl_fail(q, -EINVAL, "Invalid RTA_OIF attribute");

	struct fib_route rt = { 0 };
	bool fib_match = rtm.rtm_flags & RTM_F_FIB_MATCH;
	uint8_t rtn = RTN_UNICAST;
	if (is_local_addr(nl->router, &dst)) {
		/* What the local table would say. */
		rtn = RTN_LOCAL;
		rt = (struct fib_route){ .prefix = { .addr = dst, .len = (uint8_t)bits },
					 .ifindex = IP_LOOPBACK_IFINDEX, .prefsrc = dst,
					 .table = RT_TABLE_LOCAL, .scope = RT_SCOPE_HOST,
					 .protocol = RTPROT_KERNEL };
	} else if (ip_addr_is_link_local(&dst) && oif) {
		rt = (struct fib_route){ .prefix = { .addr = dst, .len = (uint8_t)bits },
					 .ifindex = oif, .table = FIB_TABLE_MAIN };
	} else {
		if (fib_lookup(nl->router->fib, &dst, &rt) < 0)
			return rtnl_fail(q, -ENETUNREACH, "Network is unreachable");
		if (!fib_match) {
			switch (rt.type) {
			case FIB_TYPE_UNREACHABLE: return -EHOSTUNREACH;
			case FIB_TYPE_PROHIBIT: return -EACCES;
			case FIB_TYPE_BLACKHOLE: return -EINVAL;
			}
		}
		if (!rt.ifindex && rt.gateway.family) {
			struct fib_route via;
			if (fib_lookup(nl->router->fib, &rt.gateway, &via) == 0)
				rt.ifindex = via.ifindex;
		}
	}
	struct nlbuf b = { 0 };
	if (fib_match) {
		route_fill(&b, nl->router->fib, &rt, RTM_NEWROUTE, 0, q->hdr.nlmsg_seq, q->s->portid);
	} else {
		/* A cloned host route, as ip_route_output would hand back. */
		if (!rt.prefsrc.family &&
		    !ip_router_select_source(nl->router, &dst, rt.ifindex, &rt.prefsrc))
			rt.prefsrc.family = 0;
		struct rtmsg out = {
			.rtm_family = (uint8_t)fam, .rtm_dst_len = (uint8_t)bits,
			.rtm_table = (uint8_t)(table_of(&rt) < 256 ? table_of(&rt) : RT_TABLE_COMPAT),
			.rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = rtn, .rtm_flags = RTM_F_CLONED,
		};
		size_t off = nlmsg_begin(&b, RTM_NEWROUTE, 0, q->hdr.nlmsg_seq, q->s->portid, &out,
					 sizeof(out));
		nla_put_u32(&b, RTA_TABLE, table_of(&rt));
		nla_put_addr(&b, RTA_DST, &dst);
		if (rt.ifindex)
			nla_put_u32(&b, RTA_OIF, rt.ifindex);
		if (rt.prefsrc.family)
			nla_put_addr(&b, RTA_PREFSRC, &rt.prefsrc);
		put_gateway(&b, fam, &rt.gateway);
		nlmsg_end(&b, off);
	}
	int e = b.nomem ? -ENOMEM : rtnl_queue_reply(q->s, b.data, b.len);
	nlbuf_free(&b);
	return e;
}

int rtnl_route_get(struct rtnl_req *q)
{
	if ((q->hdr.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP)
		return route_dump(q);
	return route_lookup_reply(q);
}

/* ---- changes ---- */

/* RTA_GATEWAY or RTA_VIA of a route of family into gw. 0 or an error (message set). */
static int parse_gateway(struct rtnl_req *q, int family, const struct nla *gwa,
			 const struct nla *via, struct ip_addr *gw)
{
	memset(gw, 0, sizeof(*gw));
	if (gwa->data && via->data)
		return rtnl_fail(q, -EINVAL, "Gateway and via attributes are mutually exclusive");
	if (gwa->data) {
		if (!nla_get_addr(gwa, family, gw)) {
			q->bad_attr = gwa;
			return rtnl_fail(q, -EINVAL, "Invalid gateway address");
		}
		return 0;
	}
	if (!via->data)
		return 0;
	if (family == AF_INET6) {
		q->bad_attr = via;
		return rtnl_fail(q, -EINVAL, "IPv6 does not support RTA_VIA attribute");
	}
	uint16_t vfam;
	if (via->len < 2) {
		q->bad_attr = via;
		return rtnl_fail(q, -EINVAL, "Invalid attribute length for RTA_VIA");
	}
	memcpy(&vfam, via->data, 2);
	struct nla addr = { .data = via->data + 2, .len = (uint16_t)(via->len - 2) };
	if ((vfam != AF_INET && vfam != AF_INET6) || !nla_get_addr(&addr, vfam, gw)) {
		q->bad_attr = via;
		return rtnl_fail(q, -EINVAL, "Invalid address family or length in RTA_VIA");
	}
	return 0;
}

/* One next hop out of RTA_MULTIPATH; more than one is refused. */
static int parse_multipath(struct rtnl_req *q, int family, const struct nla *mp, uint32_t *oif,
			   struct ip_addr *gw, uint8_t *nhflags)
{
	size_t n = 0, len = mp->len;
	const uint8_t *p = mp->data;
	struct rtnexthop first = { 0 };
	const uint8_t *first_attrs = NULL;
	size_t first_attrs_len = 0;
	while (len >= sizeof(struct rtnexthop)) {
		struct rtnexthop nh;
		memcpy(&nh, p, sizeof(nh));
		if (nh.rtnh_len < sizeof(nh) || nh.rtnh_len > len) {
			q->bad_attr = mp;
			return rtnl_fail(q, -EINVAL, "Invalid nexthop configuration - extra data after nexthops");
		}
		if (n++ == 0) {
			first = nh;
			first_attrs = p + RTNH_ALIGN(sizeof(nh));
			first_attrs_len = nh.rtnh_len - RTNH_ALIGN(sizeof(nh));
		}
		size_t step = RTNH_ALIGN(nh.rtnh_len);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
	if (n == 0) {
		q->bad_attr = mp;
		return rtnl_fail(q, -EINVAL, "Invalid nexthop configuration - no valid nexthops");
	}
	if (n > 1) {
		q->bad_attr = mp;
		return rtnl_fail(q, -EOPNOTSUPP,
				 "Multipath routes are not supported: rrouted takes one next hop per route (set 'merge paths off' in BIRD's kernel protocol)");
	}
	struct nla tb[RTA_MAX + 1];
	if (nla_parse(first_attrs, first_attrs_len, q->msg, tb, RTA_MAX) < 0) {
		q->bad_attr = mp;
		return rtnl_fail(q, -EINVAL, "Malformed attribute in nexthop");
	}
	int e = parse_gateway(q, family, &tb[RTA_GATEWAY], &tb[RTA_VIA], gw);
	if (e)
		return e;
	*oif = first.rtnh_ifindex > 0 ? (uint32_t)first.rtnh_ifindex : 0;
	*nhflags = first.rtnh_flags;
	return 0;
}

/* The route a NEWROUTE/DELROUTE describes. del: be lenient, fields are filters. */
static int parse_route(struct rtnl_req *q, struct fib_route *rt, uint8_t *rtm_flags, bool del)
{
	struct rtmsg rtm;
	if (q->body_len < sizeof(rtm))
		return rtnl_fail(q, -EINVAL, "Invalid header for route request");
	memcpy(&rtm, q->body, sizeof(rtm));
	int fam = rtm.rtm_family;
	if (fam != AF_INET && fam != AF_INET6)
		return rtnl_fail(q, -EAFNOSUPPORT, "Only IPv4 and IPv6 routes are supported");
	unsigned bits = ip_family_bits(fam);
	if (rtm.rtm_dst_len > bits)
		return rtnl_fail(q, -EINVAL, "Invalid prefix length");
	struct nla tb[RTA_MAX + 1];
	int attrs_err = rtnl_req_attrs(q, sizeof(rtm), tb, RTA_MAX, "Malformed attribute");
	if (attrs_err)
		return attrs_err;
	if (rtm.rtm_src_len || tb[RTA_SRC].data)
		return rtnl_fail(q, -EOPNOTSUPP, "Source-specific routes are not supported");
	if (rtm.rtm_tos)
		return rtnl_fail(q, -EOPNOTSUPP, "TOS routes are not supported");
	if (tb[RTA_ENCAP].data || tb[RTA_ENCAP_TYPE].data) {
		q->bad_attr = tb[RTA_ENCAP].data ? &tb[RTA_ENCAP] : &tb[RTA_ENCAP_TYPE];
		return rtnl_fail(q, -EOPNOTSUPP, "Lightweight tunnel encapsulation is not supported");
	}
	if (tb[RTA_NH_ID].data) {
		q->bad_attr = &tb[RTA_NH_ID];
		return rtnl_fail(q, -EOPNOTSUPP, "Nexthop objects are not supported");
	}
	if (rtm.rtm_type > RTN_MAX)
		return rtnl_fail(q, -EINVAL, "Invalid route type");
	int type = rtnl_type_to_fib(rtm.rtm_type);
	if (type < 0)
		return rtnl_fail(q, -EOPNOTSUPP,
				 "Route type not supported: only unicast, unreachable, blackhole and prohibit");

	*rt = (struct fib_route){ .type = (uint8_t)type, .protocol = rtm.rtm_protocol,
				  .scope = fam == AF_INET6 ? (del ? RT_SCOPE_NOWHERE : RT_SCOPE_UNIVERSE)
							   : rtm.rtm_scope,
				  .table = rtm.rtm_table };
	*rtm_flags = (uint8_t)rtm.rtm_flags;
	rt->prefix.addr.family = (uint8_t)fam;
	rt->prefix.len = rtm.rtm_dst_len;
	if (tb[RTA_DST].data && !nla_get_addr(&tb[RTA_DST], fam, &rt->prefix.addr)) {
		q->bad_attr = &tb[RTA_DST];
		return rtnl_fail(q, -EINVAL, "Invalid RTA_DST attribute");
	}
	if (fam == AF_INET && ip_prefix_has_host_bits(&rt->prefix)) {
		q->bad_attr = tb[RTA_DST].data ? &tb[RTA_DST] : NULL;
		return rtnl_fail(q, -EINVAL, "Invalid prefix for given prefix length");
	}
	ip_prefix_mask(&rt->prefix);   /* IPv6 masks silently */
	if (tb[RTA_TABLE].data && !nla_get_u32(&tb[RTA_TABLE], &rt->table)) {
		q->bad_attr = &tb[RTA_TABLE];
		return rtnl_fail(q, -EINVAL, "Invalid RTA_TABLE attribute");
	}
	if (!rt->table)
		rt->table = FIB_TABLE_MAIN;
	if (tb[RTA_PRIORITY].data && !nla_get_u32(&tb[RTA_PRIORITY], &rt->priority)) {
		q->bad_attr = &tb[RTA_PRIORITY];
		return rtnl_fail(q, -EINVAL, "Invalid RTA_PRIORITY attribute");
	}
	if (tb[RTA_PREFSRC].data && !nla_get_addr(&tb[RTA_PREFSRC], fam, &rt->prefsrc)) {
		q->bad_attr = &tb[RTA_PREFSRC];
		return rtnl_fail(q, -EINVAL, "Invalid RTA_PREFSRC attribute");
	}
	if (tb[RTA_OIF].data && !nla_get_u32(&tb[RTA_OIF], &rt->ifindex)) {
		q->bad_attr = &tb[RTA_OIF];
		return rtnl_fail(q, -EINVAL, "Invalid RTA_OIF attribute");
	}
	int e = parse_gateway(q, fam, &tb[RTA_GATEWAY], &tb[RTA_VIA], &rt->gateway);
	if (e)
		return e;
	if (tb[RTA_MULTIPATH].data) {
		uint32_t oif;
		struct ip_addr gw;
		uint8_t nhf;
		if ((e = parse_multipath(q, fam, &tb[RTA_MULTIPATH], &oif, &gw, &nhf)))
			return e;
		if ((rt->ifindex && oif && oif != rt->ifindex) ||
		    (rt->gateway.family && gw.family && !ip_addr_equal(&gw, &rt->gateway)))
			return rtnl_fail(q, -EINVAL, "Nexthop given twice and differently");
		if (oif)
			rt->ifindex = oif;
		if (gw.family)
			rt->gateway = gw;
		*rtm_flags |= nhf;
	}
	return 0;
}

/* Kernel-like next-hop checks for an added route; fills in the device of a gateway. */
static int check_nexthop(struct rtnl_req *q, struct fib_route *rt, uint8_t rtm_flags)
{
	struct ip_router *r = q->s->nl->router;
	int fam = rt->prefix.addr.family;
	if (rt->type != FIB_TYPE_UNICAST) {
		if (rt->gateway.family || rt->ifindex)
			return rtnl_fail(q, -EINVAL,
					 "Gateway, device and multipath can not be specified for this route type");
		return 0;
	}
	if (fam == AF_INET && rt->scope > RT_SCOPE_HOST)
		return rtnl_fail(q, -EINVAL, "Invalid scope");
	if (rt->ifindex == IP_LOOPBACK_IFINDEX)
		return rtnl_fail(q, -EOPNOTSUPP, "Routes through lo are not supported");
	if (rt->ifindex && !ip_router_netif_by_index(r, rt->ifindex))
		return rtnl_fail(q, -ENODEV, "Nexthop device does not exist");
	if (!rt->gateway.family) {
		if (!rt->ifindex)
			return rtnl_fail(q, -EINVAL, "Nexthop device required");
		return 0;
	}
	if (fam == AF_INET && rt->scope >= RT_SCOPE_LINK)
		return rtnl_fail(q, -EINVAL, "Nexthop has invalid scope");
	if (ip_addr_is_link_local(&rt->gateway)) {
		if (!rt->ifindex)
			return rtnl_fail(q, -EINVAL, "Link-local gateway requires a nexthop device");
		return 0;
	}
	if (rtm_flags & RTNH_F_ONLINK) {
		if (!rt->ifindex)
			return rtnl_fail(q, -EINVAL, "Nexthop device required for onlink");
		return 0;
	}
	/* The gateway must be on a link: covered by a connected route (through that device). */
	struct fib_route via;
	if (fib_lookup_table(r->fib, rt->table, &rt->gateway, &via) < 0 &&
	    (rt->table == FIB_TABLE_MAIN || fib_lookup(r->fib, &rt->gateway, &via) < 0))
		return rtnl_fail(q, -ENETUNREACH, "Nexthop has invalid gateway");
	if (via.type != FIB_TYPE_UNICAST || via.gateway.family || !via.ifindex ||
	    (rt->ifindex && via.ifindex != rt->ifindex))
		return rtnl_fail(q, -EINVAL, "Nexthop has invalid gateway");
	rt->ifindex = via.ifindex;
	return 0;
}

static bool route_exists(const struct fib *fib, const struct fib_route *rt)
{
	struct fib_route best;
	if (fib_lookup_table(fib, rt->table, &rt->prefix.addr, &best) < 0)
		return false;
	return best.prefix.len == rt->prefix.len;
}

int rtnl_route_new(struct rtnl_req *q)
{
	struct ip_router *r = q->s->nl->router;
	struct fib_route rt;
	uint8_t rtm_flags;
	int e = parse_route(q, &rt, &rtm_flags, false);
	if (e)
		return e;
	if (rt.prefix.addr.family == AF_INET6 && !rt.priority)
		rt.priority = IP6_PRIO_USER;
	if ((e = check_nexthop(q, &rt, rtm_flags)))
		return e;
	if (rt.prefsrc.family && !is_local_addr(r, &rt.prefsrc))
		return rtnl_fail(q, -EINVAL, "Invalid prefsrc address");
	uint16_t nf = q->hdr.nlmsg_flags;
	unsigned flags = 0;
	if (nf & NLM_F_REPLACE)
		flags = FIB_REPLACE;
	else if (nf & NLM_F_EXCL)
		flags = FIB_EXCL;
	/* Without NLM_F_CREATE only an existing route may change (IPv4's rule; IPv6 only warns). */
	if (!(nf & NLM_F_CREATE) && rt.prefix.addr.family == AF_INET && !route_exists(r->fib, &rt))
		return rtnl_fail(q, -ENOENT, "Route does not exist and NLM_F_CREATE is not set");
	e = fib_add(r->fib, &rt, flags);
	if (e == -EINVAL)
		return rtnl_fail(q, e, "Invalid route");
	return e;
}

int rtnl_route_del(struct rtnl_req *q)
{
	struct fib_route rt;
	uint8_t rtm_flags;
	int e = parse_route(q, &rt, &rtm_flags, true);
	if (e)
		return e;
	return fib_del(q->s->nl->router->fib, &rt);
}
