/*
 * Arbitrary datagrams through everything that reads WireGuard messages from
 * the network: type/length classification, the cookie checker, initiation
 * opening (+ accept), response consumption, cookie replies and the replay
 * window. The input is also forced into each message type (type bytes set,
 * length fixed) so the cryptographic paths run whatever the first byte is.
 * Identities are fixed; nothing here may crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "wg/cookie.h"
#include "wg/noise.h"
#include "wg/replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct noise_static_identity responder, initiator;
static struct cookie_checker checker;
static struct noise_handshake initiator_hs;
static struct replay_window window;
static bool ready;

static void setup(void)
{
	uint8_t priv[32];

	if (crypto_init() < 0)
		abort();
	memset(priv, 0x11, sizeof(priv));
	if (noise_static_identity_set(&responder, priv) < 0)
		abort();
	memset(priv, 0x22, sizeof(priv));
	if (noise_static_identity_set(&initiator, priv) < 0)
		abort();
	if (noise_handshake_init(&initiator_hs, &initiator, responder.public_key, NULL) < 0)
		abort();
	cookie_checker_init(&checker);
	cookie_checker_set_public_key(&checker, responder.public_key);
	replay_init(&window);
	ready = true;
}

/* The input as a message of msg_size bytes (cut short or zero-padded) whose header says type. */
static void fill_message(void *msg, size_t msg_size, struct message_header *header,
			 enum message_type type, const uint8_t *data, size_t size)
{
	memset(msg, 0, msg_size);
	memcpy(msg, data, size < msg_size ? size : msg_size);
	message_header_set(header, type);
}

static void as_initiation(const uint8_t *data, size_t size, uint64_t now)
{
	struct message_handshake_initiation msg;
	struct noise_initiation_result r;
	struct noise_handshake hs;

	fill_message(&msg, sizeof(msg), &msg.header, MESSAGE_HANDSHAKE_INITIATION, data, size);
	cookie_checker_validate(&checker, &msg, sizeof(msg), data, size < 6 ? size : 6, now,
				size & 1);
	if (noise_initiation_open(&responder, &msg, &r) == 0) {
		if (noise_handshake_init(&hs, &responder, r.remote_static, NULL) == 0) {
			struct message_handshake_response resp;

			if (noise_handshake_accept_initiation(&hs, &r, now) == 0)
				noise_handshake_create_response(&hs, &resp, 1);
			noise_handshake_clear(&hs);
		}
	}
	crypto_wipe(&r, sizeof(r));
}

static void as_response(const uint8_t *data, size_t size)
{
	static const uint8_t eph[32] = { 1, 2, 3 };
	static const uint8_t ts[12] = { 0x40 };
	struct message_handshake_initiation init;
	struct message_handshake_response msg;
	struct noise_handshake hs;
	struct noise_session_keys keys;

	fill_message(&msg, sizeof(msg), &msg.header, MESSAGE_HANDSHAKE_RESPONSE, data, size);
	hs = initiator_hs;   /* saves the init's two DH operations per input */
	noise_handshake_set_psk(&hs, size > 200 ? data + 100 : NULL);
	/* Wait for the response with the index it names, so the crypto runs. */
	if (noise_handshake_create_initiation_ex(&hs, &initiator, &init,
						 le32toh(msg.receiver_index), eph, ts) < 0)
		abort();
	if (noise_handshake_consume_response(&hs, &initiator, &msg) == 0) {
		if (noise_handshake_derive_keys(&hs, &keys) < 0)
			abort();
		crypto_wipe(&keys, sizeof(keys));
	}
	noise_handshake_clear(&hs);
}

static void as_cookie(const uint8_t *data, size_t size, uint64_t now)
{
	struct message_handshake_initiation init;
	struct message_handshake_cookie msg;
	struct cookie_maker maker;

	memset(&init, 0, sizeof(init));
	message_header_set(&init.header, MESSAGE_HANDSHAKE_INITIATION);
	cookie_maker_init(&maker, responder.public_key);
	if (cookie_add_macs(&maker, &init, sizeof(init), now) < 0)
		abort();
	fill_message(&msg, sizeof(msg), &msg.header, MESSAGE_HANDSHAKE_COOKIE, data, size);
	cookie_consume_reply(&maker, &msg, now);
	cookie_maker_clear(&maker);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t now = 0;

	if (!ready)
		setup();
	for (size_t i = 0; i < 8 && i < size; i++)
		now = now << 8 | data[size - 1 - i];

	/* The real path: classify, then only the matching parser. */
	switch (message_type_of(data, size)) {
	case MESSAGE_HANDSHAKE_INITIATION:
	case MESSAGE_HANDSHAKE_RESPONSE:
		cookie_checker_validate(&checker, data, size, data, 6, now, true);
		break;
	case MESSAGE_HANDSHAKE_COOKIE:
	case MESSAGE_DATA:
	case MESSAGE_INVALID:
		/* Must refuse whatever is not a handshake message. */
		if (cookie_checker_validate(&checker, data, size, NULL, 0, now, false) !=
		    COOKIE_MAC_INVALID)
			abort();
		break;
	}
	if (size >= MESSAGE_DATA_HEADER_LEN) {
		uint64_t counter;

		memcpy(&counter, data + 8, sizeof(counter));
		replay_check_and_update(&window, le64toh(counter), REJECT_AFTER_MESSAGES);
	}

	/* Forced into each type. */
	as_initiation(data, size, now);
	as_response(data, size);
	as_cookie(data, size, now);
	return 0;
}
