#include "ip/router.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "ip/checksum.h"
#include "ip/frag.h"
#include "ip/frag_local.h"
#include "ip/reasm.h"
#include "ip/icmp.h"
#include "ip/mss.h"
#include "ip/packet.h"

static const char *const ip_drop_names[NETIF_DROP_LINK_BASE] = {
	[DROP_INVALID_PACKET] = "invalid_packet",
	[DROP_NO_ROUTE] = "no_route",
	[DROP_TTL_EXCEEDED] = "ttl_exceeded",
	[DROP_MARTIAN] = "martian",
	[DROP_TOO_BIG] = "too_big",
	[DROP_UNSUPPORTED] = "unsupported",
	[DROP_NOMEM] = "nomem",
	[DROP_ROUTE_REJECT] = "route_reject",
};

const char *netif_drop_name(const struct netif *nif, unsigned why)
{
	if (why < NETIF_DROP_LINK_BASE)
		return ip_drop_names[why];
	why -= NETIF_DROP_LINK_BASE;
	return why < nif->ops->n_link_drops ? nif->ops->link_drop_names[why] : NULL;
}

bool netif_drop_is_rx(const struct netif *nif, unsigned why)
{
	if (why < NETIF_DROP_LINK_BASE)
		return why == DROP_INVALID_PACKET;   /* what a peer sent; the rest is routing */
	return why - NETIF_DROP_LINK_BASE < nif->ops->n_link_rx_drops;
}

/*
 * lo: packets routed to it (a route "dev lo" the rtnetlink emulation refuses,
 * or the connected route of "ip addr add X/24 dev lo") have nowhere to go.
 * Traffic to lo's own addresses never gets here: ip_router_input delivers it.
 */
static void loopback_output(struct netif *nif, struct pbuf *b, const struct ip_addr *nexthop)
{
	(void)nexthop;
	netif_drop(nif, DROP_NO_ROUTE);
	pbuf_free(b);
}

static void loopback_destroy(struct netif *nif)
{
	(void)nif;   /* part of struct ip_router: ip_router_free frees its addresses */
}

static const struct netif_ops loopback_ops = {
	.kind = NETIF_KIND_LOOPBACK,
	.output = loopback_output,
	.destroy = loopback_destroy,
};
static void reasm_timer_cb(struct timer *t);

/*
 * Rebuilds the index of our global addresses after any change of interfaces,
 * addresses or link state. Out of memory leaves it off: lookups scan instead.
 */
static void local_addrs_rebuild(struct ip_router *r)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n_netifs; i++)
		n += r->netifs[i]->n_addrs;
	r->local_addrs_ok = addr_index_reset(&r->local_addrs, n) == 0;
	for (size_t i = 0; r->local_addrs_ok && i < r->n_netifs; i++) {
		struct netif *nif = r->netifs[i];
		for (size_t a = 0; !nif->down && a < nif->n_addrs; a++) {
			const struct ip_addr *addr = &nif->addrs[a].addr;
			if ((addr->family == AF_INET || addr->family == AF_INET6) &&
			    !ip_addr_is_link_local(addr) && addr_index_put(&r->local_addrs, addr, nif) < 0)
				r->local_addrs_ok = false;
		}
	}
}

int ip_router_init(struct ip_router *r, struct loop *loop)
{
	/* ifindex 1 is the loopback, as on Linux. */
	*r = (struct ip_router){ .loop = loop, .next_ifindex = IP_LOOPBACK_IFINDEX,
				 .icmp_tokens = ICMP_ERRORS_BURST };
	timer_init(&r->reasm_timer, reasm_timer_cb);
	r->fib = fib_new();
	if (!r->fib)
		return -ENOMEM;
	struct netif *lo = &r->loopback;
	snprintf(lo->name, sizeof(lo->name), "lo");
	lo->mtu = UINT16_MAX;   /* rtnetlink shows Linux's 65536 */
	lo->ops = &loopback_ops;
	if (ip_router_add_netif(r, lo) < 0) {
		fib_free(r->fib);
		r->fib = NULL;
		return -ENOMEM;
	}
	return 0;
}

void ip_router_free(struct ip_router *r)
{
	if (r->loop && timer_pending(&r->reasm_timer))
		timer_cancel(r->loop, &r->reasm_timer);
	ip_reasm_free(r->reasm);
	r->reasm = NULL;
	if (r->fib)
		fib_free(r->fib);
	r->fib = NULL;
	free(r->netifs);
	r->netifs = NULL;
	r->n_netifs = r->cap_netifs = 0;
	addr_index_free(&r->local_addrs);
	r->local_addrs_ok = false;
	free(r->loopback.addrs);
	r->loopback.addrs = r->loopback.addr_peers = NULL;
	r->loopback.n_addrs = 0;
}

static bool connected_route(const struct netif *nif, const struct ip_prefix *p,
			    const struct ip_prefix *peer, struct fib_route *rt);

static void add_connected_route(struct ip_router *r, struct netif *nif, size_t i)
{
	struct fib_route rt;
	if (!connected_route(nif, &nif->addrs[i], nif->addr_peers ? &nif->addr_peers[i] : NULL,
			     &rt))
		return;
	int e = fib_add(r->fib, &rt, 0);
	if (e < 0 && e != -EEXIST) {
		char buf[IP_PREFIX_STRLEN];
		log_warn("%s: cannot add the connected route %s: %s", nif->name,
			 ip_prefix_format(&rt.prefix, buf), strerror(-e));
	}
}

static void add_connected_routes(struct ip_router *r, struct netif *nif)
{
	for (size_t i = 0; i < nif->n_addrs; i++)
		add_connected_route(r, nif, i);
}

int ip_router_add_netif(struct ip_router *r, struct netif *nif)
{
	if (ip_router_netif_by_name(r, nif->name))
		return -EEXIST;
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
	if (!nif->down)
		add_connected_routes(r, nif);
	local_addrs_rebuild(r);
	if (r->link_observer)
		r->link_observer(r->link_observer_ctx, IP_LINK_ADDED, nif);
	return 0;
}

int ip_router_del_netif(struct ip_router *r, struct netif *nif)
{
	size_t i;
	for (i = 0; i < r->n_netifs; i++)
		if (r->netifs[i] == nif)
			break;
	if (i == r->n_netifs)
		return -ENODEV;
	if (nif == &r->loopback)
		return -EOPNOTSUPP;
	if (r->link_observer)
		r->link_observer(r->link_observer_ctx, IP_LINK_REMOVING, nif);
	fib_del_by_ifindex(r->fib, nif->ifindex);
	memmove(&r->netifs[i], &r->netifs[i + 1], (r->n_netifs - i - 1) * sizeof(*r->netifs));
	r->n_netifs--;
	nif->router = NULL;
	local_addrs_rebuild(r);
	return 0;
}

void ip_router_destroy_netif(struct ip_router *r, struct netif *nif)
{
	if (nif == &r->loopback)
		return;
	ip_router_del_netif(r, nif);   /* -ENODEV: it was never linked; destroy it all the same */
	nif->ops->destroy(nif);
}

void ip_router_destroy_netifs(struct ip_router *r)
{
	while (r->n_netifs > 1)
		ip_router_destroy_netif(r, r->netifs[r->n_netifs - 1]);
}

int ip_router_set_up(struct ip_router *r, struct netif *nif, bool up)
{
	if (nif == &r->loopback)
		return up ? 0 : -EOPNOTSUPP;
	if (nif->down == !up)
		return 0;
	nif->down = !up;
	if (up)
		add_connected_routes(r, nif);
	else
		fib_del_by_ifindex(r->fib, nif->ifindex);
	ip_router_netif_changed(r, nif);
	return 0;
}

void ip_router_netif_changed(struct ip_router *r, struct netif *nif)
{
	local_addrs_rebuild(r);   /* ip_router_set_up comes here too */
	if (r->link_observer)
		r->link_observer(r->link_observer_ctx, IP_LINK_CHANGED, nif);
}

void ip_router_set_link_observer(struct ip_router *r, ip_link_observer cb, void *ctx)
{
	r->link_observer = cb;
	r->link_observer_ctx = ctx;
}

bool netif_name_valid(const char *name)
{
	size_t n = 0;

	if (!name)
		return false;
	for (; name[n]; n++) {
		char c = name[n];
		if (n >= NETIF_NAME_MAX)
			return false;
		if (!isalnum((unsigned char)c) && !strchr("_=+.-", c))
			return false;
	}
	return n > 0;
}

const char *netif_kind_name(enum netif_kind kind)
{
	switch (kind) {
	case NETIF_KIND_WIREGUARD:
		return "wireguard";
	case NETIF_KIND_DUMMY:
		return "dummy";
	case NETIF_KIND_LOOPBACK:
		return "loopback";
	}
	return "unknown";
}

/* The connected route of one address of nif: to peer if it has one, else to p's own prefix. */
static bool connected_route(const struct netif *nif, const struct ip_prefix *p,
			    const struct ip_prefix *peer, struct fib_route *rt)
{
	const struct ip_prefix *dst = peer && peer->addr.family ? peer : p;
	if (dst == p && p->len >= ip_family_bits(p->addr.family))
		return false;
	*rt = (struct fib_route){
		.prefix = *dst, .type = FIB_TYPE_UNICAST, .ifindex = nif->ifindex,
		.protocol = FIB_PROTO_KERNEL, .scope = FIB_SCOPE_LINK, .prefsrc = p->addr,
	};
	ip_prefix_mask(&rt->prefix);
	return true;
}

int ip_router_add_address(struct ip_router *r, struct netif *nif, const struct ip_prefix *p,
			  const struct ip_prefix *peer)
{
	int fam = p->addr.family;
	if ((fam != AF_INET && fam != AF_INET6) || p->len > ip_family_bits(fam))
		return -EINVAL;
	if (peer && peer->addr.family &&
	    (peer->addr.family != fam || peer->len > ip_family_bits(fam)))
		return -EINVAL;
	for (size_t i = 0; i < nif->n_addrs; i++)
		if (ip_addr_equal(&nif->addrs[i].addr, &p->addr))
			return -EEXIST;
	/* addrs and addr_peers share one block (see netif.h): always a fresh one. */
	size_t n = nif->n_addrs + 1;
	struct ip_prefix *block = calloc(2 * n, sizeof(*block));
	if (!block)
		return -ENOMEM;
	struct ip_prefix *peers = block + n;
	for (size_t i = 0; i < nif->n_addrs; i++) {
		block[i] = nif->addrs[i];
		if (nif->addr_peers)
			peers[i] = nif->addr_peers[i];
	}
	block[n - 1] = *p;
	if (peer && peer->addr.family) {
		block[n - 1].len = (uint8_t)ip_family_bits(fam);
		peers[n - 1] = *peer;
	}
	free(nif->addrs);
	nif->addrs = block;
	nif->addr_peers = peers;
	nif->n_addrs = n;
	if (!nif->down)
		add_connected_route(r, nif, n - 1);
	local_addrs_rebuild(r);
	return 0;
}

int ip_router_del_address(struct ip_router *r, struct netif *nif, const struct ip_prefix *p)
{
	size_t i;
	for (i = 0; i < nif->n_addrs; i++)
		if (ip_addr_equal(&nif->addrs[i].addr, &p->addr))
			break;
	if (i == nif->n_addrs)
		return -EADDRNOTAVAIL;
	struct ip_prefix gone = nif->addrs[i];
	struct ip_prefix gone_peer = nif->addr_peers ? nif->addr_peers[i] : (struct ip_prefix){ 0 };
	size_t tail = nif->n_addrs - i - 1;
	memmove(&nif->addrs[i], &nif->addrs[i + 1], tail * sizeof(*nif->addrs));
	if (nif->addr_peers)
		memmove(&nif->addr_peers[i], &nif->addr_peers[i + 1], tail * sizeof(*nif->addrs));
	nif->n_addrs--;
	local_addrs_rebuild(r);

	struct fib_route rt;
	if (!nif->down && connected_route(nif, &gone, &gone_peer, &rt))
		fib_del(r->fib, &rt);   /* -ESRCH: someone removed it already */
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
	/* netifs is in ifindex order (appended with increasing indexes, removed in place). */
	size_t lo = 0, hi = r->n_netifs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t k = r->netifs[mid]->ifindex;
		if (k == ifindex)
			return r->netifs[mid];
		if (k < ifindex)
			lo = mid + 1;
		else
			hi = mid;
	}
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
		return ingress && !ingress->down && netif_has_address(ingress, addr)
			       ? (struct netif *)ingress : NULL;
	if (r->local_addrs_ok)
		return addr_index_get(&r->local_addrs, addr);
	for (size_t i = 0; i < r->n_netifs; i++)
		if (!r->netifs[i]->down && netif_has_address(r->netifs[i], addr))
			return r->netifs[i];
	return NULL;
}

/* ---- output ---- */

/* Where ip4_fragment's callback sends each fragment. */
struct fragment_dest {
	struct netif *out;
	const struct ip_addr *nexthop;
};

static void emit_fragment(void *ctx, struct pbuf *frag)
{
	const struct fragment_dest *dest = ctx;
	dest->out->ops->output(dest->out, frag, dest->nexthop);
}

/*
 * The egress interface and next hop for dst by the FIB. A route with a
 * gateway but no interface resolves through the gateway's own route.
 * Returns the route type, or -1 when there is no route.
 */
static int route_lookup(struct ip_router *r, const struct ip_addr *dst, struct netif **out,
			struct ip_addr *nexthop)
{
	struct fib_nexthop rt;
	if (fib_lookup_nexthop(r->fib, dst, &rt) < 0)
		return -1;
	if (rt.type != FIB_TYPE_UNICAST)
		return rt.type;
	*nexthop = rt.gateway->family ? *rt.gateway : *dst;
	if (!rt.ifindex && rt.gateway->family) {
		struct fib_nexthop via;
		if (fib_lookup_nexthop(r->fib, rt.gateway, &via) < 0 || via.type != FIB_TYPE_UNICAST ||
		    !via.ifindex)
			return -1;
		rt.ifindex = via.ifindex;
	}
	*out = ip_router_netif_by_index(r, rt.ifindex);
	return *out ? FIB_TYPE_UNICAST : -1;
}

/* Sends b (parsed as pkt) out of nif, fragmenting IPv4 if allowed. false if too big. */
static bool send_within_mtu(struct ip_router *r, struct netif *out, struct pbuf *b,
			    const struct ip_packet *pkt, const struct ip_addr *nexthop)
{
	if (out->down) {   /* a link-local destination or a route left by its owner */
		netif_drop(out, DROP_NO_ROUTE);
		pbuf_free(b);
		return true;
	}
	if (b->len <= out->mtu) {
		out->ops->output(out, b, nexthop);
		return true;
	}
	if (pkt->family == AF_INET &&
	    !(ntohs(((const struct iphdr *)pkt->hdr)->frag_off) & IP_DF)) {
		struct fragment_dest dest = { .out = out, .nexthop = nexthop };
		if (ip4_fragment(b, pkt, out->mtu, emit_fragment, &dest) < 0)
			netif_drop(out, DROP_NOMEM);
		else
			r->stats.fragmented++;
		return true;
	}
	return false;
}

void ip_router_output_local(struct ip_router *r, struct pbuf *b, struct netif *hint)
{
	struct ip_packet pkt;
	if (ip_packet_parse(b, &pkt) < 0) {
		pbuf_free(b);
		return;
	}
	struct netif *out = NULL;
	struct ip_addr nexthop = pkt.dst;
	/* multicast leaves by the interface the socket chose (IP_MULTICAST_IF), not a route */
	if (!ip_addr_is_link_local(&pkt.dst) && !(ip_addr_is_multicast(&pkt.dst) && hint)) {
		int type = route_lookup(r, &pkt.dst, &out, &nexthop);
		if (type != FIB_TYPE_UNICAST && type != -1) {
			pbuf_free(b);   /* our own packet into a reject route: nobody to tell */
			return;
		}
	}
	if (!out) {
		out = hint;
		nexthop = pkt.dst;
	}
	if (!out) {
		pbuf_free(b);
		return;
	}
	tcp_mss_clamp(&pkt, out->mtu);
	if (!send_within_mtu(r, out, b, &pkt, &nexthop)) {
		netif_drop(out, DROP_TOO_BIG);
		pbuf_free(b);
	}
}

void ip_router_set_local_handler(struct ip_router *r, ip_local_handler h, void *ctx)
{
	r->local_handler = h;
	r->local_ctx = ctx;
}

struct netif *ip_router_route_netif(struct ip_router *r, const struct ip_addr *dst,
				    uint32_t scope_id)
{
	if (ip_addr_is_link_local(dst))
		return ip_router_netif_by_index(r, scope_id);
	struct netif *out = NULL;
	struct ip_addr nexthop;
	if (route_lookup(r, dst, &out, &nexthop) != FIB_TYPE_UNICAST)
		return NULL;
	return out;
}

/* ---- ICMP errors ---- */

#define ICMP_TOKEN_NSEC (NSEC_PER_SEC / ICMP_ERRORS_PER_SEC)

static bool icmp_token(struct ip_router *r)
{
	uint64_t now = loop_now(r->loop);
	if (now < r->icmp_refilled_at)
		r->icmp_refilled_at = now;
	uint64_t add = (now - r->icmp_refilled_at) / ICMP_TOKEN_NSEC;
	if (r->icmp_tokens + add >= ICMP_ERRORS_BURST) {
		/* A full bucket banks no time. */
		r->icmp_tokens = ICMP_ERRORS_BURST;
		r->icmp_refilled_at = now;
	} else if (add) {
		/* Advance only by the tokens paid out, so the fraction of the next one
		 * carries over: asked every 7 ms the bucket still gives 200/s, not 143/s. */
		r->icmp_tokens += (uint32_t)add;
		r->icmp_refilled_at += add * ICMP_TOKEN_NSEC;
	}
	if (!r->icmp_tokens)
		return false;
	r->icmp_tokens--;
	return true;
}

/*
 * An address of nif to send from toward to: link-local only to a link-local
 * destination. With no global one on nif, the first global address of the
 * router in ifindex order: lo's first (the node's own address), as DN42
 * nodes whose tunnels carry only link-local addresses want.
 */
static const struct ip_addr *pick_source(const struct ip_router *r, const struct netif *nif,
					 const struct ip_addr *to)
{
	bool want_ll = ip_addr_is_link_local(to);
	const struct ip_addr *fallback = NULL;
	for (size_t i = 0; nif && i < nif->n_addrs; i++) {
		const struct ip_addr *a = &nif->addrs[i].addr;
		if (a->family != to->family)
			continue;
		if (ip_addr_is_link_local(a) == want_ll)
			return a;
		if (!fallback)
			fallback = a;
	}
	if (want_ll)
		return fallback;
	/* No global address on that interface: any global address of the router. */
	for (size_t n = 0; n < r->n_netifs; n++)
		for (size_t i = 0; !r->netifs[n]->down && i < r->netifs[n]->n_addrs; i++) {
			const struct ip_addr *a = &r->netifs[n]->addrs[i].addr;
			if (a->family == to->family && !ip_addr_is_link_local(a))
				return a;
		}
	return fallback;
}

bool ip_router_select_source(struct ip_router *r, const struct ip_addr *dst, uint32_t scope_id,
			     struct ip_addr *out)
{
	if (!ip_addr_is_link_local(dst)) {
		struct fib_route rt;
		if (fib_lookup(r->fib, dst, &rt) == 0 && rt.prefsrc.family == dst->family &&
		    ip_router_local_netif(r, &rt.prefsrc, NULL)) {
			*out = rt.prefsrc;
			return true;
		}
	}
	const struct netif *nif = ip_router_route_netif(r, dst, scope_id);
	const struct ip_addr *a = pick_source(r, nif, dst);
	if (!a)
		return false;
	*out = *a;
	return true;
}

/*
 * The source of an ICMP error to the sender to, as Linux picks it with its
 * default icmp_errors_use_inbound_ifaddr=0: the preferred source of the route
 * back to the sender when it is one of ours (BIRD's krt_prefsrc, typically the
 * node's address on lo or a dummy, so traceroute shows the node's address),
 * else an address of the ingress interface, else the node's address on lo
 * (pick_source). buf holds the prefsrc case.
 */
static const struct ip_addr *error_source(struct ip_router *r, const struct netif *in,
					  const struct ip_addr *to, struct ip_addr *buf)
{
	struct fib_route rt;
	if (!ip_addr_is_link_local(to) && fib_lookup(r->fib, to, &rt) == 0 &&
	    rt.prefsrc.family == to->family && ip_router_local_netif(r, &rt.prefsrc, NULL)) {
		*buf = rt.prefsrc;
		return buf;
	}
	return pick_source(r, in, to);
}

static void send_icmp_error(struct ip_router *r, struct netif *in, const struct ip_packet *pkt,
			    enum icmp_error err, uint32_t mtu)
{
	if (!icmp_error_allowed(pkt))
		return;
	struct ip_addr prefsrc;
	const struct ip_addr *src = error_source(r, in, &pkt->src, &prefsrc);
	if (!src)
		return;
	if (!icmp_token(r)) {
		r->stats.icmp_errors_ratelimited++;
		return;
	}
	struct pbuf *e = icmp_error_build(pkt, err, mtu, src);
	if (!e)
		return;
	r->stats.icmp_errors_sent++;
	ip_router_output_local(r, e, in);
}

/* ---- forwarding ---- */

/*
 * Sources no unicast sender can have (RFC 1122 3.2.1.3, RFC 1812 5.3.7):
 * dropped even when addressed to us, or a spoofed ping would make us reply
 * to broadcast, multicast or loopback. Link-local is fine here (BGP over fe80::).
 */
static bool is_martian_source(const struct ip_packet *pkt)
{
	if (pkt->family == AF_INET) {
		const uint8_t *s = pkt->src.bytes;
		return s[0] == 0 || s[0] == 127 || s[0] >= 224;
	}
	const struct in6_addr *s = &pkt->src.v6;
	return IN6_IS_ADDR_UNSPECIFIED(s) || IN6_IS_ADDR_LOOPBACK(s) || IN6_IS_ADDR_MULTICAST(s) ||
	       IN6_IS_ADDR_V4MAPPED(s);
}

/* Never forwarded: unspecified, loopback, multicast, broadcast, link-local (RFC 1812 5.3.7, RFC 4291). */
static bool is_martian(const struct ip_packet *pkt)
{
	if (pkt->family == AF_INET) {
		const uint8_t *s = pkt->src.bytes, *d = pkt->dst.bytes;
		if (s[0] == 0 || s[0] == 127 || s[0] >= 224 || (s[0] == 169 && s[1] == 254))
			return true;
		if (d[0] == 0 || d[0] == 127 || d[0] >= 224 || (d[0] == 169 && d[1] == 254))
			return true;
		return false;
	}
	const struct in6_addr *s = &pkt->src.v6, *d = &pkt->dst.v6;
	return IN6_IS_ADDR_UNSPECIFIED(s) || IN6_IS_ADDR_LOOPBACK(s) || IN6_IS_ADDR_MULTICAST(s) ||
	       IN6_IS_ADDR_LINKLOCAL(s) || IN6_IS_ADDR_UNSPECIFIED(d) || IN6_IS_ADDR_LOOPBACK(d) ||
	       IN6_IS_ADDR_MULTICAST(d) || IN6_IS_ADDR_LINKLOCAL(d) ||
	       IN6_IS_ADDR_V4MAPPED(s) || IN6_IS_ADDR_V4MAPPED(d);
}

static void forward(struct ip_router *r, struct netif *in, struct pbuf *b, struct ip_packet *pkt)
{
	if (is_martian(pkt)) {
		netif_drop(in, DROP_MARTIAN);
		pbuf_free(b);
		return;
	}
	uint8_t *ttl = pkt->family == AF_INET ? &((struct iphdr *)pkt->hdr)->ttl
					      : &((struct ip6_hdr *)pkt->hdr)->ip6_hlim;
	if (*ttl <= 1) {
		send_icmp_error(r, in, pkt, ICMP_ERR_TIME_EXCEEDED, 0);
		netif_drop(in, DROP_TTL_EXCEEDED);
		pbuf_free(b);
		return;
	}
	struct netif *out = NULL;
	struct ip_addr nexthop;
	int type = route_lookup(r, &pkt->dst, &out, &nexthop);
	if (type != FIB_TYPE_UNICAST) {
		if (type == -1) {
			send_icmp_error(r, in, pkt, ICMP_ERR_NET_UNREACH, 0);
			netif_drop(in, DROP_NO_ROUTE);
		} else {
			if (type == FIB_TYPE_UNREACHABLE)
				send_icmp_error(r, in, pkt, ICMP_ERR_HOST_UNREACH, 0);
			else if (type == FIB_TYPE_PROHIBIT)
				send_icmp_error(r, in, pkt, ICMP_ERR_PROHIBITED, 0);
			netif_drop(in, DROP_ROUTE_REJECT);
		}
		pbuf_free(b);
		return;
	}
	if (b->len > out->mtu && (pkt->family == AF_INET6 ||
				  (ntohs(((struct iphdr *)pkt->hdr)->frag_off) & IP_DF))) {
		send_icmp_error(r, in, pkt, ICMP_ERR_TOO_BIG, out->mtu);
		netif_drop(in, DROP_TOO_BIG);
		pbuf_free(b);
		return;
	}
	/* Only now, so an ICMP error quotes the packet as it arrived. */
	if (pkt->family == AF_INET) {
		struct iphdr *ip = (struct iphdr *)pkt->hdr;
		uint16_t old_word, new_word;
		memcpy(&old_word, &ip->ttl, 2);   /* ttl and protocol share a 16-bit word */
		ip->ttl--;
		memcpy(&new_word, &ip->ttl, 2);
		ip->check = csum_replace2(ip->check, old_word, new_word);
	} else {
		(*ttl)--;
	}
	if (tcp_mss_clamp(pkt, out->mtu))
		r->stats.mss_clamped++;
	r->stats.forwarded++;
	send_within_mtu(r, out, b, pkt, &nexthop);
}

/* ---- local delivery ---- */

static uint64_t router_now(const struct ip_router *r)
{
	return r->loop ? loop_now(r->loop) : clock_now_ns();
}

/* A datagram whose fragments did not all come: ICMP time exceeded quoting the first one. */
static void reasm_expired(void *ctx, const uint8_t *first, size_t len, uint32_t ifindex)
{
	struct ip_router *r = ctx;
	struct netif *in = ip_router_netif_by_index(r, ifindex);
	struct pbuf *b = in && len <= PBUF_MTU_MAX ? pbuf_alloc() : NULL;
	if (!b)
		return;
	memcpy(pbuf_put(b, len), first, len);
	struct ip_packet pkt;
	if (ip_packet_parse(b, &pkt) == 0)
		send_icmp_error(r, in, &pkt, ICMP_ERR_REASM_TIMEOUT, 0);
	pbuf_free(b);
}

static void reasm_arm(struct ip_router *r, uint64_t next)
{
	if (r->loop && next && (!timer_pending(&r->reasm_timer) || r->reasm_timer.expires > next))
		timer_arm(r->loop, &r->reasm_timer, next, 1000000000ull);
}

static void reasm_timer_cb(struct timer *t)
{
	struct ip_router *r = container_of(t, struct ip_router, reasm_timer);
	if (r->reasm)
		reasm_arm(r, ip_reasm_expire(r->reasm, loop_now(r->loop), reasm_expired, r));
}

/* The reassembled datagram whole (a heap copy) as a parsed packet. */
static bool parse_whole(uint8_t *p, size_t len, struct ip_packet *pkt)
{
	memset(pkt, 0, sizeof(*pkt));
	pkt->hdr = p;
	pkt->total_len = len;
	if ((p[0] >> 4) == 4) {
		pkt->family = AF_INET;
		pkt->hdr_len = (size_t)(p[0] & 0xf) * 4;
		pkt->proto = p[9];
		ip_addr_from_v4(&pkt->src, p + 12);
		ip_addr_from_v4(&pkt->dst, p + 16);
	} else {
		pkt->family = AF_INET6;
		pkt->hdr_len = 40;
		pkt->proto = p[6];
		ip_addr_from_v6(&pkt->src, p + 8);
		ip_addr_from_v6(&pkt->dst, p + 24);
	}
	return pkt->hdr_len <= len;
}

struct echo_emit {
	struct ip_router *r;
	struct netif *in;
};

static void emit_echo_packet(void *ctx, struct pbuf *b)
{
	struct echo_emit *e = ctx;
	ip_router_output_local(e->r, b, e->in);
}

/*
 * A reassembled echo request (ping -s 3000 to the router): the reply is as
 * big, so it leaves in fragments, as Linux's does. Only the type changes, and
 * the IPv6 pseudo-header sum does not care which address is which, so the
 * checksum is patched, not recomputed. true if it was an echo request.
 */
static bool answer_big_echo(struct ip_router *r, struct netif *in, uint8_t *dg, size_t len,
			    const struct ip_packet *whole)
{
	bool v4 = whole->family == AF_INET;
	uint8_t *icmp = dg + whole->hdr_len;
	size_t icmp_len = len - whole->hdr_len;
	if (whole->proto != (v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6) || icmp_len < 8 ||
	    icmp[0] != (v4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST) || icmp[1] != 0 ||
	    ip_addr_is_multicast(&whole->dst))
		return false;
	uint16_t old_word, new_word, ck;
	memcpy(&old_word, icmp, 2);
	icmp[0] = v4 ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY;
	memcpy(&new_word, icmp, 2);
	memcpy(&ck, icmp + 2, 2);
	ck = csum_replace2(ck, old_word, new_word);
	memcpy(icmp + 2, &ck, 2);
	struct netif *out = ip_router_route_netif(r, &whole->src, in ? in->ifindex : 0);
	if (!out)
		out = in;
	struct ip_frag_spec spec = {
		.src = whole->dst, .dst = whole->src, .proto = whole->proto, .ttl = 64,
		.id = (uint32_t)(r->stats.echo_replies * 2654435761u),
	};
	struct echo_emit ctx = { r, in };
	if (out && ip_frag_local(&spec, icmp, icmp_len, out->mtu, emit_echo_packet, &ctx) > 0)
		r->stats.echo_replies++;
	return true;
}

/*
 * A fragment to one of our addresses. Reassembled datagrams are bigger than
 * a packet buffer: the host stack's UDP sockets take them (the handler reads
 * pkt and frees b), the router answers echo requests itself; other protocols
 * are dropped.
 */
static void deliver_fragment(struct ip_router *r, struct netif *in, struct pbuf *b,
			     struct ip_packet *pkt)
{
	if (!r->reasm && !(r->reasm = ip_reasm_new())) {
		netif_drop(in, DROP_NOMEM);
		pbuf_free(b);
		return;
	}
	uint8_t *dg;
	size_t len;
	uint64_t now = router_now(r);
	enum ip_reasm_result res = ip_reasm_input(r->reasm, pkt, in ? in->ifindex : 0, now, &dg,
						  &len);
	if (res == REASM_HELD)
		reasm_arm(r, now + (pkt->family == AF_INET ? REASM_TIMEOUT4_NS : REASM_TIMEOUT6_NS));
	if (res != REASM_DONE) {
		pbuf_free(b);
		return;
	}
	struct ip_packet whole;
	if (parse_whole(dg, len, &whole) && answer_big_echo(r, in, dg, len, &whole)) {
		pbuf_free(b);
	} else if (!parse_whole(dg, len, &whole) || whole.proto != IPPROTO_UDP) {
		netif_drop(in, DROP_UNSUPPORTED);
		pbuf_free(b);
	} else if (!r->local_handler || !r->local_handler(r->local_ctx, in, b, &whole)) {
		send_icmp_error(r, in, &whole, ICMP_ERR_PORT_UNREACH, 0);
		netif_drop(in, DROP_UNSUPPORTED);
		pbuf_free(b);
	}
	free(dg);
}

static void deliver_local(struct ip_router *r, struct netif *in, struct pbuf *b,
			  struct ip_packet *pkt)
{
	r->stats.local_delivered++;
	if (ip_reasm_is_fragment(pkt)) {
		deliver_fragment(r, in, b, pkt);
		return;
	}
	bool icmp = pkt->proto == (pkt->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6) &&
		    !ip_addr_is_multicast(&pkt->dst);   /* a reply needs a unicast source */
	if (icmp && icmp_echo_reply_in_place(b, pkt) == 0) {
		r->stats.echo_replies++;
		ip_router_output_local(r, b, in);
		return;
	}
	if (r->local_handler && r->local_handler(r->local_ctx, in, b, pkt))
		return;
	/* Nothing listens here: tell UDP senders (traceroute's last hop), drop the rest. */
	if (pkt->proto == IPPROTO_UDP)
		send_icmp_error(r, in, pkt, ICMP_ERR_PORT_UNREACH, 0);
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
	/* Multicast is never forwarded; sockets that joined the group may take it. */
	if (ip_router_local_netif(r, &pkt.dst, in) || (in && ip_addr_is_multicast(&pkt.dst))) {
		if (is_martian_source(&pkt)) {
			netif_drop(in, DROP_MARTIAN);
			pbuf_free(b);
			return;
		}
		deliver_local(r, in, b, &pkt);
		return;
	}
	forward(r, in, b, &pkt);
}

void netif_input(struct netif *nif, struct pbuf *b)
{
	if (nif->down) {
		netif_drop(nif, DROP_UNSUPPORTED);
		pbuf_free(b);
		return;
	}
	ip_router_input(nif->router, nif, b);
}
