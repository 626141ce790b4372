/*
 * Two real WireGuard devices in one process, A ("wga", 10.0.0.1) and B ("wgb",
 * 10.0.0.2), each the other's peer over loopback UDP: the fixture of
 * test_wg_timers.c, test_wg_device.c and test_wg_gro.c. Header only, like
 * testlib.h; include after <cmocka.h>.
 */
#ifndef RR_TESTS_WGPAIR_H
#define RR_TESTS_WGPAIR_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/loop.h"
#include "core/pbuf.h"
#include "crypto/crypto.h"
#include "ip/router.h"
#include "wg/datapath.h"
#include "wg/device.h"

#define WGPAIR_T0 (1000 * NSEC_PER_SEC)   /* where a manual clock starts */
#define WGPAIR_MAX_PEERS 4

/* A wg-quick file in memory: up to WGPAIR_MAX_PEERS peers with one AllowedIPs prefix each. */
struct wgpair_conf {
	struct wg_iface_conf c;
	struct wg_peer_conf peers[WGPAIR_MAX_PEERS];
	struct ip_prefix allowed[WGPAIR_MAX_PEERS][2];
};

struct wgpair {
	struct loop loop;
	struct ip_router router;
	struct wg_device *a, *b;
	struct wgpair_conf ca, cb;
	uint8_t ka[32], kb[32], pub_a[32], pub_b[32];
};

static inline void wgpair_conf_init(struct wgpair_conf *c, const char *name, const uint8_t priv[32])
{
	memset(c, 0, sizeof(*c));
	snprintf(c->c.name, sizeof(c->c.name), "%s", name);
	snprintf(c->c.path, sizeof(c->c.path), "%s.conf", name);
	memcpy(c->c.private_key, priv, 32);
	c->c.mtu = MTU_DEFAULT;
	c->c.peers = c->peers;
}

static inline struct wg_peer_conf *wgpair_conf_add_peer(struct wgpair_conf *c,
							const uint8_t pub[32], const char *allowed)
{
	assert_true(c->c.n_peers < WGPAIR_MAX_PEERS);
	size_t i = c->c.n_peers++;
	struct wg_peer_conf *pc = &c->peers[i];
	memset(pc, 0, sizeof(*pc));
	pc->line = 10 + 5 * (int)i;
	memcpy(pc->public_key, pub, 32);
	assert_int_equal(ip_prefix_parse(allowed, &c->allowed[i][0]), 0);
	pc->allowed_ips = c->allowed[i];
	pc->n_allowed_ips = 1;
	return pc;
}

/* The peer's endpoint: 127.0.0.1 at port. */
static inline void wgpair_set_endpoint(struct wg_peer_conf *pc, uint16_t port)
{
	pc->has_endpoint = true;
	pc->endpoint.in4.sin_family = AF_INET;
	pc->endpoint.in4.sin_port = htons(port);
	pc->endpoint.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

/* Delivers every datagram in flight (loopback is instant) without moving the clock. */
static inline void wgpair_pump(struct wgpair *p)
{
	int idle = 0;
	for (int i = 0; i < 200 && idle < 3; i++) {
		int n = loop_run_once(&p->loop, 2);
		idle = n == 0 ? idle + 1 : 0;
	}
}

/*
 * Both devices with fresh keys; A knows B's endpoint, B learns A's from its
 * first message. manual_clock: time stands at WGPAIR_T0 until the test moves
 * it (timer tests); otherwise the loop runs on real time.
 */
static inline struct wgpair *wgpair_new(bool manual_clock)
{
	struct wgpair *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(crypto_init(), 0);
	log_set_level(LOG_ERROR);
	assert_int_equal(loop_init(&p->loop), 0);
	if (manual_clock)
		loop_use_manual_clock(&p->loop, WGPAIR_T0);
	assert_int_equal(ip_router_init(&p->router, &p->loop), 0);
	x25519_generate(p->ka);
	x25519_generate(p->kb);
	assert_int_equal(x25519_public(p->pub_a, p->ka), 0);
	assert_int_equal(x25519_public(p->pub_b, p->kb), 0);

	wgpair_conf_init(&p->cb, "wgb", p->kb);
	wgpair_conf_add_peer(&p->cb, p->pub_a, "10.0.0.1/32");
	p->b = wg_device_create(&p->loop, &p->router, &p->cb.c);
	assert_non_null(p->b);
	wgpair_conf_init(&p->ca, "wga", p->ka);
	wgpair_set_endpoint(wgpair_conf_add_peer(&p->ca, p->pub_b, "10.0.0.2/32"), p->b->listen_port);
	p->a = wg_device_create(&p->loop, &p->router, &p->ca.c);
	assert_non_null(p->a);
	return p;
}

/* A cmocka teardown for a state made by wgpair_new. */
static inline int wgpair_teardown(void **state)
{
	struct wgpair *p = *state;
	wg_device_destroy(p->a);
	wg_device_destroy(p->b);
	ip_router_free(&p->router);
	loop_free(&p->loop);
	free(p);
	return 0;
}

/* Sends an IPv4 packet 10.0.0.src_last -> 10.0.0.2, protocol 253 (experimental), from A's side. */
static inline void wgpair_send_from_a(struct wgpair *p, uint8_t src_last)
{
	struct pbuf *b = pbuf_alloc();
	assert_non_null(b);
	uint8_t *ip = pbuf_put(b, 28);
	if (!ip) {
		fail_msg("no room in a fresh packet buffer");
		return;
	}
	memset(ip, 0, 28);
	ip[0] = 0x45;
	ip[3] = 28;
	ip[8] = 64;
	ip[9] = 253;
	uint8_t src[4] = { 10, 0, 0, src_last }, dst[4] = { 10, 0, 0, 2 };
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	wg_send_packet(p->a->peers[0], b);
}

#endif
