/* The shim <-> rrouted protocol helpers (stack/shim_proto.h): address codec and reply checks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "stack/shim_proto.h"

static void test_v4_roundtrip(void **state)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(179) };
	inet_pton(AF_INET, "172.20.0.2", &in.sin_addr);
	struct shim_addr a;
	assert_int_equal(shim_addr_from_sockaddr(&a, (struct sockaddr *)&in, sizeof(in)), 0);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(a.port, 179);
	assert_memory_equal(a.addr, &in.sin_addr, 4);
	assert_false(shim_addr_is_loopback(&a));
	assert_false(shim_addr_is_any(&a));

	struct sockaddr_in back;
	socklen_t len = sizeof(back);
	shim_addr_to_sockaddr(&a, AF_INET, (struct sockaddr *)&back, &len);
	assert_int_equal(len, sizeof(back));
	assert_int_equal(back.sin_family, AF_INET);
	assert_int_equal(back.sin_port, htons(179));
	assert_memory_equal(&back.sin_addr, &in.sin_addr, 4);
}

static void test_v6_scope_roundtrip(void **state)
{
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(179),
				    .sin6_scope_id = 7 };
	inet_pton(AF_INET6, "fe80::2", &in6.sin6_addr);
	struct shim_addr a;
	assert_int_equal(shim_addr_from_sockaddr(&a, (struct sockaddr *)&in6, sizeof(in6)), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_int_equal(a.scope_id, 7);
	struct sockaddr_in6 back;
	socklen_t len = sizeof(back);
	shim_addr_to_sockaddr(&a, AF_INET6, (struct sockaddr *)&back, &len);
	assert_int_equal(len, sizeof(back));
	assert_int_equal(back.sin6_scope_id, 7);
	assert_int_equal(back.sin6_port, htons(179));
	assert_memory_equal(&back.sin6_addr, &in6.sin6_addr, 16);
}

/* An AF_INET6 socket talking to IPv4 uses ::ffff:a.b.c.d; the router sees plain IPv4. */
static void test_v4_mapped(void **state)
{
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(80) };
	inet_pton(AF_INET6, "::ffff:172.20.0.2", &in6.sin6_addr);
	struct shim_addr a;
	assert_int_equal(shim_addr_from_sockaddr(&a, (struct sockaddr *)&in6, sizeof(in6)), 0);
	assert_int_equal(a.family, AF_INET);
	uint8_t want[4] = { 172, 20, 0, 2 };
	assert_memory_equal(a.addr, want, 4);

	struct sockaddr_in6 back;
	socklen_t len = sizeof(back);
	shim_addr_to_sockaddr(&a, AF_INET6, (struct sockaddr *)&back, &len);
	assert_int_equal(back.sin6_family, AF_INET6);
	assert_true(IN6_IS_ADDR_V4MAPPED(&back.sin6_addr));
	assert_memory_equal(&back.sin6_addr, &in6.sin6_addr, 16);
}

static void test_rejects_short_and_foreign(void **state)
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
	struct sockaddr un = { .sa_family = AF_UNIX };
	struct shim_addr a;
	assert_int_equal(shim_addr_from_sockaddr(&a, (struct sockaddr *)&in, sizeof(in) - 1), -1);
	assert_int_equal(shim_addr_from_sockaddr(&a, (struct sockaddr *)&in6, sizeof(in6) - 1), -1);
	assert_int_equal(shim_addr_from_sockaddr(&a, &un, sizeof(un)), -1);
	assert_int_equal(shim_addr_from_sockaddr(&a, NULL, 16), -1);
	assert_int_equal(shim_addr_from_sockaddr(&a, (struct sockaddr *)&in, 1), -1);
}

/* getsockname semantics: a short buffer gets a prefix, *len the full size. */
static void test_to_sockaddr_truncates(void **state)
{
	struct shim_addr a = { .family = AF_INET6, .port = 1 };
	a.addr[15] = 1;
	uint8_t buf[8];
	memset(buf, 0xee, sizeof(buf));
	socklen_t len = 4;
	shim_addr_to_sockaddr(&a, AF_INET6, (struct sockaddr *)buf, &len);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(buf[4], 0xee);   /* nothing past the given length */
	sa_family_t fam;
	memcpy(&fam, buf, sizeof(fam));
	assert_int_equal(fam, AF_INET6);
}

static void test_loopback_any(void **state)
{
	struct shim_addr a = { .family = AF_INET };
	assert_true(shim_addr_is_any(&a));
	a.addr[0] = 127;
	a.addr[3] = 5;
	assert_true(shim_addr_is_loopback(&a));
	struct shim_addr b = { .family = AF_INET6 };
	assert_true(shim_addr_is_any(&b));
	assert_false(shim_addr_is_loopback(&b));
	b.addr[15] = 1;
	assert_true(shim_addr_is_loopback(&b));
	assert_false(shim_addr_is_any(&b));
}

static void test_rep_valid(void **state)
{
	uint8_t buf[sizeof(struct shim_rep) + 8];
	struct shim_rep rep = { .err = 0, .data_len = 8 };
	memcpy(buf, &rep, sizeof(rep));
	assert_true(shim_rep_valid(buf, sizeof(buf)));
	assert_false(shim_rep_valid(buf, sizeof(buf) - 1));      /* data shorter than announced */
	assert_false(shim_rep_valid(buf, sizeof(rep) - 1));      /* not even a header */
	rep.err = -1;
	memcpy(buf, &rep, sizeof(rep));
	assert_false(shim_rep_valid(buf, sizeof(buf)));
}

static void test_iflist_valid(void **state)
{
	uint8_t buf[sizeof(struct shim_iflist_hdr) + 2 * sizeof(struct shim_ifinfo) +
		    3 * sizeof(struct shim_ifaddr)];
	struct shim_iflist_hdr h = { .n_ifs = 2, .n_addrs = 3 }, out;
	memcpy(buf, &h, sizeof(h));
	assert_true(shim_iflist_valid(buf, sizeof(buf), &out));
	assert_int_equal(out.n_ifs, 2);
	assert_false(shim_iflist_valid(buf, sizeof(buf) - 1, &out));
	h.n_addrs = 0xffffffffu;   /* an overflowing count must not pass */
	memcpy(buf, &h, sizeof(h));
	assert_false(shim_iflist_valid(buf, sizeof(buf), &out));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_roundtrip),
		cmocka_unit_test(test_v6_scope_roundtrip),
		cmocka_unit_test(test_v4_mapped),
		cmocka_unit_test(test_rejects_short_and_foreign),
		cmocka_unit_test(test_to_sockaddr_truncates),
		cmocka_unit_test(test_loopback_any),
		cmocka_unit_test(test_rep_valid),
		cmocka_unit_test(test_iflist_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
