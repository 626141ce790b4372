/*
 * Byte-level packet helpers with no cmocka in them, for the unit tests
 * (through testlib.h) and the fuzz harnesses: a reference checksum, big-endian
 * 16-bit access, and IP headers written field by field.
 *
 * The reference checksum here is deliberately naive (byte by byte) so that it
 * shares no code with ip/checksum.c, which it is used to check.
 */
#ifndef RR_TESTS_PACKET_BYTES_H
#define RR_TESTS_PACKET_BYTES_H

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* RFC 1071 the slow way: big-endian 16-bit words, odd byte padded, no folding yet. */
static inline uint32_t ref_sum(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i < len; i += 2)
		sum += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
	return sum;
}

/* End-around carry and complement: the checksum as a host-order number. */
static inline uint16_t ref_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The fields of an IP header tl_ip_header writes; the rest are zero. */
struct tl_ip {
	int family;                  /* AF_INET or AF_INET6 */
	const uint8_t *src, *dst;    /* 4 or 16 bytes */
	uint8_t proto, ttl;          /* protocol or next header; TTL or hop limit */
	uint16_t id, frag;           /* IPv4 only: identification; flags and fragment offset */
};

/*
 * Writes h at out as the header of a packet with l4_len bytes after it (IPv4
 * with its header checksum); returns the header's length, 20 or 40.
 */
static inline size_t tl_ip_header(uint8_t *out, const struct tl_ip *h, size_t l4_len)
{
	if (h->family == AF_INET6) {
		memset(out, 0, 40);
		out[0] = 0x60;
		put16(out + 4, (uint16_t)l4_len);
		out[6] = h->proto;
		out[7] = h->ttl;
		memcpy(out + 8, h->src, 16);
		memcpy(out + 24, h->dst, 16);
		return 40;
	}
	memset(out, 0, 20);
	out[0] = 0x45;
	put16(out + 2, (uint16_t)(20 + l4_len));
	put16(out + 4, h->id);
	put16(out + 6, h->frag);
	out[8] = h->ttl;
	out[9] = h->proto;
	memcpy(out + 12, h->src, 4);
	memcpy(out + 16, h->dst, 4);
	put16(out + 10, ref_fold(ref_sum(out, 20, 0)));
	return 20;
}

#endif
