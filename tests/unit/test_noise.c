/*
 * Noise_IKpsk2 handshake: in-process exchanges, every rejection path, and a
 * recorded exchange with real wireguard-go (tests/unit/data/wg_go_handshake.hex,
 * re-recorded by tests/tools/record_wg_handshake.py) replayed byte for byte.
 */
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

#define MS (1000ULL * 1000ULL)
#define T0 (1000ULL * NSEC_PER_SEC)   /* some monotonic time */

struct side {
	struct noise_static_identity id;
	struct noise_handshake hs;
};

static void make_identity(struct noise_static_identity *id, uint8_t seed)
{
	uint8_t priv[32];

	for (int i = 0; i < 32; i++)
		priv[i] = (uint8_t)(seed * 37 + i);
	assert_int_equal(noise_static_identity_set(id, priv), 0);
	assert_true(id->has_identity);
}

static void make_pair(struct side *a, struct side *b, const uint8_t *psk_a, const uint8_t *psk_b)
{
	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	make_identity(&a->id, 1);
	make_identity(&b->id, 2);
	assert_int_equal(noise_handshake_init(&a->hs, &a->id, b->id.public_key, psk_a), 0);
	assert_int_equal(noise_handshake_init(&b->hs, &b->id, a->id.public_key, psk_b), 0);
}

static void timestamp_at(uint8_t ts[12], uint64_t secs)
{
	noise_tai64n(ts, secs * NSEC_PER_SEC);
}

/* Runs a whole exchange a -> b; returns the first failing step's error. */
static int exchange(struct side *a, struct side *b, uint64_t now_mono, uint64_t ts_secs,
		    struct noise_session_keys *ka, struct noise_session_keys *kb)
{
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct noise_initiation_result r;
	uint8_t eph[32], ts[12];
	int err;

	crypto_random(eph, sizeof(eph));
	timestamp_at(ts, ts_secs);
	err = noise_handshake_create_initiation_ex(&a->hs, &a->id, &init, 0xa1a1a1a1, eph, ts);
	if (err)
		return err;
	err = noise_initiation_open(&b->id, &init, &r);
	if (err)
		return err;
	assert_memory_equal(r.remote_static, a->id.public_key, 32);
	err = noise_handshake_accept_initiation(&b->hs, &r, now_mono);
	crypto_wipe(&r, sizeof(r));
	if (err)
		return err;
	err = noise_handshake_create_response(&b->hs, &resp, 0xb2b2b2b2);
	if (err)
		return err;
	err = noise_handshake_consume_response(&a->hs, &a->id, &resp);
	if (err)
		return err;
	err = noise_handshake_derive_keys(&a->hs, ka);
	if (err)
		return err;
	return noise_handshake_derive_keys(&b->hs, kb);
}

static void check_keys(const struct noise_session_keys *ka, const struct noise_session_keys *kb)
{
	assert_true(ka->i_am_initiator);
	assert_false(kb->i_am_initiator);
	assert_memory_equal(ka->sending, kb->receiving, 32);
	assert_memory_equal(ka->receiving, kb->sending, 32);
	assert_memory_not_equal(ka->sending, ka->receiving, 32);
	assert_int_equal(ka->local_index, 0xa1a1a1a1);
	assert_int_equal(ka->remote_index, 0xb2b2b2b2);
	assert_int_equal(kb->local_index, 0xb2b2b2b2);
	assert_int_equal(kb->remote_index, 0xa1a1a1a1);
}

static void test_handshake_no_psk(void **state)
{
	struct side a, b;
	struct noise_session_keys ka, kb;

	(void)state;
	make_pair(&a, &b, NULL, NULL);
	assert_int_equal(exchange(&a, &b, T0, 1000, &ka, &kb), 0);
	check_keys(&ka, &kb);
	/* The handshakes are zeroed but keep what later exchanges need. */
	assert_int_equal(a.hs.state, HANDSHAKE_ZEROED);
	assert_int_equal(b.hs.state, HANDSHAKE_ZEROED);
	assert_true(a.hs.has_static_static);
	assert_memory_equal(b.hs.remote_static, a.id.public_key, 32);
	/* A second exchange yields fresh keys. */
	struct noise_session_keys ka2, kb2;
	assert_int_equal(exchange(&a, &b, T0 + NSEC_PER_SEC, 1001, &ka2, &kb2), 0);
	check_keys(&ka2, &kb2);
	assert_memory_not_equal(ka.sending, ka2.sending, 32);
	/* And the other direction works too (b initiates). */
	assert_int_equal(exchange(&b, &a, T0 + 2 * NSEC_PER_SEC, 1002, &kb2, &ka2), 0);
	assert_memory_equal(kb2.sending, ka2.receiving, 32);
}

static void test_handshake_psk(void **state)
{
	struct side a, b;
	struct noise_session_keys ka, kb, ka0, kb0;
	uint8_t psk[32];

	(void)state;
	memset(psk, 0x5a, sizeof(psk));
	make_pair(&a, &b, psk, psk);
	assert_int_equal(exchange(&a, &b, T0, 1000, &ka, &kb), 0);
	check_keys(&ka, &kb);
	/* Same identities without psk give other keys (the psk is mixed in). */
	make_pair(&a, &b, NULL, NULL);
	assert_int_equal(exchange(&a, &b, T0, 1000, &ka0, &kb0), 0);
	assert_memory_not_equal(ka.sending, ka0.sending, 32);
}

static void test_wrong_psk(void **state)
{
	struct side a, b;
	struct noise_session_keys ka, kb;
	uint8_t psk[32], other[32];

	(void)state;
	memset(psk, 0x5a, sizeof(psk));
	memset(other, 0x5b, sizeof(other));
	make_pair(&a, &b, psk, other);
	assert_int_equal(exchange(&a, &b, T0, 1000, &ka, &kb), -EBADMSG);
	assert_int_equal(a.hs.state, HANDSHAKE_CREATED_INITIATION);   /* unchanged */
	/* psk on one side only */
	make_pair(&a, &b, psk, NULL);
	assert_int_equal(exchange(&a, &b, T0, 1000, &ka, &kb), -EBADMSG);
	noise_handshake_set_psk(&a.hs, NULL);
	assert_int_equal(exchange(&a, &b, T0 + NSEC_PER_SEC, 1001, &ka, &kb), 0);
	check_keys(&ka, &kb);
}

static void test_wrong_static_key(void **state)
{
	struct side a, b;
	struct noise_static_identity c;
	struct message_handshake_initiation init;
	struct noise_initiation_result r;

	(void)state;
	make_pair(&a, &b, NULL, NULL);
	make_identity(&c, 3);
	assert_int_equal(noise_handshake_create_initiation(&a.hs, &a.id, &init, 7,
							   1700000000ULL * NSEC_PER_SEC), 0);
	/* Addressed to b: c cannot open it. */
	assert_int_equal(noise_initiation_open(&c, &init, &r), -EBADMSG);
	assert_int_equal(noise_initiation_open(&b.id, &init, &r), 0);
	/* b's handshake with some other peer refuses a result from a. */
	struct noise_handshake other;
	assert_int_equal(noise_handshake_init(&other, &b.id, c.public_key, NULL), 0);
	assert_int_equal(noise_handshake_accept_initiation(&other, &r, T0), -EINVAL);
	assert_int_equal(other.state, HANDSHAKE_ZEROED);
	crypto_wipe(&r, sizeof(r));
	/* No identity: nothing can be opened or started. */
	struct noise_static_identity none;
	assert_int_equal(noise_static_identity_set(&none, NULL), 0);
	assert_false(none.has_identity);
	assert_int_equal(noise_initiation_open(&none, &init, &r), -EINVAL);
	struct noise_handshake hs_none;
	assert_int_equal(noise_handshake_init(&hs_none, &none, b.id.public_key, NULL), 0);
	assert_int_equal(noise_handshake_create_initiation(&hs_none, &none, &init, 1, 0), -EINVAL);
	assert_int_equal(noise_handshake_precompute(&hs_none, &a.id), 0);
	assert_int_equal(noise_handshake_create_initiation(&hs_none, &a.id, &init, 1, 0), 0);
}

static void test_low_order_peer_key(void **state)
{
	/* Points of small order on Curve25519 (RFC 7748 section 6.1 discussion;
	 * the list used by several implementations' blacklists). */
	static const uint8_t zero[32] = { 0 };
	static const uint8_t one[32] = { 1 };
	static const uint8_t order8[32] = {
		0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
		0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
		0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00,
	};
	struct noise_static_identity id;
	struct noise_handshake hs;

	(void)state;
	make_identity(&id, 4);
	assert_int_equal(noise_handshake_init(&hs, &id, zero, NULL), -EINVAL);
	assert_int_equal(noise_handshake_init(&hs, &id, one, NULL), -EINVAL);
	assert_int_equal(noise_handshake_init(&hs, &id, order8, NULL), -EINVAL);
	assert_int_equal(noise_handshake_init(&hs, NULL, order8, NULL), -EINVAL);
}

static void test_replay_and_flood(void **state)
{
	struct side a, b;
	struct message_handshake_initiation init1, init2, init0;
	struct noise_initiation_result r;
	uint8_t eph[32], ts[12];

	(void)state;
	make_pair(&a, &b, NULL, NULL);
	crypto_random(eph, sizeof(eph));
	timestamp_at(ts, 999);
	assert_int_equal(noise_handshake_create_initiation_ex(&a.hs, &a.id, &init0, 1, eph, ts), 0);
	timestamp_at(ts, 1000);
	assert_int_equal(noise_handshake_create_initiation_ex(&a.hs, &a.id, &init1, 1, eph, ts), 0);
	timestamp_at(ts, 1001);
	assert_int_equal(noise_handshake_create_initiation_ex(&a.hs, &a.id, &init2, 1, eph, ts), 0);

	assert_int_equal(noise_initiation_open(&b.id, &init1, &r), 0);
	assert_int_equal(noise_handshake_accept_initiation(&b.hs, &r, T0), 0);
	assert_int_equal(b.hs.state, HANDSHAKE_CONSUMED_INITIATION);
	/* The same message again, much later: replay. */
	assert_int_equal(noise_initiation_open(&b.id, &init1, &r), 0);
	assert_int_equal(noise_handshake_accept_initiation(&b.hs, &r, T0 + 10 * NSEC_PER_SEC),
			 -EALREADY);
	/* An older one: replay too. */
	assert_int_equal(noise_initiation_open(&b.id, &init0, &r), 0);
	assert_int_equal(noise_handshake_accept_initiation(&b.hs, &r, T0 + 10 * NSEC_PER_SEC),
			 -EALREADY);
	/* A newer one, 19 ms after the last: flood; at 20 ms: fine. */
	assert_int_equal(noise_initiation_open(&b.id, &init2, &r), 0);
	assert_int_equal(noise_handshake_accept_initiation(&b.hs, &r, T0 + 19 * MS), -EAGAIN);
	assert_int_equal(noise_handshake_accept_initiation(&b.hs, &r, T0 + 20 * MS), 0);
	crypto_wipe(&r, sizeof(r));
	/* Replay memory survives the end of an exchange. */
	struct message_handshake_response resp;
	struct noise_session_keys kb;
	assert_int_equal(noise_handshake_create_response(&b.hs, &resp, 9), 0);
	assert_int_equal(noise_handshake_derive_keys(&b.hs, &kb), 0);
	assert_int_equal(noise_initiation_open(&b.id, &init2, &r), 0);
	assert_int_equal(noise_handshake_accept_initiation(&b.hs, &r, T0 + 100 * NSEC_PER_SEC),
			 -EALREADY);
}

static void test_corrupted_initiation(void **state)
{
	struct side a, b;
	struct message_handshake_initiation init, bad;
	struct noise_initiation_result r;

	(void)state;
	make_pair(&a, &b, NULL, NULL);
	assert_int_equal(noise_handshake_create_initiation(&a.hs, &a.id, &init, 5,
							   1700000000ULL * NSEC_PER_SEC), 0);
	/* Every byte the handshake covers: type, ephemeral, static, timestamp.
	 * (sender_index is not authenticated by Noise; mac1 covers it.) */
	for (size_t i = 0; i < offsetof(struct message_handshake_initiation, macs); i++) {
		if (i >= 4 && i < 8)
			continue;
		bad = init;
		((uint8_t *)&bad)[i] ^= 0x01;
		assert_int_not_equal(noise_initiation_open(&b.id, &bad, &r), 0);
	}
	assert_int_equal(noise_initiation_open(&b.id, &init, &r), 0);
	assert_int_equal(r.remote_index, 5);
}

static void test_corrupted_response(void **state)
{
	struct side a, b;
	struct message_handshake_initiation init;
	struct message_handshake_response resp, bad;
	struct noise_initiation_result r;
	struct noise_session_keys ka, kb;

	(void)state;
	make_pair(&a, &b, NULL, NULL);
	assert_int_equal(noise_handshake_create_initiation(&a.hs, &a.id, &init, 5,
							   1700000000ULL * NSEC_PER_SEC), 0);
	assert_int_equal(noise_initiation_open(&b.id, &init, &r), 0);
	assert_int_equal(noise_handshake_accept_initiation(&b.hs, &r, T0), 0);
	assert_int_equal(noise_handshake_create_response(&b.hs, &resp, 6), 0);
	assert_int_equal(le32toh(resp.receiver_index), 5);
	for (size_t i = 0; i < offsetof(struct message_handshake_response, macs); i++) {
		if (i >= 4 && i < 8)   /* sender index: not authenticated by Noise */
			continue;
		bad = resp;
		((uint8_t *)&bad)[i] ^= 0x80;
		assert_int_not_equal(noise_handshake_consume_response(&a.hs, &a.id, &bad), 0);
		assert_int_equal(a.hs.state, HANDSHAKE_CREATED_INITIATION);
	}
	/* Derive before the exchange is complete: refused. */
	assert_int_equal(noise_handshake_derive_keys(&a.hs, &ka), -EINVAL);
	assert_int_equal(noise_handshake_consume_response(&a.hs, &a.id, &resp), 0);
	/* A second response to the same initiation: wrong state. */
	assert_int_equal(noise_handshake_consume_response(&a.hs, &a.id, &resp), -EINVAL);
	assert_int_equal(noise_handshake_derive_keys(&a.hs, &ka), 0);
	assert_int_equal(noise_handshake_derive_keys(&b.hs, &kb), 0);
	assert_memory_equal(ka.sending, kb.receiving, 32);
	/* No response can be made without a consumed initiation. */
	assert_int_equal(noise_handshake_create_response(&b.hs, &resp, 6), -EINVAL);
}

static void test_tai64n(void **state)
{
	uint8_t ts[12];
	static const uint8_t epoch[12] = { 0x40, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0 };
	/* 2023-11-14 22:13:20.123456789 UTC; ns rounded down to a multiple of 2^24. */
	static const uint8_t t1[12] = { 0x40, 0, 0, 0, 0x65, 0x53, 0xf1, 0x0a,
					0x07, 0x00, 0x00, 0x00 };

	(void)state;
	noise_tai64n(ts, 0);
	assert_memory_equal(ts, epoch, 12);
	noise_tai64n(ts, 1700000000ULL * NSEC_PER_SEC + 123456789ULL);
	assert_memory_equal(ts, t1, 12);
}

/* ---- Recorded exchange with wireguard-go ---- */

static void check_ipv4_icmp(const uint8_t *p, size_t len, uint8_t icmp_type)
{
	static const uint8_t src[4] = { 10, 99, 0, 1 }, dst[4] = { 10, 99, 0, 2 };

	assert_true(len >= 28);
	assert_int_equal(p[0], 0x45);
	assert_int_equal(p[9], 1);           /* ICMP */
	assert_memory_equal(p + 12, src, 4);
	assert_memory_equal(p + 16, dst, 4);
	assert_int_equal(p[20], icmp_type);
}

static void decrypt_data(const uint8_t *msg, size_t len, const uint8_t key[32],
			 uint32_t expect_index, uint8_t *plain)
{
	const struct message_data *d = (const void *)msg;

	assert_int_equal(message_type_of(msg, len), MESSAGE_DATA);
	assert_int_equal(le32toh(d->key_idx), expect_index);
	assert_int_equal(aead_decrypt(plain, msg + MESSAGE_DATA_HEADER_LEN,
				      len - MESSAGE_DATA_HEADER_LEN, NULL, 0,
				      le64toh(d->counter), key), 0);
}

static void test_wireguard_go_initiates(void **state)
{
	struct noise_static_identity ours, go;
	struct noise_handshake hs;
	struct noise_initiation_result r;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct noise_session_keys keys;
	struct cookie_checker cc;
	struct cookie_maker cm;
	uint8_t plain[sizeof(rec.data_go_1)];
	const uint32_t idx_r = wg_recording_index(rec.idx_r);

	(void)state;
	assert_int_equal(noise_static_identity_set(&ours, rec.our_private), 0);
	assert_int_equal(noise_static_identity_set(&go, rec.go_private), 0);
	assert_int_equal(message_type_of(rec.init_go, sizeof(rec.init_go)),
			 MESSAGE_HANDSHAKE_INITIATION);
	memcpy(&init, rec.init_go, sizeof(init));

	/* wireguard-go's mac1 verifies against our public key. */
	cookie_checker_init(&cc);
	cookie_checker_set_public_key(&cc, ours.public_key);
	assert_int_equal(cookie_checker_validate(&cc, &init, sizeof(init), NULL, 0, T0, false),
			 COOKIE_MAC_VALID_NO_COOKIE);

	/* We find its static key inside. */
	assert_int_equal(noise_initiation_open(&ours, &init, &r), 0);
	assert_memory_equal(r.remote_static, go.public_key, 32);
	assert_int_equal(noise_handshake_init(&hs, &ours, go.public_key, rec.psk), 0);
	assert_int_equal(noise_handshake_accept_initiation(&hs, &r, T0), 0);
	crypto_wipe(&r, sizeof(r));

	/* Our response is exactly the one wireguard-go accepted. */
	assert_int_equal(noise_handshake_create_response_ex(&hs, &resp, idx_r, rec.eph_r), 0);
	cookie_maker_init(&cm, go.public_key);
	assert_int_equal(cookie_add_macs(&cm, &resp, sizeof(resp), T0), 0);
	assert_memory_equal(&resp, rec.resp_ours, sizeof(resp));

	/* Its first data packet (the ping) decrypts with our receiving key. */
	assert_int_equal(noise_handshake_derive_keys(&hs, &keys), 0);
	assert_false(keys.i_am_initiator);
	decrypt_data(rec.data_go_1, sizeof(rec.data_go_1), keys.receiving, idx_r, plain);
	check_ipv4_icmp(plain, sizeof(rec.data_go_1) - 32, 8);   /* echo request */
	cookie_checker_clear(&cc);
}

static void test_we_initiate_to_wireguard_go(void **state)
{
	struct noise_static_identity ours, go;
	struct noise_handshake hs;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct noise_session_keys keys;
	struct cookie_checker cc;
	struct cookie_maker cm;
	uint8_t plain[sizeof(rec.data_go_2)];
	const uint32_t idx_i = wg_recording_index(rec.idx_i);

	(void)state;
	assert_int_equal(noise_static_identity_set(&ours, rec.our_private), 0);
	assert_int_equal(noise_static_identity_set(&go, rec.go_private), 0);
	assert_int_equal(noise_handshake_init(&hs, &ours, go.public_key, rec.psk), 0);

	/* Re-creating the recorded initiation gives the same bytes. */
	assert_int_equal(noise_handshake_create_initiation_ex(&hs, &ours, &init, idx_i,
							      rec.eph_i, rec.timestamp), 0);
	cookie_maker_init(&cm, go.public_key);
	assert_int_equal(cookie_add_macs(&cm, &init, sizeof(init), T0), 0);
	assert_memory_equal(&init, rec.init_ours, sizeof(init));

	/* wireguard-go's response: mac1 for our key, and it completes the handshake. */
	assert_int_equal(message_type_of(rec.resp_go, sizeof(rec.resp_go)),
			 MESSAGE_HANDSHAKE_RESPONSE);
	memcpy(&resp, rec.resp_go, sizeof(resp));
	cookie_checker_init(&cc);
	cookie_checker_set_public_key(&cc, ours.public_key);
	assert_int_equal(cookie_checker_validate(&cc, &resp, sizeof(resp), NULL, 0, T0, false),
			 COOKIE_MAC_VALID_NO_COOKIE);
	assert_int_equal(noise_handshake_consume_response(&hs, &ours, &resp), 0);
	assert_int_equal(noise_handshake_derive_keys(&hs, &keys), 0);
	assert_true(keys.i_am_initiator);
	assert_int_equal(keys.remote_index, le32toh(resp.sender_index));

	/* Our echo request was encrypted with our sending key... */
	uint8_t mine[sizeof(rec.data_ours_2)];
	decrypt_data(rec.data_ours_2, sizeof(rec.data_ours_2), keys.sending,
		     keys.remote_index, mine);
	/* ... and wireguard-go's echo reply decrypts with our receiving key. */
	decrypt_data(rec.data_go_2, sizeof(rec.data_go_2), keys.receiving, idx_i, plain);
	check_ipv4_icmp(plain, sizeof(rec.data_go_2) - 32, 0);   /* echo reply */
	cookie_checker_clear(&cc);
}

static int setup(void **state)
{
	(void)state;
	if (wg_recording_load(&rec) < 0)
		return -1;
	return crypto_init();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_no_psk),
		cmocka_unit_test(test_handshake_psk),
		cmocka_unit_test(test_wrong_psk),
		cmocka_unit_test(test_wrong_static_key),
		cmocka_unit_test(test_low_order_peer_key),
		cmocka_unit_test(test_replay_and_flood),
		cmocka_unit_test(test_corrupted_initiation),
		cmocka_unit_test(test_corrupted_response),
		cmocka_unit_test(test_tai64n),
		cmocka_unit_test(test_wireguard_go_initiates),
		cmocka_unit_test(test_we_initiate_to_wireguard_go),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
