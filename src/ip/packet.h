/* IPv4/IPv6 header access on packet buffers: validation and field helpers. */
#ifndef RR_IP_PACKET_H
#define RR_IP_PACKET_H

#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/pbuf.h"
#include "ip/addr.h"

/* What ip_packet_parse found; pointers into the buffer. */
struct ip_packet {
	int family;                  /* AF_INET or AF_INET6 */
	uint8_t *hdr;                /* start of the IP header */
	size_t hdr_len;              /* IPv4 IHL*4, or 40 for IPv6 (extension headers not skipped) */
	size_t total_len;            /* header + payload as the header says */
	uint8_t proto;               /* IPv4 protocol / IPv6 next header */
	struct ip_addr src, dst;
};

/*
 * Validates the header at the start of b (version, lengths, IPv4 header
 * checksum) and trims b to the length the header states (WireGuard pads).
 * Returns 0, or -1 if the packet is malformed.
 */
int ip_packet_parse(struct pbuf *b, struct ip_packet *pkt);
/*
 * For the WireGuard receive path: the source address (for the AllowedIPs
 * check) and the length the IP header states, which must fit in len (the
 * rest is padding). Returns that length, or -1 if the packet is not IP or
 * is shorter than its header claims.
 */
int ip_packet_source(const uint8_t *data, size_t len, struct ip_addr *src);

/*
 * Writes the IP header of a packet we originate at hdr, for payload_len bytes of proto
 * after it: 20 bytes for IPv4 (checksummed; id, and frag_off as on the wire in host
 * order, IP_DF among its bits), 40 for IPv6 (tos as the traffic class).
 */
void ip_header_write(uint8_t *hdr, const struct ip_addr *src, const struct ip_addr *dst,
		     uint8_t proto, uint8_t ttl, uint8_t tos, uint16_t id, uint16_t frag_off,
		     size_t payload_len);

#endif
