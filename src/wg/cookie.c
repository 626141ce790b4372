/*
 * mac1 = MAC(HASH(LABEL_MAC1 || responder pub), msg up to mac1)
 * mac2 = MAC(cookie, msg up to mac2)
 * cookie = MAC(secret, src ip || src port), secret random, renewed after
 *          COOKIE_SECRET_MAX_AGE
 * reply  = XAEAD(HASH(LABEL_COOKIE || responder pub), nonce, cookie, mac1)
 * (MAC is keyed BLAKE2s-128, HASH is BLAKE2s-256; whitepaper 5.4.4, 5.4.7.)
 */
#include <errno.h>
#include <string.h>

#include "crypto/crypto.h"
#include "wg/cookie.h"

static bool is_handshake_len(size_t len)
{
	return len == MESSAGE_INITIATION_LEN || len == MESSAGE_RESPONSE_LEN;
}

/* Offsets of mac1 and mac2 inside a handshake message of length len. */
static size_t mac1_offset(size_t len)
{
	return len - sizeof(struct message_macs);
}

static size_t mac2_offset(size_t len)
{
	return len - sizeof(((struct message_macs *)0)->mac2);
}

static void derive_key(uint8_t key[NOISE_SYMMETRIC_KEY_LEN], const char *label,
		       const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	/* Both labels are 8 bytes. */
	blake2s_hash2(key, label, 8, pub, NOISE_PUBLIC_KEY_LEN);
}

static bool expired(uint64_t birthdate, uint64_t lifetime, uint64_t now)
{
	return now < birthdate || now - birthdate >= lifetime;
}

void cookie_checker_init(struct cookie_checker *cc)
{
	memset(cc, 0, sizeof(*cc));
}

void cookie_checker_set_public_key(struct cookie_checker *cc,
				   const uint8_t public_key[NOISE_PUBLIC_KEY_LEN])
{
	if (!public_key) {
		crypto_wipe(cc->mac1_key, sizeof(cc->mac1_key));
		crypto_wipe(cc->cookie_encryption_key, sizeof(cc->cookie_encryption_key));
		cc->has_identity = false;
		return;
	}
	derive_key(cc->mac1_key, COOKIE_LABEL_MAC1, public_key);
	derive_key(cc->cookie_encryption_key, COOKIE_LABEL_COOKIE, public_key);
	cc->has_identity = true;
}

void cookie_checker_clear(struct cookie_checker *cc)
{
	crypto_wipe(cc, sizeof(*cc));
}

/* The cookie for a source address, renewing the secret when it is too old. */
static void make_cookie(struct cookie_checker *cc, uint8_t cookie[COOKIE_LEN],
			const uint8_t *src, size_t src_len, uint64_t now)
{
	if (!cc->has_secret || expired(cc->secret_birthdate, COOKIE_SECRET_MAX_AGE, now)) {
		crypto_random(cc->secret, sizeof(cc->secret));
		cc->secret_birthdate = now;
		cc->has_secret = true;
	}
	blake2s_mac(cookie, COOKIE_LEN, cc->secret, sizeof(cc->secret), src, src_len);
}

enum cookie_mac_state cookie_checker_validate(struct cookie_checker *cc,
					      const void *msg, size_t len,
					      const uint8_t *src, size_t src_len,
					      uint64_t now, bool under_load)
{
	const uint8_t *m = msg;
	uint8_t computed[COOKIE_LEN], cookie[COOKIE_LEN];
	enum cookie_mac_state state = COOKIE_MAC_INVALID;

	if (!cc || !cc->has_identity || !msg || !is_handshake_len(len))
		return COOKIE_MAC_INVALID;

	blake2s_mac(computed, COOKIE_LEN, cc->mac1_key, sizeof(cc->mac1_key),
		    m, mac1_offset(len));
	if (!crypto_equal(computed, m + mac1_offset(len), COOKIE_LEN))
		goto out;
	state = COOKIE_MAC_VALID_NO_COOKIE;
	if (!under_load)
		goto out;
	if (!src || src_len == 0 || src_len > COOKIE_SRC_MAX)
		goto out;

	make_cookie(cc, cookie, src, src_len, now);
	blake2s_mac(computed, COOKIE_LEN, cookie, sizeof(cookie), m, mac2_offset(len));
	if (crypto_equal(computed, m + mac2_offset(len), COOKIE_LEN))
		state = COOKIE_MAC_VALID_WITH_COOKIE;
out:
	crypto_wipe(cookie, sizeof(cookie));
	crypto_wipe(computed, sizeof(computed));
	return state;
}

int cookie_message_create(struct cookie_checker *cc,
			  struct message_handshake_cookie *reply,
			  const void *msg, size_t len, uint32_t sender_index,
			  const uint8_t *src, size_t src_len, uint64_t now)
{
	const uint8_t *m = msg;
	uint8_t cookie[COOKIE_LEN];
	int ret = 0;

	if (!cc || !cc->has_identity || !reply || !msg || !is_handshake_len(len) ||
	    !src || src_len == 0 || src_len > COOKIE_SRC_MAX)
		return -EINVAL;

	memset(reply, 0, sizeof(*reply));
	message_header_set(&reply->header, MESSAGE_HANDSHAKE_COOKIE);
	reply->receiver_index = htole32(sender_index);
	crypto_random(reply->nonce, sizeof(reply->nonce));
	make_cookie(cc, cookie, src, src_len, now);
	if (xaead_encrypt(reply->encrypted_cookie, cookie, sizeof(cookie),
			  m + mac1_offset(len), COOKIE_LEN, reply->nonce,
			  cc->cookie_encryption_key) < 0) {
		crypto_wipe(reply, sizeof(*reply));
		ret = -EINVAL;
	}
	crypto_wipe(cookie, sizeof(cookie));
	return ret;
}

void cookie_maker_init(struct cookie_maker *cm,
		       const uint8_t peer_public_key[NOISE_PUBLIC_KEY_LEN])
{
	memset(cm, 0, sizeof(*cm));
	derive_key(cm->mac1_key, COOKIE_LABEL_MAC1, peer_public_key);
	derive_key(cm->cookie_decryption_key, COOKIE_LABEL_COOKIE, peer_public_key);
}

void cookie_maker_clear(struct cookie_maker *cm)
{
	crypto_wipe(cm, sizeof(*cm));
}

int cookie_add_macs(struct cookie_maker *cm, void *msg, size_t len, uint64_t now)
{
	uint8_t *m = msg;

	if (!cm || !msg || !is_handshake_len(len))
		return -EINVAL;

	blake2s_mac(m + mac1_offset(len), COOKIE_LEN, cm->mac1_key, sizeof(cm->mac1_key),
		    m, mac1_offset(len));
	memcpy(cm->last_mac1_sent, m + mac1_offset(len), COOKIE_LEN);
	cm->have_sent_mac1 = true;

	/* A cookie this old may already be refused by the responder's rotated secret. */
	if (cm->is_cookie_valid &&
	    !expired(cm->cookie_birthdate, COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY, now))
		blake2s_mac(m + mac2_offset(len), COOKIE_LEN, cm->cookie, sizeof(cm->cookie),
			    m, mac2_offset(len));
	else
		memset(m + mac2_offset(len), 0, COOKIE_LEN);
	return 0;
}

int cookie_consume_reply(struct cookie_maker *cm,
			 const struct message_handshake_cookie *reply, uint64_t now)
{
	uint8_t cookie[COOKIE_LEN];

	if (!cm || !reply)
		return -EINVAL;
	if (message_type_of(reply, sizeof(*reply)) != MESSAGE_HANDSHAKE_COOKIE)
		return -EBADMSG;
	if (!cm->have_sent_mac1)
		return -EINVAL;
	if (xaead_decrypt(cookie, reply->encrypted_cookie, sizeof(reply->encrypted_cookie),
			  cm->last_mac1_sent, COOKIE_LEN, reply->nonce,
			  cm->cookie_decryption_key) < 0) {
		crypto_wipe(cookie, sizeof(cookie));
		return -EBADMSG;
	}
	memcpy(cm->cookie, cookie, sizeof(cookie));
	cm->cookie_birthdate = now;
	cm->is_cookie_valid = true;
	cm->have_sent_mac1 = false;
	crypto_wipe(cookie, sizeof(cookie));
	return 0;
}
