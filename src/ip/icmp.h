/* ICMP and ICMPv6 messages the router itself originates: echo replies and errors. */
#ifndef RR_IP_ICMP_H
#define RR_IP_ICMP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/pbuf.h"
#include "ip/packet.h"

/*
 * If pkt (already parsed, addressed to us) is an echo request, rewrites it in
 * place into the echo reply and returns 0; -1 if it is not an echo request or
 * its checksum is wrong.
 */
int icmp_echo_reply_in_place(struct pbuf *b, struct ip_packet *pkt);

enum icmp_error {
	ICMP_ERR_NET_UNREACH,      /* no route (v4 3/0, v6 1/0) */
	ICMP_ERR_HOST_UNREACH,     /* unreachable route, no peer (v4 3/1, v6 1/3) */
	ICMP_ERR_PORT_UNREACH,     /* nothing listens (v4 3/3, v6 1/4) */
	ICMP_ERR_PROHIBITED,       /* prohibit route (v4 3/13, v6 1/1) */
	ICMP_ERR_TIME_EXCEEDED,    /* TTL / hop limit (v4 11/0, v6 3/0) */
	ICMP_ERR_TOO_BIG,          /* v4 3/4 with next-hop MTU, v6 2 with MTU */
	ICMP_ERR_REASM_TIMEOUT,    /* fragment reassembly time exceeded (v4 11/1, v6 3/1) */
};

/*
 * RFC 1812 4.3.2.7 / RFC 4443 2.4(e): no error about an ICMP error, a
 * non-first fragment, a multicast or broadcast destination, or an
 * unspecified, multicast or loopback source.
 */
bool icmp_error_allowed(const struct ip_packet *pkt);

/*
 * A new packet carrying the error about pkt (as much of it as fits in 576
 * bytes for IPv4, 1280 for IPv6), from src to pkt's source, TTL 64.
 * mtu is used for ICMP_ERR_TOO_BIG. NULL when out of memory.
 */
struct pbuf *icmp_error_build(const struct ip_packet *pkt, enum icmp_error err, uint32_t mtu,
			      const struct ip_addr *src);

#endif
