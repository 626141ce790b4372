/*
 * TCP MSS clamping: a forwarded or locally sent SYN advertises at most what
 * fits the egress MTU, so TCP never relies on path-MTU discovery through the
 * tunnel (ICMP is often filtered on overlay paths, e.g. anycast in DN42).
 */
#ifndef RR_IP_MSS_H
#define RR_IP_MSS_H

#include <stdint.h>

#include "ip/packet.h"

/* If pkt is a TCP SYN whose MSS option exceeds what mtu allows, lowers it
 * (checksum updated incrementally). Returns 1 if changed, 0 otherwise. */
int tcp_mss_clamp(struct ip_packet *pkt, uint16_t mtu);

#endif
