/* mac1/mac2 and cookie replies (whitepaper 5.4.4, 5.4.7). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "crypto/crypto.h"
#include "wg/cookie.h"
#include "wg/noise.h"

#include "wg_recording.h"

static struct wg_recording rec;   /* loaded before the tests run */

#define T0 (1000ULL * NSEC_PER_SEC)

static const uint8_t src_a[6] = { 192, 0, 2, 1, 0xca, 0x6c };     /* 192.0.2.1:51820 */
static const uint8_t src_b[6] = { 192, 0, 2, 1, 0xca, 0x6d };     /* other port */

struct fixture {
	struct noise_static_identity responder;
	struct cookie_checker cc;
	struct cookie_maker cm;
	struct message_handshake_initiation msg;
};

static int setup(void **state)
{
	static struct fixture f;
	uint8_t priv[32];

	memset(&f, 0, sizeof(f));
	memset(priv, 0x42, sizeof(priv));
	assert_int_equal(noise_static_identity_set(&f.responder, priv), 0);
	cookie_checker_init(&f.cc);
	cookie_checker_set_public_key(&f.cc, f.responder.public_key);
	cookie_maker_init(&f.cm, f.responder.public_key);
	/* Any bytes will do for the body: the macs do not parse it. */
	for (size_t i = 0; i < sizeof(f.msg); i++)
		((uint8_t *)&f.msg)[i] = (uint8_t)(i * 7 + 3);
	message_header_set(&f.msg.header, MESSAGE_HANDSHAKE_INITIATION);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	cookie_checker_clear(&f->cc);
	cookie_maker_clear(&f->cm);
	noise_static_identity_clear(&f->responder);
	return 0;
}

static enum cookie_mac_state validate(struct fixture *f, const void *m, size_t len,
				      const uint8_t *src, uint64_t now, bool load)
{
	return cookie_checker_validate(&f->cc, m, len, src, 6, now, load);
}

static void test_mac1(void **state)
{
	struct fixture *f = *state;
	struct message_handshake_initiation bad;

	assert_int_equal(cookie_add_macs(&f->cm, &f->msg, sizeof(f->msg), T0), 0);
	assert_memory_not_equal(f->msg.macs.mac1, (uint8_t[16]){ 0 }, 16);
	assert_memory_equal(f->msg.macs.mac2, (uint8_t[16]){ 0 }, 16);   /* no cookie yet */
	assert_int_equal(validate(f, &f->msg, sizeof(f->msg), src_a, T0, false),
			 COOKIE_MAC_VALID_NO_COOKIE);
	/* One bit changed anywhere mac1 covers, or in mac1 itself: invalid. */
	for (size_t i = 0; i < offsetof(struct message_handshake_initiation, macs.mac2); i++) {
		bad = f->msg;
		((uint8_t *)&bad)[i] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(validate(f, &bad, sizeof(bad), src_a, T0, false),
				 COOKIE_MAC_INVALID);
	}
	/* mac2 is not looked at when not under load. */
	bad = f->msg;
	bad.macs.mac2[0] ^= 1;
	assert_int_equal(validate(f, &bad, sizeof(bad), src_a, T0, false),
			 COOKIE_MAC_VALID_NO_COOKIE);
	/* A checker for another public key refuses it. */
	struct cookie_checker other;
	uint8_t pub[32];
	memset(pub, 0x17, sizeof(pub));
	cookie_checker_init(&other);
	cookie_checker_set_public_key(&other, pub);
	assert_int_equal(cookie_checker_validate(&other, &f->msg, sizeof(f->msg), src_a, 6, T0,
						 false), COOKIE_MAC_INVALID);
	/* No identity, bad lengths: invalid. */
	cookie_checker_set_public_key(&other, NULL);
	assert_int_equal(cookie_checker_validate(&other, &f->msg, sizeof(f->msg), src_a, 6, T0,
						 false), COOKIE_MAC_INVALID);
	assert_int_equal(validate(f, &f->msg, sizeof(f->msg) - 1, src_a, T0, false),
			 COOKIE_MAC_INVALID);
	assert_int_equal(validate(f, &f->msg, 64, src_a, T0, false), COOKIE_MAC_INVALID);
	assert_int_equal(cookie_add_macs(&f->cm, &f->msg, 100, T0), -EINVAL);
}

static void test_mac1_response_length(void **state)
{
	struct fixture *f = *state;
	struct message_handshake_response resp;

	memset(&resp, 0xab, sizeof(resp));
	message_header_set(&resp.header, MESSAGE_HANDSHAKE_RESPONSE);
	assert_int_equal(cookie_add_macs(&f->cm, &resp, sizeof(resp), T0), 0);
	assert_int_equal(validate(f, &resp, sizeof(resp), src_a, T0, false),
			 COOKIE_MAC_VALID_NO_COOKIE);
	resp.unencrypted_ephemeral[3] ^= 0x10;
	assert_int_equal(validate(f, &resp, sizeof(resp), src_a, T0, false), COOKIE_MAC_INVALID);
}

/* wireguard-go's own mac1 (recorded) verifies; and ours is byte-identical to
 * what it accepted (test_noise checks the whole message). */
static void test_mac1_wireguard_go(void **state)
{
	struct noise_static_identity ours;
	struct cookie_checker cc;

	(void)state;
	assert_int_equal(noise_static_identity_set(&ours, rec.our_private), 0);
	cookie_checker_init(&cc);
	cookie_checker_set_public_key(&cc, ours.public_key);
	assert_int_equal(cookie_checker_validate(&cc, rec.init_go, sizeof(rec.init_go),
						 src_a, 6, T0, false), COOKIE_MAC_VALID_NO_COOKIE);
	assert_int_equal(cookie_checker_validate(&cc, rec.resp_go, sizeof(rec.resp_go),
						 src_a, 6, T0, false), COOKIE_MAC_VALID_NO_COOKIE);
	/* Under load it has no cookie from us. */
	assert_int_equal(cookie_checker_validate(&cc, rec.init_go, sizeof(rec.init_go),
						 src_a, 6, T0, true), COOKIE_MAC_VALID_NO_COOKIE);
	cookie_checker_clear(&cc);
}

static void test_cookie_round_trip(void **state)
{
	struct fixture *f = *state;
	struct message_handshake_cookie reply;
	struct message_handshake_initiation bad;

	assert_int_equal(cookie_add_macs(&f->cm, &f->msg, sizeof(f->msg), T0), 0);
	/* Under load and without a cookie: the responder must answer with one. */
	assert_int_equal(validate(f, &f->msg, sizeof(f->msg), src_a, T0, true),
			 COOKIE_MAC_VALID_NO_COOKIE);
	assert_int_equal(cookie_message_create(&f->cc, &reply, &f->msg, sizeof(f->msg),
					       0xdeadbeef, src_a, 6, T0), 0);
	assert_int_equal(message_type_of(&reply, sizeof(reply)), MESSAGE_HANDSHAKE_COOKIE);
	assert_int_equal(le32toh(reply.receiver_index), 0xdeadbeef);
	assert_int_equal(cookie_consume_reply(&f->cm, &reply, T0 + 1000), 0);
	assert_true(f->cm.is_cookie_valid);
	/* Accepted only once. */
	assert_int_equal(cookie_consume_reply(&f->cm, &reply, T0 + 1000), -EINVAL);

	/* The next message carries mac2, valid from that source only. */
	f->msg.sender_index ^= 0x01010101;
	assert_int_equal(cookie_add_macs(&f->cm, &f->msg, sizeof(f->msg), T0 + NSEC_PER_SEC), 0);
	assert_memory_not_equal(f->msg.macs.mac2, (uint8_t[16]){ 0 }, 16);
	assert_int_equal(validate(f, &f->msg, sizeof(f->msg), src_a, T0 + NSEC_PER_SEC, true),
			 COOKIE_MAC_VALID_WITH_COOKIE);
	assert_int_equal(validate(f, &f->msg, sizeof(f->msg), src_b, T0 + NSEC_PER_SEC, true),
			 COOKIE_MAC_VALID_NO_COOKIE);
	bad = f->msg;
	bad.macs.mac2[15] ^= 0x80;
	assert_int_equal(validate(f, &bad, sizeof(bad), src_a, T0 + NSEC_PER_SEC, true),
			 COOKIE_MAC_VALID_NO_COOKIE);
	/* Not under load, mac2 does not matter. */
	assert_int_equal(validate(f, &bad, sizeof(bad), src_a, T0 + NSEC_PER_SEC, false),
			 COOKIE_MAC_VALID_NO_COOKIE);
	/* Once the checker's secret has rotated, the old cookie no longer works. */
	assert_int_equal(validate(f, &f->msg, sizeof(f->msg), src_a,
				  T0 + COOKIE_SECRET_MAX_AGE + NSEC_PER_SEC, true),
			 COOKIE_MAC_VALID_NO_COOKIE);
}

static void test_cookie_expiry(void **state)
{
	struct fixture *f = *state;
	struct message_handshake_cookie reply;
	const uint64_t life = COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY;

	assert_int_equal(cookie_add_macs(&f->cm, &f->msg, sizeof(f->msg), T0), 0);
	assert_int_equal(cookie_message_create(&f->cc, &reply, &f->msg, sizeof(f->msg), 1,
					       src_a, 6, T0), 0);
	assert_int_equal(cookie_consume_reply(&f->cm, &reply, T0), 0);
	/* Just before the end of its life the cookie is used ... */
	assert_int_equal(cookie_add_macs(&f->cm, &f->msg, sizeof(f->msg), T0 + life - 1), 0);
	assert_memory_not_equal(f->msg.macs.mac2, (uint8_t[16]){ 0 }, 16);
	assert_int_equal(validate(f, &f->msg, sizeof(f->msg), src_a, T0 + life - 1, true),
			 COOKIE_MAC_VALID_WITH_COOKIE);
	/* ... from then on it is ignored (mac2 zero). */
	assert_int_equal(cookie_add_macs(&f->cm, &f->msg, sizeof(f->msg), T0 + life), 0);
	assert_memory_equal(f->msg.macs.mac2, (uint8_t[16]){ 0 }, 16);
	assert_int_equal(validate(f, &f->msg, sizeof(f->msg), src_a, T0 + life, true),
			 COOKIE_MAC_VALID_NO_COOKIE);
}

static void test_bad_replies(void **state)
{
	struct fixture *f = *state;
	struct message_handshake_cookie reply, bad;
	struct cookie_maker fresh;

	/* Nothing sent yet: nothing to accept. */
	cookie_maker_init(&fresh, f->responder.public_key);
	assert_int_equal(cookie_add_macs(&f->cm, &f->msg, sizeof(f->msg), T0), 0);
	assert_int_equal(cookie_message_create(&f->cc, &reply, &f->msg, sizeof(f->msg), 1,
					       src_a, 6, T0), 0);
	assert_int_equal(cookie_consume_reply(&fresh, &reply, T0), -EINVAL);
	/* Every corrupted byte of nonce or box fails authentication. */
	for (size_t i = offsetof(struct message_handshake_cookie, nonce); i < sizeof(reply); i++) {
		bad = reply;
		((uint8_t *)&bad)[i] ^= 0x04;
		assert_int_equal(cookie_consume_reply(&f->cm, &bad, T0), -EBADMSG);
	}
	bad = reply;
	bad.header.type = htole32(2);
	assert_int_equal(cookie_consume_reply(&f->cm, &bad, T0), -EBADMSG);
	/* A reply to an older message (other mac1 as AD) fails too. */
	f->msg.sender_index ^= 0xffff;
	assert_int_equal(cookie_add_macs(&f->cm, &f->msg, sizeof(f->msg), T0), 0);
	assert_int_equal(cookie_consume_reply(&f->cm, &reply, T0), -EBADMSG);
	assert_false(f->cm.is_cookie_valid);
	/* A checker refuses to make replies for nonsense. */
	assert_int_equal(cookie_message_create(&f->cc, &reply, &f->msg, 10, 1, src_a, 6, T0),
			 -EINVAL);
	assert_int_equal(cookie_message_create(&f->cc, &reply, &f->msg, sizeof(f->msg), 1,
					       src_a, COOKIE_SRC_MAX + 1, T0), -EINVAL);
	cookie_maker_clear(&fresh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mac1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mac1_response_length, setup, teardown),
		cmocka_unit_test(test_mac1_wireguard_go),
		cmocka_unit_test_setup_teardown(test_cookie_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cookie_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_replies, setup, teardown),
	};

	if (crypto_init() < 0 || wg_recording_load(&rec) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
