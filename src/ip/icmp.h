/* ICMP and ICMPv6 messages the router itself originates. */
#ifndef RR_IP_ICMP_H
#define RR_IP_ICMP_H

#include "core/pbuf.h"
#include "ip/packet.h"

/*
 * If pkt (already parsed, addressed to us) is an echo request, rewrites it in
 * place into the echo reply and returns 0; -1 if it is not an echo request or
 * its checksum is wrong.
 */
int icmp_echo_reply_in_place(struct pbuf *b, struct ip_packet *pkt);

#endif
