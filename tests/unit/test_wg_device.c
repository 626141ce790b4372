/*
 * Configuring a running WireGuard device (wg/device_conf.c): two real devices
 * in one process over loopback UDP with a manual clock, as in test_wg_timers.
 *
 * - apply_conf of an unchanged or edited file keeps the sessions, counters
 *   and timers of the peers whose key stays, and data keeps flowing;
 * - peers are added and removed with their AllowedIPs;
 * - a file that cannot be applied (bad key, taken port) changes nothing;
 * - a device made by create_empty (no key) neither crashes nor sends;
 * - the wg-set primitives keep the AllowedIPs tables and lists in step.
 */
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
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "crypto/crypto.h"
#include "ip/router.h"
#include "wg/datapath.h"
#include "wg/device.h"
#include "wgconf/wgconf.h"
#include "wg/messages.h"

#include "wgpair.h"

#define T0 WGPAIR_T0

/* Time stands at T0 until a test moves it. */
static int setup(void **state)
{
	*state = wgpair_new(true);
	return 0;
}

static void send_data_a_to_b(struct wgpair *p)
{
	wgpair_send_from_a(p, 1);
}

static void handshake(struct wgpair *p)
{
	wg_send_keepalive(p->a->peers[0]);
	wgpair_pump(p);
	assert_non_null(p->a->peers[0]->current);
	assert_non_null(p->b->peers[0]->current);
}

static struct wg_peer *lookup(struct wg_device *dev, const char *addr)
{
	struct ip_prefix pfx;
	assert_int_equal(ip_prefix_parse(addr, &pfx), 0);
	return wg_device_peer_by_addr(dev, &pfx.addr);
}

static void test_same_conf_keeps_session(void **state)
{
	struct wgpair *p = *state;
	handshake(p);
	send_data_a_to_b(p);
	wgpair_pump(p);
	struct wg_peer *peer = p->b->peers[0];
	struct wg_keypair *kp = peer->current;
	uint64_t rx = peer->rx_bytes, tx = peer->tx_bytes, hs = peer->walltime_last_handshake;
	bool zero_armed = timer_pending(&peer->t_zero_key_material);
	uint64_t b_rx_packets = p->b->netif.stats.rx_packets;

	char err[256];
	assert_int_equal(wg_device_apply_conf(p->b, &p->cb.c, err, sizeof(err)), 0);
	assert_int_equal(p->b->n_peers, 1);
	assert_ptr_equal(p->b->peers[0], peer);
	assert_ptr_equal(peer->current, kp);
	assert_true(kp->valid);
	assert_int_equal(peer->rx_bytes, rx);
	assert_int_equal(peer->tx_bytes, tx);
	assert_int_equal(peer->walltime_last_handshake, hs);
	assert_int_equal(timer_pending(&peer->t_zero_key_material), zero_armed);
	/* Data still flows on the same session. */
	send_data_a_to_b(p);
	wgpair_pump(p);
	assert_int_equal(p->b->netif.stats.rx_packets, b_rx_packets + 1);
	assert_int_equal(peer->handshakes_completed, 1);
}

static void test_add_edit_remove_peers(void **state)
{
	struct wgpair *p = *state;
	handshake(p);
	struct wg_peer *peer = p->b->peers[0];
	struct wg_keypair *kp = peer->current;
	uint8_t k3[32], pub3[32];
	x25519_generate(k3);
	assert_int_equal(x25519_public(pub3, k3), 0);

	/* Edit A's AllowedIPs on B, add a third peer. */
	struct wgpair_conf c = p->cb;
	c.c.peers = c.peers;
	c.peers[0].allowed_ips = c.allowed[0];
	assert_int_equal(ip_prefix_parse("10.0.0.0/24", &c.allowed[0][0]), 0);
	wgpair_conf_add_peer(&c, pub3, "10.9.0.0/16");
	char err[256];
	assert_int_equal(wg_device_apply_conf(p->b, &c.c, err, sizeof(err)), 0);
	assert_int_equal(p->b->n_peers, 2);
	assert_ptr_equal(p->b->peers[0], peer);
	assert_ptr_equal(peer->current, kp);
	struct wg_peer *third = p->b->peers[1];
	assert_ptr_equal(lookup(p->b, "10.0.0.77"), peer);
	assert_ptr_equal(lookup(p->b, "10.9.1.1"), third);
	assert_int_equal(peer->n_allowed_ips, 1);
	assert_int_equal(peer->allowed_ips[0].len, 24);
	assert_true(third->id > peer->id);

	/* Now drop A: only the third peer stays, and A's prefixes are gone. */
	struct wgpair_conf c2;
	wgpair_conf_init(&c2, "wgb", p->kb);
	wgpair_conf_add_peer(&c2, pub3, "10.9.0.0/16");
	assert_int_equal(wg_device_apply_conf(p->b, &c2.c, err, sizeof(err)), 0);
	assert_int_equal(p->b->n_peers, 1);
	assert_ptr_equal(p->b->peers[0], third);
	assert_null(lookup(p->b, "10.0.0.77"));
	/* A's data to B now finds no session on B's side. */
	uint64_t unknown = p->b->netif.stats.drops[DROP_UNKNOWN_INDEX];
	send_data_a_to_b(p);
	wgpair_pump(p);
	assert_int_equal(p->b->netif.stats.drops[DROP_UNKNOWN_INDEX], unknown + 1);
}

static void test_last_allowed_ip_wins(void **state)
{
	struct wgpair *p = *state;
	uint8_t k3[32], pub3[32];
	x25519_generate(k3);
	assert_int_equal(x25519_public(pub3, k3), 0);
	struct wgpair_conf c;
	wgpair_conf_init(&c, "wgb", p->kb);
	wgpair_conf_add_peer(&c, p->pub_a, "10.0.0.0/24");
	wgpair_conf_add_peer(&c, pub3, "10.0.0.0/24");
	char err[256];
	assert_int_equal(wg_device_apply_conf(p->b, &c.c, err, sizeof(err)), 0);
	assert_int_equal(p->b->peers[0]->n_allowed_ips, 0);
	assert_int_equal(p->b->peers[1]->n_allowed_ips, 1);
	assert_ptr_equal(lookup(p->b, "10.0.0.5"), p->b->peers[1]);
}

/* Everything the device shows about itself, to compare before and after a failed apply. */
struct snapshot {
	size_t n_peers;
	struct wg_peer *peer0;
	struct wg_keypair *kp0;
	uint16_t port;
	char pub[KEY_BASE64_LEN + 1];
	struct wg_peer *at_10_0_0_1;
};

static void snap(struct wg_device *dev, struct snapshot *s)
{
	s->n_peers = dev->n_peers;
	s->peer0 = dev->n_peers ? dev->peers[0] : NULL;
	s->kp0 = s->peer0 ? s->peer0->current : NULL;
	s->port = dev->listen_port;
	memcpy(s->pub, dev->public_key_b64, sizeof(s->pub));
	s->at_10_0_0_1 = lookup(dev, "10.0.0.1");
}

static void assert_same(struct wg_device *dev, const struct snapshot *before)
{
	struct snapshot now;
	snap(dev, &now);
	assert_int_equal(now.n_peers, before->n_peers);
	assert_ptr_equal(now.peer0, before->peer0);
	assert_ptr_equal(now.kp0, before->kp0);
	assert_int_equal(now.port, before->port);
	assert_string_equal(now.pub, before->pub);
	assert_ptr_equal(now.at_10_0_0_1, before->at_10_0_0_1);
}

static void test_bad_peer_key_changes_nothing(void **state)
{
	struct wgpair *p = *state;
	handshake(p);
	struct snapshot before;
	snap(p->b, &before);

	/* New private key, A removed, and a peer whose key is a low-order point (all zeros). */
	uint8_t knew[32], zero[32] = { 0 };
	x25519_generate(knew);
	struct wgpair_conf c;
	wgpair_conf_init(&c, "wgb", knew);
	wgpair_conf_add_peer(&c, zero, "10.5.0.0/16");
	char err[256] = "";
	assert_int_equal(wg_device_apply_conf(p->b, &c.c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "wgb.conf:10:"));
	assert_same(p->b, &before);
	assert_null(lookup(p->b, "10.5.0.1"));
	assert_true(p->b->peers[0]->current->valid);
}

static void test_taken_port_changes_nothing(void **state)
{
	struct wgpair *p = *state;
	handshake(p);
	struct snapshot before;
	snap(p->b, &before);
	struct wgpair_conf c;
	wgpair_conf_init(&c, "wgb", p->kb);   /* no peers: would remove A */
	c.c.has_listen_port = true;
	c.c.listen_port = p->a->listen_port;   /* taken by A */
	char err[256] = "";
	assert_int_equal(wg_device_check_conf(p->b, &c.c, err, sizeof(err)), -EADDRINUSE);
	assert_non_null(strstr(err, "wgb.conf:"));
	assert_int_equal(wg_device_apply_conf(p->b, &c.c, err, sizeof(err)), -EADDRINUSE);
	assert_non_null(strstr(err, "wgb.conf:"));
	assert_same(p->b, &before);
	/* A file that would apply checks clean and still changes nothing. */
	c.c.listen_port = 0;
	assert_int_equal(wg_device_check_conf(p->b, &c.c, err, sizeof(err)), 0);
	assert_same(p->b, &before);
}

/* A UDP port nobody holds right now (bound, read back, released). */
static uint16_t free_udp_port(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void test_new_port_and_key(void **state)
{
	struct wgpair *p = *state;
	handshake(p);
	struct wg_peer *peer = p->a->peers[0];
	struct wg_keypair *kp = peer->current;
	uint8_t knew[32];
	x25519_generate(knew);
	struct wgpair_conf c = p->ca;
	c.c.peers = c.peers;
	memcpy(c.c.private_key, knew, 32);
	c.c.has_listen_port = true;
	c.c.listen_port = free_udp_port();
	uint16_t old_port = p->a->listen_port;
	char err[256];
	assert_int_equal(wg_device_apply_conf(p->a, &c.c, err, sizeof(err)), 0);
	assert_int_not_equal(p->a->listen_port, old_port);
	assert_int_equal(p->a->listen_port, c.c.listen_port);
	assert_true(p->a->listen_port_configured);
	/* A new identity: the old sessions stop being used, as in the kernel. */
	assert_ptr_equal(peer->current, kp);
	assert_false(kp->valid);
	assert_ptr_equal(p->a->peers[0], peer);
}

static void test_empty_device(void **state)
{
	struct wgpair *p = *state;
	int err = 1;
	struct wg_device *e = wg_device_create_empty(&p->loop, &p->router, "wge", &err);
	assert_non_null(e);
	assert_int_equal(err, 0);
	assert_false(e->identity.has_identity);
	assert_int_equal(e->n_peers, 0);
	assert_int_equal(e->netif.mtu, MTU_DEFAULT);
	assert_ptr_equal(ip_router_netif_by_name(&p->router, "wge"), &e->netif);
	assert_true(e->listen_port != 0);
	assert_null(wg_device_create_empty(&p->loop, &p->router, "wge", &err));
	assert_int_equal(err, -EEXIST);
	assert_null(wg_device_create_empty(&p->loop, &p->router, "bad name", &err));
	assert_int_equal(err, -EINVAL);

	/* A peer without our key: nothing is sent, routed packets are dropped. */
	struct wg_peer *peer = wg_device_add_peer(e, p->pub_a, &err);
	assert_non_null(peer);
	union sockaddr_inet ep = { 0 };
	ep.in4.sin_family = AF_INET;
	ep.in4.sin_port = htons(p->a->listen_port);
	ep.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	wg_peer_configure_endpoint(peer, &ep);
	struct ip_prefix pfx;
	assert_int_equal(ip_prefix_parse("10.7.0.0/16", &pfx), 0);
	assert_int_equal(wg_device_peer_add_allowed_ip(e, peer, &pfx), 0);
	wg_peer_set_persistent_keepalive(peer, 25);
	wg_send_keepalive(peer);
	wgpair_pump(p);
	assert_int_equal(peer->tx_bytes, 0);
	struct pbuf *b = pbuf_alloc();
	assert_non_null(b);
	struct ip_addr nh = pfx.addr;
	uint64_t drops = e->netif.stats.drops[DROP_NO_PEER];
	e->netif.ops->output(&e->netif, b, &nh);
	assert_int_equal(e->netif.stats.drops[DROP_NO_PEER], drops + 1);

	/* Giving it a key makes it work: A learns nothing of it, but it can now initiate. */
	uint8_t k[32];
	x25519_generate(k);
	assert_int_equal(wg_device_set_private_key(e, k), 0);
	assert_true(e->identity.has_identity);
	assert_int_equal(wg_device_set_private_key(e, NULL), 0);
	assert_false(e->identity.has_identity);
	ip_router_destroy_netif(&p->router, &e->netif);
}

static void test_primitives_keep_lists_in_step(void **state)
{
	struct wgpair *p = *state;
	int err;
	uint8_t k3[32], pub3[32];
	x25519_generate(k3);
	assert_int_equal(x25519_public(pub3, k3), 0);
	struct wg_peer *a = p->b->peers[0];
	struct wg_peer *c = wg_device_add_peer(p->b, pub3, &err);
	assert_non_null(c);
	struct ip_prefix pfx;
	assert_int_equal(ip_prefix_parse("10.0.0.1/32", &pfx), 0);   /* A's */
	assert_int_equal(wg_device_peer_add_allowed_ip(p->b, c, &pfx), 0);
	assert_int_equal(a->n_allowed_ips, 0);
	assert_int_equal(c->n_allowed_ips, 1);
	assert_ptr_equal(lookup(p->b, "10.0.0.1"), c);
	/* Adding twice keeps one entry. */
	assert_int_equal(wg_device_peer_add_allowed_ip(p->b, c, &pfx), 0);
	assert_int_equal(c->n_allowed_ips, 1);
	/* Removing from a peer that does not have it does nothing. */
	wg_device_peer_remove_allowed_ip(p->b, a, &pfx);
	assert_ptr_equal(lookup(p->b, "10.0.0.1"), c);
	wg_device_peer_remove_allowed_ip(p->b, c, &pfx);
	assert_null(lookup(p->b, "10.0.0.1"));
	assert_int_equal(c->n_allowed_ips, 0);
	/* Host bits are masked. */
	assert_int_equal(ip_prefix_parse("10.3.3.3/16", &pfx), 0);
	assert_int_equal(wg_device_peer_add_allowed_ip(p->b, c, &pfx), 0);
	assert_int_equal(c->allowed_ips[0].addr.bytes[2], 0);
	wg_device_remove_peer(p->b, c);
	assert_null(lookup(p->b, "10.3.1.1"));
	assert_int_equal(p->b->n_peers, 1);
	wg_device_remove_all_peers(p->b);
	assert_int_equal(p->b->n_peers, 0);
}

/*
 * rx_bytes/tx_bytes count as the kernel: whole messages, handshakes and
 * keepalives included, but not a data packet dropped for its inner source.
 */
static void test_counters_as_the_kernel(void **state)
{
	struct wgpair *p = *state;
	handshake(p);
	struct wg_peer *pa = p->a->peers[0], *pb = p->b->peers[0];
	/* Initiation + keepalive one way, response the other. */
	assert_int_equal(pa->tx_bytes, MESSAGE_INITIATION_LEN + MESSAGE_DATA_MIN_LEN);
	assert_int_equal(pb->rx_bytes, pa->tx_bytes);
	assert_int_equal(pb->tx_bytes, MESSAGE_RESPONSE_LEN);
	assert_int_equal(pa->rx_bytes, pb->tx_bytes);
	uint64_t rx = pb->rx_bytes;
	send_data_a_to_b(p);   /* 28 bytes, padded to 32, + header and tag */
	wgpair_pump(p);
	assert_int_equal(pb->rx_bytes, rx + MESSAGE_DATA_MIN_LEN + 32);
	assert_int_equal(pa->tx_bytes, pb->rx_bytes);
	rx = pb->rx_bytes;
	wgpair_send_from_a(p, 99);   /* 10.0.0.99 is not A's on B */
	wgpair_pump(p);
	assert_int_equal(pb->rx_bytes, rx);
	assert_int_equal(p->b->netif.stats.drops[DROP_ALLOWEDIPS], 1);
	assert_int_equal(pa->tx_bytes, rx + MESSAGE_DATA_MIN_LEN + 32);   /* A did send it */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_conf_keeps_session, setup, wgpair_teardown),
		cmocka_unit_test_setup_teardown(test_add_edit_remove_peers, setup, wgpair_teardown),
		cmocka_unit_test_setup_teardown(test_last_allowed_ip_wins, setup, wgpair_teardown),
		cmocka_unit_test_setup_teardown(test_bad_peer_key_changes_nothing, setup, wgpair_teardown),
		cmocka_unit_test_setup_teardown(test_taken_port_changes_nothing, setup, wgpair_teardown),
		cmocka_unit_test_setup_teardown(test_new_port_and_key, setup, wgpair_teardown),
		cmocka_unit_test_setup_teardown(test_empty_device, setup, wgpair_teardown),
		cmocka_unit_test_setup_teardown(test_primitives_keep_lists_in_step, setup, wgpair_teardown),
		cmocka_unit_test_setup_teardown(test_counters_as_the_kernel, setup, wgpair_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
