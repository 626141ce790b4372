/*
 * Unit tests for ip/icmp.c: echo replies in place, every ICMP/ICMPv6 error
 * format the router sends (RFC 792, RFC 1812 4.3.2.3, RFC 4443), and the
 * rules for when an error may be sent at all (RFC 1812 4.3.2.7, RFC 4443 2.4).
 * Expected packets are built by hand here; checksums are checked with a
 * naive RFC 1071 sum (testlib.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "core/pbuf.h"
#include "ip/icmp.h"
#include "ip/packet.h"
#include "testlib.h"

static uint32_t ref_pseudo6(const uint8_t *ip6, uint32_t len, uint8_t nh)
{
	uint8_t tail[8] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
			    (uint8_t)len, 0, 0, 0, nh };
	return ref_sum(tail, 8, ref_sum(ip6 + 8, 32, 0));
}

static void addr4(uint8_t *out, const char *s) { assert_int_equal(inet_pton(AF_INET, s, out), 1); }
static void addr6(uint8_t *out, const char *s) { assert_int_equal(inet_pton(AF_INET6, s, out), 1); }

/* IPv4 packet with the given L4 bytes; valid header checksum. Returns its length. */
static size_t build_v4(uint8_t *out, const char *src, const char *dst, uint8_t proto, uint8_t ttl,
		       uint16_t frag, const uint8_t *l4, size_t l4_len)
{
	uint8_t s[4], d[4];
	addr4(s, src);
	addr4(d, dst);
	struct tl_ip h = { AF_INET, s, d, .proto = proto, .ttl = ttl, .id = 0xbeef, .frag = frag };
	size_t hl = tl_ip_header(out, &h, l4_len);
	if (l4_len)
		memcpy(out + hl, l4, l4_len);
	return hl + l4_len;
}

static size_t build_v6(uint8_t *out, const char *src, const char *dst, uint8_t nh, uint8_t hlim,
		       const uint8_t *l4, size_t l4_len)
{
	uint8_t s[16], d[16];
	addr6(s, src);
	addr6(d, dst);
	struct tl_ip h = { AF_INET6, s, d, .proto = nh, .ttl = hlim };
	size_t hl = tl_ip_header(out, &h, l4_len);
	if (l4_len)
		memcpy(out + hl, l4, l4_len);
	return hl + l4_len;
}

/* An ICMP message type/code, id 0x1234 seq 7, payload_len bytes; checksum left 0. */
static size_t icmp_msg(uint8_t *out, uint8_t type, uint8_t code, size_t payload_len)
{
	memset(out, 0, 8);
	out[0] = type;
	out[1] = code;
	put16(out + 4, 0x1234);
	put16(out + 6, 7);
	for (size_t i = 0; i < payload_len; i++)
		out[8 + i] = (uint8_t)(0xa0 + i);
	return 8 + payload_len;
}

static size_t echo4(uint8_t *out, const char *src, const char *dst, uint8_t type, uint8_t ttl)
{
	uint8_t m[64];
	size_t n = icmp_msg(m, type, 0, 56);
	put16(m + 2, ref_fold(ref_sum(m, n, 0)));
	return build_v4(out, src, dst, IPPROTO_ICMP, ttl, 0, m, n);
}

static size_t echo6(uint8_t *out, const char *src, const char *dst, uint8_t type, uint8_t hlim)
{
	uint8_t m[64];
	size_t n = icmp_msg(m, type, 0, 56);
	size_t len = build_v6(out, src, dst, IPPROTO_ICMPV6, hlim, m, n);
	put16(out + 42, ref_fold(ref_sum(out + 40, n, ref_pseudo6(out, (uint32_t)n, 58))));
	return len;
}

static struct pbuf *parsed(const uint8_t *data, size_t len, struct ip_packet *pkt)
{
	struct pbuf *b = pbuf_alloc();
	assert_non_null(b);
	uint8_t *p = pbuf_put(b, len);
	assert_non_null(p);
	memcpy(p, data, len);
	assert_int_equal(ip_packet_parse(b, pkt), 0);
	return b;
}

/* ---- echo ---- */

/*
 * An echo request from peer to us (TTL or hop limit ttl), replied to in place:
 * the reply must be byte for byte the one built from scratch (us to peer,
 * TTL 64), as RFC 792 and RFC 4443 describe it. Returns the buffer, pkt
 * describes it and *n is its length.
 */
static struct pbuf *echo_reply(const char *peer, const char *us, uint8_t ttl,
			       struct ip_packet *pkt, size_t *n)
{
	bool v6 = strchr(peer, ':') != NULL;
	uint8_t req[128], want[128];
	*n = v6 ? echo6(req, peer, us, 128, ttl) : echo4(req, peer, us, 8, ttl);
	size_t wn = v6 ? echo6(want, us, peer, 129, 64) : echo4(want, us, peer, 0, 64);
	assert_int_equal(*n, wn);
	struct pbuf *b = parsed(req, *n, pkt);
	assert_int_equal(icmp_echo_reply_in_place(b, pkt), 0);
	assert_int_equal(b->len, *n);
	assert_memory_equal(pbuf_data(b), want, *n);
	return b;
}

static void test_echo_reply_v4(void **state)
{
	(void)state;
	struct ip_packet pkt;
	size_t n;
	struct pbuf *b = echo_reply("172.20.9.9", "172.20.1.1", 30, &pkt, &n);
	/* pkt follows the rewrite. */
	struct ip_addr us = ipa("172.20.1.1"), them = ipa("172.20.9.9");
	assert_memory_equal(pkt.src.bytes, us.bytes, 4);
	assert_memory_equal(pkt.dst.bytes, them.bytes, 4);
	/* Both checksums verify. */
	assert_int_equal(ref_fold(ref_sum(pbuf_data(b), 20, 0)), 0);
	assert_int_equal(ref_fold(ref_sum(pbuf_data(b) + 20, n - 20, 0)), 0);
	pbuf_free(b);
}

static void test_echo_reply_v4_odd_payload(void **state)
{
	(void)state;
	uint8_t m[64], req[128];
	size_t mn = icmp_msg(m, 8, 0, 13);
	put16(m + 2, ref_fold(ref_sum(m, mn, 0)));
	size_t n = build_v4(req, "192.0.2.7", "172.20.1.1", IPPROTO_ICMP, 1, 0, m, mn);
	struct ip_packet pkt;
	struct pbuf *b = parsed(req, n, &pkt);
	assert_int_equal(icmp_echo_reply_in_place(b, &pkt), 0);
	uint8_t *p = pbuf_data(b);
	assert_int_equal(p[8], 64);
	assert_int_equal(p[20], 0);
	assert_memory_equal(p + 24, m + 4, mn - 4);   /* id, seq, data unchanged */
	assert_int_equal(ref_fold(ref_sum(p, 20, 0)), 0);
	assert_int_equal(ref_fold(ref_sum(p + 20, mn, 0)), 0);
	pbuf_free(b);
}

static void test_echo_reply_v6(void **state)
{
	(void)state;
	struct ip_packet pkt;
	size_t n;
	struct pbuf *b = echo_reply("fd42:9::9", "fd42:1::1", 5, &pkt, &n);
	struct ip_addr us = ipa("fd42:1::1");
	assert_memory_equal(pkt.src.bytes, us.bytes, 16);
	const uint8_t *p = pbuf_data(b);
	assert_int_equal(ref_fold(ref_sum(p + 40, n - 40, ref_pseudo6(p, (uint32_t)(n - 40), 58))),
			 0);
	pbuf_free(b);
	/* Link-local too (a BGP neighbour pinging fe80::1%wg0). */
	pbuf_free(echo_reply("fe80::2", "fe80::1", 255, &pkt, &n));
}

/* icmp_echo_reply_in_place must refuse req and leave it untouched. */
static void assert_refused(const uint8_t *req, size_t n)
{
	struct ip_packet pkt;
	struct pbuf *b = parsed(req, n, &pkt);
	struct ip_addr src = pkt.src;
	assert_int_equal(icmp_echo_reply_in_place(b, &pkt), -1);
	assert_memory_equal(pbuf_data(b), req, n);
	assert_memory_equal(pkt.src.bytes, src.bytes, 16);
	pbuf_free(b);
}

static void test_echo_refused(void **state)
{
	(void)state;
	uint8_t req[128], m[64];
	size_t n;
	/* Well-formed ICMP messages that are not echo requests. */
	static const struct { bool v6; uint8_t type; } not_requests[] = {
		{ false, 0 },      /* an echo reply */
		{ false, 13 },     /* timestamp */
		{ false, 3 },      /* an error */
		{ true, 129 },     /* v6 echo reply */
		{ true, 1 },       /* v6 error */
	};
	for (size_t i = 0; i < sizeof(not_requests) / sizeof(not_requests[0]); i++) {
		n = not_requests[i].v6 ? echo6(req, "fd42:9::9", "fd42:1::1", not_requests[i].type, 64)
				       : echo4(req, "172.20.9.9", "172.20.1.1", not_requests[i].type, 64);
		assert_refused(req, n);
	}
	n = echo4(req, "172.20.9.9", "172.20.1.1", 8, 64);       /* bad ICMP checksum */
	req[25] ^= 0x40;
	assert_refused(req, n);
	size_t mn = icmp_msg(m, 8, 1, 8);                        /* nonzero code */
	put16(m + 2, ref_fold(ref_sum(m, mn, 0)));
	n = build_v4(req, "172.20.9.9", "172.20.1.1", IPPROTO_ICMP, 64, 0, m, mn);
	assert_refused(req, n);
	mn = icmp_msg(m, 8, 0, 0);                               /* truncated: 4 bytes */
	put16(m + 2, ref_fold(ref_sum(m, 4, 0)));
	n = build_v4(req, "172.20.9.9", "172.20.1.1", IPPROTO_ICMP, 64, 0, m, 4);
	assert_refused(req, n);
	mn = icmp_msg(m, 8, 0, 16);                              /* a first fragment */
	put16(m + 2, ref_fold(ref_sum(m, mn, 0)));
	n = build_v4(req, "172.20.9.9", "172.20.1.1", IPPROTO_ICMP, 64, IP_MF, m, mn);
	assert_refused(req, n);
	n = build_v4(req, "172.20.9.9", "172.20.1.1", IPPROTO_UDP, 64, 0, m, mn);  /* not ICMP */
	assert_refused(req, n);

	n = echo6(req, "fd42:9::9", "fd42:1::1", 128, 64);      /* v6 bad checksum */
	req[60] ^= 1;
	assert_refused(req, n);
	n = echo6(req, "fd42:9::9", "fd42:1::1", 128, 64);      /* v6 checksum without pseudo-header */
	put16(req + 42, 0);
	put16(req + 42, ref_fold(ref_sum(req + 40, n - 40, 0)));
	assert_refused(req, n);
	n = echo6(req, "fd42:9::9", "fd42:1::1", 128, 64);      /* next header not ICMPv6 */
	req[6] = IPPROTO_UDP;
	assert_refused(req, n);
}

/* ---- errors ---- */

struct err_case {
	enum icmp_error err;
	uint8_t type4, code4, type6, code6;
};

static const struct err_case err_cases[] = {
	{ ICMP_ERR_NET_UNREACH, 3, 0, 1, 0 },
	{ ICMP_ERR_HOST_UNREACH, 3, 1, 1, 3 },
	{ ICMP_ERR_PORT_UNREACH, 3, 3, 1, 4 },
	{ ICMP_ERR_PROHIBITED, 3, 13, 1, 1 },
	{ ICMP_ERR_TIME_EXCEEDED, 11, 0, 3, 0 },
	{ ICMP_ERR_TOO_BIG, 3, 4, 2, 0 },
};

/* A UDP datagram of total length len (>= 28) with a recognisable payload. */
static size_t udp4(uint8_t *out, size_t len, uint8_t ttl)
{
	uint8_t l4[2000];
	for (size_t i = 0; i < len - 20; i++)
		l4[i] = (uint8_t)(i * 7 + 1);
	put16(l4, 40000);
	put16(l4 + 2, 33434);
	put16(l4 + 4, (uint16_t)(len - 20));
	return build_v4(out, "172.20.9.9", "172.20.50.1", IPPROTO_UDP, ttl, IP_DF, l4, len - 20);
}

static size_t udp6(uint8_t *out, size_t len, uint8_t hlim)
{
	uint8_t l4[2000];
	for (size_t i = 0; i < len - 40; i++)
		l4[i] = (uint8_t)(i * 5 + 3);
	return build_v6(out, "fd42:9::9", "fd42:50::1", IPPROTO_UDP, hlim, l4, len - 40);
}

/*
 * Checks the error icmp_error_build makes for case c about a UDP packet of
 * orig_len bytes that arrived with TTL 1: the IP header back to the sender,
 * type and code, checksums, the MTU word, and the quote (as much of the
 * packet as fits in 576 bytes in all for IPv4, 1280 for IPv6).
 */
static void check_error(const struct err_case *c, size_t orig_len, bool v6)
{
	uint8_t orig[2000];
	size_t n = v6 ? udp6(orig, orig_len, 1) : udp4(orig, orig_len, 1);
	struct ip_packet pkt;
	struct pbuf *b = parsed(orig, n, &pkt);
	struct ip_addr src = ipa(v6 ? "fd42:1::1" : "172.20.1.1");
	uint16_t mtu = v6 ? 1420 : 1380;
	struct pbuf *e = icmp_error_build(&pkt, c->err, mtu, &src);
	assert_non_null(e);
	size_t hl = v6 ? 40 : 20, max = v6 ? 1280 : 576;
	size_t quote = orig_len < max - hl - 8 ? orig_len : max - hl - 8;
	assert_int_equal(e->len, hl + 8 + quote);
	assert_true(e->len <= max);
	const uint8_t *p = pbuf_data(e), *icmp = p + hl;
	if (v6) {
		assert_int_equal(p[0] >> 4, 6);
		assert_int_equal(get16(p + 4), 8 + quote);
		assert_int_equal(p[6], IPPROTO_ICMPV6);
		assert_int_equal(p[7], 64);
		assert_memory_equal(p + 8, src.bytes, 16);
		assert_memory_equal(p + 24, orig + 8, 16);            /* back to the sender */
		assert_int_equal(icmp[0], c->type6);
		assert_int_equal(icmp[1], c->code6);
		assert_int_equal(ref_fold(ref_sum(icmp, 8 + quote,
						  ref_pseudo6(p, (uint32_t)(8 + quote), 58))), 0);
		/* RFC 4443 3.2: a 32-bit MTU; every other error has 4 unused zero bytes. */
		uint32_t word = (uint32_t)get16(icmp + 4) << 16 | get16(icmp + 6);
		assert_int_equal(word, c->err == ICMP_ERR_TOO_BIG ? mtu : 0);
	} else {
		assert_int_equal(p[0], 0x45);
		assert_int_equal(get16(p + 2), 28 + quote);
		assert_int_equal(get16(p + 6) & 0x1fff, 0);          /* not a fragment */
		assert_int_equal(p[8], 64);
		assert_int_equal(p[9], IPPROTO_ICMP);
		assert_memory_equal(p + 12, src.bytes, 4);
		assert_memory_equal(p + 16, orig + 12, 4);            /* back to the sender */
		assert_int_equal(ref_fold(ref_sum(p, 20, 0)), 0);
		assert_int_equal(icmp[0], c->type4);
		assert_int_equal(icmp[1], c->code4);
		assert_int_equal(ref_fold(ref_sum(icmp, 8 + quote, 0)), 0);
		assert_int_equal(get16(icmp + 4), 0);                   /* unused */
		/* RFC 1191: next-hop MTU in the low half of the second word. */
		assert_int_equal(get16(icmp + 6), c->err == ICMP_ERR_TOO_BIG ? mtu : 0);
	}
	/* The quote is the packet as it arrived, TTL 1 and all. */
	assert_memory_equal(icmp + 8, orig, quote);
	/* And it parses as a valid packet. */
	struct ip_packet epkt;
	assert_int_equal(ip_packet_parse(e, &epkt), 0);
	assert_int_equal(epkt.total_len, hl + 8 + quote);
	pbuf_free(e);
	pbuf_free(b);
}

/* Every error case about packets of each length in lens (n_lens of them). */
static void check_error_formats(const size_t *lens, size_t n_lens, bool v6)
{
	for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++)
		for (size_t l = 0; l < n_lens; l++)
			check_error(&err_cases[i], lens[l], v6);
}

static void test_error_formats_v4(void **state)
{
	(void)state;
	static const size_t lens[] = { 28, 29, 100, 547, 548, 549, 576, 1500 };
	check_error_formats(lens, sizeof(lens) / sizeof(lens[0]), false);
}

static void test_error_formats_v6(void **state)
{
	(void)state;
	static const size_t lens[] = { 40, 48, 101, 1231, 1232, 1233, 1280, 1500 };
	check_error_formats(lens, sizeof(lens) / sizeof(lens[0]), true);
}

static void test_too_big_large_mtu_v6(void **state)
{
	(void)state;
	/* The v6 MTU field is 32 bits wide: a value above 65535 must survive. */
	uint8_t orig[200];
	size_t n = udp6(orig, 100, 9);
	struct ip_packet pkt;
	struct pbuf *b = parsed(orig, n, &pkt);
	struct ip_addr src = ipa("fd42:1::1");
	struct pbuf *e = icmp_error_build(&pkt, ICMP_ERR_TOO_BIG, 0x00012345, &src);
	assert_non_null(e);
	const uint8_t *p = pbuf_data(e);
	assert_int_equal((uint32_t)get16(p + 44) << 16 | get16(p + 46), 0x00012345);
	pbuf_free(e);
	pbuf_free(b);
}

/* ---- icmp_error_allowed ---- */

static bool allowed_bytes(const uint8_t *p, size_t n)
{
	struct ip_packet pkt;
	struct pbuf *b = parsed(p, n, &pkt);
	bool r = icmp_error_allowed(&pkt);
	pbuf_free(b);
	return r;
}

static bool allowed_icmp4(uint8_t type, const char *src, const char *dst, uint16_t frag)
{
	uint8_t m[64], p[128];
	size_t mn = icmp_msg(m, type, 0, 20);
	put16(m + 2, ref_fold(ref_sum(m, mn, 0)));
	size_t n = build_v4(p, src, dst, IPPROTO_ICMP, 64, frag, m, mn);
	return allowed_bytes(p, n);
}

static bool allowed_icmp6(uint8_t type, const char *src, const char *dst)
{
	uint8_t m[64], p[128];
	size_t mn = icmp_msg(m, type, 0, 20);
	size_t n = build_v6(p, src, dst, IPPROTO_ICMPV6, 64, m, mn);
	return allowed_bytes(p, n);
}

static bool allowed_l4_4(uint8_t proto, const char *src, const char *dst, uint16_t frag)
{
	uint8_t l4[40] = { 0 }, p[128];
	size_t n = build_v4(p, src, dst, proto, 64, frag, l4, sizeof(l4));
	return allowed_bytes(p, n);
}

static bool allowed_l4_6(uint8_t proto, const char *src, const char *dst)
{
	uint8_t l4[40] = { 0 }, p[128];
	size_t n = build_v6(p, src, dst, proto, 64, l4, sizeof(l4));
	return allowed_bytes(p, n);
}

static void test_error_allowed_v4(void **state)
{
	(void)state;
	const char *s = "172.20.9.9", *d = "172.20.50.1";
	/* Queries and ordinary traffic may draw an error. */
	assert_true(allowed_icmp4(8, s, d, 0));
	assert_true(allowed_icmp4(0, s, d, 0));                  /* echo reply is not an error */
	assert_true(allowed_icmp4(13, s, d, 0));
	assert_true(allowed_l4_4(IPPROTO_UDP, s, d, 0));
	assert_true(allowed_l4_4(IPPROTO_TCP, s, d, IP_DF));
	assert_true(allowed_l4_4(IPPROTO_UDP, s, d, IP_MF));      /* the first fragment */
	/* Errors about errors. */
	assert_false(allowed_icmp4(3, s, d, 0));
	assert_false(allowed_icmp4(4, s, d, 0));
	assert_false(allowed_icmp4(5, s, d, 0));
	assert_false(allowed_icmp4(11, s, d, 0));
	assert_false(allowed_icmp4(12, s, d, 0));
	/* Non-first fragments. */
	assert_false(allowed_l4_4(IPPROTO_UDP, s, d, 1));
	assert_false(allowed_l4_4(IPPROTO_UDP, s, d, IP_MF | 185));
	assert_false(allowed_icmp4(8, s, d, 0x1fff));
	/* Multicast / broadcast destinations. */
	assert_false(allowed_l4_4(IPPROTO_UDP, s, "224.0.0.5", 0));
	assert_false(allowed_l4_4(IPPROTO_UDP, s, "239.255.255.250", 0));
	assert_false(allowed_l4_4(IPPROTO_UDP, s, "255.255.255.255", 0));
	/* Unspecified, loopback, multicast sources. */
	assert_false(allowed_l4_4(IPPROTO_UDP, "0.0.0.0", d, 0));
	assert_false(allowed_l4_4(IPPROTO_UDP, "127.0.0.1", d, 0));
	assert_false(allowed_l4_4(IPPROTO_UDP, "224.1.2.3", d, 0));
	assert_false(allowed_l4_4(IPPROTO_UDP, "255.255.255.255", d, 0));
	/* An ICMP packet with no room for a type byte gets nothing. */
	uint8_t p[64];
	size_t n = build_v4(p, s, d, IPPROTO_ICMP, 64, 0, NULL, 0);
	assert_false(allowed_bytes(p, n));
}

static void test_error_allowed_v6(void **state)
{
	(void)state;
	const char *s = "fd42:9::9", *d = "fd42:50::1";
	assert_true(allowed_icmp6(128, s, d));
	assert_true(allowed_icmp6(129, s, d));
	assert_true(allowed_icmp6(135, s, d));
	assert_true(allowed_l4_6(IPPROTO_UDP, s, d));
	assert_true(allowed_l4_6(IPPROTO_TCP, s, d));
	assert_true(allowed_l4_6(IPPROTO_TCP, "fe80::2", d));     /* link-local source is fine */
	for (unsigned t = 0; t < 128; t++)
		assert_false(allowed_icmp6((uint8_t)t, s, d));
	assert_false(allowed_l4_6(IPPROTO_UDP, s, "ff02::1"));
	assert_false(allowed_l4_6(IPPROTO_UDP, s, "ff0e::1234"));
	assert_false(allowed_l4_6(IPPROTO_UDP, "::", d));
	assert_false(allowed_l4_6(IPPROTO_UDP, "::1", d));
	assert_false(allowed_l4_6(IPPROTO_UDP, "ff02::2", d));
	uint8_t p[64];
	size_t n = build_v6(p, s, d, IPPROTO_ICMPV6, 64, NULL, 0);
	assert_false(allowed_bytes(p, n));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_reply_v4),
		cmocka_unit_test(test_echo_reply_v4_odd_payload),
		cmocka_unit_test(test_echo_reply_v6),
		cmocka_unit_test(test_echo_refused),
		cmocka_unit_test(test_error_formats_v4),
		cmocka_unit_test(test_error_formats_v6),
		cmocka_unit_test(test_too_big_large_mtu_v6),
		cmocka_unit_test(test_error_allowed_v4),
		cmocka_unit_test(test_error_allowed_v6),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
