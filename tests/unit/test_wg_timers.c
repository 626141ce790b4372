/*
 * The WireGuard timer state machine, end to end: two real devices in one
 * process talk over loopback UDP while the test drives a manual clock, so
 * minutes of protocol time (rekey, retransmission, give-up, key zeroing)
 * pass in milliseconds.
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

#include "core/log.h"
#include "core/loop.h"
#include "crypto/crypto.h"
#include "ip/router.h"
#include "wg/datapath.h"
#include "wg/device.h"
#include "wgconf/wgconf.h"
#include "wg/messages.h"

#define T0 (1000 * NSEC_PER_SEC)

struct pair {
	struct loop loop;
	struct ip_router router;
	struct wg_device *a, *b;
	struct wg_iface_conf ca, cb;
	struct wg_peer_conf pa, pb;     /* A's view of B, B's view of A */
	struct ip_prefix allowed_a, allowed_b;
};

static void make_conf(struct wg_iface_conf *c, const char *name, const uint8_t priv[32],
		      struct wg_peer_conf *peer, const uint8_t peer_pub[32],
		      struct ip_prefix *allowed, const char *allowed_text)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->path, sizeof(c->path), "%s.conf", name);
	memcpy(c->private_key, priv, 32);
	c->mtu = MTU_DEFAULT;
	memset(peer, 0, sizeof(*peer));
	memcpy(peer->public_key, peer_pub, 32);
	assert_int_equal(ip_prefix_parse(allowed_text, allowed), 0);
	peer->allowed_ips = allowed;
	peer->n_allowed_ips = 1;
	c->peers = peer;
	c->n_peers = 1;
}

/* Delivers every datagram in flight (loopback is instant) without moving the clock. */
static void pump(struct pair *p)
{
	int idle = 0;
	for (int i = 0; i < 200 && idle < 3; i++) {
		int n = loop_run_once(&p->loop, 2);
		idle = n == 0 ? idle + 1 : 0;
	}
}

/* TAI64N timestamps have 2^24 ns granularity: initiations need real time between them. */
static void let_realtime_pass(void) { usleep(20000); }

static int setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(crypto_init(), 0);
	log_set_level(LOG_ERROR);
	assert_int_equal(loop_init(&p->loop), 0);
	loop_use_manual_clock(&p->loop, T0);
	ip_router_init(&p->router, &p->loop);

	uint8_t ka[32], kb[32], pub_a[32], pub_b[32];
	x25519_generate(ka);
	x25519_generate(kb);
	assert_int_equal(x25519_public(pub_a, ka), 0);
	assert_int_equal(x25519_public(pub_b, kb), 0);
	make_conf(&p->cb, "wgb", kb, &p->pb, pub_a, &p->allowed_a, "10.0.0.1/32");
	make_conf(&p->ca, "wga", ka, &p->pa, pub_b, &p->allowed_b, "10.0.0.2/32");

	p->b = wg_device_create(&p->loop, &p->router, &p->cb);
	assert_non_null(p->b);
	p->pa.has_endpoint = true;
	p->pa.endpoint.in4.sin_family = AF_INET;
	p->pa.endpoint.in4.sin_port = htons(p->b->listen_port);
	p->pa.endpoint.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->a = wg_device_create(&p->loop, &p->router, &p->ca);
	assert_non_null(p->a);
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;
	wg_device_destroy(p->a);
	wg_device_destroy(p->b);
	ip_router_free(&p->router);
	loop_free(&p->loop);
	free(p);
	return 0;
}

static struct wg_peer *peer_a(struct pair *p) { return p->a->peers[0]; }
static struct wg_peer *peer_b(struct pair *p) { return p->b->peers[0]; }

static void handshake(struct pair *p)
{
	wg_send_keepalive(peer_a(p));
	pump(p);
}

/* Sends an IPv4 packet from A's side (source 10.0.0.1) to B, protocol 253 (experimental). */
static void send_data_a_to_b(struct pair *p)
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
	uint8_t src[4] = { 10, 0, 0, 1 }, dst[4] = { 10, 0, 0, 2 };
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	wg_send_packet(peer_a(p), b);
}

static void test_handshake_confirms_both_sides(void **state)
{
	struct pair *p = *state;
	handshake(p);
	assert_non_null(peer_a(p)->current);
	assert_true(peer_a(p)->current->i_am_initiator);
	assert_int_equal(peer_a(p)->handshakes_completed, 1);
	/* A's keepalive confirmed the responder's session: next became current. */
	assert_non_null(peer_b(p)->current);
	assert_null(peer_b(p)->next);
	assert_false(peer_b(p)->current->i_am_initiator);
	assert_int_equal(peer_b(p)->handshakes_completed, 1);
	/* B learned A's endpoint from the authenticated initiation. */
	assert_true(peer_b(p)->has_endpoint);
	assert_false(timer_pending(&peer_a(p)->t_retransmit_handshake));
	assert_true(timer_pending(&peer_a(p)->t_zero_key_material));
}

static void test_rekey_after_time(void **state)
{
	struct pair *p = *state;
	handshake(p);
	struct wg_keypair *first = peer_a(p)->current;
	let_realtime_pass();
	loop_set_time(&p->loop, T0 + REKEY_AFTER_TIME + NSEC_PER_SEC);
	send_data_a_to_b(p);      /* sending on an old session asks for a new one */
	pump(p);
	assert_int_equal(peer_a(p)->handshakes_completed, 2);
	assert_ptr_not_equal(peer_a(p)->current, first);
	assert_ptr_equal(peer_a(p)->previous, first);
	assert_true(peer_a(p)->current->i_am_initiator);
}

static void test_no_rekey_before_time(void **state)
{
	struct pair *p = *state;
	handshake(p);
	loop_set_time(&p->loop, T0 + REKEY_AFTER_TIME - NSEC_PER_SEC);
	send_data_a_to_b(p);
	pump(p);
	assert_int_equal(peer_a(p)->handshakes_completed, 1);
}

static void test_responder_keepalive_after_data(void **state)
{
	struct pair *p = *state;
	handshake(p);
	uint64_t b_tx = peer_b(p)->tx_bytes;
	send_data_a_to_b(p);
	pump(p);
	assert_true(timer_pending(&peer_b(p)->t_send_keepalive));
	assert_int_equal(peer_b(p)->tx_bytes, b_tx);      /* nothing yet */
	loop_set_time(&p->loop, T0 + KEEPALIVE_TIMEOUT + NSEC_PER_SEC);
	assert_int_equal(peer_b(p)->tx_bytes, b_tx + MESSAGE_DATA_MIN_LEN);  /* one keepalive */
	pump(p);
	/* A heard back, so it must not start a new handshake. */
	assert_false(timer_pending(&peer_a(p)->t_new_handshake));
}

static void test_new_handshake_when_peer_silent(void **state)
{
	struct pair *p = *state;
	handshake(p);
	wg_device_destroy(p->b);   /* the peer vanishes */
	p->b = NULL;
	send_data_a_to_b(p);
	pump(p);
	assert_true(timer_pending(&peer_a(p)->t_new_handshake));
	uint64_t tx = peer_a(p)->tx_bytes;
	let_realtime_pass();
	loop_set_time(&p->loop, T0 + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + NSEC_PER_SEC);
	assert_int_equal(peer_a(p)->tx_bytes, tx + MESSAGE_INITIATION_LEN);
	assert_true(timer_pending(&peer_a(p)->t_retransmit_handshake));
}

static void test_retransmit_then_give_up_then_zero_keys(void **state)
{
	struct pair *p = *state;
	handshake(p);
	wg_device_destroy(p->b);
	p->b = NULL;
	struct wg_peer *peer = peer_a(p);
	/* A dead session: the keepalive waits and a handshake starts (no data is sent,
	 * so only the retransmission timer drives initiations). */
	uint64_t now = T0 + REJECT_AFTER_TIME + NSEC_PER_SEC;
	loop_set_time(&p->loop, now);
	uint64_t tx = peer->tx_bytes;
	wg_send_keepalive(peer);
	assert_int_equal(peer->staged.len, 1);
	unsigned initiations = 0;
	for (int i = 0; i < 40; i++) {
		now += REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX + NSEC_PER_MSEC;
		loop_set_time(&p->loop, now);
		if (!timer_pending(&peer->t_retransmit_handshake))
			break;
	}
	/* As in the kernel: the first try and retries until the attempt counter
	 * exceeds MAX_TIMER_HANDSHAKES, i.e. MAX_TIMER_HANDSHAKES + 2 (90 s), then silence. */
	assert_int_equal((peer->tx_bytes - tx) % MESSAGE_INITIATION_LEN, 0);
	initiations = (unsigned)((peer->tx_bytes - tx) / MESSAGE_INITIATION_LEN);
	assert_int_equal(initiations, MAX_TIMER_HANDSHAKES + 2);
	assert_false(timer_pending(&peer->t_retransmit_handshake));
	assert_int_equal(peer->staged.len, 0);
	assert_true(timer_pending(&peer->t_zero_key_material));
	loop_set_time(&p->loop, T0 + 3 * REJECT_AFTER_TIME + 10 * NSEC_PER_SEC);
	assert_null(peer->current);
	assert_null(peer->previous);
	assert_null(peer->next);
}

static void test_persistent_keepalive(void **state)
{
	struct pair *p = *state;
	handshake(p);
	peer_a(p)->persistent_keepalive = 25;
	send_data_a_to_b(p);
	pump(p);
	assert_true(timer_pending(&peer_a(p)->t_persistent_keepalive));
	uint64_t tx = peer_a(p)->tx_bytes;
	loop_set_time(&p->loop, T0 + 26 * NSEC_PER_SEC);
	assert_true(peer_a(p)->tx_bytes >= tx + MESSAGE_DATA_MIN_LEN);
}

static void test_expired_session_not_used(void **state)
{
	struct pair *p = *state;
	handshake(p);
	wg_device_destroy(p->b);
	p->b = NULL;
	loop_set_time(&p->loop, T0 + REJECT_AFTER_TIME + NSEC_PER_SEC);
	uint64_t tx = peer_a(p)->tx_bytes;
	let_realtime_pass();
	send_data_a_to_b(p);
	/* Only a handshake initiation leaves; the data waits for a new session. */
	assert_int_equal(peer_a(p)->tx_bytes, tx + MESSAGE_INITIATION_LEN);
	assert_int_equal(peer_a(p)->staged.len, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handshake_confirms_both_sides, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rekey_after_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_rekey_before_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_responder_keepalive_after_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_handshake_when_peer_silent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retransmit_then_give_up_then_zero_keys, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_persistent_keepalive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_session_not_used, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
