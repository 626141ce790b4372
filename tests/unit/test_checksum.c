/*
 * Unit tests for the Internet checksum (ip/checksum.c) and IP header
 * validation (ip/packet.c). Every checksum is checked against a naive
 * byte-by-byte RFC 1071 sum (tests/unit/testlib.h), or against values computed
 * independently with Python's struct module.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "core/pbuf.h"
#include "ip/checksum.h"
#include "ip/packet.h"
#include "testlib.h"

/* The checksum the library computes, as a host-order number. */
static uint16_t lib_csum(const void *p, size_t len, uint32_t sum)
{
	uint16_t c = csum_fold(csum_partial(p, len, sum));
	uint8_t b[2];
	memcpy(b, &c, 2);
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void test_rfc1071_example(void **state)
{
	(void)state;
	/* RFC 1071 section 3: the sum of these bytes is ddf2, so the checksum is 220d. */
	static const uint8_t data[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	assert_int_equal(lib_csum(data, 8, 0), 0x220d);
	assert_int_equal(ref_fold(ref_sum(data, 8, 0)), 0x220d);
	/* Split at an even offset, continuing the sum, gives the same result. */
	assert_int_equal(lib_csum(data + 4, 4, csum_partial(data, 4, 0)), 0x220d);
	assert_int_equal(lib_csum(data + 2, 6, csum_partial(data, 2, 0)), 0x220d);
}

static void test_ipv4_header_example(void **state)
{
	(void)state;
	/* A well-known IPv4 header (192.168.0.1 -> 192.168.0.199, UDP) with checksum b861. */
	uint8_t h[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			  0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	assert_int_equal(lib_csum(h, 20, 0), 0);   /* a valid header sums to zero */
	h[10] = h[11] = 0;
	assert_int_equal(lib_csum(h, 20, 0), 0xb861);
}

static void test_odd_lengths_and_alignment(void **state)
{
	(void)state;
	uint8_t buf[300];
	srand(1071);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len + off <= sizeof(buf); len++)
			assert_int_equal(lib_csum(buf + off, len, 0),
					 ref_fold(ref_sum(buf + off, len, 0)));
	/* A single odd byte is the high-order byte of its word. */
	uint8_t one = 0xab;
	assert_int_equal(lib_csum(&one, 1, 0), (uint16_t)~0xab00);
	/* All 0xff: one's complement sum is 0xffff ("-0"), so the checksum is 0. */
	uint8_t ff[63];
	memset(ff, 0xff, sizeof(ff));
	assert_int_equal(lib_csum(ff, 62, 0), 0x0000);
	assert_int_equal(lib_csum(ff, 63, 0), ref_fold(ref_sum(ff, 63, 0)));
	/* Many carries: a long run of 0xffff words must still fold right. */
	static uint8_t big[65536];
	memset(big, 0xff, sizeof(big));
	assert_int_equal(lib_csum(big, sizeof(big), 0), ref_fold(ref_sum(big, sizeof(big), 0)));
}

static void test_replace2_matches_recompute(void **state)
{
	(void)state;
	srand(1624);
	for (int iter = 0; iter < 20000; iter++) {
		uint8_t h[40];
		for (size_t i = 0; i < sizeof(h); i++)
			h[i] = (uint8_t)rand();
		if (iter % 7 == 0)
			memset(h, iter % 2 ? 0xff : 0x00, sizeof(h));
		/* Real data is never all zero (IP version, pseudo-header protocol): there RFC 1624
		 * eqn 3 yields 0x0000 where a recompute yields 0xffff, which is harmless. */
		h[0] = 0x45;
		/* Checksum word at 10-11, as in an IPv4 header. */
		h[10] = h[11] = 0;
		uint16_t c = ref_fold(ref_sum(h, sizeof(h), 0));
		h[10] = (uint8_t)(c >> 8);
		h[11] = (uint8_t)c;
		size_t w = 2 * (size_t)(rand() % 20);
		if (w == 10 || w == 0)
			w = 8;
		uint16_t old_word, new_word, check;
		memcpy(&old_word, h + w, 2);
		h[w] = (uint8_t)rand();
		h[w + 1] = (uint8_t)rand();
		if (iter % 5 == 0)
			h[w] = h[w + 1] = iter % 10 ? 0xff : 0;
		memcpy(&new_word, h + w, 2);
		memcpy(&check, h + 10, 2);
		check = csum_replace2(check, old_word, new_word);
		uint8_t got[2];
		memcpy(got, &check, 2);
		h[10] = h[11] = 0;
		uint16_t want = ref_fold(ref_sum(h, sizeof(h), 0));
		/* The updated header must verify and match the full recompute. */
		h[10] = got[0];
		h[11] = got[1];
		assert_int_equal(ref_fold(ref_sum(h, sizeof(h), 0)), 0);
		assert_int_equal((uint16_t)(got[0] << 8 | got[1]), want);
	}
}

static void test_pseudo_v4(void **state)
{
	(void)state;
	/* UDP 192.0.2.1:1234 -> 198.51.100.7:53, "hello"; checksum cabe from Python. */
	uint8_t src[4] = { 192, 0, 2, 1 }, dst[4] = { 198, 51, 100, 7 };
	uint8_t udp[13] = { 0x04, 0xd2, 0x00, 0x35, 0x00, 0x0d, 0x00, 0x00, 'h', 'e', 'l', 'l', 'o' };
	assert_int_equal(lib_csum(udp, sizeof(udp), csum_pseudo_v4(src, dst, IPPROTO_UDP, 13)),
			 0xcabe);
	/* And against the pseudo-header laid out in bytes (RFC 768). */
	uint8_t ph[12 + 13] = { 192, 0, 2, 1, 198, 51, 100, 7, 0, IPPROTO_UDP, 0, 13 };
	memcpy(ph + 12, udp, 13);
	assert_int_equal(ref_fold(ref_sum(ph, sizeof(ph), 0)), 0xcabe);
	/* Stored, the segment verifies. */
	udp[6] = 0xca;
	udp[7] = 0xbe;
	assert_int_equal(lib_csum(udp, sizeof(udp), csum_pseudo_v4(src, dst, IPPROTO_UDP, 13)), 0);
	/* Random addresses and lengths against the byte layout. */
	srand(768);
	for (int i = 0; i < 2000; i++) {
		uint8_t seg[200], ref[12 + 200];
		size_t len = (size_t)rand() % sizeof(seg);
		for (size_t k = 0; k < 12; k++)
			ref[k] = (uint8_t)rand();
		for (size_t k = 0; k < len; k++)
			seg[k] = (uint8_t)rand();
		uint8_t proto = (uint8_t)rand();
		ref[8] = 0;
		ref[9] = proto;
		ref[10] = (uint8_t)(len >> 8);
		ref[11] = (uint8_t)len;
		memcpy(ref + 12, seg, len);
		assert_int_equal(lib_csum(seg, len, csum_pseudo_v4(ref, ref + 4, proto, (uint32_t)len)),
				 ref_fold(ref_sum(ref, 12 + len, 0)));
	}
}

static void test_pseudo_v6(void **state)
{
	(void)state;
	/* The same UDP datagram fd42::1 -> 2001:db8::53; checksum 8bab from Python. */
	struct in6_addr src, dst;
	assert_int_equal(inet_pton(AF_INET6, "fd42::1", &src), 1);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::53", &dst), 1);
	uint8_t udp[13] = { 0x04, 0xd2, 0x00, 0x35, 0x00, 0x0d, 0x00, 0x00, 'h', 'e', 'l', 'l', 'o' };
	assert_int_equal(lib_csum(udp, 13, csum_pseudo_v6(&src, &dst, IPPROTO_UDP, 13)), 0x8bab);
	srand(8200);
	for (int i = 0; i < 2000; i++) {
		uint8_t seg[300], ref[40 + 300];
		size_t len = (size_t)rand() % sizeof(seg);
		for (size_t k = 0; k < 32; k++)
			ref[k] = (uint8_t)rand();
		for (size_t k = 0; k < len; k++)
			seg[k] = (uint8_t)rand();
		uint8_t nh = (uint8_t)rand();
		/* RFC 8200 8.1: 32-bit length, three zero bytes, next header. */
		ref[32] = ref[33] = 0;
		ref[34] = (uint8_t)(len >> 8);
		ref[35] = (uint8_t)len;
		ref[36] = ref[37] = ref[38] = 0;
		ref[39] = nh;
		memcpy(ref + 40, seg, len);
		assert_int_equal(lib_csum(seg, len, csum_pseudo_v6(ref, ref + 16, nh, (uint32_t)len)),
				 ref_fold(ref_sum(ref, 40 + len, 0)));
	}
}

/* ---- ip_packet_parse / ip_packet_source ---- */

static struct pbuf *buf_with(const uint8_t *data, size_t len)
{
	struct pbuf *b = pbuf_alloc();
	assert_non_null(b);
	uint8_t *p = pbuf_put(b, len);
	assert_non_null(p);
	memcpy(p, data, len);
	return b;
}

/* An IPv4 header (ihl 5 unless options given) + payload, valid checksum, into out. */
static size_t make_v4(uint8_t *out, size_t payload_len, size_t opt_len)
{
	size_t hl = 20 + opt_len, tot = hl + payload_len;
	memset(out, 0, tot);
	out[0] = (uint8_t)(0x40 | hl / 4);
	out[2] = (uint8_t)(tot >> 8);
	out[3] = (uint8_t)tot;
	out[4] = 0x12;
	out[5] = 0x34;
	out[8] = 64;
	out[9] = IPPROTO_UDP;
	memcpy(out + 12, (uint8_t[]){ 172, 20, 1, 2 }, 4);
	memcpy(out + 16, (uint8_t[]){ 172, 20, 9, 9 }, 4);
	for (size_t i = 20; i < hl; i++)
		out[i] = IPOPT_NOP;
	for (size_t i = hl; i < tot; i++)
		out[i] = (uint8_t)i;
	uint16_t c = ref_fold(ref_sum(out, hl, 0));
	out[10] = (uint8_t)(c >> 8);
	out[11] = (uint8_t)c;
	return tot;
}

static size_t make_v6(uint8_t *out, size_t payload_len)
{
	memset(out, 0, 40 + payload_len);
	out[0] = 0x60;
	out[4] = (uint8_t)(payload_len >> 8);
	out[5] = (uint8_t)payload_len;
	out[6] = IPPROTO_TCP;
	out[7] = 64;
	out[8] = 0xfd;
	out[9] = 0x42;
	out[23] = 1;
	out[24] = 0xfd;
	out[25] = 0x42;
	out[39] = 2;
	for (size_t i = 40; i < 40 + payload_len; i++)
		out[i] = (uint8_t)i;
	return 40 + payload_len;
}

static int parse_bytes(const uint8_t *data, size_t len, struct ip_packet *pkt, size_t *left)
{
	struct pbuf *b = buf_with(data, len);
	int r = ip_packet_parse(b, pkt);
	*left = b->len;
	pbuf_free(b);
	return r;
}

static void test_parse_good_v4(void **state)
{
	(void)state;
	uint8_t p[200];
	size_t n = make_v4(p, 50, 8);
	struct pbuf *b = buf_with(p, n);
	struct ip_packet pkt;
	assert_int_equal(ip_packet_parse(b, &pkt), 0);
	assert_int_equal(pkt.family, AF_INET);
	assert_ptr_equal(pkt.hdr, pbuf_data(b));
	assert_int_equal(pkt.hdr_len, 28);
	assert_int_equal(pkt.total_len, 78);
	assert_int_equal(pkt.proto, IPPROTO_UDP);
	assert_int_equal(pkt.src.family, AF_INET);
	assert_memory_equal(pkt.src.bytes, ((uint8_t[]){ 172, 20, 1, 2 }), 4);
	assert_memory_equal(pkt.dst.bytes, ((uint8_t[]){ 172, 20, 9, 9 }), 4);
	assert_int_equal(b->len, 78);
	pbuf_free(b);
}

static void test_parse_good_v6(void **state)
{
	(void)state;
	uint8_t p[200];
	size_t n = make_v6(p, 60);
	struct pbuf *b = buf_with(p, n);
	struct ip_packet pkt;
	assert_int_equal(ip_packet_parse(b, &pkt), 0);
	assert_int_equal(pkt.family, AF_INET6);
	assert_int_equal(pkt.hdr_len, 40);
	assert_int_equal(pkt.total_len, 100);
	assert_int_equal(pkt.proto, IPPROTO_TCP);
	assert_int_equal(pkt.src.family, AF_INET6);
	assert_memory_equal(pkt.src.bytes, p + 8, 16);
	assert_memory_equal(pkt.dst.bytes, p + 24, 16);
	pbuf_free(b);
	/* A bare header with no payload is fine. */
	size_t left;
	n = make_v6(p, 0);
	assert_int_equal(parse_bytes(p, n, &pkt, &left), 0);
	assert_int_equal(pkt.total_len, 40);
}

static void test_parse_trims_padding(void **state)
{
	(void)state;
	uint8_t p[256];
	struct ip_packet pkt;
	size_t left;
	/* WireGuard pads plaintext to a multiple of 16: the header's length wins. */
	size_t n = make_v4(p, 13, 0);
	memset(p + n, 0, 15);
	assert_int_equal(parse_bytes(p, n + 15, &pkt, &left), 0);
	assert_int_equal(left, 33);
	assert_int_equal(pkt.total_len, 33);
	n = make_v6(p, 7);
	memset(p + n, 0xee, 9);
	assert_int_equal(parse_bytes(p, n + 9, &pkt, &left), 0);
	assert_int_equal(left, 47);
	assert_int_equal(pkt.total_len, 47);
}

static void test_parse_rejects(void **state)
{
	(void)state;
	uint8_t p[200] = { 0 }, q[200] = { 0 };
	struct ip_packet pkt;
	size_t left, n;

	assert_int_equal(parse_bytes(p, 0, &pkt, &left), -1);               /* empty */
	n = make_v4(p, 20, 0);
	memcpy(q, p, n);
	q[0] = 0x55;                                                         /* version 5 */
	assert_int_equal(parse_bytes(q, n, &pkt, &left), -1);
	q[0] = 0x05;                                                         /* version 0 */
	assert_int_equal(parse_bytes(q, n, &pkt, &left), -1);
	assert_int_equal(parse_bytes(p, 19, &pkt, &left), -1);              /* short header */
	assert_int_equal(parse_bytes(p, 1, &pkt, &left), -1);
	for (uint8_t ihl = 0; ihl < 5; ihl++) {                              /* ihl < 5 */
		memcpy(q, p, n);
		q[0] = (uint8_t)(0x40 | ihl);
		/* Fix the checksum so only the IHL is wrong. */
		q[10] = q[11] = 0;
		uint16_t c = ref_fold(ref_sum(q, 20, 0));
		q[10] = (uint8_t)(c >> 8);
		q[11] = (uint8_t)c;
		assert_int_equal(parse_bytes(q, n, &pkt, &left), -1);
	}
	assert_int_equal(parse_bytes(p, n - 1, &pkt, &left), -1);           /* tot_len > buffer */
	memcpy(q, p, n);                                                     /* tot_len < ihl */
	q[2] = 0;
	q[3] = 16;
	q[10] = q[11] = 0;
	uint16_t c = ref_fold(ref_sum(q, 20, 0));
	q[10] = (uint8_t)(c >> 8);
	q[11] = (uint8_t)c;
	assert_int_equal(parse_bytes(q, n, &pkt, &left), -1);
	/* IHL larger than the packet. */
	memcpy(q, p, n);
	q[0] = 0x4f;
	q[3] = 40;
	q[10] = q[11] = 0;
	c = ref_fold(ref_sum(q, 60, 0));
	q[10] = (uint8_t)(c >> 8);
	q[11] = (uint8_t)c;
	assert_int_equal(parse_bytes(q, 40, &pkt, &left), -1);
	/* Bad header checksum: every single-bit flip of a valid header is caught. */
	for (size_t bit = 0; bit < 160; bit++) {
		memcpy(q, p, n);
		q[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (bit / 8 == 0 && (q[0] >> 4) != 4)
			continue;   /* a version flip is rejected anyway */
		assert_int_equal(parse_bytes(q, n, &pkt, &left), -1);
	}
	/* The checksum covers options too. */
	n = make_v4(p, 10, 4);
	memcpy(q, p, n);
	q[22] ^= 1;
	assert_int_equal(parse_bytes(q, n, &pkt, &left), -1);
	assert_int_equal(parse_bytes(p, n, &pkt, &left), 0);

	n = make_v6(p, 30);
	assert_int_equal(parse_bytes(p, 39, &pkt, &left), -1);              /* short v6 header */
	assert_int_equal(parse_bytes(p, n - 1, &pkt, &left), -1);           /* plen > buffer */
	memcpy(q, p, n);
	q[0] = 0x70;
	assert_int_equal(parse_bytes(q, n, &pkt, &left), -1);
}

static void test_packet_source(void **state)
{
	(void)state;
	uint8_t p[200];
	struct ip_addr src;
	size_t n = make_v4(p, 30, 0);
	memset(p + n, 0, 16);
	memset(&src, 0, sizeof(src));
	assert_int_equal(ip_packet_source(p, n + 16, &src), 50);
	assert_int_equal(src.family, AF_INET);
	assert_memory_equal(src.bytes, ((uint8_t[]){ 172, 20, 1, 2 }), 4);
	assert_int_equal(ip_packet_source(p, n, &src), 50);
	assert_int_equal(ip_packet_source(p, n - 1, &src), -1);             /* shorter than stated */
	assert_int_equal(ip_packet_source(p, 19, &src), -1);                /* shorter than a header */
	p[2] = 0;
	p[3] = 19;                                                            /* tot_len < 20 */
	assert_int_equal(ip_packet_source(p, n, &src), -1);

	n = make_v6(p, 24);
	memset(&src, 0, sizeof(src));
	assert_int_equal(ip_packet_source(p, n + 8, &src), 64);
	assert_int_equal(src.family, AF_INET6);
	assert_memory_equal(src.bytes, p + 8, 16);
	assert_int_equal(ip_packet_source(p, n - 1, &src), -1);
	assert_int_equal(ip_packet_source(p, 39, &src), -1);
	n = make_v6(p, 0);
	assert_int_equal(ip_packet_source(p, n, &src), 40);

	p[0] = 0x50;
	assert_int_equal(ip_packet_source(p, 100, &src), -1);               /* not IP */
	assert_int_equal(ip_packet_source(p, 0, &src), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1071_example),
		cmocka_unit_test(test_ipv4_header_example),
		cmocka_unit_test(test_odd_lengths_and_alignment),
		cmocka_unit_test(test_replace2_matches_recompute),
		cmocka_unit_test(test_pseudo_v4),
		cmocka_unit_test(test_pseudo_v6),
		cmocka_unit_test(test_parse_good_v4),
		cmocka_unit_test(test_parse_good_v6),
		cmocka_unit_test(test_parse_trims_padding),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_packet_source),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
