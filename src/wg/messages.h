/*
 * WireGuard wire formats and protocol constants (whitepaper section 5).
 *
 * Every multi-byte integer field on the wire is LITTLE-ENDIAN. The structs
 * below keep those fields in wire byte order: read them with le32toh() /
 * le64toh() and write them with htole32() / htole64() (<endian.h>). Sender
 * and receiver indices are opaque random numbers; the noise and cookie APIs
 * take and return them in host order and convert at the wire boundary.
 *
 * The structs are packed and their sizes are checked at compile time, so a
 * received datagram whose length message_type_of() accepted may be read
 * through the matching struct pointer (after copying or if aligned suitably;
 * all fields are byte arrays or naturally aligned at 4-byte offsets).
 */
#ifndef RR_WG_MESSAGES_H
#define RR_WG_MESSAGES_H

#include <endian.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"   /* NSEC_PER_SEC, NSEC_PER_MSEC */

/* Noise protocol name and WireGuard's prologue. */
#define NOISE_CONSTRUCTION "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
#define NOISE_IDENTIFIER   "WireGuard v1 zx2c4 Jason@zx2c4.com"
#define COOKIE_LABEL_MAC1  "mac1----"
#define COOKIE_LABEL_COOKIE "cookie--"

enum noise_lengths {
	NOISE_PUBLIC_KEY_LEN = 32,
	NOISE_SYMMETRIC_KEY_LEN = 32,
	NOISE_TIMESTAMP_LEN = 12,    /* TAI64N: be64 seconds + be32 nanoseconds */
	NOISE_AUTHTAG_LEN = 16,
	NOISE_HASH_LEN = 32,
};
#define noise_encrypted_len(plain_len) ((plain_len) + NOISE_AUTHTAG_LEN)

enum cookie_values {
	COOKIE_SECRET_LEN = 32,
	COOKIE_LEN = 16,
	COOKIE_NONCE_LEN = 24,       /* XChaCha20-Poly1305 nonce */
};

/* Message counters (RFC 6479 window: 8192 bits, one word of slack). */
#define COUNTER_BITS_TOTAL     8192u
#define COUNTER_REDUNDANT_BITS 64u
#define COUNTER_WINDOW_SIZE    (COUNTER_BITS_TOTAL - COUNTER_REDUNDANT_BITS)

#define REKEY_AFTER_MESSAGES   (1ULL << 60)
/* As wireguard-go: 2^64 - 2^13 - 1 is just below where the counter can wrap. */
#define REJECT_AFTER_MESSAGES  (UINT64_MAX - (1ULL << 13) - 1)

/* Times, in nanoseconds (CLOCK_MONOTONIC unless said otherwise). */
#define REKEY_AFTER_TIME       (120ULL * NSEC_PER_SEC)
#define REJECT_AFTER_TIME      (180ULL * NSEC_PER_SEC)
#define REKEY_ATTEMPT_TIME     (90ULL * NSEC_PER_SEC)
#define REKEY_TIMEOUT          (5ULL * NSEC_PER_SEC)
#define REKEY_TIMEOUT_JITTER_MAX (333ULL * NSEC_PER_MSEC)
#define KEEPALIVE_TIMEOUT      (10ULL * NSEC_PER_SEC)
#define COOKIE_SECRET_MAX_AGE  (120ULL * NSEC_PER_SEC)
#define COOKIE_SECRET_LATENCY  (5ULL * NSEC_PER_SEC)
#define MAX_TIMER_HANDSHAKES   (REKEY_ATTEMPT_TIME / REKEY_TIMEOUT)   /* 18 */
#define INITIATIONS_PER_SECOND 50u
#define INITIATION_MIN_INTERVAL (NSEC_PER_SEC / INITIATIONS_PER_SECOND)
#define MESSAGE_PADDING_MULTIPLE 16u

enum message_type {
	MESSAGE_INVALID = 0,
	MESSAGE_HANDSHAKE_INITIATION = 1,
	MESSAGE_HANDSHAKE_RESPONSE = 2,
	MESSAGE_HANDSHAKE_COOKIE = 3,
	MESSAGE_DATA = 4,
};

/* le32: the type in the low byte, three reserved bytes that must be zero. */
struct message_header {
	uint32_t type;
} __attribute__((packed));

struct message_macs {
	uint8_t mac1[COOKIE_LEN];
	uint8_t mac2[COOKIE_LEN];
} __attribute__((packed));

struct message_handshake_initiation {
	struct message_header header;
	uint32_t sender_index;                                   /* le32 */
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_static[noise_encrypted_len(NOISE_PUBLIC_KEY_LEN)];
	uint8_t encrypted_timestamp[noise_encrypted_len(NOISE_TIMESTAMP_LEN)];
	struct message_macs macs;
} __attribute__((packed));

struct message_handshake_response {
	struct message_header header;
	uint32_t sender_index;                                   /* le32 */
	uint32_t receiver_index;                                 /* le32 */
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_nothing[noise_encrypted_len(0)];
	struct message_macs macs;
} __attribute__((packed));

struct message_handshake_cookie {
	struct message_header header;
	uint32_t receiver_index;                                 /* le32 */
	uint8_t nonce[COOKIE_NONCE_LEN];
	uint8_t encrypted_cookie[noise_encrypted_len(COOKIE_LEN)];
} __attribute__((packed));

struct message_data {
	struct message_header header;
	uint32_t key_idx;                                        /* le32, receiver index */
	uint64_t counter;                                        /* le64, the AEAD nonce */
	uint8_t encrypted_data[];                                /* padded plaintext + tag */
} __attribute__((packed));

#define MESSAGE_INITIATION_LEN 148u
#define MESSAGE_RESPONSE_LEN   92u
#define MESSAGE_COOKIE_LEN     64u
#define MESSAGE_DATA_HEADER_LEN 16u
#define message_data_len(plain_len) \
	(MESSAGE_DATA_HEADER_LEN + noise_encrypted_len(plain_len))
/* Smallest valid transport message: a keepalive (no payload, tag only). */
#define MESSAGE_DATA_MIN_LEN   message_data_len(0)

_Static_assert(sizeof(struct message_handshake_initiation) == MESSAGE_INITIATION_LEN,
	       "initiation is 148 bytes");
_Static_assert(sizeof(struct message_handshake_response) == MESSAGE_RESPONSE_LEN,
	       "response is 92 bytes");
_Static_assert(sizeof(struct message_handshake_cookie) == MESSAGE_COOKIE_LEN,
	       "cookie reply is 64 bytes");
_Static_assert(sizeof(struct message_data) == MESSAGE_DATA_HEADER_LEN,
	       "transport header is 16 bytes");
_Static_assert(sizeof(struct message_macs) == 32, "macs are 2 x 16 bytes");

/*
 * Classifies a received datagram: returns its type if the first four bytes
 * are a known type (reserved bytes zero) AND the length is right for it
 * (handshake messages exact, data at least header + tag), else
 * MESSAGE_INVALID. The only check to make before reading any field.
 */
static inline enum message_type message_type_of(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t type;

	if (!buf || len < sizeof(struct message_header))
		return MESSAGE_INVALID;
	type = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
	switch (type) {
	case MESSAGE_HANDSHAKE_INITIATION:
		return len == MESSAGE_INITIATION_LEN ? MESSAGE_HANDSHAKE_INITIATION : MESSAGE_INVALID;
	case MESSAGE_HANDSHAKE_RESPONSE:
		return len == MESSAGE_RESPONSE_LEN ? MESSAGE_HANDSHAKE_RESPONSE : MESSAGE_INVALID;
	case MESSAGE_HANDSHAKE_COOKIE:
		return len == MESSAGE_COOKIE_LEN ? MESSAGE_HANDSHAKE_COOKIE : MESSAGE_INVALID;
	case MESSAGE_DATA:
		return len >= MESSAGE_DATA_MIN_LEN ? MESSAGE_DATA : MESSAGE_INVALID;
	default:
		return MESSAGE_INVALID;
	}
}

/* Writes a header (type + zero reserved bytes) in wire order. */
static inline void message_header_set(struct message_header *h, enum message_type type)
{
	h->type = htole32((uint32_t)type);
}

/*
 * Plaintext length padded to a multiple of 16 for encryption, but never
 * beyond mtu (whitepaper 5.4.6); mtu 0 means no limit. A packet already
 * larger than mtu is left as is (the caller decides what to do with it).
 */
static inline size_t message_padded_len(size_t plain_len, size_t mtu)
{
	size_t padded = (plain_len + MESSAGE_PADDING_MULTIPLE - 1) &
			~(size_t)(MESSAGE_PADDING_MULTIPLE - 1);

	if (mtu == 0)
		return padded;
	if (plain_len > mtu)
		return plain_len;
	return padded < mtu ? padded : mtu;
}

#endif
