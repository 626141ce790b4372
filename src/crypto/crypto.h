/*
 * The only door to cryptography. Nothing here is hand-written crypto: the
 * primitives come from OpenSSL 3 libcrypto (BLAKE2s, keyed BLAKE2s,
 * ChaCha20-Poly1305) and libsodium (X25519, XChaCha20-Poly1305, wiping),
 * each where it measured fastest here.
 * The data-path AEAD keeps one cipher context per key so a packet costs only
 * a nonce change; the backend can be swapped behind this header.
 */
#ifndef RR_CRYPTO_CRYPTO_H
#define RR_CRYPTO_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPTO_KEY_LEN      32
#define CRYPTO_HASH_LEN     32
#define CRYPTO_AEAD_TAG_LEN 16
#define CRYPTO_XNONCE_LEN   24

/* Fetches the algorithm objects once. 0 on success, -1 (with a log line) if unavailable. */
int crypto_init(void);
void crypto_cleanup(void);

/* Wipes memory in a way the compiler cannot elide. */
void crypto_wipe(void *p, size_t n);
/* Fills buf from the kernel CSPRNG (getrandom); aborts on failure. */
void crypto_random(void *buf, size_t n);
/* Constant-time comparison; true when equal. */
bool crypto_equal(const void *a, const void *b, size_t n);

/* BLAKE2s-256 of a, or of a || b (b may be NULL/0). */
void blake2s_hash(uint8_t out[CRYPTO_HASH_LEN], const void *a, size_t alen);
void blake2s_hash2(uint8_t out[CRYPTO_HASH_LEN], const void *a, size_t alen,
		   const void *b, size_t blen);
/* Keyed BLAKE2s with outlen bytes of output (1..32), key 1..32 bytes (RFC 7693). */
void blake2s_mac(uint8_t *out, size_t outlen, const void *key, size_t keylen,
		 const void *in, size_t inlen);
/* HMAC-BLAKE2s (RFC 2104 over BLAKE2s-256), as WireGuard's KDF uses it. */
void hmac_blake2s(uint8_t out[CRYPTO_HASH_LEN], const void *key, size_t keylen,
		  const void *in, size_t inlen);
/*
 * WireGuard's KDF_n (HKDF with HMAC-BLAKE2s, RFC 5869 extract+expand with
 * 32-byte outputs): t0 = HMAC(ck, input); t1 = HMAC(t0, 0x1);
 * t2 = HMAC(t0, t1 || 0x2); t3 = HMAC(t0, t2 || 0x3). Any out may be NULL
 * (the later ones must then be NULL too). Intermediate values are wiped.
 */
void kdf_blake2s(uint8_t *out1, uint8_t *out2, uint8_t *out3,
		 const uint8_t ck[CRYPTO_HASH_LEN], const void *input, size_t inlen);

/* X25519 (RFC 7748). */
void x25519_generate(uint8_t priv[CRYPTO_KEY_LEN]);      /* random, clamped */
void x25519_clamp(uint8_t priv[CRYPTO_KEY_LEN]);
int x25519_public(uint8_t pub[CRYPTO_KEY_LEN], const uint8_t priv[CRYPTO_KEY_LEN]);
/* -1 if the peer key is invalid or the shared secret is all zeros. */
int x25519_shared(uint8_t out[CRYPTO_KEY_LEN], const uint8_t priv[CRYPTO_KEY_LEN],
		  const uint8_t pub[CRYPTO_KEY_LEN]);

/*
 * ChaCha20-Poly1305 (RFC 8439) with WireGuard's nonce: 32 zero bits then the
 * 64-bit counter little-endian. One-shot forms for the handshake:
 * dst gets len + 16 bytes on encrypt; src holds len bytes including the tag on
 * decrypt, dst gets len - 16. Return 0, or -1 on authentication failure.
 * dst may equal src.
 */
int aead_encrypt(uint8_t *dst, const uint8_t *src, size_t len,
		 const uint8_t *ad, size_t adlen, uint64_t nonce,
		 const uint8_t key[CRYPTO_KEY_LEN]);
int aead_decrypt(uint8_t *dst, const uint8_t *src, size_t len,
		 const uint8_t *ad, size_t adlen, uint64_t nonce,
		 const uint8_t key[CRYPTO_KEY_LEN]);

/* Keyed context for the data path, in place, no associated data. */
struct aead_ctx {
	void *evp;   /* EVP_CIPHER_CTX *, key already set */
	bool encrypt;
};
int aead_ctx_init(struct aead_ctx *ctx, const uint8_t key[CRYPTO_KEY_LEN], bool encrypt);
void aead_ctx_free(struct aead_ctx *ctx);   /* wipes the key schedule */
/* Encrypts buf[0..len) in place and writes the tag to tag. */
int aead_ctx_seal(struct aead_ctx *ctx, uint64_t nonce, uint8_t *buf, size_t len,
		  uint8_t tag[CRYPTO_AEAD_TAG_LEN]);
/* Decrypts buf[0..len) in place; -1 (and garbage in buf) if the tag is wrong. */
int aead_ctx_open(struct aead_ctx *ctx, uint64_t nonce, uint8_t *buf, size_t len,
		  const uint8_t tag[CRYPTO_AEAD_TAG_LEN]);

/* XChaCha20-Poly1305 for cookie replies; same length conventions as aead_*. */
int xaead_encrypt(uint8_t *dst, const uint8_t *src, size_t len,
		  const uint8_t *ad, size_t adlen,
		  const uint8_t nonce[CRYPTO_XNONCE_LEN], const uint8_t key[CRYPTO_KEY_LEN]);
int xaead_decrypt(uint8_t *dst, const uint8_t *src, size_t len,
		  const uint8_t *ad, size_t adlen,
		  const uint8_t nonce[CRYPTO_XNONCE_LEN], const uint8_t key[CRYPTO_KEY_LEN]);

/* WireGuard keys as text: 44 characters of standard base64 (with '='). */
#define KEY_BASE64_LEN 44
int key_from_base64(uint8_t key[CRYPTO_KEY_LEN], const char *text);  /* 0 or -1 */
void key_to_base64(char out[KEY_BASE64_LEN + 1], const uint8_t key[CRYPTO_KEY_LEN]);

#endif
