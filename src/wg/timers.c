#include "wg/timers.h"

#include <time.h>

#include "core/log.h"
#include "crypto/crypto.h"
#include "wg/datapath.h"
#include "wg/device.h"
#include "wg/messages.h"
#include "wg/peer.h"

/* Protocol timers tolerate coarse firing; keepalive-type timers get wide slack. */
#define SLACK_TIGHT (4 * NSEC_PER_MSEC)
#define SLACK_WIDE  (250 * NSEC_PER_MSEC)

static struct loop *loop_of(struct wg_peer *peer) { return peer->dev->loop; }
static uint64_t now_of(struct wg_peer *peer) { return loop_now(peer->dev->loop); }

/*
 * Timer jitter need not be secret, but it is armed per packet in two-way
 * traffic (data received cancels new_handshake, data sent re-arms it): draw
 * it from a small pool refilled by one getrandom call per 64 values.
 */
static uint64_t jitter(void)
{
	static uint32_t pool[64];
	static unsigned left;
	if (left == 0) {
		crypto_random(pool, sizeof(pool));
		left = 64;
	}
	return (uint64_t)pool[--left] % REKEY_TIMEOUT_JITTER_MAX;
}

static void expired_retransmit_handshake(struct timer *t)
{
	struct wg_peer *peer = container_of(t, struct wg_peer, t_retransmit_handshake);
	if (peer->handshake_attempts > MAX_TIMER_HANDSHAKES) {
		log_info("%s: peer %u: handshake did not complete after %u attempts, giving up",
			 peer->dev->netif.name, peer->id, (unsigned)MAX_TIMER_HANDSHAKES + 2);
		timer_cancel(loop_of(peer), &peer->t_send_keepalive);
		/* Nothing will carry them now; a later packet starts a new attempt. */
		pbuf_queue_purge(&peer->staged);
		if (!timer_pending(&peer->t_zero_key_material))
			timer_arm(loop_of(peer), &peer->t_zero_key_material,
				  now_of(peer) + REJECT_AFTER_TIME * 3, SLACK_WIDE);
		return;
	}
	peer->handshake_attempts++;
	log_debug("%s: peer %u: handshake did not complete after %llu s, retrying (try %u)",
		  peer->dev->netif.name, peer->id,
		  (unsigned long long)(REKEY_TIMEOUT / NSEC_PER_SEC), peer->handshake_attempts + 1);
	wg_send_handshake_initiation(peer, true);
}

static void expired_send_keepalive(struct timer *t)
{
	struct wg_peer *peer = container_of(t, struct wg_peer, t_send_keepalive);
	wg_send_keepalive(peer);
	if (peer->need_another_keepalive) {
		peer->need_another_keepalive = false;
		timer_arm(loop_of(peer), &peer->t_send_keepalive,
			  now_of(peer) + KEEPALIVE_TIMEOUT, SLACK_WIDE);
	}
}

static void expired_new_handshake(struct timer *t)
{
	struct wg_peer *peer = container_of(t, struct wg_peer, t_new_handshake);
	log_debug("%s: peer %u: no reply for %llu s, starting a new handshake",
		  peer->dev->netif.name, peer->id,
		  (unsigned long long)((KEEPALIVE_TIMEOUT + REKEY_TIMEOUT) / NSEC_PER_SEC));
	wg_send_handshake_initiation(peer, false);
}

static void expired_zero_key_material(struct timer *t)
{
	struct wg_peer *peer = container_of(t, struct wg_peer, t_zero_key_material);
	log_debug("%s: peer %u: zeroing keys after %llu s without a new session",
		  peer->dev->netif.name, peer->id,
		  (unsigned long long)(REJECT_AFTER_TIME * 3 / NSEC_PER_SEC));
	wg_peer_clear_keypairs(peer);
	index_table_remove(&peer->handshake_entry);
	noise_handshake_zero(&peer->handshake);
}

static void expired_persistent_keepalive(struct timer *t)
{
	struct wg_peer *peer = container_of(t, struct wg_peer, t_persistent_keepalive);
	if (peer->persistent_keepalive)
		wg_send_keepalive(peer);
}

void wg_timers_init(struct wg_peer *peer)
{
	timer_init(&peer->t_retransmit_handshake, expired_retransmit_handshake);
	timer_init(&peer->t_send_keepalive, expired_send_keepalive);
	timer_init(&peer->t_new_handshake, expired_new_handshake);
	timer_init(&peer->t_zero_key_material, expired_zero_key_material);
	timer_init(&peer->t_persistent_keepalive, expired_persistent_keepalive);
	peer->handshake_attempts = 0;
	peer->need_another_keepalive = false;
	peer->sent_lastminute_handshake = false;
}

void wg_timers_stop(struct wg_peer *peer)
{
	struct loop *loop = loop_of(peer);
	timer_cancel(loop, &peer->t_retransmit_handshake);
	timer_cancel(loop, &peer->t_send_keepalive);
	timer_cancel(loop, &peer->t_new_handshake);
	timer_cancel(loop, &peer->t_zero_key_material);
	timer_cancel(loop, &peer->t_persistent_keepalive);
}

void wg_timers_data_sent(struct wg_peer *peer)
{
	/* Called for every batch sent: the jitter (a getrandom call) only when it arms. */
	if (!timer_pending(&peer->t_new_handshake))
		timer_arm(loop_of(peer), &peer->t_new_handshake,
			  now_of(peer) + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter(), SLACK_TIGHT);
}

void wg_timers_data_received(struct wg_peer *peer)
{
	if (!timer_pending(&peer->t_send_keepalive))
		timer_arm(loop_of(peer), &peer->t_send_keepalive,
			  now_of(peer) + KEEPALIVE_TIMEOUT, SLACK_WIDE);
	else
		peer->need_another_keepalive = true;
}

void wg_timers_any_authenticated_packet_sent(struct wg_peer *peer)
{
	timer_cancel(loop_of(peer), &peer->t_send_keepalive);
}

void wg_timers_any_authenticated_packet_received(struct wg_peer *peer)
{
	timer_cancel(loop_of(peer), &peer->t_new_handshake);
}

void wg_timers_handshake_initiated(struct wg_peer *peer)
{
	timer_arm(loop_of(peer), &peer->t_retransmit_handshake,
		  now_of(peer) + REKEY_TIMEOUT + jitter(), SLACK_TIGHT);
}

void wg_timers_handshake_complete(struct wg_peer *peer)
{
	timer_cancel(loop_of(peer), &peer->t_retransmit_handshake);
	peer->handshake_attempts = 0;
	peer->sent_lastminute_handshake = false;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	peer->walltime_last_handshake = (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
	peer->handshakes_completed++;
}

void wg_timers_session_derived(struct wg_peer *peer)
{
	timer_arm(loop_of(peer), &peer->t_zero_key_material,
		  now_of(peer) + REJECT_AFTER_TIME * 3, SLACK_WIDE);
}

void wg_timers_any_authenticated_packet_traversal(struct wg_peer *peer)
{
	if (peer->persistent_keepalive)
		timer_arm(loop_of(peer), &peer->t_persistent_keepalive,
			  now_of(peer) + (uint64_t)peer->persistent_keepalive * NSEC_PER_SEC,
			  SLACK_WIDE);
}
