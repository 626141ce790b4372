/*
 * Tests for src/conf: golden files under tests/unit/data/conf (run from the
 * repository root, as tests/run-all.sh does), exact error texts, and the
 * in-memory entry points.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/config.h"

#define DATA "tests/unit/data/conf"

/* Keys of the test data, decoded independently (Python's base64 module). */
static const uint8_t KEY_PRIV1[32] = {   /* eJG9LB6x...MGjCF0= */
	0x78, 0x91, 0xbd, 0x2c, 0x1e, 0xb1, 0x92, 0xa9, 0x43, 0x0d, 0xec, 0x57, 0xde, 0x2e,
	0xa3, 0x7b, 0x37, 0x02, 0xd9, 0xff, 0xfb, 0xf4, 0x3f, 0xb5, 0x2f, 0x1a, 0x7c, 0xec,
	0xc1, 0xa3, 0x08, 0x5d,
};
static const uint8_t KEY_PUB2[32] = {    /* mlsfeePF...fdE4B2U= */
	0x9a, 0x5b, 0x1f, 0x79, 0xe3, 0xc5, 0xc5, 0xfd, 0xda, 0xfa, 0x34, 0x8a, 0x54, 0x83,
	0xc1, 0xe3, 0xee, 0x6f, 0xce, 0x29, 0xee, 0xcc, 0x1b, 0x37, 0xed, 0x59, 0xd5, 0x7d,
	0xd1, 0x38, 0x07, 0x65,
};
static const uint8_t KEY_PSK[32] = {     /* +yyVTrHl...JeYR68= */
	0xfb, 0x2c, 0x95, 0x4e, 0xb1, 0xe5, 0xd7, 0x5b, 0x8a, 0x75, 0x97, 0xda, 0x09, 0x0f,
	0x07, 0xc1, 0x7c, 0x3a, 0xec, 0x18, 0x7b, 0x9c, 0x09, 0x09, 0xda, 0x12, 0x0f, 0xb4,
	0x97, 0x98, 0x47, 0xaf,
};
static const uint8_t KEY_PUB4[32] = {    /* QlSGk+mP...Q5yknU= */
	0x42, 0x54, 0x86, 0x93, 0xe9, 0x8f, 0x3d, 0x68, 0x64, 0xb3, 0xf4, 0xdc, 0x34, 0xfc,
	0xab, 0xec, 0x33, 0xa4, 0x73, 0xf7, 0xae, 0x82, 0xc2, 0x7c, 0x39, 0xa3, 0x56, 0xc5,
	0x0e, 0x72, 0x92, 0x75,
};
static const uint8_t KEY_PUB3[32] = {    /* o3qpDkpd...hib4JUo= */
	0xa3, 0x7a, 0xa9, 0x0e, 0x4a, 0x5d, 0x53, 0xc7, 0x29, 0x07, 0x85, 0x35, 0xb5, 0x31,
	0x45, 0x98, 0xeb, 0x50, 0x3f, 0x6a, 0xfd, 0x95, 0x34, 0x69, 0x16, 0xe0, 0xb5, 0x86,
	0x26, 0xf8, 0x25, 0x4a,
};
#define PRIV1_TEXT "eJG9LB6xkqlDDexX3i6jezcC2f/79D+1Lxp87MGjCF0="
#define PUB1_TEXT  "6uvgv9rxzuAgkI+TirGwS+N88RFfBZPP04LzKkvfpgY="   /* wg pubkey of PRIV1 */
#define PUB2_TEXT  "mlsfeePFxf3a+jSKVIPB4+5vzinuzBs37VnVfdE4B2U="

static void assert_prefix(const struct ip_prefix *p, const char *want)
{
	char buf[IP_PREFIX_STRLEN];
	assert_string_equal(ip_prefix_format(p, buf), want);
}

static void assert_addr(const struct ip_addr *a, const char *want)
{
	char buf[IP_ADDR_STRLEN];
	assert_string_equal(ip_addr_format(a, buf), want);
}

static void assert_endpoint(const union sockaddr_inet *sa, const char *want)
{
	char buf[SOCKADDR_INET_STRLEN];
	assert_string_equal(sockaddr_inet_format(sa, buf, sizeof(buf)), want);
}

static void print_errors(const struct conf_errors *e)
{
	for (unsigned i = 0; i < e->count && i < CONF_MAX_ERRORS; i++)
		fprintf(stderr, "  error: %s\n", e->msg[i]);
}

static void check_alice(const struct wg_iface_conf *w)
{
	assert_string_equal(w->name, "dn42_alice");
	assert_string_equal(w->path, DATA "/dn42/wg/dn42_alice.conf");
	assert_memory_equal(w->private_key, KEY_PRIV1, 32);
	assert_true(w->has_listen_port);
	assert_int_equal(w->listen_port, 42002);
	assert_int_equal(w->n_addresses, 3);
	assert_prefix(&w->addresses[0], "fe80::1/64");
	assert_prefix(&w->addresses[1], "172.20.1.1/32");
	assert_prefix(&w->addresses[2], "fd42:4242:1::1/128");
	assert_int_equal(w->mtu, 1420);
	assert_int_equal(w->table, TABLE_OFF);
	assert_int_equal(w->n_pre_up, 0);
	assert_int_equal(w->n_post_up, 2);
	assert_string_equal(w->post_up[0], "ip addr add 172.20.1.1/32 peer 172.20.2.2/32 dev %i");
	assert_string_equal(w->post_up[1], "ip -6 addr add fd42:4242:1::1/128 dev %i; "
					   "sysctl -w net.ipv6.conf.%i.autoconf=0");
	assert_int_equal(w->n_pre_down, 1);
	assert_string_equal(w->pre_down[0], "echo down");
	assert_int_equal(w->n_post_down, 0);
	assert_int_equal(w->ignored_keys, 0);

	assert_int_equal(w->n_peers, 1);
	const struct wg_peer_conf *p = &w->peers[0];
	assert_int_equal(p->line, 13);
	assert_memory_equal(p->public_key, KEY_PUB2, 32);
	assert_true(p->has_psk);
	assert_memory_equal(p->psk, KEY_PSK, 32);
	assert_true(p->has_endpoint);
	assert_string_equal(p->endpoint_text, "[2001:db8::2]:21001");
	assert_int_equal(p->endpoint.sa.sa_family, AF_INET6);
	assert_endpoint(&p->endpoint, "[2001:db8::2]:21001");
	assert_int_equal(p->n_allowed_ips, 5);
	assert_prefix(&p->allowed_ips[0], "172.20.0.0/14");
	assert_prefix(&p->allowed_ips[1], "10.0.0.0/8");
	assert_prefix(&p->allowed_ips[2], "172.31.0.0/16");
	assert_prefix(&p->allowed_ips[3], "fd00::/8");
	assert_prefix(&p->allowed_ips[4], "fe80::/64");
	assert_int_equal(p->persistent_keepalive, 25);
}

static void check_bob(const struct wg_iface_conf *w)
{
	assert_string_equal(w->name, "dn42_bob");
	assert_memory_equal(w->private_key, KEY_PRIV1, 32);
	assert_false(w->has_listen_port);
	assert_int_equal(w->n_addresses, 2);
	assert_prefix(&w->addresses[0], "fe80::1:1/64");
	assert_prefix(&w->addresses[1], "172.20.1.1/32");   /* no length: a host address */
	assert_int_equal(w->mtu, 1280);
	assert_int_equal(w->table, TABLE_ID);
	assert_int_equal(w->table_id, 1234);
	assert_int_equal(w->n_pre_up + w->n_post_up + w->n_pre_down, 0);
	assert_int_equal(w->n_post_down, 1);
	assert_string_equal(w->post_down[0], "echo bye");     /* comment and indent gone */
	assert_int_equal(w->ignored_keys, CONF_IGNORED_DNS);

	assert_int_equal(w->n_peers, 2);
	const struct wg_peer_conf *p = &w->peers[0];
	assert_int_equal(p->line, 10);
	assert_memory_equal(p->public_key, KEY_PUB4, 32);
	assert_false(p->has_psk);
	assert_true(p->has_endpoint);
	assert_int_equal(p->endpoint.sa.sa_family, AF_INET);
	assert_endpoint(&p->endpoint, "192.0.2.4:51820");
	assert_int_equal(p->n_allowed_ips, 2);
	assert_prefix(&p->allowed_ips[0], "0.0.0.0/0");
	assert_prefix(&p->allowed_ips[1], "::/0");
	assert_int_equal(p->persistent_keepalive, 0);

	p = &w->peers[1];
	assert_int_equal(p->line, 16);
	assert_memory_equal(p->public_key, KEY_PUB3, 32);
	assert_false(p->has_psk);
	assert_false(p->has_endpoint);                       /* dial-in only */
	assert_int_equal(p->n_allowed_ips, 1);
	assert_prefix(&p->allowed_ips[0], "198.51.100.0/24"); /* masked */
	assert_int_equal(p->persistent_keepalive, 0);
}

static void test_dn42_router(void **state)
{
	struct conf_errors e = { 0 };
	struct router_conf rc;

	int r = router_conf_load(DATA "/dn42/rrouted.conf", &rc, &e);
	print_errors(&e);
	assert_int_equal(r, 0);
	assert_int_equal(e.count, 0);
	assert_string_equal(rc.path, DATA "/dn42/rrouted.conf");
	assert_string_equal(rc.interfaces_dir, DATA "/dn42/wg");
	assert_string_equal(rc.control_path, DATA "/dn42/run/rrouted.sock");
	assert_string_equal(rc.log_level, "info");

	assert_int_equal(rc.n_routes, 6);
	const struct route_conf *rt = rc.routes;
	assert_int_equal(rt[0].line, 8);
	assert_prefix(&rt[0].prefix, "172.20.1.0/27");
	assert_int_equal(rt[0].type, ROUTE_BLACKHOLE);
	assert_false(rt[0].has_gateway);
	assert_string_equal(rt[0].dev, "");

	assert_prefix(&rt[1].prefix, "fd42:4242:1::/48");
	assert_int_equal(rt[1].type, ROUTE_UNREACHABLE);

	assert_prefix(&rt[2].prefix, "172.20.2.0/24");
	assert_int_equal(rt[2].type, ROUTE_UNICAST);
	assert_true(rt[2].has_gateway);
	assert_addr(&rt[2].gateway, "fe80::2");      /* IPv4 via an IPv6 next hop (RFC 8950) */
	assert_string_equal(rt[2].dev, "dn42_alice");

	assert_prefix(&rt[3].prefix, "10.0.0.0/8");
	assert_true(rt[3].has_gateway);
	assert_addr(&rt[3].gateway, "172.20.3.1");
	assert_string_equal(rt[3].dev, "");

	assert_prefix(&rt[4].prefix, "172.22.0.0/16");
	assert_false(rt[4].has_gateway);
	assert_string_equal(rt[4].dev, "dn42_bob");

	assert_prefix(&rt[5].prefix, "172.23.0.0/16");
	assert_addr(&rt[5].gateway, "fd42:4242:2::1");
	assert_int_equal(rt[5].line, 13);

	/* README.txt and dn42_alice.conf.bak are not interfaces; sorted by name. */
	assert_int_equal(rc.n_ifaces, 2);
	check_alice(&rc.ifaces[0]);
	check_bob(&rc.ifaces[1]);

	router_conf_free(&rc);
	assert_null(rc.ifaces);
	assert_int_equal(rc.n_ifaces, 0);
}

struct error_case {
	const char *file;
	const char *msgs[14];
};

static void check_errors(const struct conf_errors *e, const struct error_case *c)
{
	unsigned n = 0;

	while (c->msgs[n])
		n++;
	if (e->count != n)
		print_errors(e);
	assert_int_equal(e->count, n);
	for (unsigned i = 0; i < n; i++) {
		char want[CONF_ERROR_LEN];
		/* "~" stands for the file's own path, to keep the table readable. */
		if (c->msgs[i][0] == '~')
			snprintf(want, sizeof(want), "%s%s", c->file, c->msgs[i] + 1);
		else
			snprintf(want, sizeof(want), "%s", c->msgs[i]);
		assert_string_equal(e->msg[i], want);
	}
}

static const char KEY_MSG[] =
	"not a valid key (expected 44 characters of base64, as 'wg genkey' prints)";

static void test_wg_errors(void **state)
{
	static char bad_key[200], bad_psk[200];
	snprintf(bad_key, sizeof(bad_key), "~:5: PublicKey: %s", KEY_MSG);
	snprintf(bad_psk, sizeof(bad_psk), "~:18: PresharedKey: %s", KEY_MSG);
	const struct error_case cases[] = {
		{ DATA "/bad/unknown-key.conf", { "~:3: unknown key 'ListenPrt' in [Interface]" } },
		{ DATA "/bad/bad-key-base64.conf", { bad_key } },
		{ DATA "/bad/bad-prefix.conf",
		  { "~:6: AllowedIPs: '10.0.0.0/33' is not a valid prefix" } },
		{ DATA "/bad/missing-private-key.conf", { "~:2: [Interface]: missing PrivateKey" } },
		{ DATA "/bad/bad-port.conf",
		  { "~:3: ListenPort: '70000' is not a valid port (expected 1..65535)" } },
		{ DATA "/bad/unknown-section.conf",
		  { "~:3: unknown section '[Peers]' (expected [Interface] or [Peer])" } },
		{ DATA "/bad/outside-section.conf",
		  { "~:1: 'ListenPort' is outside a section (put it under [Interface] or [Peer])" } },
		{ DATA "/bad/duplicate-public-key.conf",
		  { "~:6: PublicKey: the same key as the peer on line 3" } },
		{ DATA "/bad/own-public-key.conf",
		  { "~:4: PublicKey: this is the interface's own public key "
		    "(the key of the other end belongs here)" } },
		{ DATA "/bad/missing-public-key.conf", { "~:3: [Peer]: missing PublicKey" } },
		{ DATA "/bad/many-errors.conf", {
			"~:3: MTU: '9000' is out of range (expected 1280..1920)",
			"~:4: Table: 'main' is not off, auto or a table number (1..4294967295)",
			"~:5: Address: '172.20.1.2/40' is not a valid prefix",
			"~:5: Address: '1.2.3.4/' is not a valid prefix",
			"~:6: PostUp: empty command",
			"~:7: expected 'Key = Value' or a [Section] header",
			"~:11: Endpoint: '2001:db8::1:51820': write an IPv6 address in brackets, "
			"[address]:port",
			"~:12: PersistentKeepalive: '65536' is not off or 0..65535 seconds",
			"~:16: Endpoint: '192.0.2.1' has no port (expected host:port or [address]:port)",
			"~:17: Endpoint: given twice (first on line 16)",
			bad_psk,
			"~:19: a section header must end with ']'",
		} },
		{ DATA "/bad/no-such-file.conf", { "~: cannot open: No such file or directory" } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf_errors e = { 0 };
		struct wg_iface_conf w;
		memset(&w, 0xa5, sizeof(w));
		assert_int_equal(wg_iface_conf_load(cases[i].file, "test0", &w, &e), -1);
		check_errors(&e, &cases[i]);
		/* A failed load leaves nothing behind: all zero, and freeing again is fine. */
		assert_null(w.peers);
		assert_int_equal(w.n_peers, 0);
		for (size_t k = 0; k < sizeof(w.private_key); k++)
			assert_int_equal(w.private_key[k], 0);
		wg_iface_conf_free(&w);
	}
}

static void test_unresolvable_endpoint(void **state)
{
	struct conf_errors e = { 0 };
	struct wg_iface_conf w;
	const char *want = DATA "/bad/unresolvable.conf:5: Endpoint: cannot resolve "
			   "'no-such-host.invalid': ";

	assert_int_equal(wg_iface_conf_load(DATA "/bad/unresolvable.conf", "t", &w, &e), -1);
	assert_int_equal(e.count, 1);
	/* The reason comes from the resolver (no network here, NXDOMAIN elsewhere). */
	assert_int_equal(strncmp(e.msg[0], want, strlen(want)), 0);
}

static void test_router_errors(void **state)
{
	const struct error_case cases[] = {
		{ DATA "/badrouter/bad-route.conf", {
			"~:2: route: 'via' needs a gateway address",
			"~:3: route: '172.20.1.1/24' has host bits set (the prefix is 172.20.1.0/24)",
			"~:4: route: a unicast route needs 'via GATEWAY' or 'dev IFACE'",
			"~:5: route: an IPv6 prefix cannot have the IPv4 gateway 192.0.2.1",
			"~:6: route: nothing may follow 'blackhole' (got 'via')",
			"~:7: route: the link-local gateway fe80::1 needs 'dev IFACE'",
			"~:8: route: 'via' given twice",
			"~:9: route: unexpected 'gateway'; expected 'PREFIX [via GATEWAY] [dev IFACE]' "
			"or 'PREFIX unreachable|blackhole|prohibit'",
			"~:11: route: 10.5.0.0/16 is already given on line 10",
		} },
		{ DATA "/badrouter/route-dev.conf", {
			"~:4: route: dev 'wg9' is not an interface (no wg9.conf in '"
			DATA "/badrouter/../dn42/wg')",
		} },
		{ DATA "/badrouter/unknown-section.conf",
		  { "~:4: unknown section '[routes]' (expected [router] or [exec])" } },
		{ DATA "/badrouter/exec-errors.conf", {
			"~:3: [exec] bird: given twice (first on line 2)",
			"~:4: [exec] name 'bad name' must be 1..63 characters of letters, digits, "
			"'_', '.', '-'",
			"~:5: [exec] empty: empty command",
		} },
		{ DATA "/badrouter/unknown-key.conf", {
			"~:2: unknown key 'interface' in [router] (expected interfaces, control, "
			"log_level, route, metrics or batch_hold_us)",
			"~:3: log_level: 'verbose' is not one of error, warn, info, debug",
			"~:4: batch_hold_us: '20000' is not a number of microseconds from 0 to 10000",
			"~:5: batch_hold_us: given twice (first on line 4)",
		} },
		{ DATA "/badrouter/missing-dir.conf", {
			"~:2: interfaces: cannot open directory '" DATA
			"/badrouter/no-such-dir': No such file or directory",
		} },
		/* Errors in interface files name those files; all are collected. */
		{ DATA "/badrouter/iface-errors.conf", {
			"~:2: interfaces: '" DATA "/badrouter/ifaces/this-name-is-too-long.conf': "
			"the name before .conf must be 1..15 characters of A-Z a-z 0-9 _ = + . -",
			DATA "/badrouter/ifaces/broken.conf:3: MTU: '1000' is out of range "
			"(expected 1280..1920)",
			DATA "/badrouter/ifaces/ok1.conf: ListenPort: 51820 is already used by "
			"interface ok0",
		} },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf_errors e = { 0 };
		struct router_conf rc;
		assert_int_equal(router_conf_load(cases[i].file, &rc, &e), -1);
		check_errors(&e, &cases[i]);
		assert_null(rc.ifaces);
		assert_null(rc.routes);
		router_conf_free(&rc);
	}
}

static void test_exec_section(void **state)
{
	struct conf_errors e = { 0 };
	struct router_conf rc;
	const char *text = "[router]\ncontrol = /tmp/x.sock\n\n[exec]\n"
			   "bird = bird -f -c bird.conf -s bird.ctl  # BGP\n"
			   "stayrtr = stayrtr -bind 127.0.0.1:8282\n";
	assert_int_equal(router_conf_parse_string(text, "r.conf", CONF_SKIP_INTERFACES, &rc, &e), 0);
	assert_int_equal(rc.n_execs, 2);
	assert_string_equal(rc.execs[0].name, "bird");
	assert_string_equal(rc.execs[0].command, "bird -f -c bird.conf -s bird.ctl");
	assert_int_equal(rc.execs[0].line, 5);
	assert_string_equal(rc.execs[1].name, "stayrtr");
	assert_string_equal(rc.execs[1].command, "stayrtr -bind 127.0.0.1:8282");
	router_conf_free(&rc);
	assert_null(rc.execs);
}

static void test_control_paths(void **state)
{
	struct conf_errors e = { 0 };
	struct router_conf rc;
	char want[128];

	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	assert_int_equal(router_conf_parse_string("[router]\n", "r.conf", 0, &rc, &e), 0);
	assert_string_equal(rc.control_path, "/run/user/1000/rrouted.sock");
	assert_string_equal(rc.interfaces_dir, "");
	assert_int_equal(rc.n_ifaces, 0);
	router_conf_free(&rc);

	unsetenv("XDG_RUNTIME_DIR");
	assert_int_equal(router_conf_parse_string("[router]\n", "r.conf", 0, &rc, &e), 0);
	snprintf(want, sizeof(want), "/tmp/rrouted-%u/rrouted.sock", (unsigned)geteuid());
	assert_string_equal(rc.control_path, want);
	snprintf(want, sizeof(want), "/tmp/rrouted-%u", (unsigned)geteuid());
	assert_string_equal(rc.private_dir, want);
	router_conf_free(&rc);

	/* Relative to the conf file's directory; absolute paths stay. */
	assert_int_equal(router_conf_parse_string("[router]\ncontrol = ctl.sock\n", "r.conf",
						  0, &rc, &e), 0);
	assert_string_equal(rc.control_path, "ctl.sock");
	router_conf_free(&rc);
	assert_int_equal(router_conf_parse_string("[router]\ncontrol = ctl.sock\n"
						  "interfaces = wg\n", "/etc/rr/r.conf",
						  CONF_SKIP_INTERFACES, &rc, &e), 0);
	assert_string_equal(rc.control_path, "/etc/rr/ctl.sock");
	assert_string_equal(rc.interfaces_dir, "/etc/rr/wg");
	router_conf_free(&rc);
	assert_int_equal(router_conf_parse_string("[router]\ncontrol = /run/x.sock\n",
						  "/r.conf", 0, &rc, &e), 0);
	assert_string_equal(rc.control_path, "/run/x.sock");
	router_conf_free(&rc);
	assert_int_equal(router_conf_parse_string("[router]\ncontrol = x.sock\n",
						  "/r.conf", 0, &rc, &e), 0);
	assert_string_equal(rc.control_path, "/x.sock");
	router_conf_free(&rc);
	assert_int_equal(e.count, 0);

	/* A unix socket path has at most 107 bytes. */
	char text[300];
	snprintf(text, sizeof(text), "[router]\ncontrol = /%0150d\n", 0);
	assert_int_equal(router_conf_parse_string(text, "r.conf", 0, &rc, &e), -1);
	assert_int_equal(e.count, 1);
	assert_non_null(strstr(e.msg[0], "r.conf:2: control: '/000"));
	assert_non_null(strstr(e.msg[0], "is too long for a unix socket path (at most 107 bytes)"));
}

static void test_route_dev_without_interfaces(void **state)
{
	struct conf_errors e = { 0 };
	struct router_conf rc;

	assert_int_equal(router_conf_parse_string("[router]\nroute = 10.0.0.0/8 dev wg0\n",
						  "r.conf", 0, &rc, &e), -1);
	assert_int_equal(e.count, 1);
	assert_string_equal(e.msg[0], "r.conf:2: route: dev 'wg0' is not an interface "
				      "(no 'interfaces = DIR' given)");
	/* With CONF_SKIP_INTERFACES the check is the caller's business. */
	memset(&e, 0, sizeof(e));
	assert_int_equal(router_conf_parse_string("[ROUTER]\nRoute = 10.0.0.0/8 via 10.1.1.1 dev wg0\n"
						  "route = 0.0.0.0/0 prohibit\n",
						  "r.conf", CONF_SKIP_INTERFACES, &rc, &e), 0);
	assert_int_equal(rc.n_routes, 2);
	assert_string_equal(rc.routes[0].dev, "wg0");
	assert_int_equal(rc.routes[1].type, ROUTE_PROHIBIT);
	assert_prefix(&rc.routes[1].prefix, "0.0.0.0/0");
	router_conf_free(&rc);

	assert_int_equal(router_conf_parse_string("route = 10.0.0.0/8 blackhole\n",
						  "r.conf", 0, &rc, &e), -1);
	assert_string_equal(e.msg[0], "r.conf:1: 'route' is outside a section (put it under [router])");
}

/* The reader: comments, case, CRLF, indentation, long lines, ';' kept in commands. */
static void test_syntax(void **state)
{
	char longcmd[1200], text[2000];
	struct conf_errors e = { 0 };
	struct wg_iface_conf w;

	memset(longcmd, 'x', sizeof(longcmd) - 1);
	longcmd[sizeof(longcmd) - 1] = '\0';
	memcpy(longcmd, "echo ", 5);
	snprintf(text, sizeof(text),
		 "\xef\xbb\xbf; a comment\r\n"
		 "  # another\r\n"
		 "\r\n"
		 "[ INTERFACE ]\r\n"
		 "PRIVATEKEY=" PRIV1_TEXT "\r\n"
		 "  postup =  iptables -A x ; echo a;b   # trailing\r\n"
		 "PostUp=%s\n"
		 "fwmark = 0x1234\n"
		 "SaveConfig = true\n"
		 "[peer]\n"
		 "publickey = " PUB2_TEXT "\n"
		 "allowedips=10.0.0.1/8,,fe80::1/64 ,\n"
		 "AllowedIPs =\n"
		 "endpoint = [::1]:1\n"
		 "persistentkeepalive = 0\n"
		 "[Peer]\n"
		 "PublicKey = " PUB1_TEXT "x\n",
		 longcmd);
	assert_int_equal(wg_iface_conf_parse_string(text, "mem", "wg0", CONF_NUMERIC_ONLY, &w, &e), -1);
	/* Only the last line is wrong: a 45-character key (and no "missing" on top). */
	print_errors(&e);
	assert_int_equal(e.count, 1);
	assert_string_equal(e.msg[0], "mem:17: PublicKey: not a valid key (expected 44 characters "
				      "of base64, as 'wg genkey' prints)");

	/* Without the broken peer it loads, and the consecutive [Peer]s stay apart. */
	char *last = strstr(text, "[Peer]\nPublicKey = " PUB1_TEXT "x");
	assert_non_null(last);
	snprintf(last, sizeof(text) - (size_t)(last - text), "[Peer]\nPublicKey = %s\n[Peer]\n"
		 "PublicKey = QlSGk+mPPWhks/TcNPyr7DOkc/eugsJ8OaNWxQ5yknU=\n", PUB2_TEXT "");
	memset(&e, 0, sizeof(e));
	assert_int_equal(wg_iface_conf_parse_string(text, "mem", "wg0", CONF_NUMERIC_ONLY, &w, &e), -1);
	assert_string_equal(e.msg[0], "mem:17: PublicKey: the same key as the peer on line 10");

	char *dup = strstr(last, PUB2_TEXT);
	memcpy(dup, "o3qpDkpdU8cpB4U1tTFFmOtQP2r9lTRpFuC1hib4JUo=", 44);
	memset(&e, 0, sizeof(e));
	int r = wg_iface_conf_parse_string(text, "mem", "wg0", CONF_NUMERIC_ONLY, &w, &e);
	print_errors(&e);
	assert_int_equal(r, 0);
	assert_int_equal(w.n_post_up, 2);
	assert_string_equal(w.post_up[0], "iptables -A x ; echo a;b");
	assert_string_equal(w.post_up[1], longcmd);
	assert_int_equal(w.ignored_keys, CONF_IGNORED_FWMARK | CONF_IGNORED_SAVECONFIG);
	assert_int_equal(w.n_peers, 3);
	assert_int_equal(w.peers[0].n_allowed_ips, 2);
	assert_prefix(&w.peers[0].allowed_ips[0], "10.0.0.0/8");
	assert_prefix(&w.peers[0].allowed_ips[1], "fe80::/64");
	assert_endpoint(&w.peers[0].endpoint, "[::1]:1");
	assert_memory_equal(w.peers[0].public_key, KEY_PUB2, 32);
	assert_memory_equal(w.peers[1].public_key, KEY_PUB3, 32);
	assert_memory_equal(w.peers[2].public_key, KEY_PUB4, 32);
	assert_int_equal(w.peers[1].n_allowed_ips, 0);
	assert_int_equal(w.mtu, MTU_DEFAULT);
	assert_int_equal(w.table, TABLE_AUTO);
	wg_iface_conf_free(&w);
}

static void test_endpoints(void **state)
{
	static const struct { const char *ep, *want; } good[] = {
		{ "192.0.2.1:51820", "192.0.2.1:51820" },
		{ "[2001:db8::1]:65535", "[2001:db8::1]:65535" },
		{ "[192.0.2.1]:1", "192.0.2.1:1" },
		{ "[fe80::1%1]:51820", "[fe80::1%1]:51820" },   /* scope: ifindex 1 is lo */
	};
	static const struct { const char *ep, *msg; } bad[] = {
		{ "localhost:51820", "Endpoint: 'localhost' is not a numeric address (name lookups are off)" },
		{ "192.0.2.1:0", "Endpoint: '192.0.2.1:0' has an invalid port (expected 1..65535)" },
		{ "192.0.2.1:65536", "Endpoint: '192.0.2.1:65536' has an invalid port (expected 1..65535)" },
		{ "192.0.2.1:", "Endpoint: '192.0.2.1:' has an invalid port (expected 1..65535)" },
		{ "192.0.2.1:+5", "Endpoint: '192.0.2.1:+5' has an invalid port (expected 1..65535)" },
		{ ":51820", "Endpoint: ':51820' has no host" },
		{ "[]:51820", "Endpoint: '[]:51820' has no host" },
		{ "[::1]51820", "Endpoint: '[::1]51820' is not [address]:port" },
		{ "[::1", "Endpoint: '[::1' is not [address]:port" },
	};
	char text[512];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct conf_errors e = { 0 };
		struct wg_iface_conf w;
		snprintf(text, sizeof(text), "[Interface]\nPrivateKey = %s\n[Peer]\nPublicKey = %s\n"
			 "Endpoint = %s\n", PRIV1_TEXT, PUB2_TEXT, good[i].ep);
		int r = wg_iface_conf_parse_string(text, "m", "wg0", CONF_NUMERIC_ONLY, &w, &e);
		print_errors(&e);
		assert_int_equal(r, 0);
		assert_endpoint(&w.peers[0].endpoint, good[i].want);
		assert_string_equal(w.peers[0].endpoint_text, good[i].ep);
		wg_iface_conf_free(&w);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct conf_errors e = { 0 };
		struct wg_iface_conf w;
		char want[CONF_ERROR_LEN];
		snprintf(text, sizeof(text), "[Interface]\nPrivateKey = %s\n[Peer]\nPublicKey = %s\n"
			 "Endpoint = %s\n", PRIV1_TEXT, PUB2_TEXT, bad[i].ep);
		assert_int_equal(wg_iface_conf_parse_string(text, "m", "wg0", CONF_NUMERIC_ONLY, &w, &e), -1);
		snprintf(want, sizeof(want), "m:5: %s", bad[i].msg);
		assert_int_equal(e.count, 1);
		assert_string_equal(e.msg[0], want);
	}

	/* Names are resolved when lookups are allowed (localhost is in /etc/hosts). */
	struct conf_errors e = { 0 };
	struct wg_iface_conf w;
	snprintf(text, sizeof(text), "[Interface]\nPrivateKey = %s\n[Peer]\nPublicKey = %s\n"
		 "Endpoint = localhost:51820\n", PRIV1_TEXT, PUB2_TEXT);
	assert_int_equal(wg_iface_conf_parse_string(text, "m", "wg0", 0, &w, &e), 0);
	char buf[SOCKADDR_INET_STRLEN];
	sockaddr_inet_format(&w.peers[0].endpoint, buf, sizeof(buf));
	if (strcmp(buf, "127.0.0.1:51820") != 0 && strcmp(buf, "[::1]:51820") != 0)
		fail_msg("localhost resolved to %s", buf);
	assert_string_equal(w.peers[0].endpoint_text, "localhost:51820");
	wg_iface_conf_free(&w);
}

static void test_values(void **state)
{
	static const struct { const char *line, *msg; } bad[] = {
		{ "ListenPort = 0", "ListenPort: '0' is not a valid port (expected 1..65535)" },
		{ "ListenPort = -1", "ListenPort: '-1' is not a valid port (expected 1..65535)" },
		{ "ListenPort = 51820x", "ListenPort: '51820x' is not a valid port (expected 1..65535)" },
		{ "MTU = 1279", "MTU: '1279' is out of range (expected 1280..1920)" },
		{ "MTU = 1921", "MTU: '1921' is out of range (expected 1280..1920)" },
		{ "Table = 0", "Table: '0' is not off, auto or a table number (1..4294967295)" },
		{ "Table = 4294967296", "Table: '4294967296' is not off, auto or a table number (1..4294967295)" },
		{ "Address = 172.20.1.1/24 fe80::1/64x", "Address: 'fe80::1/64x' is not a valid prefix" },
		{ "PrivateKey = " PRIV1_TEXT, "PrivateKey: given twice (first on line 2)" },
		{ "PrivateKey", "expected 'Key = Value' or a [Section] header" },
		{ "= 5", "missing key name before '='" },
		{ "[]", "empty section name '[]'" },
	};
	char text[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct conf_errors e = { 0 };
		struct wg_iface_conf w;
		char want[CONF_ERROR_LEN];
		snprintf(text, sizeof(text), "[Interface]\nPrivateKey = %s\n%s\n", PRIV1_TEXT, bad[i].line);
		assert_int_equal(wg_iface_conf_parse_string(text, "m", "wg0", CONF_NUMERIC_ONLY, &w, &e), -1);
		snprintf(want, sizeof(want), "m:3: %s", bad[i].msg);
		if (e.count != 1)
			print_errors(&e);
		assert_int_equal(e.count, 1);
		assert_string_equal(e.msg[0], want);
	}

	static const struct { const char *line; int mtu; enum table_mode t; uint32_t id; } good[] = {
		{ "MTU = 1280", 1280, TABLE_AUTO, 0 },
		{ "MTU = 1920", 1920, TABLE_AUTO, 0 },
		{ "Table = AUTO", MTU_DEFAULT, TABLE_AUTO, 0 },
		{ "Table = Off", MTU_DEFAULT, TABLE_OFF, 0 },
		{ "Table = 4294967295", MTU_DEFAULT, TABLE_ID, 4294967295u },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct conf_errors e = { 0 };
		struct wg_iface_conf w;
		snprintf(text, sizeof(text), "[Interface]\nPrivateKey = %s\n%s\nListenPort = 65535\n",
			 PRIV1_TEXT, good[i].line);
		assert_int_equal(wg_iface_conf_parse_string(text, "m", "wg0", 0, &w, &e), 0);
		assert_int_equal(w.mtu, good[i].mtu);
		assert_int_equal(w.table, good[i].t);
		assert_int_equal(w.table_id, good[i].id);
		assert_int_equal(w.listen_port, 65535);
		wg_iface_conf_free(&w);
	}

	/* Without an [Interface] section at all. */
	struct conf_errors e = { 0 };
	struct wg_iface_conf w;
	assert_int_equal(wg_iface_conf_parse_string("", "m", "wg0", 0, &w, &e), -1);
	assert_string_equal(e.msg[0], "m: no [Interface] section (it must hold the PrivateKey)");
}

static void test_error_limit(void **state)
{
	char text[4096] = "[Interface]\nPrivateKey = " PRIV1_TEXT "\n";
	struct conf_errors e = { 0 };
	struct wg_iface_conf w;

	for (int i = 0; i < 40; i++)
		strcat(text, "Bogus = 1\n");
	assert_int_equal(wg_iface_conf_parse_string(text, "m", "wg0", 0, &w, &e), -1);
	assert_int_equal(e.count, 40);              /* counted, */
	assert_string_equal(e.msg[CONF_MAX_ERRORS - 1], "m:34: unknown key 'Bogus' in [Interface]");
}

static void test_names(void **state)
{
	static const char *const good[] = { "wg0", "dn42_alice", "a", "A-Z.a=z+0_9", "123456789012345" };
	static const char *const bad[] = { "", "1234567890123456", "wg 0", "wg/0", "wg:0", "wgé", "wg%0" };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(netif_name_valid(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(netif_name_valid(bad[i]));
	assert_false(netif_name_valid(NULL));

	struct conf_errors e = { 0 };
	struct wg_iface_conf w;
	assert_int_equal(wg_iface_conf_parse_string("", "m", "wg 0", 0, &w, &e), -1);
	assert_string_equal(e.msg[0], "m: 'wg 0' is not a valid interface name "
				      "(1..15 characters of A-Z a-z 0-9 _ = + . -)");
}

static void assert_same_iface(const struct wg_iface_conf *a, const struct wg_iface_conf *b)
{
	assert_string_equal(a->name, b->name);
	assert_memory_equal(a->private_key, b->private_key, 32);
	assert_int_equal(a->has_listen_port, b->has_listen_port);
	assert_int_equal(a->listen_port, b->listen_port);
	assert_int_equal(a->n_addresses, b->n_addresses);
	for (size_t i = 0; i < a->n_addresses; i++)
		assert_true(ip_prefix_equal(&a->addresses[i], &b->addresses[i]));
	assert_int_equal(a->mtu, b->mtu);
	assert_int_equal(a->table, b->table);
	assert_int_equal(a->table_id, b->table_id);
	char *const *ca[] = { a->pre_up, a->post_up, a->pre_down, a->post_down };
	char *const *cb[] = { b->pre_up, b->post_up, b->pre_down, b->post_down };
	size_t na[] = { a->n_pre_up, a->n_post_up, a->n_pre_down, a->n_post_down };
	size_t nb[] = { b->n_pre_up, b->n_post_up, b->n_pre_down, b->n_post_down };
	for (int k = 0; k < 4; k++) {
		assert_int_equal(na[k], nb[k]);
		for (size_t i = 0; i < na[k]; i++)
			assert_string_equal(ca[k][i], cb[k][i]);
	}
	assert_int_equal(a->n_peers, b->n_peers);
	for (size_t i = 0; i < a->n_peers; i++) {
		const struct wg_peer_conf *p = &a->peers[i], *q = &b->peers[i];
		assert_memory_equal(p->public_key, q->public_key, 32);
		assert_int_equal(p->has_psk, q->has_psk);
		assert_memory_equal(p->psk, q->psk, 32);
		assert_int_equal(p->has_endpoint, q->has_endpoint);
		if (p->has_endpoint)
			assert_true(sockaddr_inet_equal(&p->endpoint, &q->endpoint));
		assert_int_equal(p->n_allowed_ips, q->n_allowed_ips);
		for (size_t j = 0; j < p->n_allowed_ips; j++)
			assert_true(ip_prefix_equal(&p->allowed_ips[j], &q->allowed_ips[j]));
		assert_int_equal(p->persistent_keepalive, q->persistent_keepalive);
	}
}

/* print -> parse gives the same structs (OpenBGPD-style config round trip). */
static void test_print_reparse(void **state)
{
	struct conf_errors e = { 0 };
	struct router_conf rc, rc2;
	static char buf[16384];

	assert_int_equal(router_conf_load(DATA "/dn42/rrouted.conf", &rc, &e), 0);
	for (size_t i = 0; i < rc.n_ifaces; i++) {
		struct wg_iface_conf w2;
		FILE *f = fmemopen(buf, sizeof(buf), "w");
		assert_non_null(f);
		assert_int_equal(wg_iface_conf_print(f, &rc.ifaces[i], true), 0);
		assert_int_equal(fclose(f), 0);
		int r = wg_iface_conf_parse_string(buf, "printed", rc.ifaces[i].name,
						   CONF_NUMERIC_ONLY, &w2, &e);
		print_errors(&e);
		assert_int_equal(r, 0);
		assert_same_iface(&rc.ifaces[i], &w2);
		wg_iface_conf_free(&w2);

		/* Without secrets the keys are not in the text. */
		f = fmemopen(buf, sizeof(buf), "w");
		assert_non_null(f);
		assert_int_equal(wg_iface_conf_print(f, &rc.ifaces[i], false), 0);
		assert_int_equal(fclose(f), 0);
		assert_null(strstr(buf, PRIV1_TEXT));
		assert_null(strstr(buf, "+yyVTrHl11uKdZfaCQ8HwXw67Bh7nAkJ2hIPtJeYR68="));
		assert_non_null(strstr(buf, "PrivateKey = (hidden)\n"));
	}

	FILE *f = fmemopen(buf, sizeof(buf), "w");
	assert_non_null(f);
	assert_int_equal(router_conf_print(f, &rc), 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(router_conf_parse_string(buf, "r.conf", CONF_SKIP_INTERFACES, &rc2, &e), 0);
	assert_string_equal(rc.interfaces_dir, rc2.interfaces_dir);
	assert_string_equal(rc.control_path, rc2.control_path);
	assert_string_equal(rc.log_level, rc2.log_level);
	assert_int_equal(rc.n_routes, rc2.n_routes);
	for (size_t i = 0; i < rc.n_routes; i++) {
		const struct route_conf *a = &rc.routes[i], *b = &rc2.routes[i];
		assert_true(ip_prefix_equal(&a->prefix, &b->prefix));
		assert_int_equal(a->type, b->type);
		assert_int_equal(a->has_gateway, b->has_gateway);
		if (a->has_gateway)
			assert_true(ip_addr_equal(&a->gateway, &b->gateway));
		assert_string_equal(a->dev, b->dev);
	}
	router_conf_free(&rc2);
	router_conf_free(&rc);
	memset(buf, 0, sizeof(buf));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dn42_router),
		cmocka_unit_test(test_wg_errors),
		cmocka_unit_test(test_unresolvable_endpoint),
		cmocka_unit_test(test_router_errors),
		cmocka_unit_test(test_control_paths),
		cmocka_unit_test(test_exec_section),
		cmocka_unit_test(test_route_dev_without_interfaces),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_error_limit),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_print_reparse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
