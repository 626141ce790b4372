/*
 * Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s as WireGuard uses it (whitepaper
 * 5.4.2 - 5.4.5). Notation as in the paper: C = chaining key, H = hash,
 * k = a temporary AEAD key. Every step is computed on locals and copied into
 * the handshake only once the whole message checked out, so a bad message
 * never changes state; every local secret is wiped before returning.
 */
#include <errno.h>
#include <string.h>

#include "crypto/crypto.h"
#include "wg/noise.h"

/* H = HASH(H || data) */
static void mix_hash(uint8_t h[NOISE_HASH_LEN], const void *data, size_t len)
{
	blake2s_hash2(h, h, NOISE_HASH_LEN, data, len);
}

/* C = KDF1(C, data): mixing in a public value (an ephemeral key). */
static void mix_key(uint8_t ck[NOISE_HASH_LEN], const void *data, size_t len)
{
	kdf_blake2s(ck, NULL, NULL, ck, data, len);
}

/* (C, k) = KDF2(C, DH(priv, pub)); -1 if the DH result is invalid (zero). */
static int mix_dh(uint8_t ck[NOISE_HASH_LEN], uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
		  const uint8_t priv[NOISE_PUBLIC_KEY_LEN],
		  const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	uint8_t dh[NOISE_PUBLIC_KEY_LEN];
	int ret = -1;

	if (x25519_shared(dh, priv, pub) == 0) {
		kdf_blake2s(ck, key, NULL, ck, dh, sizeof(dh));
		ret = 0;
	}
	crypto_wipe(dh, sizeof(dh));
	return ret;
}

static void mix_precomputed_dh(uint8_t ck[NOISE_HASH_LEN],
			       uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
			       const uint8_t dh[NOISE_PUBLIC_KEY_LEN])
{
	kdf_blake2s(ck, key, NULL, ck, dh, NOISE_PUBLIC_KEY_LEN);
}

/* (C, tau, k) = KDF3(C, psk); H = HASH(H || tau) */
static void mix_psk(uint8_t ck[NOISE_HASH_LEN], uint8_t h[NOISE_HASH_LEN],
		    uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
		    const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN])
{
	uint8_t tau[NOISE_HASH_LEN];

	kdf_blake2s(ck, tau, key, ck, psk, NOISE_SYMMETRIC_KEY_LEN);
	mix_hash(h, tau, sizeof(tau));
	crypto_wipe(tau, sizeof(tau));
}

/* dst = AEAD(k, 0, src, H); H = HASH(H || dst) */
static int encrypt_and_hash(uint8_t *dst, const uint8_t *src, size_t len,
			    const uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
			    uint8_t h[NOISE_HASH_LEN])
{
	if (aead_encrypt(dst, src, len, h, NOISE_HASH_LEN, 0, key) < 0)
		return -1;
	mix_hash(h, dst, noise_encrypted_len(len));
	return 0;
}

/* dst = AEAD-open(k, 0, src, H); H = HASH(H || src). src_len includes the tag. */
static int decrypt_and_hash(uint8_t *dst, const uint8_t *src, size_t src_len,
			    const uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
			    uint8_t h[NOISE_HASH_LEN])
{
	if (aead_decrypt(dst, src, src_len, h, NOISE_HASH_LEN, 0, key) < 0)
		return -1;
	mix_hash(h, src, src_len);
	return 0;
}

/* C = HASH(CONSTRUCTION); H = HASH(HASH(C || IDENTIFIER) || responder static) */
static void handshake_start(uint8_t ck[NOISE_HASH_LEN], uint8_t h[NOISE_HASH_LEN],
			    const uint8_t responder_static[NOISE_PUBLIC_KEY_LEN])
{
	blake2s_hash(ck, NOISE_CONSTRUCTION, sizeof(NOISE_CONSTRUCTION) - 1);
	blake2s_hash2(h, ck, NOISE_HASH_LEN, NOISE_IDENTIFIER, sizeof(NOISE_IDENTIFIER) - 1);
	mix_hash(h, responder_static, NOISE_PUBLIC_KEY_LEN);
}

/* The "e" token: the ephemeral public key goes into the hash and the chaining key. */
static void mix_ephemeral(uint8_t ck[NOISE_HASH_LEN], uint8_t h[NOISE_HASH_LEN],
			  const uint8_t ephemeral_public[NOISE_PUBLIC_KEY_LEN])
{
	mix_hash(h, ephemeral_public, NOISE_PUBLIC_KEY_LEN);
	mix_key(ck, ephemeral_public, NOISE_PUBLIC_KEY_LEN);
}

/*
 * The "e" token as its sender writes it: e_priv becomes the clamped ephemeral_private,
 * its public key goes into public_out and is mixed in. -1 for a low-order key.
 */
static int make_ephemeral(uint8_t ck[NOISE_HASH_LEN], uint8_t h[NOISE_HASH_LEN],
			  uint8_t e_priv[NOISE_PUBLIC_KEY_LEN],
			  const uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN],
			  uint8_t public_out[NOISE_PUBLIC_KEY_LEN])
{
	memcpy(e_priv, ephemeral_private, NOISE_PUBLIC_KEY_LEN);
	x25519_clamp(e_priv);
	if (x25519_public(public_out, e_priv) < 0)
		return -1;
	mix_ephemeral(ck, h, public_out);
	return 0;
}

/* A message we created: what the next step needs from it is kept in hs. */
static void keep_created(struct noise_handshake *hs, const uint8_t e_priv[NOISE_PUBLIC_KEY_LEN],
			 const uint8_t ck[NOISE_HASH_LEN], const uint8_t h[NOISE_HASH_LEN],
			 uint32_t local_index, enum noise_handshake_state state)
{
	memcpy(hs->ephemeral_private, e_priv, NOISE_PUBLIC_KEY_LEN);
	memcpy(hs->hash, h, NOISE_HASH_LEN);
	memcpy(hs->chaining_key, ck, NOISE_HASH_LEN);
	hs->local_index = local_index;
	hs->state = state;
}

/* The symmetric state a message was processed with, wiped whatever the outcome. */
static void wipe_symmetric(uint8_t ck[NOISE_HASH_LEN], uint8_t h[NOISE_HASH_LEN],
			   uint8_t key[NOISE_SYMMETRIC_KEY_LEN])
{
	crypto_wipe(ck, NOISE_HASH_LEN);
	crypto_wipe(h, NOISE_HASH_LEN);
	crypto_wipe(key, NOISE_SYMMETRIC_KEY_LEN);
}

/*
 * The end of creating a message, whatever the outcome: a message that failed half-way
 * is wiped, and so are the secrets it was made with. Returns ret.
 */
static int wipe_created(int ret, void *msg, size_t msg_len, uint8_t ck[NOISE_HASH_LEN],
			uint8_t h[NOISE_HASH_LEN], uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
			uint8_t e_priv[NOISE_PUBLIC_KEY_LEN])
{
	if (ret < 0)
		crypto_wipe(msg, msg_len);
	wipe_symmetric(ck, h, key);
	crypto_wipe(e_priv, NOISE_PUBLIC_KEY_LEN);
	return ret;
}

static bool is_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

int noise_static_identity_set(struct noise_static_identity *id,
			      const uint8_t private_key[NOISE_PUBLIC_KEY_LEN])
{
	if (!id)
		return -EINVAL;
	noise_static_identity_clear(id);
	if (!private_key || is_zero(private_key, NOISE_PUBLIC_KEY_LEN))
		return 0;
	memcpy(id->private_key, private_key, NOISE_PUBLIC_KEY_LEN);
	x25519_clamp(id->private_key);
	if (x25519_public(id->public_key, id->private_key) < 0) {
		noise_static_identity_clear(id);
		return -EINVAL;
	}
	id->has_identity = true;
	return 0;
}

void noise_static_identity_clear(struct noise_static_identity *id)
{
	crypto_wipe(id, sizeof(*id));
}

int noise_handshake_precompute(struct noise_handshake *hs,
			       const struct noise_static_identity *id)
{
	hs->has_static_static = false;
	crypto_wipe(hs->precomputed_static_static, sizeof(hs->precomputed_static_static));
	if (!id || !id->has_identity)
		return 0;   /* nothing to compute yet: handshakes refuse to start */
	if (x25519_shared(hs->precomputed_static_static, id->private_key,
			  hs->remote_static) < 0) {
		crypto_wipe(hs->precomputed_static_static, sizeof(hs->precomputed_static_static));
		return -EINVAL;
	}
	hs->has_static_static = true;
	return 0;
}

int noise_handshake_init(struct noise_handshake *hs,
			 const struct noise_static_identity *id,
			 const uint8_t peer_public[NOISE_PUBLIC_KEY_LEN],
			 const uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN])
{
	uint8_t probe[NOISE_PUBLIC_KEY_LEN], dh[NOISE_PUBLIC_KEY_LEN];
	int ret;

	if (!hs || !peer_public)
		return -EINVAL;
	memset(hs, 0, sizeof(*hs));
	/*
	 * A low-order peer key makes every DH with it zero. Reject it even
	 * before we have an identity, by trying it against a throwaway key.
	 */
	x25519_generate(probe);
	ret = x25519_shared(dh, probe, peer_public);
	crypto_wipe(probe, sizeof(probe));
	crypto_wipe(dh, sizeof(dh));
	if (ret < 0)
		return -EINVAL;
	memcpy(hs->remote_static, peer_public, NOISE_PUBLIC_KEY_LEN);
	noise_handshake_set_psk(hs, preshared_key);
	ret = noise_handshake_precompute(hs, id);
	if (ret < 0)
		noise_handshake_clear(hs);
	return ret;
}

void noise_handshake_set_psk(struct noise_handshake *hs,
			     const uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN])
{
	if (preshared_key)
		memcpy(hs->preshared_key, preshared_key, NOISE_SYMMETRIC_KEY_LEN);
	else
		crypto_wipe(hs->preshared_key, NOISE_SYMMETRIC_KEY_LEN);
}

void noise_handshake_zero(struct noise_handshake *hs)
{
	crypto_wipe(hs->ephemeral_private, sizeof(hs->ephemeral_private));
	crypto_wipe(hs->remote_ephemeral, sizeof(hs->remote_ephemeral));
	crypto_wipe(hs->hash, sizeof(hs->hash));
	crypto_wipe(hs->chaining_key, sizeof(hs->chaining_key));
	hs->local_index = 0;
	hs->remote_index = 0;
	hs->state = HANDSHAKE_ZEROED;
}

void noise_handshake_clear(struct noise_handshake *hs)
{
	crypto_wipe(hs, sizeof(*hs));
}

void noise_tai64n(uint8_t out[NOISE_TIMESTAMP_LEN], uint64_t realtime_ns)
{
	/* TAI64 label: 2^62 + seconds + 10 (the TAI - UTC offset of 1972). */
	uint64_t secs = 0x400000000000000aULL + realtime_ns / NSEC_PER_SEC;
	/* Round to a power of two below 1 s / INITIATIONS_PER_SECOND. */
	uint32_t nsec = (uint32_t)(realtime_ns % NSEC_PER_SEC) & ~((1u << 24) - 1);

	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(secs >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
}

int noise_handshake_create_initiation_ex(struct noise_handshake *hs,
					 const struct noise_static_identity *id,
					 struct message_handshake_initiation *msg,
					 uint32_t local_index,
					 const uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN],
					 const uint8_t timestamp[NOISE_TIMESTAMP_LEN])
{
	uint8_t ck[NOISE_HASH_LEN], h[NOISE_HASH_LEN], key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t e_priv[NOISE_PUBLIC_KEY_LEN];
	int ret = -EINVAL;

	if (!hs || !id || !msg || !ephemeral_private || !timestamp)
		return -EINVAL;
	if (!id->has_identity || !hs->has_static_static)
		return -EINVAL;

	memset(msg, 0, sizeof(*msg));
	message_header_set(&msg->header, MESSAGE_HANDSHAKE_INITIATION);
	msg->sender_index = htole32(local_index);
	handshake_start(ck, h, hs->remote_static);

	/* e */
	if (make_ephemeral(ck, h, e_priv, ephemeral_private, msg->unencrypted_ephemeral) < 0)
		goto out;

	/* es */
	if (mix_dh(ck, key, e_priv, hs->remote_static) < 0)
		goto out;

	/* s */
	if (encrypt_and_hash(msg->encrypted_static, id->public_key, NOISE_PUBLIC_KEY_LEN,
			     key, h) < 0)
		goto out;

	/* ss */
	mix_precomputed_dh(ck, key, hs->precomputed_static_static);

	/* {t} */
	if (encrypt_and_hash(msg->encrypted_timestamp, timestamp, NOISE_TIMESTAMP_LEN,
			     key, h) < 0)
		goto out;

	noise_handshake_zero(hs);
	keep_created(hs, e_priv, ck, h, local_index, HANDSHAKE_CREATED_INITIATION);
	ret = 0;
out:
	return wipe_created(ret, msg, sizeof(*msg), ck, h, key, e_priv);
}

int noise_handshake_create_initiation(struct noise_handshake *hs,
				      const struct noise_static_identity *id,
				      struct message_handshake_initiation *msg,
				      uint32_t local_index, uint64_t now_realtime)
{
	uint8_t e_priv[NOISE_PUBLIC_KEY_LEN], ts[NOISE_TIMESTAMP_LEN];
	int ret;

	x25519_generate(e_priv);
	noise_tai64n(ts, now_realtime);
	ret = noise_handshake_create_initiation_ex(hs, id, msg, local_index, e_priv, ts);
	crypto_wipe(e_priv, sizeof(e_priv));
	return ret;
}

int noise_initiation_open(const struct noise_static_identity *id,
			  const struct message_handshake_initiation *msg,
			  struct noise_initiation_result *r)
{
	uint8_t ck[NOISE_HASH_LEN], h[NOISE_HASH_LEN], key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t s[NOISE_PUBLIC_KEY_LEN], t[NOISE_TIMESTAMP_LEN];
	int ret = -EBADMSG;

	if (!id || !msg || !r)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	if (!id->has_identity)
		return -EINVAL;
	if (message_type_of(msg, sizeof(*msg)) != MESSAGE_HANDSHAKE_INITIATION)
		return -EBADMSG;

	handshake_start(ck, h, id->public_key);

	/* e */
	mix_ephemeral(ck, h, msg->unencrypted_ephemeral);

	/* es */
	if (mix_dh(ck, key, id->private_key, msg->unencrypted_ephemeral) < 0)
		goto out;

	/* s */
	if (decrypt_and_hash(s, msg->encrypted_static, sizeof(msg->encrypted_static), key, h) < 0)
		goto out;

	/* ss: computed here rather than precomputed, as the peer is not known yet */
	if (mix_dh(ck, key, id->private_key, s) < 0)
		goto out;

	/* {t} */
	if (decrypt_and_hash(t, msg->encrypted_timestamp, sizeof(msg->encrypted_timestamp),
			     key, h) < 0)
		goto out;

	memcpy(r->remote_static, s, sizeof(s));
	memcpy(r->remote_ephemeral, msg->unencrypted_ephemeral, NOISE_PUBLIC_KEY_LEN);
	memcpy(r->timestamp, t, sizeof(t));
	memcpy(r->hash, h, sizeof(h));
	memcpy(r->chaining_key, ck, sizeof(ck));
	r->remote_index = le32toh(msg->sender_index);
	ret = 0;
out:
	wipe_symmetric(ck, h, key);
	crypto_wipe(s, sizeof(s));
	crypto_wipe(t, sizeof(t));
	return ret;
}

int noise_handshake_accept_initiation(struct noise_handshake *hs,
				      const struct noise_initiation_result *r,
				      uint64_t now_mono)
{
	if (!hs || !r)
		return -EINVAL;
	if (!crypto_equal(hs->remote_static, r->remote_static, NOISE_PUBLIC_KEY_LEN))
		return -EINVAL;
	/* Big-endian TAI64N compares as bytes. */
	if (memcmp(r->timestamp, hs->latest_timestamp, NOISE_TIMESTAMP_LEN) <= 0)
		return -EALREADY;
	if (hs->has_consumed_initiation &&
	    now_mono - hs->last_initiation_consumption < INITIATION_MIN_INTERVAL)
		return -EAGAIN;

	noise_handshake_zero(hs);
	memcpy(hs->remote_ephemeral, r->remote_ephemeral, NOISE_PUBLIC_KEY_LEN);
	memcpy(hs->latest_timestamp, r->timestamp, NOISE_TIMESTAMP_LEN);
	memcpy(hs->hash, r->hash, NOISE_HASH_LEN);
	memcpy(hs->chaining_key, r->chaining_key, NOISE_HASH_LEN);
	hs->remote_index = r->remote_index;
	/* Never move backwards, even if the caller's clock does. */
	if (!hs->has_consumed_initiation || now_mono > hs->last_initiation_consumption)
		hs->last_initiation_consumption = now_mono;
	hs->has_consumed_initiation = true;
	hs->state = HANDSHAKE_CONSUMED_INITIATION;
	return 0;
}

int noise_handshake_create_response_ex(struct noise_handshake *hs,
				       struct message_handshake_response *msg,
				       uint32_t local_index,
				       const uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN])
{
	uint8_t ck[NOISE_HASH_LEN], h[NOISE_HASH_LEN], key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t e_priv[NOISE_PUBLIC_KEY_LEN];
	int ret = -EINVAL;

	if (!hs || !msg || !ephemeral_private)
		return -EINVAL;
	if (hs->state != HANDSHAKE_CONSUMED_INITIATION)
		return -EINVAL;

	memset(msg, 0, sizeof(*msg));
	message_header_set(&msg->header, MESSAGE_HANDSHAKE_RESPONSE);
	msg->sender_index = htole32(local_index);
	msg->receiver_index = htole32(hs->remote_index);
	memcpy(ck, hs->chaining_key, sizeof(ck));
	memcpy(h, hs->hash, sizeof(h));

	/* e */
	if (make_ephemeral(ck, h, e_priv, ephemeral_private, msg->unencrypted_ephemeral) < 0)
		goto out;

	/* ee */
	if (mix_dh(ck, key, e_priv, hs->remote_ephemeral) < 0)
		goto out;

	/* se */
	if (mix_dh(ck, key, e_priv, hs->remote_static) < 0)
		goto out;

	/* psk */
	mix_psk(ck, h, key, hs->preshared_key);

	/* {} */
	if (encrypt_and_hash(msg->encrypted_nothing, msg->encrypted_nothing, 0, key, h) < 0)
		goto out;

	keep_created(hs, e_priv, ck, h, local_index, HANDSHAKE_CREATED_RESPONSE);
	ret = 0;
out:
	return wipe_created(ret, msg, sizeof(*msg), ck, h, key, e_priv);
}

int noise_handshake_create_response(struct noise_handshake *hs,
				    struct message_handshake_response *msg,
				    uint32_t local_index)
{
	uint8_t e_priv[NOISE_PUBLIC_KEY_LEN];
	int ret;

	x25519_generate(e_priv);
	ret = noise_handshake_create_response_ex(hs, msg, local_index, e_priv);
	crypto_wipe(e_priv, sizeof(e_priv));
	return ret;
}

int noise_handshake_consume_response(struct noise_handshake *hs,
				     const struct noise_static_identity *id,
				     const struct message_handshake_response *msg)
{
	uint8_t ck[NOISE_HASH_LEN], h[NOISE_HASH_LEN], key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t nothing[1];   /* never written: the plaintext is empty */
	int ret = -EBADMSG;

	if (!hs || !id || !msg)
		return -EINVAL;
	if (!id->has_identity || hs->state != HANDSHAKE_CREATED_INITIATION)
		return -EINVAL;
	if (message_type_of(msg, sizeof(*msg)) != MESSAGE_HANDSHAKE_RESPONSE)
		return -EBADMSG;
	if (le32toh(msg->receiver_index) != hs->local_index)
		return -EINVAL;

	memcpy(ck, hs->chaining_key, sizeof(ck));
	memcpy(h, hs->hash, sizeof(h));

	/* e */
	mix_ephemeral(ck, h, msg->unencrypted_ephemeral);

	/* ee */
	if (mix_dh(ck, key, hs->ephemeral_private, msg->unencrypted_ephemeral) < 0)
		goto out;

	/* se */
	if (mix_dh(ck, key, id->private_key, msg->unencrypted_ephemeral) < 0)
		goto out;

	/* psk */
	mix_psk(ck, h, key, hs->preshared_key);

	/* {} */
	if (decrypt_and_hash(nothing, msg->encrypted_nothing, sizeof(msg->encrypted_nothing),
			     key, h) < 0)
		goto out;

	memcpy(hs->remote_ephemeral, msg->unencrypted_ephemeral, NOISE_PUBLIC_KEY_LEN);
	memcpy(hs->hash, h, sizeof(h));
	memcpy(hs->chaining_key, ck, sizeof(ck));
	hs->remote_index = le32toh(msg->sender_index);
	hs->state = HANDSHAKE_CONSUMED_RESPONSE;
	ret = 0;
out:
	wipe_symmetric(ck, h, key);
	return ret;
}

int noise_handshake_derive_keys(struct noise_handshake *hs, struct noise_session_keys *out)
{
	uint8_t first[NOISE_SYMMETRIC_KEY_LEN], second[NOISE_SYMMETRIC_KEY_LEN];

	if (!hs || !out)
		return -EINVAL;
	if (hs->state != HANDSHAKE_CONSUMED_RESPONSE && hs->state != HANDSHAKE_CREATED_RESPONSE)
		return -EINVAL;

	/* (T_send_i = T_recv_r, T_recv_i = T_send_r) = KDF2(C, empty) */
	kdf_blake2s(first, second, NULL, hs->chaining_key, "", 0);
	out->i_am_initiator = hs->state == HANDSHAKE_CONSUMED_RESPONSE;
	memcpy(out->sending, out->i_am_initiator ? first : second, NOISE_SYMMETRIC_KEY_LEN);
	memcpy(out->receiving, out->i_am_initiator ? second : first, NOISE_SYMMETRIC_KEY_LEN);
	out->local_index = hs->local_index;
	out->remote_index = hs->remote_index;
	crypto_wipe(first, sizeof(first));
	crypto_wipe(second, sizeof(second));
	noise_handshake_zero(hs);
	return 0;
}
