/*
 * The IP-level options of router datagram sockets (UDP and ping) that DNS
 * servers and routing daemons use, kept apart from shim.c's generic option
 * code: path MTU (IP_MTU, IPV6_MTU, IP_MTU_DISCOVER, IPV6_MTU_DISCOVER,
 * IPV6_DONTFRAG), packet info (IP_PKTINFO, IPV6_RECVPKTINFO on receive;
 * IP_PKTINFO / IPV6_PKTINFO control messages on send: source selection),
 * IP_FREEBIND, per-message hop limits / traffic class, and multicast
 * (memberships, IP(V6)_MULTICAST_IF / _HOPS / _LOOP).
 *
 * What rrouted must know travels in shim_opts (replayed with every change);
 * what only shapes the app's receive calls (which control messages it
 * wants) stays in the shim's fd entry.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "shim/shim.h"

#ifndef IP_PMTUDISC_OMIT
#define IP_PMTUDISC_OMIT 5
#endif
#ifndef IPV6_DONTFRAG
#define IPV6_DONTFRAG 62
#endif
#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT 75
#endif

static int get_int(const void *val, socklen_t len, int *out)
{
	if (!val || len < 1)
		return -EINVAL;
	if (len < (socklen_t)sizeof(int)) {
		*out = *(const unsigned char *)val;   /* Linux takes one byte for IP options */
		return 0;
	}
	memcpy(out, val, sizeof(int));
	return 0;
}

void shim_dgram_init(struct shim_fd *e)
{
	e->opts.pmtudisc = IP_PMTUDISC_WANT;   /* Linux's default (ip_no_pmtu_disc = 0) */
	e->opts.pmtudisc6 = IPV6_PMTUDISC_WANT;
	e->opts.mcast_hops = 1;                /* multicast stays on the link unless asked */
}

/* ---- multicast membership ---- */

static int mcast_rpc(const struct shim_fd *e, const struct shim_addr *group, bool join)
{
	struct shim_req req;
	struct shim_rep rep;
	shim_req_init(&req, SHIM_OP_MCAST, e->sock_id, e->domain, 0, 0);
	req.arg = join;
	req.addr = *group;
	req.opts = e->opts;
	int r = shim_rpc(&req, &rep, NULL, NULL, 0);
	return r < 0 ? r : -rep.err;
}

/*
 * A join or leave: told to rrouted at once if the socket is the router's,
 * else kept until its bind (BIRD binds first, but Linux allows either order).
 */
static int membership(struct shim_fd *e, const struct shim_addr *group, bool join)
{
	if (e->sock_id >= 0)
		return mcast_rpc(e, group, join);
	for (unsigned i = 0; i < e->n_pending_mc; i++) {
		struct shim_addr *g = &e->pending_mc[i];
		if (g->family == group->family && g->scope_id == group->scope_id &&
		    memcmp(g->addr, group->addr, 16) == 0) {
			if (join)
				return -EADDRINUSE;
			e->pending_mc[i] = e->pending_mc[--e->n_pending_mc];
			return 0;
		}
	}
	if (!join)
		return -EADDRNOTAVAIL;
	if (e->n_pending_mc == SHIM_PENDING_MC)
		return -ENOBUFS;
	e->pending_mc[e->n_pending_mc++] = *group;
	return 0;
}

void shim_dgram_after_bind(struct shim_fd *e)
{
	for (unsigned i = 0; i < e->n_pending_mc; i++)
		if (mcast_rpc(e, &e->pending_mc[i], true) < 0)
			shim_log("multicast membership kept from before bind was refused by the router");
	e->n_pending_mc = 0;
}

static int mcast_set(struct shim_fd *e, int level, int name, const void *val, socklen_t len)
{
	struct shim_addr g;
	memset(&g, 0, sizeof(g));
	int v;
	if (level == IPPROTO_IP) {
		switch (name) {
		case IP_ADD_MEMBERSHIP:
		case IP_DROP_MEMBERSHIP: {
			/* struct ip_mreq, or ip_mreqn with an interface index */
			struct ip_mreqn mr;
			memset(&mr, 0, sizeof(mr));
			if (!val || len < (socklen_t)sizeof(struct ip_mreq))
				return -EINVAL;
			memcpy(&mr, val, len < (socklen_t)sizeof(mr) ? (size_t)len : sizeof(mr));
			if (!IN_MULTICAST(ntohl(mr.imr_multiaddr.s_addr)))
				return -EINVAL;
			g.family = AF_INET;
			memcpy(g.addr, &mr.imr_multiaddr, 4);
			g.scope_id = len >= (socklen_t)sizeof(mr) ? (uint32_t)mr.imr_ifindex : 0;
			int r = membership(e, &g, name == IP_ADD_MEMBERSHIP);
			return r < 0 ? r : 2;
		}
		case IP_MULTICAST_IF: {
			struct ip_mreqn mr;
			memset(&mr, 0, sizeof(mr));
			if (!val || len < (socklen_t)sizeof(struct in_addr))
				return -EINVAL;
			memcpy(&mr, val, len < (socklen_t)sizeof(mr) ? (size_t)len : sizeof(mr));
			/* ip_mreqn names the interface; a bare address is taken as "any" */
			e->opts.mcast_ifindex = len >= (socklen_t)sizeof(mr) ? (uint32_t)mr.imr_ifindex
									    : 0;
			return 1;
		}
		case IP_MULTICAST_TTL:
			if (get_int(val, len, &v) < 0 || v < -1 || v > 255)
				return -EINVAL;
			e->opts.mcast_hops = (uint8_t)(v < 0 ? 1 : v);
			return 1;
		case IP_MULTICAST_LOOP:
			if (get_int(val, len, &v) < 0)
				return -EINVAL;
			e->opts.mcast_noloop = !v;
			return 1;
		case MCAST_JOIN_GROUP:
		case MCAST_LEAVE_GROUP:
			break;   /* below, the same at both levels */
		default:
			return SHIM_OPT_UNKNOWN;
		}
	}
	switch (name) {
	case MCAST_JOIN_GROUP:
	case MCAST_LEAVE_GROUP: {
		/* RFC 3678's protocol-independent form, at either level */
		struct group_req gr;
		if (!val || len < (socklen_t)sizeof(gr))
			return -EINVAL;
		memcpy(&gr, val, sizeof(gr));
		socklen_t sl = gr.gr_group.ss_family == AF_INET ? sizeof(struct sockaddr_in)
							      : sizeof(struct sockaddr_in6);
		struct shim_addr ga;
		if (shim_addr_from_sockaddr(&ga, (const struct sockaddr *)&gr.gr_group, sl) < 0)
			return -EINVAL;
		g.family = ga.family;
		memcpy(g.addr, ga.addr, 16);
		g.scope_id = gr.gr_interface;
		int r = membership(e, &g, name == MCAST_JOIN_GROUP);
		return r < 0 ? r : 2;
	}
	case IPV6_JOIN_GROUP:
	case IPV6_LEAVE_GROUP: {
		struct ipv6_mreq mr;
		if (!val || len < (socklen_t)sizeof(mr))
			return -EINVAL;
		memcpy(&mr, val, sizeof(mr));
		if (IN6_IS_ADDR_V4MAPPED(&mr.ipv6mr_multiaddr)) {
			g.family = AF_INET;
			memcpy(g.addr, mr.ipv6mr_multiaddr.s6_addr + 12, 4);
		} else {
			if (!IN6_IS_ADDR_MULTICAST(&mr.ipv6mr_multiaddr))
				return -EINVAL;
			g.family = AF_INET6;
			memcpy(g.addr, &mr.ipv6mr_multiaddr, 16);
		}
		g.scope_id = mr.ipv6mr_interface;
		int r = membership(e, &g, name == IPV6_JOIN_GROUP);
		return r < 0 ? r : 2;
	}
	case IPV6_MULTICAST_IF: {
		if (get_int(val, len, &v) < 0 || v < 0)
			return -EINVAL;
		char ifname[IFNAMSIZ_SHIM + 1];
		if (v && shim_if_name((unsigned)v, ifname) < 0)
			return -ENODEV;
		e->opts.mcast_ifindex = (uint32_t)v;
		return 1;
	}
	case IPV6_MULTICAST_HOPS:
		if (get_int(val, len, &v) < 0 || v < -1 || v > 255)
			return -EINVAL;
		e->opts.mcast_hops = (uint8_t)(v < 0 ? 1 : v);
		return 1;
	case IPV6_MULTICAST_LOOP:
		if (get_int(val, len, &v) < 0 || v < 0 || v > 1)
			return -EINVAL;
		e->opts.mcast_noloop = !v;
		return 1;
	default:
		return SHIM_OPT_UNKNOWN;
	}
}

static void set_flag(struct shim_fd *e, uint8_t flag, int v)
{
	if (v)
		e->opts.flags |= flag;
	else
		e->opts.flags &= (uint8_t)~flag;
}

static bool handled(int level, int name)
{
	if (level == IPPROTO_IP)
		return name == IP_PKTINFO || name == IP_RECVTOS || name == IP_MTU_DISCOVER ||
		       name == IP_FREEBIND || name == IP_TRANSPARENT || name == IP_MTU;
	return name == IPV6_RECVPKTINFO || name == IPV6_RECVTCLASS || name == IPV6_MTU_DISCOVER ||
	       name == IPV6_MTU || name == IPV6_DONTFRAG || name == IPV6_FREEBIND ||
	       name == IPV6_TRANSPARENT;
}

int shim_dgram_opt_set(struct shim_fd *e, int level, int name, const void *val, socklen_t len)
{
	int v;
	if (level == IPPROTO_IPV6 && name == IPV6_PKTINFO) {
		/* Sticky source and interface for every send (RFC 3542 6.1). */
		struct in6_pktinfo pi;
		if (!val || len == 0) {
			memset(e->opts.pktinfo_src, 0, 16);
			e->opts.pktinfo_ifindex = 0;
			return 1;
		}
		if (len < (socklen_t)sizeof(pi))
			return -EINVAL;
		memcpy(&pi, val, sizeof(pi));
		char ifname[IFNAMSIZ_SHIM + 1];
		if (pi.ipi6_ifindex && shim_if_name(pi.ipi6_ifindex, ifname) < 0)
			return -ENODEV;
		memcpy(e->opts.pktinfo_src, &pi.ipi6_addr, 16);
		e->opts.pktinfo_ifindex = pi.ipi6_ifindex;
		return 1;
	}
	if (level == SOL_SOCKET && name == SO_PRIORITY) {
		/*
		 * BIRD asks 7 (control traffic) for Babel, OSPF, BFD; Linux wants CAP_NET_ADMIN
		 * above 6 for its own queues. The router has no queueing discipline: kept for
		 * getsockopt only, never given to the kernel socket.
		 */
		if (get_int(val, len, &v) < 0)
			return -EINVAL;
		e->priority = v;
		return 2;
	}
	if (level != IPPROTO_IP && level != IPPROTO_IPV6)
		return SHIM_OPT_UNKNOWN;
	int m = mcast_set(e, level, name, val, len);
	if (m != SHIM_OPT_UNKNOWN)
		return m;
	bool v4 = level == IPPROTO_IP;
	if (!handled(level, name))
		return SHIM_OPT_UNKNOWN;
	if (get_int(val, len, &v) < 0)
		return -EINVAL;
	if (v4) {
		switch (name) {
		case IP_PKTINFO: e->recvpktinfo = !!v; return 2;
		case IP_RECVTOS: e->recvtos = !!v; return 2;
		case IP_MTU_DISCOVER:
			if (v < IP_PMTUDISC_DONT || v > IP_PMTUDISC_OMIT)
				return -EINVAL;
			e->opts.pmtudisc = (uint8_t)v;
			return 1;
		case IP_FREEBIND:
		case IP_TRANSPARENT:
			set_flag(e, SHIM_OPT_FREEBIND, v);
			return 1;
		case IP_MTU:
			return -ENOPROTOOPT;   /* read-only, as in Linux */
		default:
			return SHIM_OPT_UNKNOWN;
		}
	}
	switch (name) {
	case IPV6_RECVPKTINFO: e->recvpktinfo6 = !!v; return 2;
	case IPV6_RECVTCLASS: e->recvtclass = !!v; return 2;
	case IPV6_MTU_DISCOVER:
		if (v < IPV6_PMTUDISC_DONT || v > IP_PMTUDISC_OMIT)
			return -EINVAL;
		e->opts.pmtudisc6 = (uint8_t)v;
		return 1;
	case IPV6_MTU:
		if (v && v < 1280)
			return -EINVAL;   /* Linux: below the IPv6 minimum MTU */
		e->opts.mtu6 = (uint32_t)v;
		return 1;
	case IPV6_DONTFRAG:
		set_flag(e, SHIM_OPT_DONTFRAG, v);
		return 1;
	case IPV6_FREEBIND:
	case IPV6_TRANSPARENT:
		set_flag(e, SHIM_OPT_FREEBIND, v);
		return 1;
	default:
		return SHIM_OPT_UNKNOWN;
	}
}

static int put(void *val, socklen_t *len, int v)
{
	if (!val || !len || *len < 1)
		return -EINVAL;
	if (*len < (socklen_t)sizeof(int)) {
		*(unsigned char *)val = (unsigned char)v;
		*len = 1;
		return 0;
	}
	memcpy(val, &v, sizeof(int));
	*len = sizeof(int);
	return 0;
}

/* IP_MTU / IPV6_MTU: the path MTU of a connected socket, from rrouted. */
static int path_mtu(const struct shim_fd *e, const struct shim_addr *to, int *mtu)
{
	if (e->sock_id < 0 || (!to && !e->connected))
		return -ENOTCONN;
	struct shim_req req;
	struct shim_rep rep;
	shim_req_init(&req, SHIM_OP_PMTU, e->sock_id, e->domain, 0, 0);
	req.opts = e->opts;
	if (to)
		req.addr = *to;
	int r = shim_rpc(&req, &rep, NULL, NULL, 0);
	if (r < 0)
		return r;
	if (rep.err)
		return -rep.err;
	*mtu = rep.val;
	return 0;
}

int shim_dgram_opt_get(const struct shim_fd *e, int level, int name, void *val, socklen_t *len)
{
	if (level == IPPROTO_IP) {
		int mtu;
		switch (name) {
		case IP_PKTINFO: return put(val, len, e->recvpktinfo);
		case IP_RECVTOS: return put(val, len, e->recvtos);
		case IP_MTU_DISCOVER: return put(val, len, e->opts.pmtudisc);
		case IP_FREEBIND:
		case IP_TRANSPARENT: return put(val, len, !!(e->opts.flags & SHIM_OPT_FREEBIND));
		case IP_MTU: {
			int r = path_mtu(e, NULL, &mtu);
			return r < 0 ? r : put(val, len, mtu);
		}
		case IP_MULTICAST_TTL: return put(val, len, e->opts.mcast_hops);
		case IP_MULTICAST_LOOP: return put(val, len, !e->opts.mcast_noloop);
		default: return SHIM_OPT_UNKNOWN;
		}
	}
	if (level != IPPROTO_IPV6)
		return SHIM_OPT_UNKNOWN;
	switch (name) {
	case IPV6_RECVPKTINFO: return put(val, len, e->recvpktinfo6);
	case IPV6_RECVTCLASS: return put(val, len, e->recvtclass);
	case IPV6_MTU_DISCOVER: return put(val, len, e->opts.pmtudisc6);
	case IPV6_DONTFRAG: return put(val, len, !!(e->opts.flags & SHIM_OPT_DONTFRAG));
	case IPV6_MULTICAST_IF: return put(val, len, (int)e->opts.mcast_ifindex);
	case IPV6_MULTICAST_HOPS: return put(val, len, e->opts.mcast_hops);
	case IPV6_MULTICAST_LOOP: return put(val, len, !e->opts.mcast_noloop);
	case IPV6_FREEBIND:
	case IPV6_TRANSPARENT: return put(val, len, !!(e->opts.flags & SHIM_OPT_FREEBIND));
	case IPV6_MTU: {
		int mtu, r = path_mtu(e, NULL, &mtu);
		return r < 0 ? r : put(val, len, mtu);
	}
	case IPV6_PKTINFO: {
		struct in6_pktinfo pi;
		memset(&pi, 0, sizeof(pi));
		memcpy(&pi.ipi6_addr, e->opts.pktinfo_src, 16);
		pi.ipi6_ifindex = e->opts.pktinfo_ifindex;
		if (!val || !len)
			return -EINVAL;
		socklen_t n = *len < (socklen_t)sizeof(pi) ? *len : (socklen_t)sizeof(pi);
		memcpy(val, &pi, n);
		*len = n;
		return 0;
	}
	default: return SHIM_OPT_UNKNOWN;
	}
}

int shim_dgram_send_cmsgs(const struct shim_fd *e, const struct msghdr *msg,
			  struct shim_dgram_hdr *h)
{
	if (!msg->msg_control || msg->msg_controllen < sizeof(struct cmsghdr))
		return 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)msg); c;
	     c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
		size_t dlen = c->cmsg_len - CMSG_LEN(0);
		const uint8_t *d = CMSG_DATA(c);
		int v;
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			if (dlen < sizeof(pi))
				return -EINVAL;
			memcpy(&pi, d, sizeof(pi));
			memset(&h->local, 0, sizeof(h->local));
			/* Linux takes the source from ipi_spec_dst; ipi_addr is ignored on send */
			if (pi.ipi_spec_dst.s_addr) {
				h->local.family = AF_INET;
				memcpy(h->local.addr, &pi.ipi_spec_dst, 4);
			}
			h->ifindex = (uint32_t)pi.ipi_ifindex;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			if (dlen < sizeof(pi) || e->domain != AF_INET6)
				return -EINVAL;
			memcpy(&pi, d, sizeof(pi));
			memset(&h->local, 0, sizeof(h->local));
			if (!IN6_IS_ADDR_UNSPECIFIED(&pi.ipi6_addr)) {
				if (IN6_IS_ADDR_V4MAPPED(&pi.ipi6_addr)) {
					h->local.family = AF_INET;
					memcpy(h->local.addr, pi.ipi6_addr.s6_addr + 12, 4);
				} else {
					h->local.family = AF_INET6;
					memcpy(h->local.addr, &pi.ipi6_addr, 16);
				}
			}
			h->ifindex = pi.ipi6_ifindex;
		} else if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
			   (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)) {
			if (dlen < sizeof(int))
				return -EINVAL;
			memcpy(&v, d, sizeof(int));
			if (v < -1 || v > 255 || (v == 0 && c->cmsg_level == IPPROTO_IP))
				return -EINVAL;
			if (v > 0) {
				h->ttl = (uint8_t)v;
				h->flags |= SHIM_DGRAM_HAS_TTL;
			}
		} else if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) ||
			   (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS)) {
			if (dlen < 1)
				return -EINVAL;
			v = dlen >= sizeof(int) ? *(const int *)(const void *)d : d[0];
			h->tos = (uint8_t)v;
			h->flags |= SHIM_DGRAM_HAS_TOS;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_DONTFRAG) {
			continue;   /* the socket option decides (EMSGSIZE check below uses it) */
		} else {
			shim_log_once("send-cmsg", "sendmsg: control message level %d type %d is "
				      "ignored inside the router", c->cmsg_level, c->cmsg_type);
		}
	}
	return 0;
}

int shim_dgram_check_size(const struct shim_fd *e, const struct shim_dgram_hdr *h, size_t total,
			  uint32_t *mtu_out)
{
	*mtu_out = 0;
	int fam = h->peer.family ? h->peer.family : e->peer.family;
	size_t hlen = fam == AF_INET ? 20 : 40;
	size_t l4 = e->kind == SK_UDP ? 8 : 0;
	if (total + hlen + l4 <= 1280)
		return 0;   /* fits every path the router may use: no need to ask */
	bool may_frag = fam == AF_INET
		? e->opts.pmtudisc != IP_PMTUDISC_DO && e->opts.pmtudisc != IP_PMTUDISC_PROBE
		: e->opts.pmtudisc6 != IPV6_PMTUDISC_DO && e->opts.pmtudisc6 != IPV6_PMTUDISC_PROBE &&
		  !(e->opts.flags & SHIM_OPT_DONTFRAG);
	if (may_frag)
		return total + hlen + l4 > 65535 + (fam == AF_INET6 ? 40 : 0) ? -EMSGSIZE : 0;
	int mtu;
	if (path_mtu(e, h->peer.family ? &h->peer : NULL, &mtu) < 0)
		return 0;   /* rrouted drops it if it cannot go */
	*mtu_out = (uint32_t)mtu;
	return total + hlen + l4 > (size_t)mtu ? -EMSGSIZE : 0;
}

void shim_dgram_recv_cmsgs(const struct shim_fd *e, const struct shim_dgram_hdr *h,
			   struct msghdr *msg, size_t *used)
{
	bool v4pkt = h->local.family == AF_INET;
	if (!h->local.family)
		return;
	/* IPv4 packets: IP_PKTINFO (on an IPv6 socket too, if it asked at the IPv4 level) */
	if (v4pkt && e->recvpktinfo) {
		struct in_pktinfo pi;
		memset(&pi, 0, sizeof(pi));
		pi.ipi_ifindex = (int)h->ifindex;
		memcpy(&pi.ipi_spec_dst, h->local.addr, 4);   /* the local address: the same here */
		memcpy(&pi.ipi_addr, h->local.addr, 4);
		shim_put_cmsg(msg, used, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	}
	if (v4pkt && e->recvtos) {
		uint8_t tos = h->tos;
		shim_put_cmsg(msg, used, IPPROTO_IP, IP_TOS, &tos, 1);
	}
	if (e->domain != AF_INET6)
		return;
	if (e->recvpktinfo6) {
		struct in6_pktinfo pi;
		memset(&pi, 0, sizeof(pi));
		if (v4pkt) {
			pi.ipi6_addr.s6_addr[10] = 0xff;
			pi.ipi6_addr.s6_addr[11] = 0xff;
			memcpy(pi.ipi6_addr.s6_addr + 12, h->local.addr, 4);
		} else {
			memcpy(&pi.ipi6_addr, h->local.addr, 16);
		}
		pi.ipi6_ifindex = h->ifindex;
		shim_put_cmsg(msg, used, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
	}
	if (e->recvtclass && !v4pkt) {
		int tc = h->tos;
		shim_put_cmsg(msg, used, IPPROTO_IPV6, IPV6_TCLASS, &tc, sizeof(tc));
	}
}
