/*
 * Unit tests for TCP MSS clamping (ip/mss.c). After every change the TCP
 * checksum is verified by a full recompute over the pseudo-header (RFC 793 /
 * RFC 8200 8.1) with a naive RFC 1071 sum (testlib.h), not the library's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include "core/pbuf.h"
#include "ip/mss.h"
#include "ip/packet.h"
#include "testlib.h"

/* Checksum of the TCP segment of an IPv4 or IPv6 packet, pseudo-header included. */
static uint16_t ref_tcp_csum(const uint8_t *ip, size_t len)
{
	uint8_t tail[8] = { 0 };
	uint32_t sum;
	size_t hl;
	if (ip[0] >> 4 == 4) {
		hl = (size_t)(ip[0] & 0xf) * 4;
		size_t seg = len - hl;
		sum = ref_sum(ip + 12, 8, 0);
		tail[1] = IPPROTO_TCP;
		tail[2] = (uint8_t)(seg >> 8);
		tail[3] = (uint8_t)seg;
		sum = ref_sum(tail, 4, sum);
	} else {
		hl = 40;
		size_t seg = len - hl;
		sum = ref_sum(ip + 8, 32, 0);
		tail[2] = (uint8_t)(seg >> 8);
		tail[3] = (uint8_t)seg;
		tail[7] = IPPROTO_TCP;
		sum = ref_sum(tail, 8, sum);
	}
	return ref_fold(ref_sum(ip + hl, len - hl, sum));
}

/*
 * An IPv4 (v6 false) or IPv6 packet carrying a TCP segment with flags, the
 * given options (padded with EOL to a multiple of 4) and payload_len bytes.
 * Valid IP and TCP checksums. Returns its length.
 */
static size_t build_tcp(uint8_t *out, bool v6, uint8_t flags, const uint8_t *opts, size_t opt_len,
			size_t payload_len, uint32_t seed)
{
	size_t hl = v6 ? 40 : 20;
	size_t olen = (opt_len + 3) / 4 * 4;
	size_t seg = 20 + olen + payload_len;
	memset(out, 0, hl + seg);
	uint8_t src[16], dst[16];
	struct tl_ip h = { v6 ? AF_INET6 : AF_INET, src, dst, .proto = IPPROTO_TCP, .ttl = 64,
			   .frag = 0x4000 /* DF */ };
	if (v6) {
		assert_int_equal(inet_pton(AF_INET6, "fd42:9::9", src), 1);
		assert_int_equal(inet_pton(AF_INET6, "fd42:50::1", dst), 1);
	} else {
		memcpy(src, (uint8_t[]){ 172, 20, 9, 9 }, 4);
		memcpy(dst, (uint8_t[]){ 172, 21, (uint8_t)seed, 1 }, 4);
	}
	tl_ip_header(out, &h, seg);
	uint8_t *t = out + hl;
	put16(t, (uint16_t)(40000 + (seed & 0x3fff)));
	put16(t + 2, 179);
	uint32_t isn = seed * 2654435761u;
	t[4] = (uint8_t)(isn >> 24);
	t[5] = (uint8_t)(isn >> 16);
	t[6] = (uint8_t)(isn >> 8);
	t[7] = (uint8_t)isn;
	t[12] = (uint8_t)((20 + olen) / 4 << 4);
	t[13] = flags;
	put16(t + 14, 64240);
	if (opt_len)
		memcpy(t + 20, opts, opt_len);
	for (size_t i = 0; i < payload_len; i++)
		t[20 + olen + i] = (uint8_t)(seed + i);
	put16(t + 16, ref_tcp_csum(out, hl + seg));
	return hl + seg;
}

static int clamp_bytes(uint8_t *data, size_t len, uint16_t mtu)
{
	struct pbuf *b = pbuf_alloc();
	assert_non_null(b);
	memcpy(pbuf_put(b, len), data, len);
	struct ip_packet pkt;
	assert_int_equal(ip_packet_parse(b, &pkt), 0);
	int r = tcp_mss_clamp(&pkt, mtu);
	memcpy(data, pbuf_data(b), len);
	pbuf_free(b);
	return r;
}

static const uint8_t opts_mss_first[] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0,
					  1, 3, 3, 7 };

static void test_clamp_v4(void **state)
{
	(void)state;
	uint8_t p[200], orig[200];
	size_t n = build_tcp(p, false, TH_SYN, opts_mss_first, sizeof(opts_mss_first), 0, 1);
	memcpy(orig, p, n);
	assert_int_equal(clamp_bytes(p, n, 1420), 1);
	assert_int_equal(get16(p + 42), 1380);                 /* 1420 - 20 - 20 */
	assert_int_equal(ref_tcp_csum(p, n), 0);
	/* Nothing else moved (bytes 36-37 are the TCP checksum, 42-43 the MSS). */
	for (size_t i = 0; i < n; i++)
		if (i != 36 && i != 37 && i != 42 && i != 43)
			assert_int_equal(p[i], orig[i]);
	/* SYN-ACK too, at MTU 1280. */
	n = build_tcp(p, false, TH_SYN | TH_ACK, opts_mss_first, sizeof(opts_mss_first), 0, 2);
	assert_int_equal(clamp_bytes(p, n, 1280), 1);
	assert_int_equal(get16(p + 42), 1240);
	assert_int_equal(ref_tcp_csum(p, n), 0);
	/* Clamped again to the same MTU: nothing to do. */
	assert_int_equal(clamp_bytes(p, n, 1280), 0);
}

static void test_clamp_v6(void **state)
{
	(void)state;
	uint8_t p[200];
	size_t n = build_tcp(p, true, TH_SYN, opts_mss_first, sizeof(opts_mss_first), 0, 3);
	assert_int_equal(clamp_bytes(p, n, 1420), 1);
	assert_int_equal(get16(p + 62), 1360);                 /* 1420 - 40 - 20 */
	assert_int_equal(ref_tcp_csum(p, n), 0);
	n = build_tcp(p, true, TH_SYN, opts_mss_first, sizeof(opts_mss_first), 0, 4);
	assert_int_equal(clamp_bytes(p, n, 1280), 1);
	assert_int_equal(get16(p + 62), 1220);
	assert_int_equal(ref_tcp_csum(p, n), 0);
}

static void test_odd_offset(void **state)
{
	(void)state;
	/* NOP, then MSS at TCP offset 21 (odd): its value straddles two checksum words. */
	static const uint8_t o1[] = { 1, 2, 4, 0x05, 0xb4, 1, 1, 4, 2 };
	/* Linux-like: MSS, SACK-perm, TS ... and a variant with MSS last at odd offset. */
	static const uint8_t o2[] = { 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 4, 0xff, 0xff };
	static const uint8_t o3[] = { 1, 1, 1, 2, 4, 0x23, 0x28, 0 };
	uint8_t p[200];
	for (uint32_t seed = 0; seed < 3000; seed++) {
		bool v6 = seed & 1;
		const uint8_t *o = seed % 3 == 0 ? o1 : seed % 3 == 1 ? o2 : o3;
		size_t ol = seed % 3 == 0 ? sizeof(o1) : seed % 3 == 1 ? sizeof(o2) : sizeof(o3);
		size_t mss_at = seed % 3 == 0 ? 21 : seed % 3 == 1 ? 33 : 23;
		uint16_t orig_mss = get16((seed % 3 == 0 ? o1 : seed % 3 == 1 ? o2 : o3) + mss_at - 18);
		size_t n = build_tcp(p, v6, TH_SYN, o, ol, seed % 17, seed);
		uint16_t mtu = (uint16_t)(1280 + seed % 400);
		uint16_t limit = (uint16_t)(mtu - (v6 ? 60 : 40));
		size_t at = (v6 ? 40 : 20) + mss_at + 2;
		int r = clamp_bytes(p, n, mtu);
		assert_int_equal(r, orig_mss > limit);
		assert_int_equal(get16(p + at), orig_mss > limit ? limit : orig_mss);
		assert_int_equal(ref_tcp_csum(p, n), 0);
	}
}

/* clamp_bytes leaves the n-byte packet p as it is at mtu. */
static void assert_untouched(uint8_t *p, size_t n, uint16_t mtu)
{
	uint8_t orig[200];
	assert_true(n <= sizeof(orig));
	memcpy(orig, p, n);
	assert_int_equal(clamp_bytes(p, n, mtu), 0);
	assert_memory_equal(p, orig, n);
}

/* The IPv4 header checksum again, after a test edited the header. */
static void refresh_v4_checksum(uint8_t *p)
{
	put16(p + 10, 0);
	put16(p + 10, ref_fold(ref_sum(p, 20, 0)));
}

static void test_untouched(void **state)
{
	(void)state;
	uint8_t p[200];
	size_t n;
	/* Not a SYN. */
	n = build_tcp(p, false, TH_ACK, opts_mss_first, sizeof(opts_mss_first), 10, 5);
	assert_untouched(p, n, 576);
	n = build_tcp(p, true, TH_ACK | TH_PUSH, opts_mss_first, sizeof(opts_mss_first), 10, 5);
	assert_untouched(p, n, 1280);
	/* MSS already at or below the limit. */
	static const uint8_t low[] = { 2, 4, 0x04, 0xb0 };   /* 1200 */
	n = build_tcp(p, false, TH_SYN, low, sizeof(low), 0, 6);
	assert_untouched(p, n, 1420);
	static const uint8_t exact[] = { 2, 4, 0x05, 0x64 };   /* 1380 */
	n = build_tcp(p, false, TH_SYN, exact, sizeof(exact), 0, 7);
	assert_untouched(p, n, 1420);
	/* No MSS option; MSS after EOL; MSS with a wrong length. */
	static const uint8_t none[] = { 1, 1, 4, 2 };
	static const uint8_t after_eol[] = { 0, 0, 0, 0, 2, 4, 0x05, 0xb4 };
	static const uint8_t badlen[] = { 2, 3, 0x05, 1, 2, 5, 0x05, 0xb4, 0 };
	const uint8_t *cases[] = { none, after_eol, badlen };
	size_t lens[] = { sizeof(none), sizeof(after_eol), sizeof(badlen) };
	for (size_t i = 0; i < 3; i++) {
		n = build_tcp(p, false, TH_SYN, cases[i], lens[i], 0, 8);
		assert_untouched(p, n, 576);
	}
	/* Not TCP. */
	n = build_tcp(p, false, TH_SYN, opts_mss_first, sizeof(opts_mss_first), 0, 9);
	p[9] = IPPROTO_UDP;
	refresh_v4_checksum(p);
	assert_untouched(p, n, 576);
	/* A non-first fragment: those bytes are not a TCP header. */
	n = build_tcp(p, false, TH_SYN, opts_mss_first, sizeof(opts_mss_first), 0, 10);
	put16(p + 6, 0x0010);
	refresh_v4_checksum(p);
	assert_untouched(p, n, 576);
	/* An MTU too small to leave room for any MSS. */
	n = build_tcp(p, true, TH_SYN, opts_mss_first, sizeof(opts_mss_first), 0, 11);
	assert_untouched(p, n, 60);
}

static void test_malformed(void **state)
{
	(void)state;
	uint8_t p[200], orig[200];
	/* Option lengths 0 and 1 (would loop forever if trusted), and past the header. */
	static const uint8_t zero[] = { 8, 0, 2, 4, 0x05, 0xb4 };
	static const uint8_t one[] = { 8, 1, 2, 4, 0x05, 0xb4 };
	static const uint8_t past[] = { 1, 1, 8, 40 };
	static const uint8_t mss_past[] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2 };
	const uint8_t *cases[] = { zero, one, past, mss_past };
	size_t lens[] = { sizeof(zero), sizeof(one), sizeof(past), sizeof(mss_past) };
	for (size_t i = 0; i < 4; i++) {
		size_t n = build_tcp(p, i & 1, TH_SYN, cases[i], lens[i], 0, 12);
		assert_untouched(p, n, 576);
	}
	/* Data offset below 5 or beyond the segment; segment shorter than a TCP header. */
	size_t n = build_tcp(p, false, TH_SYN, opts_mss_first, sizeof(opts_mss_first), 0, 13);
	memcpy(orig, p, n);
	p[32] = 0x40;
	assert_int_equal(clamp_bytes(p, n, 576), 0);
	p[32] = 0xf0;
	assert_int_equal(clamp_bytes(p, n, 576), 0);
	memcpy(p, orig, n);
	put16(p + 2, 30);                        /* only 10 bytes of TCP */
	refresh_v4_checksum(p);
	assert_int_equal(clamp_bytes(p, 30, 576), 0);

	/* Random option bytes: never out of bounds (ASan), and a change keeps the checksum. */
	srand(793);
	for (int iter = 0; iter < 20000; iter++) {
		uint8_t opts[40];
		size_t ol = (size_t)rand() % 41;
		for (size_t i = 0; i < ol; i++)
			opts[i] = (uint8_t)(rand() % 4 == 0 ? 2 : rand() % 4 == 0 ? 4 : rand());
		bool v6 = iter & 1;
		n = build_tcp(p, v6, TH_SYN, opts, ol, (size_t)rand() % 8, (uint32_t)iter);
		memcpy(orig, p, n);
		int r = clamp_bytes(p, n, (uint16_t)(rand() % 1500));
		if (r == 0)
			assert_memory_equal(p, orig, n);
		else
			assert_int_equal(ref_tcp_csum(p, n), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clamp_v4),
		cmocka_unit_test(test_clamp_v6),
		cmocka_unit_test(test_odd_offset),
		cmocka_unit_test(test_untouched),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
