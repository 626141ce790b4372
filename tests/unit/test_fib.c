/* Unit tests for the FIB: route lists per prefix, add/replace/excl/del semantics, observers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ip/fib.h"
#include "testlib.h"

/* A unicast route "PREFIX/LEN" in the main table. */
static struct fib_route route(const char *prefix, uint32_t ifindex, uint32_t priority)
{
	struct fib_route r;
	char buf[64];
	memset(&r, 0, sizeof(r));
	snprintf(buf, sizeof(buf), "%s", prefix);
	char *slash = strchr(buf, '/');
	assert_non_null(slash);
	*slash = 0;
	r.prefix.addr = ipa(buf);
	r.prefix.len = (uint8_t)atoi(slash + 1);
	r.type = FIB_TYPE_UNICAST;
	r.ifindex = ifindex;
	r.priority = priority;
	r.protocol = FIB_PROTO_STATIC;
	r.scope = FIB_SCOPE_UNIVERSE;
	r.table = FIB_TABLE_MAIN;
	return r;
}

/*
 * ifindex of the best route to dst in the main table, 0 when unreachable.
 * Every call also checks that the forwarding lookup (fib_lookup_nexthop)
 * agrees with the full one.
 */
static uint32_t via(const struct fib *fib, const char *dst)
{
	struct ip_addr a = ipa(dst);
	struct fib_route r;
	struct fib_nexthop nh;
	int ret = fib_lookup(fib, &a, &r);
	assert_int_equal(fib_lookup_nexthop(fib, &a, &nh), ret);
	if (ret) {
		assert_int_equal(ret, -ENETUNREACH);
		return 0;
	}
	assert_int_equal(nh.type, r.type);
	assert_int_equal(nh.ifindex, r.ifindex);
	assert_true(ip_addr_equal(nh.gateway, &r.gateway) || (!nh.gateway->family && !r.gateway.family));
	return r.ifindex;
}

static void test_priority_choice(void **state)
{
	(void)state;
	struct fib *fib = fib_new();
	assert_non_null(fib);
	struct fib_route r100 = route("10.0.0.0/8", 1, 100);
	struct fib_route r50 = route("10.0.0.0/8", 2, 50);
	struct fib_route r50b = route("10.0.0.0/8", 3, 50);
	struct fib_route r200 = route("10.0.0.0/8", 4, 200);
	assert_int_equal(fib_add(fib, &r100, 0), 0);
	assert_int_equal(via(fib, "10.1.2.3"), 1);
	assert_int_equal(fib_add(fib, &r50, 0), 0);
	assert_int_equal(via(fib, "10.1.2.3"), 2);
	assert_int_equal(fib_add(fib, &r50b, 0), 0);      /* later, same priority: loses the tie */
	assert_int_equal(via(fib, "10.1.2.3"), 2);
	assert_int_equal(fib_add(fib, &r200, 0), 0);
	assert_int_equal(fib_count(fib, AF_INET), 4);
	assert_int_equal(fib_count(fib, AF_INET6), 0);
	assert_int_equal(fib_count(fib, AF_UNSPEC), 4);

	struct fib_route out;
	struct ip_addr d = ipa("10.200.0.1");
	assert_int_equal(fib_lookup(fib, &d, &out), 0);
	assert_int_equal(out.prefix.addr.family, AF_INET);
	assert_memory_equal(out.prefix.addr.bytes, "\x0a\x00\x00\x00", 4);
	assert_int_equal(out.prefix.len, 8);
	assert_int_equal(out.priority, 50);
	assert_int_equal(out.table, FIB_TABLE_MAIN);
	assert_int_equal(out.protocol, FIB_PROTO_STATIC);

	assert_int_equal(fib_del(fib, &r50), 0);
	assert_int_equal(via(fib, "10.1.2.3"), 3);
	assert_int_equal(fib_del(fib, &r50b), 0);
	assert_int_equal(via(fib, "10.1.2.3"), 1);
	assert_int_equal(fib_del(fib, &r100), 0);
	assert_int_equal(via(fib, "10.1.2.3"), 4);
	assert_int_equal(fib_del(fib, &r200), 0);
	assert_int_equal(via(fib, "10.1.2.3"), 0);
	assert_int_equal(fib_del(fib, &r200), -ESRCH);
	assert_int_equal(fib_count(fib, AF_UNSPEC), 0);

	/* Longest prefix beats a better metric on a shorter prefix. */
	struct fib_route wide = route("10.0.0.0/8", 1, 1), narrow = route("10.1.0.0/16", 2, 1000);
	assert_int_equal(fib_add(fib, &wide, 0), 0);
	assert_int_equal(fib_add(fib, &narrow, 0), 0);
	assert_int_equal(via(fib, "10.1.0.1"), 2);
	assert_int_equal(via(fib, "10.2.0.1"), 1);
	fib_free(fib);
}

static void test_replace_excl(void **state)
{
	(void)state;
	struct fib *fib = fib_new();
	struct fib_route a = route("2001:db8::/32", 1, 100);
	assert_int_equal(fib_add(fib, &a, 0), 0);
	assert_int_equal(fib_add(fib, &a, 0), -EEXIST);              /* identical */
	struct fib_route b = route("2001:db8::/32", 2, 100);
	assert_int_equal(fib_add(fib, &b, FIB_EXCL), -EEXIST);       /* same prefix+priority */
	assert_int_equal(fib_count(fib, AF_INET6), 1);
	struct fib_route c = route("2001:db8::/32", 3, 90);
	assert_int_equal(fib_add(fib, &c, FIB_EXCL), 0);             /* other priority */
	assert_int_equal(via(fib, "2001:db8::1"), 3);
	assert_int_equal(fib_count(fib, AF_INET6), 2);

	/* Replace the priority-100 route in place. */
	struct fib_route d = route("2001:db8::/32", 9, 100);
	assert_int_equal(fib_add(fib, &d, FIB_REPLACE), 0);
	assert_int_equal(fib_count(fib, AF_INET6), 2);
	assert_int_equal(fib_del(fib, &c), 0);
	assert_int_equal(via(fib, "2001:db8::1"), 9);
	a.ifindex = 1;
	assert_int_equal(fib_del(fib, &a), -ESRCH);                  /* it was replaced */

	/* Replace with nothing to replace adds; replace by a better route takes over. */
	struct fib_route e = route("2001:db8::/32", 5, 10);
	assert_int_equal(fib_add(fib, &e, FIB_REPLACE), 0);
	assert_int_equal(fib_count(fib, AF_INET6), 2);
	assert_int_equal(via(fib, "2001:db8::1"), 5);
	e.ifindex = 6;
	assert_int_equal(fib_add(fib, &e, FIB_REPLACE), 0);
	assert_int_equal(via(fib, "2001:db8::1"), 6);
	assert_int_equal(fib_count(fib, AF_INET6), 2);

	/* Without flags, a route differing only in its next hop is appended. */
	struct fib_route f = route("2001:db8::/32", 7, 10);
	assert_int_equal(fib_add(fib, &f, 0), 0);
	assert_int_equal(via(fib, "2001:db8::1"), 6);
	assert_int_equal(fib_count(fib, AF_INET6), 3);
	fib_free(fib);
}

static void test_bad_routes(void **state)
{
	(void)state;
	struct fib *fib = fib_new();
	struct fib_route r = route("10.0.0.0/8", 1, 0);
	r.prefix.len = 33;
	assert_int_equal(fib_add(fib, &r, 0), -EINVAL);
	r = route("10.0.0.0/8", 1, 0);
	r.type = 9;
	assert_int_equal(fib_add(fib, &r, 0), -EINVAL);
	r = route("fd00::/8", 1, 0);
	r.gateway = ipa("192.0.2.1");                /* IPv4 next hop for IPv6: no */
	assert_int_equal(fib_add(fib, &r, 0), -EINVAL);
	r = route("10.0.0.0/8", 1, 0);
	r.prefsrc = ipa("fd00::1");
	assert_int_equal(fib_add(fib, &r, 0), -EINVAL);
	r.prefix.addr.family = AF_UNIX;
	assert_int_equal(fib_add(fib, &r, 0), -EINVAL);
	assert_int_equal(fib_del(fib, &r), -ESRCH);
	assert_int_equal(fib_count(fib, AF_UNSPEC), 0);
	struct ip_addr bad = { .family = AF_UNIX };
	struct fib_route out;
	assert_int_equal(fib_lookup(fib, &bad, &out), -ENETUNREACH);
	fib_free(fib);
}

static void test_delete_partial_match(void **state)
{
	(void)state;
	struct fib *fib = fib_new();
	struct fib_route a = route("172.20.0.0/14", 1, 100);
	a.gateway = ipa("172.20.1.1");
	a.protocol = FIB_PROTO_BIRD;
	struct fib_route b = route("172.20.0.0/14", 2, 200);
	b.gateway = ipa("172.20.2.2");
	b.protocol = FIB_PROTO_STATIC;
	struct fib_route c = route("172.20.0.0/14", 0, 300);
	c.type = FIB_TYPE_BLACKHOLE;
	struct fib_route d = route("172.20.0.0/14", 4, 400);
	d.table = 100;
	assert_int_equal(fib_add(fib, &a, 0), 0);
	assert_int_equal(fib_add(fib, &b, 0), 0);
	assert_int_equal(fib_add(fib, &c, 0), 0);
	assert_int_equal(fib_add(fib, &d, 0), 0);

	struct fib_route m;
	memset(&m, 0, sizeof(m));
	m.prefix = route("172.20.9.9/14", 0, 0).prefix;     /* host bits are masked */
	m.gateway = ipa("172.20.9.9");
	assert_int_equal(fib_del(fib, &m), -ESRCH);         /* no such gateway */
	m.gateway = ipa("172.20.2.2");
	m.protocol = FIB_PROTO_BIRD;
	assert_int_equal(fib_del(fib, &m), -ESRCH);         /* gateway matches, protocol not */
	m.protocol = 0;
	m.priority = 100;
	assert_int_equal(fib_del(fib, &m), -ESRCH);         /* gateway matches, priority not */
	m.priority = 0;
	assert_int_equal(fib_del(fib, &m), 0);              /* b */
	assert_int_equal(fib_count(fib, AF_INET), 3);

	memset(&m.gateway, 0, sizeof(m.gateway));
	m.type = FIB_TYPE_BLACKHOLE;
	assert_int_equal(fib_del(fib, &m), 0);              /* c, although a is first */
	assert_int_equal(via(fib, "172.21.0.1"), 1);

	m.type = FIB_TYPE_UNICAST;
	m.scope = FIB_SCOPE_LINK;
	assert_int_equal(fib_del(fib, &m), -ESRCH);         /* a has scope universe */
	m.scope = FIB_SCOPE_NOWHERE;                        /* what `ip route del` sends: any */
	m.table = 100;
	assert_int_equal(fib_del(fib, &m), 0);              /* d, in table 100 only */
	assert_int_equal(fib_del(fib, &m), -ESRCH);
	m.table = 0;                                        /* main */
	assert_int_equal(fib_del(fib, &m), 0);              /* a: only the prefix given */
	assert_int_equal(fib_count(fib, AF_UNSPEC), 0);
	m.table = 12345;
	assert_int_equal(fib_del(fib, &m), -ESRCH);         /* a table that never existed */
	fib_free(fib);
}

struct events {
	int n_added, n_removed;
	struct fib_route last[8];
	int last_event[8];
	int n;
};

static void observe(void *ctx, int event, const struct fib_route *r)
{
	struct events *ev = ctx;
	if (event == FIB_ADDED)
		ev->n_added++;
	else if (event == FIB_REMOVED)
		ev->n_removed++;
	else
		fail_msg("unknown event %d", event);
	ev->last[ev->n % 8] = *r;
	ev->last_event[ev->n % 8] = event;
	ev->n++;
}

static void test_del_by_ifindex_and_observer(void **state)
{
	(void)state;
	struct fib *fib = fib_new();
	struct events ev = { 0 };
	fib_set_observer(fib, observe, &ev);

	char p[64];
	unsigned want_removed = 0;
	for (unsigned i = 0; i < 600; i++) {
		snprintf(p, sizeof(p), "10.%u.%u.0/24", i / 256, i % 256);
		struct fib_route r = route(p, 1 + i % 3, 10);
		assert_int_equal(fib_add(fib, &r, 0), 0);
		want_removed += r.ifindex == 2;
		if (i % 5 == 0) {                      /* a backup route via ifindex 2 */
			r.ifindex = 2;
			r.priority = 20;
			if (fib_add(fib, &r, 0) == 0)
				want_removed++;
		}
		snprintf(p, sizeof(p), "fd42:%x::/32", i);
		r = route(p, 2, 1);
		r.table = 1 + i % 2;
		assert_int_equal(fib_add(fib, &r, FIB_EXCL), 0);
		want_removed++;
	}
	size_t before = fib_count(fib, AF_UNSPEC);
	assert_int_equal(ev.n_added, (int)before);
	assert_int_equal(ev.n_removed, 0);
	assert_int_equal(fib_del_by_ifindex(fib, 2), want_removed);
	assert_int_equal(fib_count(fib, AF_UNSPEC), before - want_removed);
	assert_int_equal(fib_count(fib, AF_INET6), 0);
	assert_int_equal(ev.n_removed, (int)want_removed);
	assert_int_equal(fib_del_by_ifindex(fib, 2), 0);
	assert_int_equal(via(fib, "10.0.0.9"), 1);   /* i = 0: ifindex 1, backup via 2 gone */
	assert_int_equal(via(fib, "10.0.1.9"), 0);   /* i = 1: ifindex 2 */
	assert_int_equal(via(fib, "10.0.2.9"), 3);
	assert_int_equal(via(fib, "10.2.87.1"), 3);  /* i = 599 */

	/* Observer sees the stored route, with host bits cleared. */
	ev.n = 0;
	struct fib_route r = route("192.0.2.77/24", 5, 7);
	r.gateway = ipa("192.0.2.1");
	r.prefsrc = ipa("192.0.2.2");
	r.scope = FIB_SCOPE_LINK;
	r.protocol = FIB_PROTO_KERNEL;
	assert_int_equal(fib_add(fib, &r, 0), 0);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.last_event[0], FIB_ADDED);
	const struct fib_route *seen = &ev.last[0];
	assert_memory_equal(seen->prefix.addr.bytes, "\xc0\x00\x02\x00", 4);
	assert_int_equal(seen->prefix.len, 24);
	assert_int_equal(seen->ifindex, 5);
	assert_int_equal(seen->priority, 7);
	assert_int_equal(seen->scope, FIB_SCOPE_LINK);
	assert_int_equal(seen->protocol, FIB_PROTO_KERNEL);
	assert_int_equal(seen->table, FIB_TABLE_MAIN);
	assert_true(seen->gateway.family == AF_INET && seen->gateway.bytes[3] == 1);
	assert_true(seen->prefsrc.family == AF_INET && seen->prefsrc.bytes[3] == 2);

	struct fib_route r2 = r;
	r2.ifindex = 6;
	assert_int_equal(fib_add(fib, &r2, FIB_REPLACE), 0);
	assert_int_equal(ev.n, 3);
	assert_int_equal(ev.last_event[1], FIB_REMOVED);
	assert_int_equal(ev.last[1].ifindex, 5);
	assert_int_equal(ev.last_event[2], FIB_ADDED);
	assert_int_equal(ev.last[2].ifindex, 6);

	/* Failed operations say nothing. */
	assert_int_equal(fib_add(fib, &r2, FIB_EXCL), -EEXIST);
	assert_int_equal(fib_del(fib, &r), -ESRCH);
	assert_int_equal(ev.n, 3);
	assert_int_equal(fib_del(fib, &r2), 0);
	assert_int_equal(ev.n, 4);
	assert_int_equal(ev.last_event[3], FIB_REMOVED);
	assert_int_equal(ev.last[3].ifindex, 6);

	fib_set_observer(fib, NULL, NULL);
	assert_int_equal(fib_add(fib, &r, 0), 0);
	assert_int_equal(ev.n, 4);
	fib_free(fib);
}

static void test_v4_route_v6_gateway(void **state)
{
	(void)state;
	struct fib *fib = fib_new();
	struct fib_route r = route("172.20.0.0/14", 3, 32);
	r.gateway = ipa("fe80::1");                    /* RFC 8950 extended next hop */
	r.protocol = FIB_PROTO_BIRD;
	r.prefsrc = ipa("172.20.1.1");
	assert_int_equal(fib_add(fib, &r, FIB_EXCL), 0);
	struct ip_addr d = ipa("172.22.33.44");
	struct fib_route out;
	assert_int_equal(fib_lookup(fib, &d, &out), 0);
	assert_int_equal(out.gateway.family, AF_INET6);
	struct ip_addr gw = ipa("fe80::1");
	assert_memory_equal(out.gateway.bytes, gw.bytes, 16);
	assert_int_equal(out.prefsrc.family, AF_INET);
	assert_int_equal(out.ifindex, 3);
	assert_int_equal(out.protocol, FIB_PROTO_BIRD);
	struct fib_nexthop nh;
	assert_int_equal(fib_lookup_nexthop(fib, &d, &nh), 0);
	assert_int_equal(nh.type, FIB_TYPE_UNICAST);
	assert_int_equal(nh.ifindex, 3);
	assert_true(ip_addr_equal(nh.gateway, &gw));
	assert_int_equal(via(fib, "172.22.33.44"), 3);
	struct ip_addr d2 = ipa("172.24.0.1");
	assert_int_equal(fib_lookup(fib, &d2, &out), -ENETUNREACH);

	/* Delete by the IPv6 gateway. */
	struct fib_route m;
	memset(&m, 0, sizeof(m));
	m.prefix = r.prefix;
	m.gateway = ipa("fe80::2");
	assert_int_equal(fib_del(fib, &m), -ESRCH);
	m.gateway = ipa("fe80::1");
	assert_int_equal(fib_del(fib, &m), 0);
	fib_free(fib);
}

static void test_tables_and_types(void **state)
{
	(void)state;
	struct fib *fib = fib_new();
	struct fib_route r = route("0.0.0.0/0", 1, 0);
	r.table = 100;
	assert_int_equal(fib_add(fib, &r, 0), 0);
	struct fib_route un = route("198.51.100.0/24", 0, 0);
	un.type = FIB_TYPE_UNREACHABLE;
	assert_int_equal(fib_add(fib, &un, 0), 0);
	struct ip_addr d = ipa("198.51.100.7"), d2 = ipa("203.0.113.1");
	struct fib_route out;
	assert_int_equal(fib_lookup(fib, &d, &out), 0);
	assert_int_equal(out.type, FIB_TYPE_UNREACHABLE);
	assert_int_equal(fib_lookup(fib, &d2, &out), -ENETUNREACH);    /* main has no default */
	assert_int_equal(fib_lookup_table(fib, 100, &d2, &out), 0);
	assert_int_equal(out.table, 100);
	assert_int_equal(out.ifindex, 1);
	assert_int_equal(out.prefix.len, 0);
	assert_int_equal(fib_lookup_table(fib, 100, &d, &out), 0);     /* tables are separate */
	assert_int_equal(out.type, FIB_TYPE_UNICAST);
	assert_int_equal(fib_lookup_table(fib, 7, &d, &out), -ENETUNREACH);
	fib_free(fib);
}

struct walked {
	char text[16][80];
	int n;
};

static int walk_cb(const struct fib_route *r, void *ctx)
{
	struct walked *w = ctx;
	char a[INET6_ADDRSTRLEN];
	assert_true(w->n < 16);
	inet_ntop(r->prefix.addr.family, r->prefix.addr.bytes, a, sizeof(a));
	snprintf(w->text[w->n++], 80, "%u %s/%u %u %u", r->table, a, r->prefix.len, r->priority,
		 r->ifindex);
	return w->n == 100 ? 1 : 0;
}

static int stop_cb(const struct fib_route *r, void *ctx)
{
	(void)r;
	return ++*(int *)ctx == 2 ? 42 : 0;
}

static void test_walk(void **state)
{
	(void)state;
	struct fib *fib = fib_new();
	struct fib_route rs[] = {
		route("10.1.0.0/16", 1, 5), route("10.0.0.0/8", 1, 9), route("10.0.0.0/8", 2, 3),
		route("fd00::/8", 1, 0), route("0.0.0.0/0", 3, 0), route("10.0.0.0/8", 4, 3),
	};
	rs[4].table = 10;
	for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++)
		assert_int_equal(fib_add(fib, &rs[i], 0), 0);
	const char *want[] = { "10 0.0.0.0/0 0 3", "254 10.0.0.0/8 3 2", "254 10.0.0.0/8 3 4",
			       "254 10.0.0.0/8 9 1", "254 10.1.0.0/16 5 1", "254 fd00::/8 0 1" };
	struct walked w = { .n = 0 };
	assert_int_equal(fib_walk(fib, AF_UNSPEC, walk_cb, &w), 0);
	assert_int_equal(w.n, 6);
	for (int i = 0; i < w.n; i++)
		assert_string_equal(w.text[i], want[i]);
	struct walked w6 = { .n = 0 };
	assert_int_equal(fib_walk(fib, AF_INET6, walk_cb, &w6), 0);
	assert_int_equal(w6.n, 1);
	assert_string_equal(w6.text[0], want[5]);
	int calls = 0;
	assert_int_equal(fib_walk(fib, AF_INET, stop_cb, &calls), 42);
	assert_int_equal(calls, 2);
	fib_free(fib);
}

/* Routes sharing next hops must stay small: the brief's budget is 64 bytes plus the trie. */
static void test_memory_per_route(void **state)
{
	(void)state;
	struct fib *fib = fib_new();
	size_t base = fib_memory(fib);
	const unsigned n = 50000;
	for (unsigned i = 0; i < n; i++) {
		struct fib_route r;
		char p[32];
		snprintf(p, sizeof(p), "%u.%u.%u.0/24", 1 + i / 65536, (i / 256) % 256, i % 256);
		r = route(p, 1 + i % 4, 0);
		r.gateway = ipa(i % 2 ? "fe80::1" : "fe80::2");
		assert_int_equal(fib_add(fib, &r, 0), 0);
	}
	double per = (double)(fib_memory(fib) - base) / n;
	print_message("fib: %.1f bytes per route (%u dense /24 routes, 8 next hops)\n", per, n);
	assert_true(per < 64.0);
	fib_free(fib);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_priority_choice),
		cmocka_unit_test(test_replace_excl),
		cmocka_unit_test(test_bad_routes),
		cmocka_unit_test(test_delete_partial_match),
		cmocka_unit_test(test_del_by_ifindex_and_observer),
		cmocka_unit_test(test_v4_route_v6_gateway),
		cmocka_unit_test(test_tables_and_types),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_memory_per_route),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
