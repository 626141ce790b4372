/*
 * Tests for src/conf/confdiff.c: what a reload must change, from two
 * configurations parsed from text (numeric endpoints only, no files).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/confdiff.h"

#define PRIV1 "eJG9LB6xkqlDDexX3i6jezcC2f/79D+1Lxp87MGjCF0="
#define PRIV2 "yPgbS4QjsQsmbaCMDGJLFS4itgmoG7KdXalfqrXFimA="
#define PUB2  "mlsfeePFxf3a+jSKVIPB4+5vzinuzBs37VnVfdE4B2U="
#define PUB4  "QlSGk+mPPWhks/TcNPyr7DOkc/eugsJ8OaNWxQ5yknU="

/* An interface file: Address, MTU, Table and one peer with PUB2 whose AllowedIPs vary. */
static char *iface_text(const char *priv, const char *addr, int mtu, const char *table,
			const char *peers)
{
	char *s = NULL;
	int n = asprintf(&s, "[Interface]\nPrivateKey = %s\nListenPort = 51820\nAddress = %s\n"
			 "MTU = %d\n%s%s%s\n%s", priv, addr, mtu, table ? "Table = " : "",
			 table ? table : "", table ? "\n" : "", peers);
	assert_true(n > 0);
	return s;
}

static const char PEER_B[] = "[Peer]\nPublicKey = " PUB2 "\nEndpoint = 192.0.2.2:51820\n"
			     "AllowedIPs = 172.20.2.0/24, fd42:2::/48\n";
static const char PEER_B_MORE[] = "[Peer]\nPublicKey = " PUB2 "\nEndpoint = 192.0.2.2:51820\n"
				  "AllowedIPs = 172.20.2.0/24, fd42:2::/48, 172.20.9.0/24\n";
static const char PEER_C[] = "[Peer]\nPublicKey = " PUB4 "\nEndpoint = 192.0.2.3:51820\n"
			     "AllowedIPs = 172.20.3.0/24\n";

/* A router conf (no interfaces directory read) with the given interfaces texts, names wgN. */
static void make_conf(struct router_conf *c, const char *router_text, const char *const *ifaces,
		      const char *const *names, size_t n)
{
	struct conf_errors errs = { 0 };
	int r = router_conf_parse_string(router_text, "rrouted.conf", CONF_SKIP_INTERFACES, c,
					 &errs);
	if (r != 0)
		fprintf(stderr, "%s\n", errs.msg[0]);
	assert_int_equal(r, 0);
	c->ifaces = calloc(n ? n : 1, sizeof(*c->ifaces));
	assert_non_null(c->ifaces);
	for (size_t i = 0; i < n; i++) {
		r = wg_iface_conf_parse_string(ifaces[i], names[i], names[i], CONF_NUMERIC_ONLY,
					       &c->ifaces[i], &errs);
		if (r != 0)
			fprintf(stderr, "%s\n", errs.msg[0]);
		assert_int_equal(r, 0);
		c->n_ifaces++;
	}
}

static const char ROUTER[] = "[router]\ncontrol = /tmp/x.sock\n";

/* Two configurations and the diff from the first to the second, as the tests inspect them. */
struct diff {
	struct router_conf old, new;
	struct confdiff d;
};

/* The diff between two configurations with one interface, wg0, from its old and new text. */
static void diff_wg0(struct diff *t, const char *old_text, const char *new_text)
{
	static const char *const names[] = { "wg0" };
	make_conf(&t->old, ROUTER, &old_text, names, 1);
	make_conf(&t->new, ROUTER, &new_text, names, 1);
	assert_int_equal(confdiff_compute(&t->old, &t->new, &t->d), 0);
}

/* As diff_wg0, when the diff must be a change to wg0 alone: that change. */
static const struct confdiff_iface *diff_wg0_changed(struct diff *t, const char *old_text,
						     const char *new_text)
{
	diff_wg0(t, old_text, new_text);
	assert_int_equal(t->d.n_ifaces, 1);
	return &t->d.ifaces[0];
}

static void diff_free(struct diff *t)
{
	confdiff_free(&t->d);
	router_conf_free(&t->old);
	router_conf_free(&t->new);
}

static void test_identical(void **state)
{
	char *a = iface_text(PRIV1, "172.20.1.1/32", 1420, NULL, PEER_B);
	struct diff t;
	diff_wg0(&t, a, a);
	assert_true(confdiff_empty(&t.d));
	assert_int_equal(t.d.n_ifaces, 0);
	diff_free(&t);
	free(a);
}

static void test_added_removed(void **state)
{
	char *a = iface_text(PRIV1, "172.20.1.1/32", 1420, NULL, PEER_B);
	char *b = iface_text(PRIV2, "172.20.1.1/32", 1420, NULL, PEER_C);
	struct router_conf c1, c2;
	make_conf(&c1, ROUTER, (const char *const[]){ a, b },
		  (const char *const[]){ "wg0", "wg1" }, 2);
	make_conf(&c2, ROUTER, (const char *const[]){ b, a },
		  (const char *const[]){ "wg1", "wg2" }, 2);
	struct confdiff d;
	assert_int_equal(confdiff_compute(&c1, &c2, &d), 0);
	assert_false(confdiff_empty(&d));
	/* wg0 goes, wg1 stays the same, wg2 is new; by name order. */
	assert_int_equal(d.n_ifaces, 2);
	assert_non_null(d.ifaces[0].old);
	assert_null(d.ifaces[0].new);
	assert_string_equal(d.ifaces[0].old->name, "wg0");
	assert_int_equal(d.ifaces[0].peers_removed, 1);
	assert_null(d.ifaces[1].old);
	assert_string_equal(d.ifaces[1].new->name, "wg2");
	assert_true(d.ifaces[1].changes & CONFDIFF_WG);
	assert_int_equal(d.ifaces[1].peers_added, 1);
	confdiff_free(&d);
	router_conf_free(&c1);
	router_conf_free(&c2);
	free(a);
	free(b);
}

/* Only what changed is flagged; AllowedIPs changes give exact route and peer deltas. */
static void test_changed_parts(void **state)
{
	char *a = iface_text(PRIV1, "172.20.1.1/32, fd42:1::1/128", 1420, NULL, PEER_B);
	char *b = iface_text(PRIV1, "fd42:1::1/128, 172.20.1.2/32", 1400, NULL, PEER_B_MORE);
	struct diff t;
	const struct confdiff_iface *i = diff_wg0_changed(&t, a, b);
	assert_int_equal(i->changes, CONFDIFF_WG | CONFDIFF_ADDRS | CONFDIFF_MTU | CONFDIFF_ROUTES);
	assert_int_equal(i->peers_changed, 1);
	assert_int_equal(i->peers_added + i->peers_removed, 0);
	char buf[IP_PREFIX_STRLEN];
	assert_int_equal(i->n_addrs_del, 1);
	assert_string_equal(ip_prefix_format(&i->addrs_del[0], buf), "172.20.1.1/32");
	assert_int_equal(i->n_addrs_add, 1);
	assert_string_equal(ip_prefix_format(&i->addrs_add[0], buf), "172.20.1.2/32");
	assert_int_equal(i->n_routes_del, 0);
	assert_int_equal(i->n_routes_add, 1);
	assert_string_equal(ip_prefix_format(&i->routes_add[0].prefix, buf), "172.20.9.0/24");
	assert_int_equal(i->routes_add[0].table, 0);
	diff_free(&t);
	free(a);
	free(b);
}

/* A key change alone is a WG change with no routes or addresses touched. */
static void test_key_only(void **state)
{
	char *a = iface_text(PRIV1, "172.20.1.1/32", 1420, NULL, PEER_B);
	char *b = iface_text(PRIV2, "172.20.1.1/32", 1420, NULL, PEER_B);
	struct diff t;
	const struct confdiff_iface *i = diff_wg0_changed(&t, a, b);
	assert_int_equal(i->changes, CONFDIFF_WG);
	assert_int_equal(i->peers_changed + i->peers_added + i->peers_removed, 0);
	diff_free(&t);
	free(a);
	free(b);
}

/* Table = off drops every AllowedIPs route; a table id moves them all. */
static void test_table_changes(void **state)
{
	char *a = iface_text(PRIV1, "172.20.1.1/32", 1420, NULL, PEER_B);
	char *off = iface_text(PRIV1, "172.20.1.1/32", 1420, "off", PEER_B);
	char *t42 = iface_text(PRIV1, "172.20.1.1/32", 1420, "42", PEER_B);
	struct diff t;
	const struct confdiff_iface *i = diff_wg0_changed(&t, a, off);
	assert_int_equal(i->changes, CONFDIFF_ROUTES);
	assert_int_equal(i->n_routes_del, 2);
	assert_int_equal(i->n_routes_add, 0);
	diff_free(&t);
	i = diff_wg0_changed(&t, a, t42);
	assert_int_equal(i->n_routes_del, 2);
	assert_int_equal(i->n_routes_add, 2);
	assert_int_equal(i->routes_add[0].table, 42);
	diff_free(&t);
	free(a);
	free(off);
	free(t42);
}

/* Peers are matched by key: order in the file does not matter, a new key is add + remove. */
static void test_peer_order_and_replacement(void **state)
{
	char bc[1024], cb[1024];
	snprintf(bc, sizeof(bc), "%s%s", PEER_B, PEER_C);
	snprintf(cb, sizeof(cb), "%s%s", PEER_C, PEER_B);
	char *a = iface_text(PRIV1, "172.20.1.1/32", 1420, NULL, bc);
	char *b = iface_text(PRIV1, "172.20.1.1/32", 1420, NULL, cb);
	char *c = iface_text(PRIV1, "172.20.1.1/32", 1420, NULL, PEER_C);
	struct diff t;
	diff_wg0(&t, a, b);
	assert_true(confdiff_empty(&t.d));
	diff_free(&t);
	const struct confdiff_iface *i = diff_wg0_changed(&t, a, c);
	assert_int_equal(i->peers_removed, 1);
	assert_int_equal(i->peers_added, 0);
	assert_int_equal(i->changes, CONFDIFF_WG | CONFDIFF_ROUTES);
	assert_int_equal(i->n_routes_del, 2);
	diff_free(&t);
	free(a);
	free(b);
	free(c);
}

/* Hooks are noted but change nothing else. */
static void test_hooks(void **state)
{
	char *a = iface_text(PRIV1, "172.20.1.1/32", 1420, NULL, PEER_B);
	char with[2048];
	snprintf(with, sizeof(with), "[Interface]\nPostUp = echo up %%i\n%s",
		 a + strlen("[Interface]\n"));
	struct diff t;
	const struct confdiff_iface *i = diff_wg0_changed(&t, a, with);
	assert_int_equal(i->changes, CONFDIFF_HOOKS);
	diff_free(&t);
	free(a);
}

/* route = lines compared whole; [exec] by name and command. */
static void test_router_routes_and_execs(void **state)
{
	static const char r1[] =
		"[router]\ncontrol = /tmp/x.sock\nroute = 172.20.0.0/14 unreachable\n"
		"route = 10.0.0.0/8 via 172.20.1.2\nroute = fd42::/16 unreachable\n"
		"[exec]\nbird = bird -f\nsleeper = sleep 1000\nold = true\n";
	static const char r2[] =
		"[router]\ncontrol = /tmp/y.sock\nlog_level = debug\n"
		"route = fd42::/16 unreachable\nroute = 10.0.0.0/8 via 172.20.1.3\n"
		"route = 172.20.0.0/14 unreachable\n"
		"[exec]\nsleeper = sleep 2000\nbird = bird -f\nnew = true\n";
	struct router_conf c1, c2;
	make_conf(&c1, r1, NULL, NULL, 0);
	make_conf(&c2, r2, NULL, NULL, 0);
	struct confdiff d;
	assert_int_equal(confdiff_compute(&c1, &c2, &d), 0);
	char buf[IP_ADDR_STRLEN];
	assert_int_equal(d.n_routes_del, 1);
	assert_string_equal(ip_addr_format(&d.routes_del[0]->gateway, buf), "172.20.1.2");
	assert_int_equal(d.n_routes_add, 1);
	assert_string_equal(ip_addr_format(&d.routes_add[0]->gateway, buf), "172.20.1.3");
	assert_int_equal(d.n_execs_stop, 2);
	assert_string_equal(d.execs_stop[0]->name, "sleeper");
	assert_string_equal(d.execs_stop[1]->name, "old");
	assert_int_equal(d.n_execs_start, 2);
	assert_string_equal(d.execs_start[0]->name, "sleeper");
	assert_string_equal(d.execs_start[0]->command, "sleep 2000");
	assert_string_equal(d.execs_start[1]->name, "new");
	assert_true(d.control_changed);
	assert_true(d.log_level_changed);
	confdiff_free(&d);
	router_conf_free(&c1);
	router_conf_free(&c2);
}

static void test_iface_routes_dedup(void **state)
{
	char two[1024];
	snprintf(two, sizeof(two), "%s[Peer]\nPublicKey = %s\nAllowedIPs = 172.20.2.7/24\n",
		 PEER_B, PUB4);
	char *a = iface_text(PRIV1, "172.20.1.1/32", 1420, NULL, two);
	struct wg_iface_conf c;
	struct conf_errors errs = { 0 };
	assert_int_equal(wg_iface_conf_parse_string(a, "wg0", "wg0", CONF_NUMERIC_ONLY, &c, &errs), 0);
	struct confdiff_route *r;
	size_t n;
	assert_int_equal(confdiff_iface_routes(&c, &r, &n), 0);
	assert_int_equal(n, 2);   /* 172.20.2.0/24 (twice, masked) and fd42:2::/48 */
	free(r);
	wg_iface_conf_free(&c);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identical),
		cmocka_unit_test(test_added_removed),
		cmocka_unit_test(test_changed_parts),
		cmocka_unit_test(test_key_only),
		cmocka_unit_test(test_table_changes),
		cmocka_unit_test(test_peer_order_and_replacement),
		cmocka_unit_test(test_hooks),
		cmocka_unit_test(test_router_routes_and_execs),
		cmocka_unit_test(test_iface_routes_dedup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
