/* IPv4 fragmentation (RFC 791) for forwarded packets larger than the egress MTU with DF clear. */
#ifndef RR_IP_FRAG_H
#define RR_IP_FRAG_H

#include <stdint.h>

#include "core/pbuf.h"
#include "ip/packet.h"

/*
 * Splits the IPv4 packet in b (parsed as pkt) into fragments of at most mtu
 * bytes and hands each to emit. b is consumed. Returns the number of
 * fragments, or -1 (nothing emitted) if out of memory or mtu is too small.
 */
int ip4_fragment(struct pbuf *b, const struct ip_packet *pkt, uint16_t mtu,
		 void (*emit)(void *ctx, struct pbuf *frag), void *ctx);

#endif
