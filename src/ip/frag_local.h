/*
 * IP packets for a datagram the router itself originates (a hosted program's
 * UDP send): one packet when it fits the MTU, else IPv4 fragments (RFC 791)
 * or IPv6 fragments with a Fragment header (RFC 8200 4.5). Whether a
 * datagram may be fragmented at all is the caller's decision (the socket's
 * IP_MTU_DISCOVER / IPV6_MTU_DISCOVER / IPV6_DONTFRAG, as Linux decides).
 */
#ifndef RR_IP_FRAG_LOCAL_H
#define RR_IP_FRAG_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/pbuf.h"
#include "ip/addr.h"

#define IP_DATAGRAM_MAX 65535   /* IPv4 total length / IPv6 payload length limit */

struct ip_frag_spec {
	struct ip_addr src, dst;     /* same family */
	uint8_t proto;               /* the transport protocol of l4 */
	uint8_t ttl;                 /* hop limit, never 0 */
	uint8_t tos;                 /* TOS / traffic class */
	bool df;                     /* IPv4: DF on an unfragmented packet */
	uint32_t id;                 /* IPv4: low 16 bits; IPv6: the Fragment header's id */
};

/*
 * The payload room an IP packet of mtu bytes has for a datagram that is
 * not fragmented (hdr) and per fragment (a multiple of 8).
 */
size_t ip_frag_room(int family, uint16_t mtu);

/*
 * Builds the packet(s) carrying l4 (l4len bytes: transport header and data,
 * checksum already set) for mtu and hands each to emit, first to last. One
 * packet when it fits (then df applies), else fragments without DF. Returns
 * the number of packets, or -EMSGSIZE (larger than an IP datagram can be,
 * or mtu below the protocol minimum) or -ENOMEM; nothing is emitted then.
 */
int ip_frag_local(const struct ip_frag_spec *spec, const uint8_t *l4, size_t l4len,
		  uint16_t mtu, void (*emit)(void *ctx, struct pbuf *b), void *ctx);

#endif
