/*
 * Helpers shared by the unit tests in tests/unit/. Header only, static
 * inline: the Makefile links each test_*.c alone against build/librr.a, so a
 * testlib.c would not be linked. Include after <cmocka.h>.
 *
 * The reference checksum here is deliberately naive (byte by byte) so that it
 * shares no code with ip/checksum.c, which it is used to check.
 */
#ifndef RR_TESTS_TESTLIB_H
#define RR_TESTS_TESTLIB_H

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

#ifdef RR_IP_ADDR_H
/* A v4 or v6 address from text; fails the test on a typo. Needs ip/addr.h first. */
static inline struct ip_addr ipa(const char *s)
{
	struct ip_addr a;
	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, a.bytes) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, s, a.bytes) == 1)
		a.family = AF_INET6;
	else
		fail_msg("bad address %s", s);
	return a;
}

#include <sys/socket.h>

/* A socket of type (SOCK_DGRAM, SOCK_STREAM) on 127.0.0.1 at a port the kernel picks: *bound. */
static inline int tl_loopback_socket(int type, union sockaddr_inet *bound)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memset(bound, 0, sizeof(*bound));
	bound->in4.sin_family = AF_INET;
	bound->in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, &bound->sa, sizeof(bound->in4)), 0);
	socklen_t len = sizeof(bound->in4);
	assert_int_equal(getsockname(fd, &bound->sa, &len), 0);
	return fd;
}
#endif

#ifdef RR_STACK_TCP_H
/*
 * tcp_connect on s from 10.0.0.1:lport (0: an ephemeral port) to 10.0.0.2:rport,
 * the connections the TCP engine tests open; returns what tcp_connect returned.
 */
static inline int tl_tcp_connect(struct tcp_stack *s, uint16_t lport, uint16_t rport,
				 const struct tcp_options *opt, struct tcp_conn **c)
{
	struct tcp_endpoint l = { .port = lport }, r = { .port = rport };
	assert_int_equal(ip_addr_parse("10.0.0.1", &l.addr), 0);
	assert_int_equal(ip_addr_parse("10.0.0.2", &r.addr), 0);
	return tcp_connect(s, &l, &r, opt, c);
}
#endif

#if defined(RR_STACK_SOCK_H) && defined(RR_STACK_SHIM_PROTO_H)
#include <sys/socket.h>

#include "shim_recv.h"

/* A shim client connected to sl, as librrshim.so would be; returns our end. */
static inline int tl_shim_client(struct sock_layer *sl)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(sock_layer_add_client(sl, sv[1]), 0);
	return sv[0];
}

#endif

#endif
