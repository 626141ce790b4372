/* Tests for src/ip/addr.c: parsing, formatting, masking, containment, sockaddrs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ip/addr.h"

static struct ip_prefix P(const char *text)
{
	struct ip_prefix p;
	if (ip_prefix_parse(text, &p) != 0)
		fail_msg("cannot parse prefix '%s'", text);
	return p;
}

static struct ip_addr A(const char *text)
{
	struct ip_addr a;
	if (ip_addr_parse(text, &a) != 0)
		fail_msg("cannot parse address '%s'", text);
	return a;
}

static void test_addr_roundtrip(void **state)
{
	/* Canonical forms (RFC 5952 for IPv6) print back exactly. */
	static const char *const good[] = {
		"0.0.0.0", "1.2.3.4", "255.255.255.255", "172.20.1.1",
		"::", "::1", "fe80::1", "2001:db8::", "fd42:4242:1::1",
		"2001:db8:1:2:3:4:5:6", "::ffff:1.2.3.4",
	};
	char buf[IP_ADDR_STRLEN];
	struct ip_addr a;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(ip_addr_parse(good[i], &a), 0);
		assert_int_equal(a.family, strchr(good[i], ':') ? AF_INET6 : AF_INET);
		assert_string_equal(ip_addr_format(&a, buf), good[i]);
	}
	/* Non-canonical input is normalised. */
	assert_int_equal(ip_addr_parse("2001:DB8:0:0:0:0:0:1", &a), 0);
	assert_string_equal(ip_addr_format(&a, buf), "2001:db8::1");
	assert_int_equal(ip_addr_parse("1.2.3.4", &a), 0);
	assert_memory_equal(a.bytes, "\x01\x02\x03\x04", 4);
	for (int i = 4; i < 16; i++)
		assert_int_equal(a.bytes[i], 0);   /* the unused tail is zero */
}

static void test_addr_bad(void **state)
{
	static const char *const bad[] = {
		"", " 1.2.3.4", "1.2.3.4 ", "+1.2.3.4", "1.2.3", "1.2.3.4.5", "256.1.1.1",
		"1.2.3.4/32", "01.2.3.4", "0x7f.0.0.1", "localhost", "fe80::1%eth0",
		"fe80::1/64", ":::", "1::2::3", "[::1]", "12345::", "g::1",
	};
	struct ip_addr a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ip_addr_parse(bad[i], &a) == 0)
			fail_msg("'%s' was accepted as an address", bad[i]);
	}
	assert_int_equal(ip_addr_parse(NULL, &a), -1);
}

static void test_prefix_roundtrip(void **state)
{
	static const struct { const char *in, *out; uint8_t len; } cases[] = {
		{ "10.0.0.0/8", "10.0.0.0/8", 8 },
		{ "172.20.1.1/24", "172.20.1.1/24", 24 },   /* host bits are kept */
		{ "0.0.0.0/0", "0.0.0.0/0", 0 },
		{ "1.2.3.4", "1.2.3.4/32", 32 },             /* no length: a host prefix */
		{ "fe80::1/64", "fe80::1/64", 64 },
		{ "::/0", "::/0", 0 },
		{ "2001:db8::1", "2001:db8::1/128", 128 },
		{ "fd00::/8", "fd00::/8", 8 },
		{ "10.0.0.0/08", "10.0.0.0/8", 8 },
	};
	char buf[IP_PREFIX_STRLEN];
	struct ip_prefix p;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(ip_prefix_parse(cases[i].in, &p), 0);
		assert_int_equal(p.len, cases[i].len);
		assert_string_equal(ip_prefix_format(&p, buf), cases[i].out);
	}
}

static void test_prefix_bad(void **state)
{
	static const char *const bad[] = {
		"", "/", "/24", "1.2.3.4/", "1.2.3.4/8x", "1.2.3.4/x8", "1.2.3.4/+8",
		"1.2.3.4/-1", "1.2.3.4/ 8", "1.2.3.4 /8", "1.2.3.4/33", "1.2.3.4/0008",
		"::/129", "::/1000", "1.2.3.4/8/8", "+1.2.3.4/8", "10.0.0.0/33", "fe80::%1/64",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/64",
	};
	struct ip_prefix p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ip_prefix_parse(bad[i], &p) == 0)
			fail_msg("'%s' was accepted as a prefix", bad[i]);
	}
	assert_int_equal(ip_prefix_parse(NULL, &p), -1);
}

static void check_mask(const char *in, const char *masked, bool host_bits)
{
	char buf[IP_PREFIX_STRLEN];
	struct ip_prefix p = P(in), want = P(masked);

	assert_int_equal(ip_prefix_has_host_bits(&p), host_bits);
	ip_prefix_mask(&p);
	assert_string_equal(ip_prefix_format(&p, buf), masked);
	assert_true(ip_prefix_equal(&p, &want));
	assert_false(ip_prefix_has_host_bits(&p));
}

static void test_mask_boundaries(void **state)
{
	check_mask("255.255.255.255/0", "0.0.0.0/0", true);
	check_mask("255.255.255.255/1", "128.0.0.0/1", true);
	check_mask("127.255.255.255/1", "0.0.0.0/1", true);
	check_mask("255.255.255.255/7", "254.0.0.0/7", true);
	check_mask("255.255.255.255/8", "255.0.0.0/8", true);
	check_mask("255.255.255.255/9", "255.128.0.0/9", true);
	check_mask("255.255.255.255/31", "255.255.255.254/31", true);
	check_mask("255.255.255.255/32", "255.255.255.255/32", false);
	check_mask("172.20.1.1/24", "172.20.1.0/24", true);
	check_mask("172.20.1.0/24", "172.20.1.0/24", false);

	const char *ones = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
	char in[IP_PREFIX_STRLEN];
	static const struct { int len; const char *out; } v6[] = {
		{ 0, "::/0" },
		{ 1, "8000::/1" },
		{ 31, "ffff:fffe::/31" },
		{ 32, "ffff:ffff::/32" },
		{ 64, "ffff:ffff:ffff:ffff::/64" },
		{ 127, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127" },
		{ 128, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128" },
	};
	for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
		snprintf(in, sizeof(in), "%s/%d", ones, v6[i].len);
		check_mask(in, v6[i].out, v6[i].len != 128);
	}
	check_mask("fe80::1/64", "fe80::/64", true);
}

static void test_contains(void **state)
{
	struct ip_prefix p;
	struct ip_addr a;

	p = P("172.20.0.0/14");
	assert_true(ip_prefix_contains(&p, (a = A("172.20.0.0"), &a)));
	assert_true(ip_prefix_contains(&p, (a = A("172.23.255.255"), &a)));
	assert_false(ip_prefix_contains(&p, (a = A("172.24.0.0"), &a)));
	assert_false(ip_prefix_contains(&p, (a = A("172.19.255.255"), &a)));
	assert_false(ip_prefix_contains(&p, (a = A("::ffff:172.20.0.1"), &a)));   /* family */

	p = P("0.0.0.0/0");
	assert_true(ip_prefix_contains(&p, (a = A("255.255.255.255"), &a)));
	assert_false(ip_prefix_contains(&p, (a = A("::"), &a)));
	p = P("::/0");
	assert_true(ip_prefix_contains(&p, (a = A("2001:db8::1"), &a)));
	assert_false(ip_prefix_contains(&p, (a = A("0.0.0.0"), &a)));

	p = P("10.0.0.1/32");
	assert_true(ip_prefix_contains(&p, (a = A("10.0.0.1"), &a)));
	assert_false(ip_prefix_contains(&p, (a = A("10.0.0.0"), &a)));
	p = P("10.0.0.0/31");
	assert_true(ip_prefix_contains(&p, (a = A("10.0.0.1"), &a)));
	assert_false(ip_prefix_contains(&p, (a = A("10.0.0.2"), &a)));
	p = P("128.0.0.0/1");
	assert_true(ip_prefix_contains(&p, (a = A("200.0.0.1"), &a)));
	assert_false(ip_prefix_contains(&p, (a = A("127.255.255.255"), &a)));

	p = P("fe80::/64");
	assert_true(ip_prefix_contains(&p, (a = A("fe80::1234:5678"), &a)));
	assert_false(ip_prefix_contains(&p, (a = A("fe80:0:0:1::1"), &a)));
	p = P("2001:db8::/127");
	assert_true(ip_prefix_contains(&p, (a = A("2001:db8::1"), &a)));
	assert_false(ip_prefix_contains(&p, (a = A("2001:db8::2"), &a)));
	p = P("2001:db8::5/128");
	assert_true(ip_prefix_contains(&p, (a = A("2001:db8::5"), &a)));
	assert_false(ip_prefix_contains(&p, (a = A("2001:db8::4"), &a)));
	/* An unmasked prefix (an interface address) contains its subnet. */
	p = P("172.20.1.1/24");
	assert_true(ip_prefix_contains(&p, (a = A("172.20.1.200"), &a)));
}

static void test_equal_and_link_local(void **state)
{
	struct ip_addr a = A("10.0.0.1"), b = A("10.0.0.1"), c = A("::a00:1");

	assert_true(ip_addr_equal(&a, &b));
	assert_false(ip_addr_equal(&a, &c));
	b = A("10.0.0.2");
	assert_false(ip_addr_equal(&a, &b));

	static const char *const ll[] = { "fe80::1", "febf:ffff::1", "169.254.0.1", "169.254.255.255" };
	static const char *const not_ll[] = { "fec0::1", "fe7f::1", "fd00::1", "::1", "169.253.0.1",
					      "169.255.0.1", "10.0.0.1" };
	for (size_t i = 0; i < sizeof(ll) / sizeof(ll[0]); i++) {
		a = A(ll[i]);
		assert_true(ip_addr_is_link_local(&a));
	}
	for (size_t i = 0; i < sizeof(not_ll) / sizeof(not_ll[0]); i++) {
		a = A(not_ll[i]);
		assert_false(ip_addr_is_link_local(&a));
	}

	uint8_t four[4] = { 192, 0, 2, 1 }, sixteen[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 9 };
	char buf[IP_ADDR_STRLEN];
	ip_addr_from_v4(&a, four);
	assert_string_equal(ip_addr_format(&a, buf), "192.0.2.1");
	ip_addr_from_v6(&a, sixteen);
	assert_string_equal(ip_addr_format(&a, buf), "2001:db8::9");
}

static void test_sockaddr(void **state)
{
	union sockaddr_inet s4, s6, t;
	char buf[SOCKADDR_INET_STRLEN];
	struct ip_addr a;
	uint16_t port = 0;

	a = A("192.0.2.1");
	sockaddr_inet_from_ip(&s4, &a, 51820);
	assert_int_equal(s4.sa.sa_family, AF_INET);
	assert_int_equal(ntohs(s4.in4.sin_port), 51820);
	assert_int_equal(sockaddr_inet_len(&s4), sizeof(struct sockaddr_in));
	assert_string_equal(sockaddr_inet_format(&s4, buf, sizeof(buf)), "192.0.2.1:51820");

	a = A("2001:db8::1");
	sockaddr_inet_from_ip(&s6, &a, 443);
	assert_int_equal(sockaddr_inet_len(&s6), sizeof(struct sockaddr_in6));
	assert_string_equal(sockaddr_inet_format(&s6, buf, sizeof(buf)), "[2001:db8::1]:443");
	s6.in6.sin6_scope_id = 3;
	assert_string_equal(sockaddr_inet_format(&s6, buf, sizeof(buf)), "[2001:db8::1%3]:443");

	/* A long form (no :: to shorten it, the largest scope and port) fits. */
	a = A("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
	sockaddr_inet_from_ip(&t, &a, 65535);
	t.in6.sin6_scope_id = 4294967295u;
	assert_string_equal(sockaddr_inet_format(&t, buf, sizeof(buf)),
			    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535");
	/* A short buffer truncates but stays a string. */
	char small[8];
	assert_string_equal(sockaddr_inet_format(&s4, small, sizeof(small)), "192.0.2");

	/* Equality: family, address, port and scope. */
	t = s4;
	assert_true(sockaddr_inet_equal(&s4, &t));
	t.in4.sin_port = htons(51821);
	assert_false(sockaddr_inet_equal(&s4, &t));
	assert_false(sockaddr_inet_equal(&s4, &s6));
	t = s6;
	assert_true(sockaddr_inet_equal(&s6, &t));
	t.in6.sin6_scope_id = 4;
	assert_false(sockaddr_inet_equal(&s6, &t));

	assert_int_equal(sockaddr_inet_to_ip(&s6, &a, &port), 0);
	assert_int_equal(port, 443);
	assert_string_equal(ip_addr_format(&a, (char[IP_ADDR_STRLEN]){0}), "2001:db8::1");
	assert_int_equal(sockaddr_inet_to_ip(&s4, &a, &port), 0);
	assert_int_equal(port, 51820);
	assert_int_equal(a.family, AF_INET);

	memset(&t, 0, sizeof(t));
	t.sa.sa_family = AF_UNIX;
	assert_int_equal(sockaddr_inet_len(&t), 0);
	assert_int_equal(sockaddr_inet_to_ip(&t, &a, &port), -1);
	assert_false(sockaddr_inet_equal(&t, &t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_roundtrip),
		cmocka_unit_test(test_addr_bad),
		cmocka_unit_test(test_prefix_roundtrip),
		cmocka_unit_test(test_prefix_bad),
		cmocka_unit_test(test_mask_boundaries),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_equal_and_link_local),
		cmocka_unit_test(test_sockaddr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
