/*
 * src/rrouted/dns.c: endpoint names resolved off the loop and re-resolved
 * like reresolve-dns.sh. "localhost" resolves through /etc/hosts, so no
 * network is needed. The daemon's module is compiled in here.
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

#include "../../src/rrouted/dns.c"

#include "crypto/crypto.h"
#include "wgconf/wgconf.h"

struct fx {
	struct loop loop;
	struct ip_router router;
	struct router_conf conf;
	struct wg_device *dev;
	struct endpoint_dns *dns;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(crypto_init(), 0);
	uint8_t k[CRYPTO_KEY_LEN], pk[CRYPTO_KEY_LEN], p[CRYPTO_KEY_LEN];
	char kb[KEY_BASE64_LEN + 1], pb[KEY_BASE64_LEN + 1], text[512];
	x25519_generate(k);
	x25519_generate(pk);
	assert_int_equal(x25519_public(p, pk), 0);
	key_to_base64(kb, k);
	key_to_base64(pb, p);
	snprintf(text, sizeof(text),
		 "[Interface]\nPrivateKey = %s\n[Peer]\nPublicKey = %s\n"
		 "Endpoint = localhost:51999\nAllowedIPs = 172.20.9.0/24\n", kb, pb);
	f->conf.ifaces = calloc(1, sizeof(*f->conf.ifaces));
	assert_non_null(f->conf.ifaces);
	struct conf_errors errs = { 0 };
	assert_int_equal(wg_iface_conf_parse_string(text, "wg0.conf", "wg0", CONF_DEFER_NAMES,
						    &f->conf.ifaces[0], &errs), 0);
	f->conf.n_ifaces = 1;
	assert_true(f->conf.ifaces[0].peers[0].endpoint_is_name);
	assert_false(f->conf.ifaces[0].peers[0].has_endpoint);
	assert_int_equal(loop_init(&f->loop), 0);
	assert_int_equal(ip_router_init(&f->router, &f->loop), 0);
	f->dev = wg_device_create(&f->loop, &f->router, &f->conf.ifaces[0]);
	assert_non_null(f->dev);
	f->dns = endpoint_dns_new(&f->loop, &f->router, &f->conf);
	assert_non_null(f->dns);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	endpoint_dns_free(f->dns);
	ip_router_destroy_netifs(&f->router);
	ip_router_free(&f->router);
	loop_free(&f->loop);
	router_conf_free(&f->conf);
	free(f);
	return 0;
}

/* Runs the loop until the resolver has nothing in flight (bounded). */
static void settle(struct fx *f)
{
	uint64_t end = clock_now_ns() + 15 * NSEC_PER_SEC;   /* a slow resolver's timeout */
	while (clock_now_ns() < end) {
		bool busy = false;
		for (size_t i = 0; i < f->dns->n_peers; i++)
			busy |= f->dns->peers[i].in_flight;
		if (!busy)
			return;
		loop_run_once(&f->loop, 50);
	}
	fail_msg("the lookup did not come back within 15 s");
}

static void set_endpoint(struct wg_peer *peer, const char *ip)
{
	union sockaddr_inet a = { .in4 = { .sin_family = AF_INET, .sin_port = htons(51999) } };
	assert_int_equal(inet_pton(AF_INET, ip, &a.in4.sin_addr), 1);
	peer->endpoint = a;
	peer->has_endpoint = true;
}

static const char *endpoint_of(struct wg_peer *peer, char *buf, size_t len)
{
	return peer->has_endpoint ? sockaddr_inet_format(&peer->endpoint, buf, len) : "none";
}

/* "localhost" is 127.0.0.1 or ::1, whichever the host's getaddrinfo ranks first. */
static void assert_localhost(struct wg_peer *peer)
{
	char buf[SOCKADDR_INET_STRLEN];
	const char *e = endpoint_of(peer, buf, sizeof(buf));
	if (strcmp(e, "127.0.0.1:51999") != 0 && strcmp(e, "[::1]:51999") != 0)
		fail_msg("endpoint %s, expected localhost:51999", e);
}

static void test_resolves_and_reresolves_when_stale(void **state)
{
	struct fx *f = *state;
	struct wg_peer *peer = f->dev->peers[0];
	char buf[SOCKADDR_INET_STRLEN];

	/* At start: no endpoint; the name is looked up at once, off the loop. */
	assert_false(peer->has_endpoint);
	endpoint_dns_check(f->dns);
	settle(f);
	assert_localhost(peer);

	/* The peer moved (roamed) and handshakes are recent: the name is not looked up. */
	set_endpoint(peer, "127.0.0.2");
	f->dns->peers[0].last_lookup -= (DNS_RERESOLVE_S + 1) * NSEC_PER_SEC;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t wall = (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
	peer->walltime_last_handshake = wall - 10 * NSEC_PER_SEC;
	endpoint_dns_check(f->dns);
	assert_false(f->dns->peers[0].in_flight);
	assert_string_equal(endpoint_of(peer, buf, sizeof(buf)), "127.0.0.2:51999");

	/* No handshake for longer than DNS_STALE_S: looked up again, the endpoint follows. */
	peer->walltime_last_handshake = wall - (DNS_STALE_S + 5) * NSEC_PER_SEC;
	endpoint_dns_check(f->dns);
	assert_true(f->dns->peers[0].in_flight);
	settle(f);
	assert_localhost(peer);

	/* Not again before DNS_RERESOLVE_S has passed. */
	set_endpoint(peer, "127.0.0.2");
	endpoint_dns_check(f->dns);
	assert_false(f->dns->peers[0].in_flight);
}

/* A name that does not resolve leaves the peer without an endpoint and is retried. */
static void test_unresolvable_is_retried(void **state)
{
	struct fx *f = *state;
	struct wg_peer *peer = f->dev->peers[0];
	struct wg_peer_conf *pc = &f->conf.ifaces[0].peers[0];
	snprintf(pc->endpoint_host, sizeof(pc->endpoint_host), "no-such-host.invalid");
	endpoint_dns_check(f->dns);
	settle(f);
	assert_false(peer->has_endpoint);
	assert_true(f->dns->peers[0].failing);
	/* Before DNS_RETRY_S nothing; after it, another try. */
	endpoint_dns_check(f->dns);
	assert_false(f->dns->peers[0].in_flight);
	f->dns->peers[0].last_lookup -= (DNS_RETRY_S + 1) * NSEC_PER_SEC;
	endpoint_dns_check(f->dns);
	assert_true(f->dns->peers[0].in_flight);
	settle(f);
	/* The name is fixed (a reload): looked up at once, and the peer gets it. */
	snprintf(pc->endpoint_host, sizeof(pc->endpoint_host), "localhost");
	endpoint_dns_check(f->dns);
	settle(f);
	assert_true(peer->has_endpoint);
	assert_false(f->dns->peers[0].failing);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_resolves_and_reresolves_when_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unresolvable_is_retried, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
