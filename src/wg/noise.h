/*
 * WireGuard's Noise_IKpsk2 handshake (whitepaper 5.4.2 - 5.4.5): message
 * construction and consumption and the final key derivation. Only the
 * cryptography: no peers, sockets, timers or index tables. mac1/mac2 are
 * the cookie module's job (cookie_add_macs / cookie_checker_validate).
 *
 * Flow, initiator                         responder
 *   noise_handshake_create_initiation  ->  noise_initiation_open (finds s)
 *   [cookie_add_macs, send]                caller looks the peer up by r.remote_static
 *                                          noise_handshake_accept_initiation
 *                                          noise_handshake_create_response
 *   noise_handshake_consume_response   <-  [cookie_add_macs, send]
 *   noise_handshake_derive_keys            noise_handshake_derive_keys
 *
 * Errors are negative errno values:
 *   -EINVAL    bad argument, no identity, invalid (low-order) public key,
 *              or the handshake is not in the state the step needs
 *   -EBADMSG   wrong message type, authentication failed (wrong keys, psk,
 *              or corrupted bytes)
 *   -EALREADY  initiation timestamp not newer than the latest one (replay)
 *   -EAGAIN    initiation less than 1/INITIATIONS_PER_SECOND after the last
 *              one consumed (flood)
 * On every error the handshake state is unchanged.
 */
#ifndef RR_WG_NOISE_H
#define RR_WG_NOISE_H

#include <stdbool.h>
#include <stdint.h>

#include "wg/messages.h"

struct noise_static_identity {
	uint8_t private_key[NOISE_PUBLIC_KEY_LEN];
	uint8_t public_key[NOISE_PUBLIC_KEY_LEN];
	bool has_identity;
};

/*
 * Sets our static key pair from a private key (clamped here), deriving the
 * public key; private_key NULL (or all zeros) clears the identity.
 * 0, or -EINVAL. Peers' handshakes must then be re-precomputed
 * (noise_handshake_precompute).
 */
int noise_static_identity_set(struct noise_static_identity *id,
			      const uint8_t private_key[NOISE_PUBLIC_KEY_LEN]);
void noise_static_identity_clear(struct noise_static_identity *id);

enum noise_handshake_state {
	HANDSHAKE_ZEROED = 0,
	HANDSHAKE_CREATED_INITIATION,
	HANDSHAKE_CONSUMED_INITIATION,
	HANDSHAKE_CREATED_RESPONSE,
	HANDSHAKE_CONSUMED_RESPONSE,
};

/* One per peer. Treat as opaque outside noise.c except for reading state/indices. */
struct noise_handshake {
	enum noise_handshake_state state;
	uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN];
	uint8_t remote_static[NOISE_PUBLIC_KEY_LEN];     /* the peer's public key */
	uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t precomputed_static_static[NOISE_PUBLIC_KEY_LEN];
	bool has_static_static;     /* false: no identity yet, or DH gave zero */
	uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN];  /* zeros when none */
	uint8_t hash[NOISE_HASH_LEN];
	uint8_t chaining_key[NOISE_HASH_LEN];
	uint8_t latest_timestamp[NOISE_TIMESTAMP_LEN];   /* newest TAI64N accepted */
	uint64_t last_initiation_consumption;            /* CLOCK_MONOTONIC ns */
	bool has_consumed_initiation;
	uint32_t local_index, remote_index;              /* host order */
};

/*
 * Prepares a peer's handshake: remembers its public key and the optional
 * preshared key (NULL: none) and precomputes DH(our static, its static).
 * -EINVAL if peer_public is a low-order point (the shared secret would be
 * zero). An identity without a key (has_identity false) is allowed: the
 * handshake then cannot start until noise_handshake_precompute succeeds.
 */
int noise_handshake_init(struct noise_handshake *hs,
			 const struct noise_static_identity *id,
			 const uint8_t peer_public[NOISE_PUBLIC_KEY_LEN],
			 const uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN]);
/* Recomputes the static-static DH after our identity changed. 0 or -EINVAL. */
int noise_handshake_precompute(struct noise_handshake *hs,
			       const struct noise_static_identity *id);
/* Replaces the preshared key (NULL: none). */
void noise_handshake_set_psk(struct noise_handshake *hs,
			     const uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN]);
/*
 * Forgets an exchange in progress (ephemeral keys, hash, chaining key,
 * indices; state ZEROED) but keeps the peer's keys and the replay/flood
 * memory (latest_timestamp, last_initiation_consumption), like the kernel's
 * handshake_zero. Call when a handshake attempt is abandoned.
 */
void noise_handshake_zero(struct noise_handshake *hs);
/* Wipes everything, keys included (peer removal). */
void noise_handshake_clear(struct noise_handshake *hs);

/* TAI64N of a CLOCK_REALTIME time in ns, nanoseconds rounded down to 2^24 ns
 * (as WireGuard does, so the timestamp does not leak precise timing). */
void noise_tai64n(uint8_t out[NOISE_TIMESTAMP_LEN], uint64_t realtime_ns);

/*
 * Initiator: builds the first message (type, sender = local_index, e, s, ts)
 * leaving macs zero, with a fresh ephemeral key and the TAI64N of
 * now_realtime (CLOCK_REALTIME ns). state -> CREATED_INITIATION; any older
 * exchange is forgotten. The caller registers local_index -> peer.
 */
int noise_handshake_create_initiation(struct noise_handshake *hs,
				      const struct noise_static_identity *id,
				      struct message_handshake_initiation *msg,
				      uint32_t local_index, uint64_t now_realtime);
/* Same with the ephemeral private key and timestamp given (tests, vectors). */
int noise_handshake_create_initiation_ex(struct noise_handshake *hs,
					 const struct noise_static_identity *id,
					 struct message_handshake_initiation *msg,
					 uint32_t local_index,
					 const uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN],
					 const uint8_t timestamp[NOISE_TIMESTAMP_LEN]);

/* What a valid initiation carried; the caller wipes it (crypto_wipe). */
struct noise_initiation_result {
	uint8_t remote_static[NOISE_PUBLIC_KEY_LEN];     /* identifies the peer */
	uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t timestamp[NOISE_TIMESTAMP_LEN];
	uint8_t hash[NOISE_HASH_LEN];
	uint8_t chaining_key[NOISE_HASH_LEN];
	uint32_t remote_index;                           /* its sender index, host order */
};

/*
 * Responder, step 1: authenticates and decrypts an initiation addressed to
 * id (msg must be a whole 148-byte initiation, macs already checked).
 * 0, -EINVAL (no identity) or -EBADMSG. Touches no peer state.
 */
int noise_initiation_open(const struct noise_static_identity *id,
			  const struct message_handshake_initiation *msg,
			  struct noise_initiation_result *r);
/*
 * Responder, step 2, on the handshake of the peer whose public key is
 * r->remote_static (-EINVAL otherwise): rejects replays (-EALREADY) and
 * floods (-EAGAIN), then stores the exchange. state -> CONSUMED_INITIATION.
 */
int noise_handshake_accept_initiation(struct noise_handshake *hs,
				      const struct noise_initiation_result *r,
				      uint64_t now_mono);
/*
 * Responder: builds the second message (sender = local_index, receiver = the
 * initiator's index) leaving macs zero. state -> CREATED_RESPONSE.
 */
int noise_handshake_create_response(struct noise_handshake *hs,
				    struct message_handshake_response *msg,
				    uint32_t local_index);
int noise_handshake_create_response_ex(struct noise_handshake *hs,
				       struct message_handshake_response *msg,
				       uint32_t local_index,
				       const uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN]);
/*
 * Initiator: consumes the response on the handshake found by its
 * receiver_index (which must equal hs->local_index), needs state
 * CREATED_INITIATION. state -> CONSUMED_RESPONSE.
 */
int noise_handshake_consume_response(struct noise_handshake *hs,
				     const struct noise_static_identity *id,
				     const struct message_handshake_response *msg);

struct noise_session_keys {
	uint8_t sending[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t receiving[NOISE_SYMMETRIC_KEY_LEN];
	bool i_am_initiator;
	uint32_t local_index, remote_index;  /* host order; data messages to us carry local_index */
};

/*
 * Ends a completed exchange (state CONSUMED_RESPONSE on the initiator,
 * CREATED_RESPONSE on the responder): out gets the transport keys in the
 * right directions and the indices, then the handshake is zeroed
 * (noise_handshake_zero). -EINVAL in any other state. The caller wipes out.
 */
int noise_handshake_derive_keys(struct noise_handshake *hs, struct noise_session_keys *out);

#endif
