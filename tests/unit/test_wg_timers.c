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

#include "wgpair.h"

#define T0 WGPAIR_T0

/* TAI64N timestamps have 2^24 ns granularity: initiations need real time between them. */
static void let_realtime_pass(void) { usleep(20000); }

/* Time stands at T0 until a test moves it. */
static int setup(void **state)
{
	*state = wgpair_new(true);
	return 0;
}

static struct wg_peer *peer_a(struct wgpair *p) { return p->a->peers[0]; }
static struct wg_peer *peer_b(struct wgpair *p) { return p->b->peers[0]; }

static void handshake(struct wgpair *p)
{
	wg_send_keepalive(peer_a(p));
	wgpair_pump(p);
}

static void send_data_a_to_b(struct wgpair *p) { wgpair_send_from_a(p, 1); }

static void test_handshake_confirms_both_sides(void **state)
{
	struct wgpair *p = *state;
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
	struct wgpair *p = *state;
	handshake(p);
	struct wg_keypair *first = peer_a(p)->current;
	let_realtime_pass();
	loop_set_time(&p->loop, T0 + REKEY_AFTER_TIME + NSEC_PER_SEC);
	send_data_a_to_b(p);      /* sending on an old session asks for a new one */
	wgpair_pump(p);
	assert_int_equal(peer_a(p)->handshakes_completed, 2);
	assert_ptr_not_equal(peer_a(p)->current, first);
	assert_ptr_equal(peer_a(p)->previous, first);
	assert_true(peer_a(p)->current->i_am_initiator);
}

static void test_no_rekey_before_time(void **state)
{
	struct wgpair *p = *state;
	handshake(p);
	loop_set_time(&p->loop, T0 + REKEY_AFTER_TIME - NSEC_PER_SEC);
	send_data_a_to_b(p);
	wgpair_pump(p);
	assert_int_equal(peer_a(p)->handshakes_completed, 1);
}

static void test_responder_keepalive_after_data(void **state)
{
	struct wgpair *p = *state;
	handshake(p);
	uint64_t b_tx = peer_b(p)->tx_bytes;
	send_data_a_to_b(p);
	wgpair_pump(p);
	assert_true(timer_pending(&peer_b(p)->t_send_keepalive));
	assert_int_equal(peer_b(p)->tx_bytes, b_tx);      /* nothing yet */
	loop_set_time(&p->loop, T0 + KEEPALIVE_TIMEOUT + NSEC_PER_SEC);
	assert_int_equal(peer_b(p)->tx_bytes, b_tx + MESSAGE_DATA_MIN_LEN);  /* one keepalive */
	wgpair_pump(p);
	/* A heard back, so it must not start a new handshake. */
	assert_false(timer_pending(&peer_a(p)->t_new_handshake));
}

static void test_new_handshake_when_peer_silent(void **state)
{
	struct wgpair *p = *state;
	handshake(p);
	wg_device_destroy(p->b);   /* the peer vanishes */
	p->b = NULL;
	send_data_a_to_b(p);
	wgpair_pump(p);
	assert_true(timer_pending(&peer_a(p)->t_new_handshake));
	uint64_t tx = peer_a(p)->tx_bytes;
	let_realtime_pass();
	loop_set_time(&p->loop, T0 + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + NSEC_PER_SEC);
	assert_int_equal(peer_a(p)->tx_bytes, tx + MESSAGE_INITIATION_LEN);
	assert_true(timer_pending(&peer_a(p)->t_retransmit_handshake));
}

static void test_retransmit_then_give_up_then_zero_keys(void **state)
{
	struct wgpair *p = *state;
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
	struct wgpair *p = *state;
	handshake(p);
	peer_a(p)->persistent_keepalive = 25;
	send_data_a_to_b(p);
	wgpair_pump(p);
	assert_true(timer_pending(&peer_a(p)->t_persistent_keepalive));
	uint64_t tx = peer_a(p)->tx_bytes;
	loop_set_time(&p->loop, T0 + 26 * NSEC_PER_SEC);
	assert_true(peer_a(p)->tx_bytes >= tx + MESSAGE_DATA_MIN_LEN);
}

static void test_expired_session_not_used(void **state)
{
	struct wgpair *p = *state;
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
		cmocka_unit_test_setup_teardown(test_handshake_confirms_both_sides, setup, wgpair_teardown),
		cmocka_unit_test_setup_teardown(test_rekey_after_time, setup, wgpair_teardown),
		cmocka_unit_test_setup_teardown(test_no_rekey_before_time, setup, wgpair_teardown),
		cmocka_unit_test_setup_teardown(test_responder_keepalive_after_data, setup, wgpair_teardown),
		cmocka_unit_test_setup_teardown(test_new_handshake_when_peer_silent, setup, wgpair_teardown),
		cmocka_unit_test_setup_teardown(test_retransmit_then_give_up_then_zero_keys, setup,
						wgpair_teardown),
		cmocka_unit_test_setup_teardown(test_persistent_keepalive, setup, wgpair_teardown),
		cmocka_unit_test_setup_teardown(test_expired_session_not_used, setup, wgpair_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
