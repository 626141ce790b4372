/*
 * WireGuard's DoS defence (whitepaper 5.4.4 and 5.4.7): mac1 proves the
 * sender knows our public key; under load, mac2 proves it can receive at
 * its source address, using a cookie we sent it (a keyed hash of that
 * address under a secret rotated every COOKIE_SECRET_MAX_AGE).
 *
 *   checker (one per interface, OUR public key): validates incoming macs,
 *            makes cookie replies;
 *   maker   (one per peer, the PEER's public key): adds macs to outgoing
 *            handshake messages, consumes cookie replies.
 *
 * Handshake messages here are a whole initiation or response (the macs are
 * their last 32 bytes); len must be MESSAGE_INITIATION_LEN or
 * MESSAGE_RESPONSE_LEN (anything else: invalid / -EINVAL).
 *
 * Source address bytes for the cookie: the IP address in network order (4
 * or 16 bytes) followed by the UDP port in network order (2 bytes), e.g.
 * sin_addr || sin_port. Up to COOKIE_SRC_MAX bytes; any consistent encoding
 * works because only this process checks its own cookies.
 *
 * Times are CLOCK_MONOTONIC ns.
 */
#ifndef RR_WG_COOKIE_H
#define RR_WG_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg/messages.h"

#define COOKIE_SRC_MAX 18   /* 16-byte IPv6 address + 2-byte port */

struct cookie_checker {
	uint8_t secret[COOKIE_SECRET_LEN];
	uint64_t secret_birthdate;
	bool has_secret;
	uint8_t mac1_key[NOISE_SYMMETRIC_KEY_LEN];              /* HASH(LABEL_MAC1 || our pub) */
	uint8_t cookie_encryption_key[NOISE_SYMMETRIC_KEY_LEN]; /* HASH(LABEL_COOKIE || our pub) */
	bool has_identity;
};

enum cookie_mac_state {
	COOKIE_MAC_INVALID = 0,       /* drop silently */
	/*
	 * mac1 good; no valid mac2 (or not under load, so mac2 not checked).
	 * Not under load: process. Under load: answer with a cookie reply
	 * (cookie_message_create) and drop the message.
	 */
	COOKIE_MAC_VALID_NO_COOKIE,
	/* mac1 and mac2 good (only reported under load): process (rate-limited). */
	COOKIE_MAC_VALID_WITH_COOKIE,
};

void cookie_checker_init(struct cookie_checker *cc);
/* Our public key changed (NULL: no identity; every message is then invalid). */
void cookie_checker_set_public_key(struct cookie_checker *cc,
				   const uint8_t public_key[NOISE_PUBLIC_KEY_LEN]);
void cookie_checker_clear(struct cookie_checker *cc);   /* wipes */

enum cookie_mac_state cookie_checker_validate(struct cookie_checker *cc,
					      const void *msg, size_t len,
					      const uint8_t *src, size_t src_len,
					      uint64_t now, bool under_load);

/*
 * Builds the 64-byte cookie reply to a handshake message (msg, len) that
 * came from src: receiver = sender_index (host order, the triggering
 * message's sender), the cookie for src encrypted with a random nonce and
 * the message's mac1 as associated data. 0 or -EINVAL.
 */
int cookie_message_create(struct cookie_checker *cc,
			  struct message_handshake_cookie *reply,
			  const void *msg, size_t len, uint32_t sender_index,
			  const uint8_t *src, size_t src_len, uint64_t now);

struct cookie_maker {
	uint8_t mac1_key[NOISE_SYMMETRIC_KEY_LEN];               /* HASH(LABEL_MAC1 || peer pub) */
	uint8_t cookie_decryption_key[NOISE_SYMMETRIC_KEY_LEN];  /* HASH(LABEL_COOKIE || peer pub) */
	uint8_t cookie[COOKIE_LEN];
	uint64_t cookie_birthdate;
	bool is_cookie_valid;
	uint8_t last_mac1_sent[COOKIE_LEN];
	bool have_sent_mac1;
};

void cookie_maker_init(struct cookie_maker *cm,
		       const uint8_t peer_public_key[NOISE_PUBLIC_KEY_LEN]);
void cookie_maker_clear(struct cookie_maker *cm);        /* wipes */

/*
 * Fills mac1 (always) and mac2 (with the last cookie, if younger than
 * COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY; else zeros) of an outgoing
 * handshake message, and remembers mac1 for a cookie reply. 0 or -EINVAL.
 */
int cookie_add_macs(struct cookie_maker *cm, void *msg, size_t len, uint64_t now);

/*
 * Takes the cookie out of a reply to our last message with macs (the caller
 * found cm by the reply's receiver_index). 0, -EINVAL (we sent nothing it
 * could answer) or -EBADMSG (authentication failed). A reply is accepted
 * once: the next needs a new message from us.
 */
int cookie_consume_reply(struct cookie_maker *cm,
			 const struct message_handshake_cookie *reply, uint64_t now);

#endif
