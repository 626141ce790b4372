/*
 * Raw ICMP sockets of hosted programs: socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)
 * and socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6), as ping, mtr-packet and
 * traceroute -I open them when they may. Inside the router they need no
 * privilege: the network is rrouted's own. The data fd is a SOCK_SEQPACKET
 * socketpair of struct shim_dgram_hdr + payload messages, as for UDP.
 *
 * Linux semantics kept:
 *  - Send: the program writes the ICMP message; we add the IP header (TTL,
 *    TOS from the socket options). IPv4: the message goes as it is (the
 *    program computes the checksum); ICMPv6: we compute the checksum (the
 *    kernel's fixed IPV6_CHECKSUM offset 2 for raw ICMPv6).
 *  - Receive: a copy of every valid ICMP message addressed to the router
 *    (echo replies, errors, anything), also those the router itself answers;
 *    IPv4 with its IP header in front, ICMPv6 without. A socket bound to an
 *    address, connected, or bound to a device sees only what matches.
 *    ICMP_FILTER / ICMP6_FILTER are applied by the shim.
 *  - No port: the source "port" on receive is 0.
 * Not supported: IP_HDRINCL and IPPROTO_RAW (the shim refuses them), error
 * queues on raw sockets (ICMP errors arrive as ordinary messages instead).
 */
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "ip/checksum.h"
#include "stack/sock_int.h"


int sock_raw_bind(struct sock *s, const struct shim_addr *a)
{
	/* The address checks of any bind; the port a raw socket does not have. */
	struct shim_addr noport = *a;
	noport.port = 0;
	int r = sock_bind(s, &noport);
	if (r == 0)
		s->local.port = 0;
	return r;
}

/* One IP packet from src to dst carrying the ICMP message msg (len bytes). */
static struct pbuf *raw_build(struct sock *s, const struct ip_addr *src, const struct ip_addr *dst,
			      const uint8_t *msg, size_t len)
{
	size_t hlen = src->family == AF_INET ? 20 : 40;
	if (hlen + len > PBUF_MTU_MAX)
		return NULL;
	uint8_t *p;
	struct pbuf *b = pbuf_alloc_put(hlen + len, &p);
	if (!b)
		return NULL;
	uint8_t ttl = s->opts.ttl ? s->opts.ttl : 64;
	if (src->family == AF_INET) {
		ip_header_write(p, src, dst, IPPROTO_ICMP, ttl, s->opts.tos, s->sl->ip_id++, 0, len);
		memcpy(p + hlen, msg, len);
	} else {
		ip_header_write(p, src, dst, IPPROTO_ICMPV6, ttl, s->opts.tos, 0, 0, len);
		uint8_t *l4 = p + hlen;
		memcpy(l4, msg, len);
		memset(l4 + 2, 0, 2);
		uint16_t ck = csum_fold(csum_partial(l4, len, csum_pseudo_v6(src->bytes, dst->bytes,
									     IPPROTO_ICMPV6,
									     (uint32_t)len)));
		memcpy(l4 + 2, &ck, 2);
	}
	return b;
}

static void raw_send(struct sock *s, const struct shim_dgram_hdr *h, uint8_t *msg, size_t len)
{
	struct sock_layer *sl = s->sl;
	struct tcp_endpoint dst;
	if (h->peer.family) {
		sock_addr_to_ep(&h->peer, &dst);
		dst.port = 0;
		if (ip_addr_is_link_local(&dst.addr) && !dst.scope_id)
			dst.scope_id = s->opts.bind_ifindex ? s->opts.bind_ifindex : s->local.scope_id;
		if (!ip_addr_is_link_local(&dst.addr))
			dst.scope_id = 0;
	} else if (s->connected) {
		dst = s->remote;
	} else {
		sl->stats.udp_drops++;
		return;
	}
	/* The family of the socket decides the protocol: no ICMPv4 over an IPv6 socket. */
	struct ip_addr src;
	if (dst.addr.family != s->family || len < 4 || sock_pick_source(s, &dst, &src) < 0) {
		sl->stats.udp_drops++;
		return;
	}
	struct pbuf *b = raw_build(s, &src, &dst.addr, msg, len);
	if (!b) {
		sl->stats.udp_drops++;
		return;
	}
	sl->stats.icmp_out++;
	sock_ip_output(sl, b, ip_addr_is_link_local(&dst.addr) ? dst.scope_id : 0);
}

static void raw_event(struct loop_fd *lfd, uint32_t events)
{
	sock_dgram_drain(lfd, events, raw_send);
}

int sock_raw_open(struct sock *s, int *app_fd)
{
	int sv[2];
	int r = sock_data_pair(SOCK_SEQPACKET, &sv[0], &sv[1]);
	if (r < 0)
		return r;
	/* Room for bursts: a raw socket sees every ICMP message to the router. */
	int size = 256 * 1024;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	s->lfd.fd = sv[1];
	s->lfd.cb = raw_event;
	s->app_ino = sock_fd_ino(sv[0]);
	sock_set_events(s, EPOLLIN);
	*app_fd = sv[0];
	return 0;
}

/* Does raw socket s see a message from src to dst that came in on ifindex? */
static bool raw_match(const struct sock *s, const struct ip_packet *pkt, uint32_t ifindex)
{
	if (s->kind != SK_RAW || s->dead || s->lfd.fd < 0 || s->family != pkt->family)
		return false;
	if (s->opts.bind_ifindex && s->opts.bind_ifindex != ifindex)
		return false;
	if (s->bound && !s->local_any && !ip_addr_equal(&s->local.addr, &pkt->dst))
		return false;
	if (s->connected && !ip_addr_equal(&s->remote.addr, &pkt->src))
		return false;
	return true;
}

/*
 * An ICMP error quoting an ICMP message we sent: Linux's raw_icmp_error()
 * queues it on every raw socket whose binding matches the quoted packet
 * (source = its address, destination = its peer if connected), if the socket
 * has IP_RECVERR, or is connected and the error is hard. The payload is the
 * quoted ICMP message, as for ping sockets (traceroute -I reads it).
 */
static void raw_error_input(struct sock_layer *sl, const struct ip_packet *pkt, uint32_t ifindex,
			    const uint8_t *icmp, size_t len)
{
	struct err_map m;
	struct quoted q;
	uint8_t proto = pkt->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	if (len < 8 || !classify_error(pkt->family, icmp[0], icmp[1], &m) ||
	    !parse_quoted(pkt->family, icmp + 8, len - 8, &q) || q.proto != proto)
		return;
	for (uint32_t i = 0; i < SOCK_MAX; i++) {
		struct sock *s = sl->socks[i];
		if (!s || s->kind != SK_RAW || s->dead || s->lfd.fd < 0 || s->family != pkt->family)
			continue;
		if (s->opts.bind_ifindex && s->opts.bind_ifindex != ifindex)
			continue;
		if (s->bound && !s->local_any && !ip_addr_equal(&s->local.addr, &q.src))
			continue;
		if (s->connected && !ip_addr_equal(&s->remote.addr, &q.dst))
			continue;
		if (s->opts.recverr || (s->connected && m.fatal))
			deliver_error(s, pkt, ifindex, &q, 0, &m, icmp, q.l4, q.l4_len);
	}
}

void sock_raw_input(struct sock_layer *sl, struct netif *in, const struct ip_packet *pkt)
{
	if ((pkt->family == AF_INET && pkt->proto != IPPROTO_ICMP) ||
	    (pkt->family == AF_INET6 && pkt->proto != IPPROTO_ICMPV6))
		return;
	bool any = false;   /* the common case, no raw socket at all, costs one scan */
	for (uint32_t i = 0; i < SOCK_MAX && !any; i++)
		any = sl->socks[i] && sl->socks[i]->kind == SK_RAW &&
		      sl->socks[i]->family == pkt->family;
	if (!any)
		return;
	size_t len = pkt->total_len - pkt->hdr_len;
	const uint8_t *l4 = pkt->hdr + pkt->hdr_len;
	uint32_t sum = pkt->family == AF_INET
		? 0 : csum_pseudo_v6(pkt->src.bytes, pkt->dst.bytes, IPPROTO_ICMPV6, (uint32_t)len);
	if (len < 4 || csum_fold(csum_partial(l4, len, sum)) != 0)
		return;
	uint32_t ifindex = in ? in->ifindex : 0;
	for (uint32_t i = 0; i < SOCK_MAX; i++) {
		struct sock *s = sl->socks[i];
		if (!s || !raw_match(s, pkt, ifindex))
			continue;
		struct shim_dgram_hdr h;
		sock_dgram_hdr_init(&h, pkt, ifindex);
		/* IPv4 raw sockets read the IP header too; ICMPv6 ones only the message. */
		const uint8_t *data = pkt->family == AF_INET ? pkt->hdr : l4;
		size_t dlen = pkt->family == AF_INET ? pkt->total_len : len;
		struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)data, dlen } };
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
		if (sendmsg(s->lfd.fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			sl->stats.udp_drops++;   /* the program's receive buffer is full */
	}
	raw_error_input(sl, pkt, ifindex, l4, len);
}
