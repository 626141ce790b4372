/*
 * UDP and ICMP echo ("ping") sockets. The app's end is a SOCK_SEQPACKET
 * socketpair; every message is a struct shim_dgram_hdr and the payload.
 *
 * ICMP echo sockets behave like Linux ping sockets: the socket's "port" is
 * the echo identifier, the app writes an echo request (type, code, checksum,
 * id, seq, data) and we set the identifier and the checksum; echo replies
 * are delivered by identifier, whole ICMP message, header included.
 *
 * Demultiplexing (as Linux does): the best match wins, a connected socket
 * whose 4-tuple matches exactly over a socket bound to the address, over
 * one bound to the wildcard.
 *
 * ICMP errors (IP_RECVERR): an ICMP/ICMPv6 error to one of our addresses
 * that quotes a UDP datagram or an echo request one of our sockets sent is
 * found by the quoted 4-tuple and handed to that socket in band (struct
 * shim_dgram_err in shim_proto.h), with the errno Linux maps it to: every
 * error if the socket asked for IP_RECVERR, only the hard ones (port
 * unreachable -> ECONNREFUSED, ...) to a connected socket otherwise.
 * Nothing sets SO_ERROR: the error reaches the app once, through the data fd.
 */
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "crypto/crypto.h"
#include "ip/checksum.h"
#include "ip/frag_local.h"
#include "stack/sock_int.h"

#define DGRAM_BATCH 64   /* messages taken from one socket per wake-up */

int sock_dgram_open(struct sock *s, int *app_fd)
{
	int sv[2];
	int r = sock_data_pair(SOCK_SEQPACKET, &sv[0], &sv[1]);
	if (r < 0)
		return r;
	s->lfd.fd = sv[1];
	s->lfd.cb = sock_dgram_event;
	s->app_ino = sock_fd_ino(sv[0]);
	sock_set_events(s, EPOLLIN);
	*app_fd = sv[0];
	return 0;
}

int sock_dgram_connect(struct sock *s, const struct shim_addr *a)
{
	if (a->family == 0 || a->family == AF_UNSPEC) {   /* AF_UNSPEC: dissolve the association */
		s->connected = false;
		memset(&s->remote, 0, sizeof(s->remote));
		return 0;
	}
	if (a->family == AF_INET6 && s->family == AF_INET)
		return -EAFNOSUPPORT;
	struct tcp_endpoint dst;
	sock_addr_to_ep(a, &dst);
	if (ip_addr_is_link_local(&dst.addr) && !dst.scope_id)
		dst.scope_id = s->opts.bind_ifindex ? s->opts.bind_ifindex : s->local.scope_id;
	if (!ip_addr_is_link_local(&dst.addr))
		dst.scope_id = 0;
	struct ip_addr src;
	int r = sock_pick_source(s, &dst, &src);
	if (r < 0)
		return r;
	/* Like Linux, a wildcard-bound socket reports the chosen source once connected. */
	if (s->local_any) {
		s->local.addr = src;
		s->local.scope_id = ip_addr_is_link_local(&src) ? dst.scope_id : 0;
		s->local_any = false;
	}
	s->remote = dst;
	s->connected = true;
	return 0;
}

/* ---- multicast ---- */

/* The interface a socket's multicast goes out of, or is joined on, by default. */
static uint32_t mcast_default_if(struct sock *s, const struct ip_addr *group)
{
	if (s->opts.mcast_ifindex)
		return s->opts.mcast_ifindex;
	if (s->opts.bind_ifindex)
		return s->opts.bind_ifindex;
	struct netif *nif = ip_router_route_netif(s->sl->router, group, 0);
	if (!nif && s->sl->router->n_netifs == 1)
		nif = s->sl->router->netifs[0];   /* Linux: its ff00::/8 route; ours has one link */
	return nif ? nif->ifindex : 0;
}

int sock_dgram_membership(struct sock *s, const struct shim_addr *g, bool join)
{
	struct tcp_endpoint ep;
	if (g->family != AF_INET && g->family != AF_INET6)
		return -EINVAL;
	sock_addr_to_ep(g, &ep);
	if (!ip_addr_is_multicast(&ep.addr))
		return -EINVAL;
	uint32_t ifx = g->scope_id ? g->scope_id : mcast_default_if(s, &ep.addr);
	if (!ifx || !ip_router_netif_by_index(s->sl->router, ifx))
		return -ENODEV;
	for (uint8_t i = 0; i < s->n_mc; i++) {
		if (s->mc[i].ifindex != ifx || !ip_addr_equal(&s->mc[i].group, &ep.addr))
			continue;
		if (join)
			return -EADDRINUSE;
		s->mc[i] = s->mc[--s->n_mc];
		return 0;
	}
	if (!join)
		return -EADDRNOTAVAIL;
	if (s->n_mc == SOCK_MCAST_MAX)
		return -ENOBUFS;
	if (!s->mc && !(s->mc = calloc(SOCK_MCAST_MAX, sizeof(*s->mc))))
		return -ENOMEM;
	s->mc[s->n_mc++] = (struct sock_mcast){ ep.addr, ifx };
	return 0;
}

/*
 * Has any socket joined group on ifindex? Like Linux with IP_MULTICAST_ALL
 * (its default), every socket bound to the port then hears the group.
 */
static bool mcast_joined(struct sock_layer *sl, const struct ip_addr *group, uint32_t ifindex)
{
	for (uint32_t i = 0; i < SOCK_MAX; i++) {
		const struct sock *s = sl->socks[i];
		if (!s || !s->n_mc)
			continue;
		for (uint8_t k = 0; k < s->n_mc; k++)
			if (s->mc[k].ifindex == ifindex && ip_addr_equal(&s->mc[k].group, group))
				return true;
	}
	return false;
}

/* An address of nif for multicast to group: link-local for IPv6 link scope (ff02::/16). */
static bool mcast_source(const struct netif *nif, const struct ip_addr *group, struct ip_addr *out)
{
	bool want_ll = group->family == AF_INET6 && (group->bytes[1] & 0x0f) <= 2;
	const struct ip_addr *fallback = NULL;
	for (size_t i = 0; i < nif->n_addrs; i++) {
		const struct ip_addr *a = &nif->addrs[i].addr;
		if (a->family != group->family)
			continue;
		if (ip_addr_is_link_local(a) == want_ll) {
			*out = *a;
			return true;
		}
		if (!fallback)
			fallback = a;
	}
	if (fallback)
		*out = *fallback;
	return fallback != NULL;
}

/* ---- output ---- */

static uint32_t pseudo(const struct ip_addr *src, const struct ip_addr *dst, uint8_t proto,
		       size_t len)
{
	return src->family == AF_INET ? csum_pseudo_v4(src->bytes, dst->bytes, proto, (uint32_t)len)
				      : csum_pseudo_v6(src->bytes, dst->bytes, proto, (uint32_t)len);
}

/*
 * May a datagram of s to family be fragmented (else it is EMSGSIZE beyond
 * the MTU)? As Linux decides for UDP and ping sockets: IPv4 and IPv6 by
 * their own IP_MTU_DISCOVER modes (DO and PROBE forbid it), IPv6 also by
 * IPV6_DONTFRAG. IPv4 mapped destinations of an IPv6 socket use the IPv4 one.
 */
bool sock_dgram_may_fragment(const struct shim_opts *o, int family)
{
	if (family == AF_INET)
		return o->pmtudisc != IP_PMTUDISC_DO && o->pmtudisc != IP_PMTUDISC_PROBE;
	return o->pmtudisc6 != IPV6_PMTUDISC_DO && o->pmtudisc6 != IPV6_PMTUDISC_PROBE &&
	       !(o->flags & SHIM_OPT_DONTFRAG);
}

/* The largest IP packet s sends toward dst (out of oif if not 0); 0 without a route. */
uint16_t sock_dgram_mtu(struct sock *s, const struct tcp_endpoint *dst, uint32_t oif)
{
	struct netif *nif = oif ? ip_router_netif_by_index(s->sl->router, oif) : NULL;
	uint16_t mtu = nif ? nif->mtu : sock_pmtu(s->sl, dst);
	if (!mtu)
		return 0;
	/* IPV6_MTU lowers it (unbound asks 1280: fragments that pass every IPv6 path) */
	if (dst->addr.family == AF_INET6 && s->opts.mtu6 >= 1280 && s->opts.mtu6 < mtu)
		mtu = (uint16_t)s->opts.mtu6;
	return mtu > PBUF_MTU_MAX ? PBUF_MTU_MAX : mtu;
}

/*
 * The source for a datagram: an IP_PKTINFO / IPV6_PKTINFO request (per
 * message, else the sticky IPV6_PKTINFO) if it names one, which must be one
 * of our addresses (or IP_FREEBIND), else the socket's own choice.
 */
static int dgram_source(struct sock *s, const struct shim_dgram_hdr *h, struct tcp_endpoint *dst,
			uint32_t *oif, struct ip_addr *src)
{
	struct shim_addr want = h->local;
	*oif = h->ifindex;
	if (!want.family && dst->addr.family == AF_INET6) {
		static const uint8_t zero[16];
		if (memcmp(s->opts.pktinfo_src, zero, 16) != 0) {
			want.family = AF_INET6;
			memcpy(want.addr, s->opts.pktinfo_src, 16);
		}
		if (!*oif)
			*oif = s->opts.pktinfo_ifindex;
	}
	if (*oif && !ip_router_netif_by_index(s->sl->router, *oif))
		return -ENODEV;
	if (*oif && ip_addr_is_link_local(&dst->addr))
		dst->scope_id = *oif;
	if (ip_addr_is_multicast(&dst->addr)) {
		/* out of IP_PKTINFO's interface, else IP_MULTICAST_IF's, SO_BINDTODEVICE's, the scope's */
		if (!*oif)
			*oif = dst->scope_id ? dst->scope_id : mcast_default_if(s, &dst->addr);
		struct netif *nif = ip_router_netif_by_index(s->sl->router, *oif);
		if (!nif)
			return -ENETUNREACH;
		dst->scope_id = *oif;
		if (want.family && !shim_addr_is_any(&want)) {
			struct tcp_endpoint ep;
			sock_addr_to_ep(&want, &ep);
			*src = ep.addr;
			return want.family == dst->addr.family ? 0 : -EINVAL;
		}
		if (s->bound && !s->local_any && s->local.addr.family == dst->addr.family) {
			*src = s->local.addr;
			return 0;
		}
		return mcast_source(nif, &dst->addr, src) ? 0 : -EADDRNOTAVAIL;
	}
	if (!want.family || shim_addr_is_any(&want)) {
		if (!*oif || (s->bound && !s->local_any))
			return sock_pick_source(s, dst, src);
		return ip_router_select_source(s->sl->router, &dst->addr, *oif, src) ? 0
										 : -EADDRNOTAVAIL;
	}
	if (want.family != dst->addr.family)
		return -EINVAL;
	struct tcp_endpoint ep;
	sock_addr_to_ep(&want, &ep);
	struct netif *scope = ip_router_netif_by_index(s->sl->router, *oif ? *oif : dst->scope_id);
	if (!(s->opts.flags & SHIM_OPT_FREEBIND) &&
	    !ip_router_local_netif(s->sl->router, &ep.addr, scope))
		return -EINVAL;   /* Linux: a source that is not ours needs IP_FREEBIND */
	*src = ep.addr;
	return 0;
}

struct emit_ctx {
	struct sock_layer *sl;
	uint32_t scope;
	bool loop;       /* multicast: a copy to the router's own sockets (IP_MULTICAST_LOOP) */
	bool out;        /* multicast with hop limit 0: the copy only */
};

static void emit_packet(void *ctx, struct pbuf *b)
{
	struct emit_ctx *e = ctx;
	struct sock_layer *sl = e->sl;
	if (e->loop && sl->loopq.len < 1024) {
		struct pbuf *c = pbuf_alloc();
		if (c) {
			memcpy(pbuf_put(c, b->len), pbuf_data(b), b->len);
			c->ifindex = e->scope;
			pbuf_queue_push(&sl->loopq, c);
			sl->stats.loopback++;
			loop_defer(sl->loop, &sl->loop_hook);
		}
	}
	if (e->out)
		sock_ip_output(sl, b, e->scope);
	else
		pbuf_free(b);
}

/*
 * Sends one datagram of s. data has 8 free bytes in front of it (the UDP
 * header goes there).
 */
static void dgram_send(struct sock *s, const struct shim_dgram_hdr *h, uint8_t *data, size_t len)
{
	struct sock_layer *sl = s->sl;
	struct tcp_endpoint dst;
	if (h->peer.family) {
		sock_addr_to_ep(&h->peer, &dst);
		if (ip_addr_is_link_local(&dst.addr) && !dst.scope_id)
			dst.scope_id = s->opts.bind_ifindex ? s->opts.bind_ifindex
							    : s->local.scope_id;
		if (!ip_addr_is_link_local(&dst.addr))
			dst.scope_id = 0;
	} else if (s->connected) {
		dst = s->remote;
	} else {
		sl->stats.udp_drops++;   /* the shim answers EDESTADDRREQ before this */
		return;
	}
	if (dst.addr.family != AF_INET && dst.addr.family != AF_INET6) {
		sl->stats.udp_drops++;
		return;
	}
	struct ip_addr src;
	uint32_t oif;
	if (dgram_source(s, h, &dst, &oif, &src) < 0) {
		sl->stats.udp_drops++;
		return;
	}
	bool icmp = s->kind == SK_ICMP;
	uint8_t proto = icmp ? (dst.addr.family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6)
			     : IPPROTO_UDP;
	uint8_t *l4 = icmp ? data : data - 8;
	size_t l4len = icmp ? len : len + 8;
	if (icmp) {
		uint8_t want = dst.addr.family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
		if (len < 8 || l4[0] != want || l4[1] != 0) {
			sl->stats.udp_drops++;   /* Linux ping sockets accept echo requests only */
			return;
		}
		uint16_t id = htons(s->local.port);
		memcpy(l4 + 4, &id, 2);
		memset(l4 + 2, 0, 2);
		uint32_t sum = dst.addr.family == AF_INET ? 0 : pseudo(&src, &dst.addr, proto, len);
		uint16_t ck = csum_fold(csum_partial(l4, len, sum));
		memcpy(l4 + 2, &ck, 2);
	} else {
		struct udphdr u = { .source = htons(s->local.port), .dest = htons(dst.port),
				    .len = htons((uint16_t)l4len) };
		memcpy(l4, &u, sizeof(u));
		uint16_t ck = csum_fold(csum_partial(l4, l4len, pseudo(&src, &dst.addr, proto,
									  l4len)));
		if (ck == 0)
			ck = 0xffff;
		memcpy(l4 + 6, &ck, 2);
	}
	uint16_t mtu = sock_dgram_mtu(s, &dst, oif);
	int fam = dst.addr.family;
	size_t hlen = fam == AF_INET ? 20 : 40;
	if (!mtu || (hlen + l4len > mtu && !sock_dgram_may_fragment(&s->opts, fam))) {
		sl->stats.udp_drops++;   /* the shim answered EMSGSIZE if it knew the MTU */
		return;
	}
	uint8_t pmtud = fam == AF_INET ? s->opts.pmtudisc : s->opts.pmtudisc6;
	bool mcast = ip_addr_is_multicast(&dst.addr);
	struct ip_frag_spec spec = {
		.src = src, .dst = dst.addr, .proto = proto,
		.ttl = (h->flags & SHIM_DGRAM_HAS_TTL) && h->ttl ? h->ttl
		     : mcast ? (s->opts.mcast_hops ? s->opts.mcast_hops : 1)
		     : s->opts.ttl ? s->opts.ttl : 64,
		.tos = h->flags & SHIM_DGRAM_HAS_TOS ? h->tos : s->opts.tos,
		/* Linux: DF with DO and PROBE, and with WANT on packets that fit */
		.df = pmtud == IP_PMTUDISC_DO || pmtud == IP_PMTUDISC_PROBE ||
		      pmtud == IP_PMTUDISC_WANT,
	};
	if (fam == AF_INET)
		spec.id = sl->ip_id++;
	else
		crypto_random(&spec.id, sizeof(spec.id));
	struct emit_ctx ec = { sl, oif ? oif : ip_addr_is_link_local(&dst.addr) ? dst.scope_id : 0,
			       false, true };
	if (mcast) {
		ec.scope = dst.scope_id;
		ec.loop = !s->opts.mcast_noloop && mcast_joined(sl, &dst.addr, dst.scope_id);
		ec.out = (h->flags & SHIM_DGRAM_HAS_TTL) ? h->ttl != 0 : s->opts.mcast_hops != 0;
	}
	int n = ip_frag_local(&spec, l4, l4len, mtu, emit_packet, &ec);
	if (n < 0) {
		sl->stats.udp_drops++;
		return;
	}
	if (n > 1)
		sl->stats.dgram_fragmented++;
	if (icmp)
		sl->stats.icmp_out++;
	else
		sl->stats.udp_out++;
}

void sock_dgram_drain(struct loop_fd *lfd, uint32_t events, sock_dgram_sender send)
{
	struct sock *s = container_of(lfd, struct sock, lfd);
	struct sock_layer *sl = s->sl;
	if (s->dead)
		return;
	for (int i = 0; i < DGRAM_BATCH; i++) {
		ssize_t n = recv(lfd->fd, sl->scratch, sizeof(sl->scratch), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			sock_free(s);   /* the app closed its last copy */
			return;
		}
		struct shim_dgram_hdr h;
		if ((size_t)n < sizeof(h) || (size_t)n > sizeof(sl->scratch)) {
			sl->stats.udp_drops++;
			continue;
		}
		memcpy(&h, sl->scratch, sizeof(h));
		_Static_assert(sizeof(h) >= 8, "room for the UDP header in front of the payload");
		send(s, &h, sl->scratch + sizeof(h), (size_t)n - sizeof(h));
	}
	if ((events & (EPOLLHUP | EPOLLERR)) && !(events & EPOLLIN))
		sock_free(s);
}

void sock_dgram_event(struct loop_fd *lfd, uint32_t events)
{
	sock_dgram_drain(lfd, events, dgram_send);
}

/* ---- input ---- */

static bool local_match(const struct sock *s, const struct ip_addr *dst, uint32_t ifindex)
{
	if (s->opts.bind_ifindex && s->opts.bind_ifindex != ifindex)
		return false;
	if (s->local_any)
		return s->local.addr.family == dst->family ||
		       (s->family == AF_INET6 && !s->opts.v6only && dst->family == AF_INET &&
			s->local.addr.family == AF_INET6);
	if (!ip_addr_equal(&s->local.addr, dst))
		return false;
	return !ip_addr_is_link_local(dst) || !s->local.scope_id || s->local.scope_id == ifindex;
}

/* The socket of kind for (dst, dport) from (src, sport), or NULL. */
static struct sock *demux(struct sock_layer *sl, enum sock_kind kind, const struct ip_addr *dst,
			  uint16_t dport, const struct ip_addr *src, uint16_t sport, uint32_t ifindex)
{
	struct sock *best = NULL;
	int best_score = 0;
	for (uint32_t i = 0; i < SOCK_MAX; i++) {
		struct sock *s = sl->socks[i];
		if (!s || s->kind != kind || !s->bound || s->lfd.fd < 0 || s->local.port != dport)
			continue;
		if (!local_match(s, dst, ifindex))
			continue;
		int score = s->local_any ? 1 : 2;
		if (s->connected) {
			if (!ip_addr_equal(&s->remote.addr, src) ||
			    (kind == SK_UDP && s->remote.port != sport))
				continue;
			score += 4;
		}
		if (score > best_score) {
			best = s;
			best_score = score;
		}
	}
	return best;
}

static uint8_t packet_ttl(const struct ip_packet *pkt)
{
	return pkt->family == AF_INET ? ((const struct iphdr *)pkt->hdr)->ttl
				      : ((const struct ip6_hdr *)pkt->hdr)->ip6_hlim;
}

void sock_dgram_hdr_init(struct shim_dgram_hdr *h, const struct ip_packet *pkt, uint32_t ifindex)
{
	memset(h, 0, sizeof(*h));
	h->peer.family = pkt->src.family;
	memcpy(h->peer.addr, pkt->src.bytes, 16);
	if (ip_addr_is_link_local(&pkt->src))
		h->peer.scope_id = ifindex;
	h->ifindex = ifindex;
	h->flags = SHIM_DGRAM_HAS_TTL;
	if (pkt->family == AF_INET) {
		const struct iphdr *ip = (const struct iphdr *)pkt->hdr;
		h->ttl = ip->ttl;
		h->tos = ip->tos;
	} else {
		const struct ip6_hdr *ip6 = (const struct ip6_hdr *)pkt->hdr;
		h->ttl = ip6->ip6_hlim;
		h->tos = (uint8_t)(ntohl(ip6->ip6_flow) >> 20);
	}
}

static void deliver(struct sock *s, const struct ip_packet *pkt, uint32_t ifindex, uint16_t sport,
		    const uint8_t *data, size_t len)
{
	struct shim_dgram_hdr h;
	sock_dgram_hdr_init(&h, pkt, ifindex);
	h.peer.port = sport;
	h.local.family = pkt->dst.family;
	h.local.port = s->local.port;
	memcpy(h.local.addr, pkt->dst.bytes, 16);
	if (ip_addr_is_link_local(&pkt->dst))
		h.local.scope_id = ifindex;
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)data, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	if (sendmsg(s->lfd.fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		s->sl->stats.udp_drops++;   /* the app's receive buffer is full: like a socket's */
}

/*
 * A datagram to a multicast group: every UDP socket bound to the port (the
 * wildcard or the group address) hears it if a socket joined the group on
 * the interface it came in on. false when none (the router drops it).
 */
static bool mcast_input(struct sock_layer *sl, struct pbuf *b, const struct ip_packet *pkt,
			uint32_t ifindex, const struct udphdr *u, const uint8_t *l4, size_t ulen)
{
	if (!mcast_joined(sl, &pkt->dst, ifindex))
		return false;
	uint16_t dport = ntohs(u->dest);
	int n = 0;
	for (uint32_t i = 0; i < SOCK_MAX; i++) {
		struct sock *s = sl->socks[i];
		if (!s || s->kind != SK_UDP || !s->bound || s->lfd.fd < 0 || s->dead ||
		    s->local.port != dport)
			continue;
		if (s->opts.bind_ifindex && s->opts.bind_ifindex != ifindex)
			continue;
		if (s->local_any ? !local_match(s, &pkt->dst, ifindex)
				 : !ip_addr_equal(&s->local.addr, &pkt->dst))
			continue;
		if (s->connected && (!ip_addr_equal(&s->remote.addr, &pkt->src) ||
				     s->remote.port != ntohs(u->source)))
			continue;
		if (s->opts.min_ttl && packet_ttl(pkt) < s->opts.min_ttl) {
			sl->stats.min_ttl_drops++;
			continue;
		}
		deliver(s, pkt, ifindex, ntohs(u->source), l4 + 8, ulen - 8);
		n++;
	}
	if (!n)
		return false;
	sl->stats.udp_in++;
	pbuf_free(b);
	return true;
}

bool sock_udp_input(struct sock_layer *sl, struct netif *in, struct pbuf *b,
		    const struct ip_packet *pkt)
{
	size_t avail = pkt->total_len - pkt->hdr_len;
	const uint8_t *l4 = pkt->hdr + pkt->hdr_len;
	struct udphdr u;
	if (pkt->family == AF_INET6 && pkt->proto != IPPROTO_UDP)
		return false;
	if (avail < sizeof(u))
		goto drop;
	memcpy(&u, l4, sizeof(u));
	size_t ulen = ntohs(u.len);
	if (ulen < sizeof(u) || ulen > avail)
		goto drop;
	if (u.check || pkt->family == AF_INET6) {
		uint32_t sum = pseudo(&pkt->src, &pkt->dst, IPPROTO_UDP, ulen);
		if (csum_fold(csum_partial(l4, ulen, sum)) != 0)
			goto drop;
	}
	uint32_t ifindex = in ? in->ifindex : 0;
	if (ip_addr_is_multicast(&pkt->dst))
		return mcast_input(sl, b, pkt, ifindex, &u, l4, ulen);
	struct sock *s = demux(sl, SK_UDP, &pkt->dst, ntohs(u.dest), &pkt->src, ntohs(u.source),
			       ifindex);
	if (!s)
		return false;   /* the router answers port unreachable */
	if (s->opts.min_ttl && packet_ttl(pkt) < s->opts.min_ttl) {
		sl->stats.min_ttl_drops++;   /* GTSM (RFC 5082): from too far away */
		pbuf_free(b);
		return true;
	}
	sl->stats.udp_in++;
	deliver(s, pkt, ifindex, ntohs(u.source), l4 + sizeof(u), ulen - sizeof(u));
	pbuf_free(b);
	return true;
drop:
	sl->stats.udp_drops++;
	pbuf_free(b);
	return true;
}

/* ---- ICMP errors ---- */

/* Linux's icmp_err_convert[] (net/ipv4/icmp.c): destination unreachable, by code. */
static const struct err_map v4_unreach[16] = {
	{ ENETUNREACH, 0 },  { EHOSTUNREACH, 0 }, { ENOPROTOOPT, 1 },  { ECONNREFUSED, 1 },
	{ EMSGSIZE, 1 },     { EOPNOTSUPP, 0 },   { ENETUNREACH, 1 },  { EHOSTDOWN, 1 },
	{ ENONET, 1 },       { ENETUNREACH, 1 },  { EHOSTUNREACH, 1 }, { ENETUNREACH, 0 },
	{ EHOSTUNREACH, 0 }, { EHOSTUNREACH, 1 }, { EHOSTUNREACH, 1 }, { EHOSTUNREACH, 1 },
};

/* Linux's icmpv6_err_convert() tab_unreach (net/ipv6/icmp.c), by code. */
static const struct err_map v6_unreach[7] = {
	{ EHOSTUNREACH, 0 }, { EACCES, 1 }, { EHOSTUNREACH, 0 }, { EHOSTUNREACH, 0 },
	{ ECONNREFUSED, 1 }, { EACCES, 1 }, { EACCES, 1 },
};

/*
 * The errno for an ICMP error type/code and whether it is hard, as Linux's
 * UDP does it (frag-needed / packet-too-big count as hard: a UDP socket's
 * default path MTU discovery mode is not "don't"). False: not an error a
 * socket hears about (source quench, redirect, informational types).
 */
bool classify_error(int family, uint8_t type, uint8_t code, struct err_map *m)
{
	if (family == AF_INET) {
		switch (type) {
		case ICMP_DEST_UNREACH:
			*m = code < 16 ? v4_unreach[code] : (struct err_map){ EHOSTUNREACH, 0 };
			return true;
		case ICMP_TIME_EXCEEDED:
			*m = (struct err_map){ EHOSTUNREACH, 0 };
			return true;
		case ICMP_PARAMETERPROB:
			*m = (struct err_map){ EPROTO, 1 };
			return true;
		default:
			return false;
		}
	}
	switch (type) {
	case ICMP6_DST_UNREACH:
		*m = code < 7 ? v6_unreach[code] : (struct err_map){ EHOSTUNREACH, 0 };
		return true;
	case ICMP6_PACKET_TOO_BIG:
		*m = (struct err_map){ EMSGSIZE, 1 };
		return true;
	case ICMP6_TIME_EXCEEDED:
		*m = (struct err_map){ EHOSTUNREACH, 0 };
		return true;
	case ICMP6_PARAM_PROB:
		*m = (struct err_map){ EPROTO, 1 };
		return true;
	default:
		return false;
	}
}

bool parse_quoted(int family, const uint8_t *q, size_t qlen, struct quoted *out)
{
	memset(out, 0, sizeof(*out));
	size_t hl, orig_l4;
	if (family == AF_INET) {
		if (qlen < 20 || q[0] >> 4 != 4)
			return false;
		hl = (size_t)(q[0] & 0xf) * 4;
		uint16_t frag = (uint16_t)((q[6] << 8 | q[7]) & IP_OFFMASK);
		size_t tot = (size_t)(q[2] << 8 | q[3]);
		if (hl < 20 || qlen < hl || frag || tot < hl)
			return false;   /* a later fragment quotes no transport header */
		out->proto = q[9];
		ip_addr_from_v4(&out->src, q + 12);
		ip_addr_from_v4(&out->dst, q + 16);
		orig_l4 = tot - hl;
	} else {
		if (qlen < 40 || q[0] >> 4 != 6)
			return false;
		hl = 40;   /* extension headers are not walked: our sockets send none */
		out->proto = q[6];
		ip_addr_from_v6(&out->src, q + 8);
		ip_addr_from_v6(&out->dst, q + 24);
		orig_l4 = (size_t)(q[4] << 8 | q[5]);
	}
	out->l4 = q + hl;
	out->l4_len = qlen - hl < orig_l4 ? qlen - hl : orig_l4;
	return out->l4_len >= 8;   /* a UDP header, or an echo header with its identifier */
}

void deliver_error(struct sock *s, const struct ip_packet *pkt, uint32_t ifindex,
			  const struct quoted *q, uint16_t dport, const struct err_map *m,
			  const uint8_t *icmp, const uint8_t *data, size_t len)
{
	struct shim_dgram_hdr h;
	struct shim_dgram_err er;
	memset(&h, 0, sizeof(h));
	memset(&er, 0, sizeof(er));
	h.peer.family = q->dst.family;
	h.peer.port = dport;
	memcpy(h.peer.addr, q->dst.bytes, 16);
	if (ip_addr_is_link_local(&q->dst))
		h.peer.scope_id = ifindex;
	h.ifindex = ifindex;
	h.flags = SHIM_DGRAM_HAS_TTL | SHIM_DGRAM_ERR;
	h.ttl = pkt->family == AF_INET ? ((const struct iphdr *)pkt->hdr)->ttl
				       : ((const struct ip6_hdr *)pkt->hdr)->ip6_hlim;
	er.offender.family = pkt->src.family;
	memcpy(er.offender.addr, pkt->src.bytes, 16);
	if (ip_addr_is_link_local(&pkt->src))
		er.offender.scope_id = ifindex;
	er.origin = (uint8_t)pkt->family;
	er.type = icmp[0];
	er.code = icmp[1];
	er.errnum = m->errnum;
	er.fatal = m->fatal;
	/* ee_info as Linux fills it: the MTU, or the parameter-problem pointer, else 0 */
	uint32_t rest;
	memcpy(&rest, icmp + 4, 4);
	rest = ntohl(rest);
	if (pkt->family == AF_INET)
		er.info = icmp[0] == ICMP_DEST_UNREACH && icmp[1] == ICMP_FRAG_NEEDED ? rest & 0xffff
			: icmp[0] == ICMP_PARAMETERPROB ? rest >> 24 : 0;
	else
		er.info = icmp[0] == ICMP6_PACKET_TOO_BIG || icmp[0] == ICMP6_PARAM_PROB ? rest : 0;
	struct iovec iov[3] = { { &h, sizeof(h) }, { &er, sizeof(er) }, { (void *)data, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 3 };
	if (sendmsg(s->lfd.fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		s->sl->stats.udp_drops++;
}

/*
 * An ICMP error (checksum already verified) for one of our sockets: true
 * when it was one (b is then consumed), false to let the router drop it.
 */
static bool icmp_error_input(struct sock_layer *sl, struct netif *in, struct pbuf *b,
			     const struct ip_packet *pkt, const uint8_t *icmp, size_t len,
			     const struct err_map *m)
{
	struct quoted q;
	if (!parse_quoted(pkt->family, icmp + 8, len - 8, &q))
		return false;
	/* Only about what we sent: the quoted source is one of our addresses. */
	if (!ip_router_local_netif(sl->router, &q.src, in))
		return false;
	uint32_t ifindex = in ? in->ifindex : 0;
	struct sock *s;
	uint16_t dport = 0;
	const uint8_t *data;
	size_t dlen;
	uint8_t icmp_proto = pkt->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	uint8_t echo = pkt->family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	if (q.proto == IPPROTO_UDP) {
		struct udphdr u;
		memcpy(&u, q.l4, sizeof(u));
		dport = ntohs(u.dest);
		s = demux(sl, SK_UDP, &q.src, ntohs(u.source), &q.dst, dport, ifindex);
		size_t ulen = ntohs(u.len);
		data = q.l4 + 8;
		dlen = q.l4_len - 8;
		if (ulen >= 8 && ulen - 8 < dlen)
			dlen = ulen - 8;
	} else if (q.proto == icmp_proto && q.l4[0] == echo) {
		/* A ping socket: Linux queues the quoted echo request itself, header and all. */
		uint16_t id;
		memcpy(&id, q.l4 + 4, 2);
		s = demux(sl, SK_ICMP, &q.src, ntohs(id), &q.dst, 0, ifindex);
		data = q.l4;
		dlen = q.l4_len;
	} else {
		return false;
	}
	if (!s)
		return false;
	sl->stats.icmp_in++;
	if (s->opts.recverr || (s->connected && m->fatal))
		deliver_error(s, pkt, ifindex, &q, dport, m, icmp, data, dlen);
	pbuf_free(b);
	return true;
}

bool sock_icmp_input(struct sock_layer *sl, struct netif *in, struct pbuf *b,
		     const struct ip_packet *pkt)
{
	size_t len = pkt->total_len - pkt->hdr_len;
	const uint8_t *l4 = pkt->hdr + pkt->hdr_len;
	if (len < 8)
		return false;
	uint8_t reply = pkt->family == AF_INET ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY;
	struct err_map m;
	bool is_err = classify_error(pkt->family, l4[0], l4[1], &m);
	if (!is_err && (l4[0] != reply || l4[1] != 0))
		return false;   /* the rest is not for sockets */
	uint32_t sum = pkt->family == AF_INET ? 0 : pseudo(&pkt->src, &pkt->dst, IPPROTO_ICMPV6, len);
	if (csum_fold(csum_partial(l4, len, sum)) != 0)
		return false;
	if (is_err)
		return icmp_error_input(sl, in, b, pkt, l4, len, &m);
	uint16_t id;
	memcpy(&id, l4 + 4, 2);
	uint32_t ifindex = in ? in->ifindex : 0;
	struct sock *s = demux(sl, SK_ICMP, &pkt->dst, ntohs(id), &pkt->src, 0, ifindex);
	if (!s)
		return false;
	sl->stats.icmp_in++;
	deliver(s, pkt, ifindex, 0, l4, len);
	pbuf_free(b);
	return true;
}
