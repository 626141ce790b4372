/*
 * Unit tests for src/crypto: published vectors wherever they exist.
 * Sources are named next to each vector. Values marked "Python" were
 * computed with CPython's hashlib.blake2s / hmac (an independent
 * implementation) and embedded here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

/* Decodes hex (no separators) into a fresh buffer; *len gets the byte count. */
static uint8_t *unhex(const char *hex, size_t *len)
{
	size_t n = strlen(hex);
	assert_true(n % 2 == 0);
	uint8_t *out = malloc(n / 2 + 1);   /* +1: never malloc(0) */
	assert_non_null(out);
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	if (len)
		*len = n / 2;
	return out;
}

/* Fills a fixed-size array from hex of exactly that size. */
static void unhex_to(uint8_t *dst, size_t dstlen, const char *hex)
{
	size_t n;
	uint8_t *b = unhex(hex, &n);
	assert_int_equal(n, dstlen);
	memcpy(dst, b, n);
	free(b);
}

static void assert_hex(const uint8_t *got, size_t len, const char *hex)
{
	size_t n;
	uint8_t *want = unhex(hex, &n);
	assert_int_equal(n, len);
	if (memcmp(got, want, len) != 0) {
		char buf[1024] = "";
		for (size_t i = 0; i < len && 2 * i + 2 < sizeof(buf); i++)
			snprintf(buf + 2 * i, 3, "%02x", got[i]);
		print_error("got  %s\nwant %s\n", buf, hex);
		free(want);
		fail();
	}
	free(want);
}

static int setup(void **state)
{
	(void)state;
	return crypto_init();
}

static int teardown(void **state)
{
	(void)state;
	crypto_cleanup();
	return 0;
}

/* ---- helpers ---- */

static void test_equal_and_wipe(void **state)
{
	(void)state;
	uint8_t a[40], b[40];
	memset(a, 0x5a, sizeof(a));
	memcpy(b, a, sizeof(b));
	assert_true(crypto_equal(a, b, sizeof(a)));
	b[39] ^= 1;
	assert_false(crypto_equal(a, b, sizeof(a)));
	assert_true(crypto_equal(a, b, 39));
	crypto_wipe(a, sizeof(a));
	for (size_t i = 0; i < sizeof(a); i++)
		assert_int_equal(a[i], 0);
	crypto_wipe(NULL, 0);
}

static void test_random(void **state)
{
	(void)state;
	uint8_t a[64], b[64], zero[64] = { 0 };
	crypto_random(a, sizeof(a));
	crypto_random(b, sizeof(b));
	/* 2^-512 chance of a false failure. */
	assert_false(crypto_equal(a, b, sizeof(a)));
	assert_false(crypto_equal(a, zero, sizeof(a)));
	/* Larger than one getrandom() call may return for some kernels. */
	size_t big = 1 << 20;
	uint8_t *p = calloc(1, big);
	assert_non_null(p);
	crypto_random(p, big);
	assert_false(crypto_equal(p + big - 64, zero, 64));
	free(p);
}

/* Every entry point must work before crypto_init() (lazy init). */
static void test_lazy_init(void **state)
{
	(void)state;
	uint8_t h[32];
	crypto_cleanup();
	blake2s_hash(h, "abc", 3);
	assert_hex(h, 32, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	crypto_cleanup();
	uint8_t key[32] = { 1 }, buf[16 + 16] = { 0 };
	assert_int_equal(aead_encrypt(buf, buf, 16, NULL, 0, 0, key), 0);
	crypto_cleanup();
	struct aead_ctx ctx;
	assert_int_equal(aead_ctx_init(&ctx, key, false), 0);
	assert_int_equal(aead_ctx_open(&ctx, 0, buf, 16, buf + 16), 0);
	aead_ctx_free(&ctx);
	crypto_cleanup();
	assert_int_equal(crypto_init(), 0);
	assert_int_equal(crypto_init(), 0);   /* idempotent */
}

/* ---- BLAKE2s ---- */

static void test_blake2s_rfc7693(void **state)
{
	(void)state;
	uint8_t h[32];
	/* RFC 7693 Appendix B: BLAKE2s-256("abc"). */
	blake2s_hash(h, "abc", 3);
	assert_hex(h, 32, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	blake2s_hash2(h, "a", 1, "bc", 2);
	assert_hex(h, 32, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	blake2s_hash2(h, "abc", 3, NULL, 0);
	assert_hex(h, 32, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
}

static void test_blake2s_wireguard_constants(void **state)
{
	(void)state;
	/*
	 * WireGuard's initial chaining key and hash (the whitepaper's
	 * Construction/Identifier strings; the same constants appear in
	 * wireguard-go and the kernel's noise.c).
	 */
	static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
	static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
	uint8_t ck[32], h[32];
	blake2s_hash(ck, construction, strlen(construction));
	assert_hex(ck, 32, "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");
	blake2s_hash2(h, ck, 32, identifier, strlen(identifier));
	assert_hex(h, 32, "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3");
}

static void test_blake2s_keyed_kat(void **state)
{
	(void)state;
	/*
	 * BLAKE2 reference KAT, testvectors/blake2s-kat.txt (github.com/BLAKE2/BLAKE2):
	 * key = 00 01 .. 1f, in = 00 01 .. (len-1).
	 */
	static const struct { size_t len; const char *hash; } kat[] = {
		{ 0, "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49" },
		{ 1, "40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1" },
		{ 2, "6bb71300644cd3991b26ccd4d274acd1adeab8b1d7914546c1198bbe9fc9d803" },
		{ 3, "1d220dbe2ee134661fdf6d9e74b41704710556f2f6e5a091b227697445dbea6b" },
		{ 64, "8975b0577fd35566d750b362b0897a26c399136df07bababbde6203ff2954ed4" },
		{ 65, "21fe0ceb0052be7fb0f004187cacd7de67fa6eb0938d927677f2398c132317a8" },
		{ 255, "3fb735061abc519dfe979e54c1ee5bfad0a9d858b3315bad34bde999efd724dd" },
	};
	uint8_t key[32], in[256], h[32];
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		blake2s_mac(h, 32, key, 32, in, kat[i].len);
		assert_hex(h, 32, kat[i].hash);
	}
}

static void test_blake2s_mac16(void **state)
{
	(void)state;
	/* Python: hashlib.blake2s(data, key=key, digest_size=N).hexdigest(). */
	uint8_t key[32], in[116], h[32];
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 116; i++)
		in[i] = (uint8_t)i;
	blake2s_mac(h, 16, key, 32, "", 0);
	assert_hex(h, 16, "9536f9b267655743dee97b8a670f9f53");
	/* 116 bytes: the part of a handshake initiation that mac1 covers. */
	blake2s_mac(h, 16, key, 32, in, 116);
	assert_hex(h, 16, "072e94ffbfc684bd8ab2a1b9dade2fd5");
	static const char fox[] = "The quick brown fox jumps over the lazy dog";
	blake2s_mac(h, 16, "key", 3, fox, strlen(fox));
	assert_hex(h, 16, "f7e1470b0b9afb58dcbafccb1b8b8530");
	blake2s_mac(h, 1, key, 32, "abc", 3);
	assert_hex(h, 1, "d1");
	/* The output length is part of the parameter block, not a truncation. */
	uint8_t h32[32];
	blake2s_mac(h32, 32, key, 32, in, 116);
	assert_false(crypto_equal(h, h32, 16));
}

static void test_hmac_blake2s(void **state)
{
	(void)state;
	/* Python: hmac.new(key, msg, hashlib.blake2s).hexdigest(). */
	uint8_t key[100], h[32];
	for (int i = 0; i < 100; i++)
		key[i] = (uint8_t)i;
	static const char fox[] = "The quick brown fox jumps over the lazy dog";
	hmac_blake2s(h, key, 32, fox, strlen(fox));
	assert_hex(h, 32, "f4660dee21c6a48e2a3d695ceedc26693e37b64b5ac5227476578517ee87fe6d");
	hmac_blake2s(h, "key", 3, "", 0);
	assert_hex(h, 32, "67148074efc0f6741b474ef81c4d98d266e880d372fe723d2569b1d414d234be");
	/* A key longer than the 64-byte block is hashed first (RFC 2104). */
	hmac_blake2s(h, key, 100, "Hi There", 8);
	assert_hex(h, 32, "cdec9371ffcb8b2a1fa8150ed561acca179b866f17b1d5855712bee2f1e1e0c0");
}

static void test_kdf_blake2s(void **state)
{
	(void)state;
	/*
	 * Python: t0 = HMAC(ck, input); t1 = HMAC(t0, 01); t2 = HMAC(t0, t1||02);
	 * t3 = HMAC(t0, t2||03), with ck = 00..1f.
	 */
	uint8_t ck[32], in[32], o1[32], o2[32], o3[32];
	for (int i = 0; i < 32; i++) {
		ck[i] = (uint8_t)i;
		in[i] = (uint8_t)(32 + i);
	}
	static const char *const want_in[3] = {
		"6a96444e20e8d4c1cee974416acae1c10b3c92886010e54ed94dafb2c3b80ea0",
		"57af120b0de7acbe7907ec149c5ae870a2dbb74232b65777ba4123f1f7f888f5",
		"0926c7caabb6e8d73beda759e6f4f0d324ce5b5000bcf8cd784b26db3049faa9",
	};
	static const char *const want_empty[3] = {
		"7a38c34bf2b8738d7374ca77c44ecb309a11d2b2528304fa86052c365e722624",
		"1a17621f346abdc520746a9fb64d8eb03231d674fc15687537b0780fd9c060fd",
		"4eaf02809ac4b930ef63479de62275f1c55656e61f78a3cc653c18a2223d6c5f",
	};
	kdf_blake2s(o1, o2, o3, ck, in, sizeof(in));
	assert_hex(o1, 32, want_in[0]);
	assert_hex(o2, 32, want_in[1]);
	assert_hex(o3, 32, want_in[2]);
	kdf_blake2s(o1, o2, o3, ck, NULL, 0);
	assert_hex(o1, 32, want_empty[0]);
	assert_hex(o2, 32, want_empty[1]);
	assert_hex(o3, 32, want_empty[2]);

	/* KDF1 / KDF2 are prefixes of KDF3. */
	memset(o2, 0xee, sizeof(o2));
	kdf_blake2s(o1, NULL, NULL, ck, in, sizeof(in));
	assert_hex(o1, 32, want_in[0]);
	kdf_blake2s(o1, o2, NULL, ck, in, sizeof(in));
	assert_hex(o1, 32, want_in[0]);
	assert_hex(o2, 32, want_in[1]);
	/* The chaining key may be one of the outputs, as in the handshake. */
	memcpy(o1, ck, 32);
	kdf_blake2s(o1, o2, NULL, o1, in, sizeof(in));
	assert_hex(o1, 32, want_in[0]);
	assert_hex(o2, 32, want_in[1]);
	kdf_blake2s(NULL, NULL, NULL, ck, in, sizeof(in));   /* harmless */
}

/* ---- X25519 ---- */

static void test_x25519_rfc7748_5_2(void **state)
{
	(void)state;
	/* RFC 7748 section 5.2. The second u has its top bit set (must be masked). */
	static const struct { const char *k, *u, *out; } v[] = {
		{ "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
		  "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
		  "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552" },
		{ "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
		  "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
		  "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957" },
	};
	uint8_t k[32], u[32], out[32];
	for (size_t i = 0; i < 2; i++) {
		unhex_to(k, 32, v[i].k);
		unhex_to(u, 32, v[i].u);
		assert_int_equal(x25519_shared(out, k, u), 0);
		assert_hex(out, 32, v[i].out);
	}
}

static void test_x25519_rfc7748_iterated(void **state)
{
	(void)state;
	/* RFC 7748 section 5.2, iterated: k = u = 9; (k, u) = (X25519(k, u), k). */
	uint8_t k[32] = { 9 }, u[32] = { 9 }, r[32];
	for (int i = 1; i <= 1000; i++) {
		assert_int_equal(x25519_shared(r, k, u), 0);
		memcpy(u, k, 32);
		memcpy(k, r, 32);
		if (i == 1)
			assert_hex(k, 32, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
	}
	assert_hex(k, 32, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

static void test_x25519_rfc7748_6_1(void **state)
{
	(void)state;
	/* RFC 7748 section 6.1: Alice and Bob. */
	uint8_t a[32], b[32], apub[32], bpub[32], s1[32], s2[32];
	unhex_to(a, 32, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	unhex_to(b, 32, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	assert_int_equal(x25519_public(apub, a), 0);
	assert_hex(apub, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	assert_int_equal(x25519_public(bpub, b), 0);
	assert_hex(bpub, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	assert_int_equal(x25519_shared(s1, a, bpub), 0);
	assert_int_equal(x25519_shared(s2, b, apub), 0);
	assert_hex(s1, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	assert_hex(s2, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
}

static void test_x25519_low_order(void **state)
{
	(void)state;
	uint8_t priv[32], out[32], pub[32] = { 0 };
	x25519_generate(priv);
	memset(out, 0xaa, sizeof(out));
	/* u = 0 and u = 1 are low-order points: the shared secret is all zeros. */
	assert_int_equal(x25519_shared(out, priv, pub), -1);
	pub[0] = 1;
	assert_int_equal(x25519_shared(out, priv, pub), -1);
	/* u = p - 1 = 2^255 - 20 (order 2), little-endian. */
	memset(pub, 0xff, 32);
	pub[0] = 0xec;
	pub[31] = 0x7f;
	assert_int_equal(x25519_shared(out, priv, pub), -1);
	/* A point of order 8 (from the list used by libsodium and the kernel). */
	unhex_to(pub, 32, "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
	assert_int_equal(x25519_shared(out, priv, pub), -1);
	/* A failed derivation leaves no partial secret behind. */
	uint8_t zero[32] = { 0 };
	assert_true(crypto_equal(out, zero, 32));
}

static void test_x25519_generate(void **state)
{
	(void)state;
	uint8_t a[32], b[32], apub[32], bpub[32], s1[32], s2[32];
	x25519_generate(a);
	x25519_generate(b);
	assert_int_equal(a[0] & 7, 0);
	assert_int_equal(a[31] & 0xc0, 0x40);
	assert_false(crypto_equal(a, b, 32));
	assert_int_equal(x25519_public(apub, a), 0);
	assert_int_equal(x25519_public(bpub, b), 0);
	assert_int_equal(x25519_shared(s1, a, bpub), 0);
	assert_int_equal(x25519_shared(s2, b, apub), 0);
	assert_memory_equal(s1, s2, 32);

	uint8_t c[32];
	memset(c, 0xff, 32);
	x25519_clamp(c);
	assert_hex(c, 32, "f8ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
}

/* ---- ChaCha20-Poly1305 ---- */

/* RFC 8439 Appendix A.5 (nonce 00000000 0102030405060708 = WireGuard counter 0x0807060504030201). */
static const char a5_key[] = "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0";
static const uint64_t a5_nonce = 0x0807060504030201ULL;
static const char a5_aad[] = "f33388860000000000004e91";
static const char a5_tag[] = "eead9d67890cbb22392336fea1851f38";
static const char a5_ct[] =
	"64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2"
	"4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf"
	"332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855"
	"9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4"
	"b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e"
	"af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a"
	"0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10"
	"49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29"
	"a6ad5cb4022b02709b";
static const char a5_pt[] =
	"496e7465726e65742d4472616674732061726520647261667420646f63756d65"
	"6e74732076616c696420666f722061206d6178696d756d206f6620736978206d"
	"6f6e74687320616e64206d617920626520757064617465642c207265706c6163"
	"65642c206f72206f62736f6c65746564206279206f7468657220646f63756d65"
	"6e747320617420616e792074696d652e20497420697320696e617070726f7072"
	"6961746520746f2075736520496e7465726e65742d4472616674732061732072"
	"65666572656e6365206d6174657269616c206f7220746f206369746520746865"
	"6d206f74686572207468616e206173202fe2809c776f726b20696e2070726f67"
	"726573732e2fe2809d";

static void test_aead_rfc8439_a5(void **state)
{
	(void)state;
	uint8_t key[32];
	size_t ptlen, ctlen, adlen;
	unhex_to(key, 32, a5_key);
	uint8_t *pt = unhex(a5_pt, &ptlen);
	uint8_t *ct = unhex(a5_ct, &ctlen);
	uint8_t *ad = unhex(a5_aad, &adlen);
	assert_int_equal(ptlen, 265);
	assert_int_equal(ctlen, ptlen);

	/* Decrypt the published ciphertext || tag. */
	uint8_t *sealed = malloc(ctlen + 16);
	uint8_t *out = malloc(ctlen + 16);
	assert_non_null(sealed);
	assert_non_null(out);
	memcpy(sealed, ct, ctlen);
	unhex_to(sealed + ctlen, 16, a5_tag);
	assert_int_equal(aead_decrypt(out, sealed, ctlen + 16, ad, adlen, a5_nonce, key), 0);
	assert_memory_equal(out, pt, ptlen);

	/* Encrypt gives the same bytes. */
	assert_int_equal(aead_encrypt(out, pt, ptlen, ad, adlen, a5_nonce, key), 0);
	assert_memory_equal(out, sealed, ctlen + 16);

	/* In place both ways. */
	memcpy(out, pt, ptlen);
	assert_int_equal(aead_encrypt(out, out, ptlen, ad, adlen, a5_nonce, key), 0);
	assert_memory_equal(out, sealed, ctlen + 16);
	assert_int_equal(aead_decrypt(out, out, ctlen + 16, ad, adlen, a5_nonce, key), 0);
	assert_memory_equal(out, pt, ptlen);

	/* Wrong AAD, nonce, key, tag or ciphertext: refused, output wiped. */
	ad[0] ^= 1;
	assert_int_equal(aead_decrypt(out, sealed, ctlen + 16, ad, adlen, a5_nonce, key), -1);
	ad[0] ^= 1;
	assert_int_equal(aead_decrypt(out, sealed, ctlen + 16, ad, adlen - 1, a5_nonce, key), -1);
	assert_int_equal(aead_decrypt(out, sealed, ctlen + 16, ad, adlen, a5_nonce + 1, key), -1);
	key[31] ^= 0x80;
	assert_int_equal(aead_decrypt(out, sealed, ctlen + 16, ad, adlen, a5_nonce, key), -1);
	key[31] ^= 0x80;
	sealed[ctlen + 15] ^= 0x01;
	assert_int_equal(aead_decrypt(out, sealed, ctlen + 16, ad, adlen, a5_nonce, key), -1);
	sealed[ctlen + 15] ^= 0x01;
	sealed[100] ^= 0x20;
	memset(out, 0x77, ctlen);
	assert_int_equal(aead_decrypt(out, sealed, ctlen + 16, ad, adlen, a5_nonce, key), -1);
	for (size_t i = 0; i < ctlen; i++)
		assert_int_equal(out[i], 0);
	sealed[100] ^= 0x20;
	assert_int_equal(aead_decrypt(out, sealed, ctlen + 16, ad, adlen, a5_nonce, key), 0);

	/* Too short to hold a tag. */
	assert_int_equal(aead_decrypt(out, sealed, 15, NULL, 0, 0, key), -1);
	assert_int_equal(aead_decrypt(out, sealed, 0, NULL, 0, 0, key), -1);

	free(pt);
	free(ct);
	free(ad);
	free(sealed);
	free(out);
}

static void test_aead_empty(void **state)
{
	(void)state;
	/* Handshake "empty" encryption: 0 bytes in, just a tag out, and back. */
	uint8_t key[32], tag[16], out[1];
	crypto_random(key, sizeof(key));
	assert_int_equal(aead_encrypt(tag, NULL, 0, (const uint8_t *)"h", 1, 0, key), 0);
	assert_int_equal(aead_decrypt(out, tag, 16, (const uint8_t *)"h", 1, 0, key), 0);
	assert_int_equal(aead_decrypt(out, tag, 16, (const uint8_t *)"H", 1, 0, key), -1);
}

/* The data-path context must produce exactly the one-shot bytes, packet after packet. */
static void test_aead_ctx_matches_oneshot(void **state)
{
	(void)state;
	static const size_t lens[] = { 0, 1, 15, 16, 63, 64, 65, 255, 1420, 4096 };
	static const uint64_t nonces[] = { 0, 1, 2, 0x0807060504030201ULL, UINT64_MAX - 1 };
	uint8_t key[32];
	struct aead_ctx enc, dec;
	crypto_random(key, sizeof(key));
	assert_int_equal(aead_ctx_init(&enc, key, true), 0);
	assert_int_equal(aead_ctx_init(&dec, key, false), 0);

	uint8_t *pt = malloc(4096), *ref = malloc(4096 + 16), *buf = malloc(4096);
	assert_non_null(pt);
	assert_non_null(ref);
	assert_non_null(buf);
	crypto_random(pt, 4096);
	for (size_t n = 0; n < sizeof(nonces) / sizeof(nonces[0]); n++) {
		for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
			size_t len = lens[l];
			uint8_t tag[16];
			assert_int_equal(aead_encrypt(ref, pt, len, NULL, 0, nonces[n], key), 0);
			memcpy(buf, pt, len);
			assert_int_equal(aead_ctx_seal(&enc, nonces[n], buf, len, tag), 0);
			assert_memory_equal(buf, ref, len);
			assert_memory_equal(tag, ref + len, 16);
			assert_int_equal(aead_ctx_open(&dec, nonces[n], buf, len, tag), 0);
			if (len)
				assert_memory_equal(buf, pt, len);
		}
	}
	/* Wrong direction is refused rather than silently doing the other thing. */
	uint8_t tag[16];
	assert_int_equal(aead_ctx_seal(&dec, 0, buf, 16, tag), -1);
	assert_int_equal(aead_ctx_open(&enc, 0, buf, 16, tag), -1);

	aead_ctx_free(&enc);
	aead_ctx_free(&dec);
	aead_ctx_free(&dec);   /* second free is a no-op */
	free(pt);
	free(ref);
	free(buf);
}

static void test_aead_ctx_rfc8439_a5(void **state)
{
	(void)state;
	/* A.5 has AAD, which the data path never uses: check the keystream part
	 * (ciphertext) against the vector and the tag against the one-shot form. */
	uint8_t key[32], tag[16];
	size_t ptlen, ctlen;
	unhex_to(key, 32, a5_key);
	uint8_t *pt = unhex(a5_pt, &ptlen);
	uint8_t *ct = unhex(a5_ct, &ctlen);
	uint8_t *ref = malloc(ptlen + 16);
	assert_non_null(ref);
	struct aead_ctx enc;
	assert_int_equal(aead_ctx_init(&enc, key, true), 0);
	uint8_t *buf = unhex(a5_pt, NULL);
	assert_int_equal(aead_ctx_seal(&enc, a5_nonce, buf, ptlen, tag), 0);
	assert_memory_equal(buf, ct, ctlen);
	assert_int_equal(aead_encrypt(ref, pt, ptlen, NULL, 0, a5_nonce, key), 0);
	assert_memory_equal(tag, ref + ptlen, 16);
	aead_ctx_free(&enc);
	free(pt);
	free(ct);
	free(ref);
	free(buf);
}

static void test_aead_ctx_tamper(void **state)
{
	(void)state;
	uint8_t key[32], pkt[1420], orig[1420], tag[16];
	struct aead_ctx enc, dec;
	crypto_random(key, sizeof(key));
	crypto_random(orig, sizeof(orig));
	assert_int_equal(aead_ctx_init(&enc, key, true), 0);
	assert_int_equal(aead_ctx_init(&dec, key, false), 0);
	memcpy(pkt, orig, sizeof(pkt));
	assert_int_equal(aead_ctx_seal(&enc, 42, pkt, sizeof(pkt), tag), 0);
	assert_false(crypto_equal(pkt, orig, sizeof(pkt)));
	uint8_t sealed[1420];
	memcpy(sealed, pkt, sizeof(pkt));

	/* A flipped bit anywhere in the ciphertext or the tag fails. */
	static const size_t bits[] = { 0, 7, 8 * 700 + 3, 8 * 1419 + 7 };
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		memcpy(pkt, sealed, sizeof(pkt));
		pkt[bits[i] / 8] ^= (uint8_t)(1u << (bits[i] % 8));
		assert_int_equal(aead_ctx_open(&dec, 42, pkt, sizeof(pkt), tag), -1);
	}
	for (int bit = 0; bit < 128; bit += 9) {
		uint8_t bad[16];
		memcpy(bad, tag, 16);
		bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		memcpy(pkt, sealed, sizeof(pkt));
		assert_int_equal(aead_ctx_open(&dec, 42, pkt, sizeof(pkt), bad), -1);
	}
	/* Wrong nonce, truncated packet. */
	memcpy(pkt, sealed, sizeof(pkt));
	assert_int_equal(aead_ctx_open(&dec, 43, pkt, sizeof(pkt), tag), -1);
	memcpy(pkt, sealed, sizeof(pkt));
	assert_int_equal(aead_ctx_open(&dec, 42, pkt, sizeof(pkt) - 1, tag), -1);
	/* After failures the context still opens the genuine packet. */
	memcpy(pkt, sealed, sizeof(pkt));
	assert_int_equal(aead_ctx_open(&dec, 42, pkt, sizeof(pkt), tag), 0);
	assert_memory_equal(pkt, orig, sizeof(pkt));
	/* A context under another key refuses it. */
	struct aead_ctx other;
	key[0] ^= 1;
	assert_int_equal(aead_ctx_init(&other, key, false), 0);
	memcpy(pkt, sealed, sizeof(pkt));
	assert_int_equal(aead_ctx_open(&other, 42, pkt, sizeof(pkt), tag), -1);
	aead_ctx_free(&other);
	aead_ctx_free(&enc);
	aead_ctx_free(&dec);
}

/* ---- XChaCha20-Poly1305 ---- */

static void test_xaead_draft_a3_1(void **state)
{
	(void)state;
	/* draft-irtf-cfrg-xchacha-03, Appendix A.3.1. */
	uint8_t key[32], nonce[24];
	size_t ptlen, ctlen, adlen;
	unhex_to(key, 32, "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
	unhex_to(nonce, 24, "404142434445464748494a4b4c4d4e4f5051525354555657");
	uint8_t *ad = unhex("50515253c0c1c2c3c4c5c6c7", &adlen);
	uint8_t *pt = unhex(
		"4c616469657320616e642047656e746c656d656e206f662074686520636c6173"
		"73206f66202739393a204966204920636f756c64206f6666657220796f75206f"
		"6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73"
		"637265656e20776f756c642062652069742e", &ptlen);
	uint8_t *sealed = unhex(
		"bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
		"731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
		"2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
		"21f9664c97637da9768812f615c68b13b52e"
		"c0875924c1c7987947deafd8780acf49", &ctlen);
	assert_int_equal(ptlen, 114);
	assert_int_equal(ctlen, ptlen + 16);
	uint8_t out[114 + 16];

	assert_int_equal(xaead_encrypt(out, pt, ptlen, ad, adlen, nonce, key), 0);
	assert_memory_equal(out, sealed, ctlen);
	assert_int_equal(xaead_decrypt(out, sealed, ctlen, ad, adlen, nonce, key), 0);
	assert_memory_equal(out, pt, ptlen);
	/* In place. */
	memcpy(out, pt, ptlen);
	assert_int_equal(xaead_encrypt(out, out, ptlen, ad, adlen, nonce, key), 0);
	assert_memory_equal(out, sealed, ctlen);
	assert_int_equal(xaead_decrypt(out, out, ctlen, ad, adlen, nonce, key), 0);
	assert_memory_equal(out, pt, ptlen);
	/* Tampering. */
	sealed[ctlen - 1] ^= 1;
	assert_int_equal(xaead_decrypt(out, sealed, ctlen, ad, adlen, nonce, key), -1);
	sealed[ctlen - 1] ^= 1;
	sealed[3] ^= 4;
	assert_int_equal(xaead_decrypt(out, sealed, ctlen, ad, adlen, nonce, key), -1);
	sealed[3] ^= 4;
	nonce[23] ^= 1;
	assert_int_equal(xaead_decrypt(out, sealed, ctlen, ad, adlen, nonce, key), -1);
	nonce[23] ^= 1;
	assert_int_equal(xaead_decrypt(out, sealed, ctlen, ad, adlen - 1, nonce, key), -1);
	assert_int_equal(xaead_decrypt(out, sealed, 15, ad, adlen, nonce, key), -1);
	assert_int_equal(xaead_decrypt(out, sealed, ctlen, ad, adlen, nonce, key), 0);
	free(ad);
	free(pt);
	free(sealed);
}

/* ---- key text ---- */

static void test_base64(void **state)
{
	(void)state;
	uint8_t key[32], back[32];
	char text[KEY_BASE64_LEN + 1];

	/* RFC 7748 section 6.1 Alice's public key, as `wg pubkey` would print it. */
	unhex_to(key, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	key_to_base64(text, key);
	assert_string_equal(text, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=");
	assert_int_equal(key_from_base64(back, text), 0);
	assert_memory_equal(back, key, 32);

	memset(key, 0, 32);
	key_to_base64(text, key);
	assert_string_equal(text, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	memset(key, 0xff, 32);
	key_to_base64(text, key);
	assert_string_equal(text, "//////////////////////////////////////////8=");
	assert_int_equal(key_from_base64(back, text), 0);
	assert_memory_equal(back, key, 32);

	for (int i = 0; i < 100; i++) {
		crypto_random(key, 32);
		key_to_base64(text, key);
		assert_int_equal(strlen(text), KEY_BASE64_LEN);
		assert_int_equal(key_from_base64(back, text), 0);
		assert_memory_equal(back, key, 32);
	}
}

static void test_base64_reject(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo",     /* 43: no pad */
		"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm=",     /* 43 */
		"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo==",   /* 45 */
		"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n",  /* trailing newline */
		" hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=",   /* leading space */
		"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmoA",    /* 44, '=' missing */
		"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbT==",     /* 43 with "==" */
		"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm==",    /* 44 with "==": 31 bytes */
		"hSDwCYkwp1R0i33ctD73Wg2*Og0mOBr066SpjqqbTmo=",    /* bad char */
		"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo=",    /* URL-safe alphabet */
		"hSDwCYkwp1R0i33ctD73Wg2-Og0mOBr066SpjqqbTmo=",
		"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066Spjqq=Tmo=",    /* '=' inside */
		"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmp=",    /* non-zero trailing bits */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=",
		"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=hSDw", /* too long */
		"hSDwCYkwp1R0i33ctD73Wg2/\xc3\xa9g0mOBr066SpjqqbTm=", /* non-ASCII */
	};
	uint8_t key[32], keep[32];
	memset(key, 0x3c, sizeof(key));
	memcpy(keep, key, sizeof(key));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (key_from_base64(key, bad[i]) != -1) {
			print_error("accepted bad key text #%zu: \"%s\"\n", i, bad[i]);
			fail();
		}
		/* A rejected string leaves the caller's key untouched. */
		assert_memory_equal(key, keep, sizeof(key));
	}
	assert_int_equal(key_from_base64(key, NULL), -1);
	/* Embedded NUL: only the part before it is seen, which is too short. */
	static const char nul[45] = "hSDwCYkwp1R0i33ctD73Wg2/Og0m\0Br066SpjqqbTmo=";
	assert_int_equal(key_from_base64(key, nul), -1);
}

/*
 * Property: a string is accepted iff it is the canonical text of the key it
 * decodes to. Probed by replacing each position of valid keys with every
 * byte value 1..255 (padding, the last data character and non-ASCII bytes
 * included: libsodium 1.0.18 alone decodes 0x80 as '/').
 */
static void test_base64_canonical(void **state)
{
	(void)state;
	uint8_t key[32], got[32];
	char text[KEY_BASE64_LEN + 1], again[KEY_BASE64_LEN + 1];
	unsigned accepted = 0, rejected = 0;

	for (int round = 0; round < 8; round++) {
		crypto_random(key, sizeof(key));
		key_to_base64(text, key);
		for (int pos = 0; pos < KEY_BASE64_LEN; pos++) {
			char orig = text[pos];
			for (int c = 1; c < 256; c++) {
				text[pos] = (char)c;
				if (key_from_base64(got, text) == 0) {
					key_to_base64(again, got);
					assert_string_equal(again, text);
					accepted++;
				} else {
					rejected++;
				}
			}
			text[pos] = orig;
		}
	}
	/* Both outcomes really happened: the property was not vacuous. */
	assert_true(accepted > 1000);
	assert_true(rejected > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equal_and_wipe),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_lazy_init),
		cmocka_unit_test(test_blake2s_rfc7693),
		cmocka_unit_test(test_blake2s_wireguard_constants),
		cmocka_unit_test(test_blake2s_keyed_kat),
		cmocka_unit_test(test_blake2s_mac16),
		cmocka_unit_test(test_hmac_blake2s),
		cmocka_unit_test(test_kdf_blake2s),
		cmocka_unit_test(test_x25519_rfc7748_5_2),
		cmocka_unit_test(test_x25519_rfc7748_iterated),
		cmocka_unit_test(test_x25519_rfc7748_6_1),
		cmocka_unit_test(test_x25519_low_order),
		cmocka_unit_test(test_x25519_generate),
		cmocka_unit_test(test_aead_rfc8439_a5),
		cmocka_unit_test(test_aead_empty),
		cmocka_unit_test(test_aead_ctx_matches_oneshot),
		cmocka_unit_test(test_aead_ctx_rfc8439_a5),
		cmocka_unit_test(test_aead_ctx_tamper),
		cmocka_unit_test(test_xaead_draft_a3_1),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_base64_reject),
		cmocka_unit_test(test_base64_canonical),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
