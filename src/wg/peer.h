/*
 * A WireGuard peer: its handshake, its up to three sessions (keypairs), its
 * endpoint, its timers and the packets waiting for a session.
 *
 * Sessions rotate as in the kernel: `current` sends and receives, `previous`
 * still receives for a while after a rekey, and `next` is a session we
 * derived as responder that becomes current once the initiator proves it has
 * it by sending the first data packet.
 */
#ifndef RR_WG_PEER_H
#define RR_WG_PEER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/loop.h"
#include "core/pbuf.h"
#include "crypto/crypto.h"
#include "ip/addr.h"
#include "wg/cookie.h"
#include "wg/index.h"
#include "wg/noise.h"
#include "wg/replay.h"

struct wg_device;

struct wg_keypair {
	struct index_entry entry;     /* our index: data messages to us carry it */
	struct wg_peer *peer;
	struct aead_ctx send, recv;
	uint64_t send_counter;        /* next nonce */
	struct replay_window replay;
	uint32_t remote_index;
	uint64_t birthdate;           /* CLOCK_MONOTONIC ns */
	bool i_am_initiator;
	bool valid;                   /* false once expired or superseded */
};

#define PEER_STAGED_MAX 128        /* packets kept while a handshake is under way */

struct wg_peer {
	struct wg_device *dev;
	uint32_t id;                  /* for log lines: peer N of its interface */
	uint8_t public_key[CRYPTO_KEY_LEN];
	char public_key_b64[KEY_BASE64_LEN + 1];

	struct noise_handshake handshake;
	struct index_entry handshake_entry;
	struct cookie_maker cookie;
	struct wg_keypair *current, *previous, *next;

	bool has_endpoint;
	union sockaddr_inet endpoint;
	/* What the config file said last: a reload leaves a roamed endpoint alone while this holds. */
	bool has_configured_endpoint;
	union sockaddr_inet configured_endpoint;
	uint16_t persistent_keepalive;   /* seconds, 0 = off */
	struct ip_prefix *allowed_ips;   /* as configured, for display */
	size_t n_allowed_ips;

	struct pbuf_queue staged;

	struct timer t_retransmit_handshake, t_send_keepalive, t_new_handshake,
		     t_zero_key_material, t_persistent_keepalive;
	unsigned handshake_attempts;
	bool need_another_keepalive;
	bool sent_lastminute_handshake;
	uint64_t last_sent_handshake;     /* CLOCK_MONOTONIC ns, 0 = never */
	uint64_t walltime_last_handshake; /* CLOCK_REALTIME ns of the last completed one, 0 = never */

	/*
	 * UDP payload bytes as the kernel counts them for `wg show`: handshake
	 * initiations and responses, keepalives and delivered data packets that
	 * authenticated (rx), and every message the socket took (tx).
	 */
	uint64_t rx_bytes, tx_bytes;
	uint64_t handshakes_completed;
};

/* Creates the peer's handshake state; -EINVAL for an invalid public key. */
int wg_peer_init(struct wg_peer *peer, struct wg_device *dev, uint32_t id,
		 const uint8_t public_key[CRYPTO_KEY_LEN], const uint8_t *psk);
/* Wipes keys, cancels timers, frees queued packets and sessions. */
void wg_peer_destroy(struct wg_peer *peer);

/* Turns a finished handshake into a session and slots it in (begin_session). 0 or -errno. */
int wg_peer_begin_session(struct wg_peer *peer);
/* A data packet arrived on kp: if kp is `next`, it becomes current. True if it did. */
bool wg_peer_received_with_keypair(struct wg_peer *peer, struct wg_keypair *kp);
/* Forgets every session (zero_key_material and shutdown). */
void wg_peer_clear_keypairs(struct wg_peer *peer);

/* Updates the endpoint to where an authenticated packet came from (roaming). */
void wg_peer_set_endpoint(struct wg_peer *peer, const union sockaddr_inet *from);

#endif
