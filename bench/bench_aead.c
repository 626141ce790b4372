/*
 * Data-path AEAD throughput: 1420-byte packets sealed then opened in place,
 * one core, through aead_ctx_* (OpenSSL EVP, key set once) and through
 * libsodium's detached ChaCha20-Poly1305 as the reference.
 *
 * Gbit/s counts every seal and every open as 1420 bytes processed, so it is
 * the throughput of one direction of traffic. Output lines are "name value".
 * Usage: bench_aead [seconds per backend, default 2]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "crypto/crypto.h"

#include "bench_common.h"

#define PKT 1420
#define BATCH 256   /* packets between clock reads */

/* Returns seal+open round trips per second. */
static double run_openssl(const uint8_t key[32], uint8_t *pkt, double secs)
{
	struct aead_ctx enc, dec;
	uint8_t tag[CRYPTO_AEAD_TAG_LEN];
	uint64_t n = 0;

	if (aead_ctx_init(&enc, key, true) < 0 || aead_ctx_init(&dec, key, false) < 0)
		bench_die("aead_ctx_init failed");
	double t0 = bench_now(), t;
	do {
		for (int i = 0; i < BATCH; i++, n++) {
			if (aead_ctx_seal(&enc, n, pkt, PKT, tag) < 0 ||
			    aead_ctx_open(&dec, n, pkt, PKT, tag) < 0)
				bench_die("OpenSSL seal/open failed");
		}
		t = bench_now() - t0;
	} while (t < secs);
	aead_ctx_free(&enc);
	aead_ctx_free(&dec);
	return (double)n / t;
}

static double run_sodium(const uint8_t key[32], uint8_t *pkt, double secs)
{
	uint8_t tag[crypto_aead_chacha20poly1305_ietf_ABYTES];
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES] = { 0 };
	uint64_t n = 0;

	double t0 = bench_now(), t;
	do {
		for (int i = 0; i < BATCH; i++, n++) {
			memcpy(nonce + 4, &n, 8);   /* little-endian host, as WireGuard */
			if (crypto_aead_chacha20poly1305_ietf_encrypt_detached(
				    pkt, tag, NULL, pkt, PKT, NULL, 0, NULL, nonce, key) != 0 ||
			    crypto_aead_chacha20poly1305_ietf_decrypt_detached(
				    pkt, NULL, pkt, PKT, tag, NULL, 0, nonce, key) != 0)
				bench_die("libsodium seal/open failed");
		}
		t = bench_now() - t0;
	} while (t < secs);
	return (double)n / t;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0;
	uint8_t key[32], pkt[PKT];

	if (secs <= 0 || secs > 4)
		bench_die("seconds per backend must be in (0, 4]");
	if (crypto_init() < 0)
		bench_die("crypto_init failed");
	crypto_random(key, sizeof(key));
	crypto_random(pkt, sizeof(pkt));

	/* Warm up caches and CPU frequency before the measured runs. */
	run_openssl(key, pkt, 0.1);
	double ossl = run_openssl(key, pkt, secs);
	double sod = run_sodium(key, pkt, secs);
	double ossl_gbps = ossl * 2 * PKT * 8 / 1e9;
	double sod_gbps = sod * 2 * PKT * 8 / 1e9;

	printf("aead_packet_bytes %d\n", PKT);
	printf("aead_openssl_ns_per_op %.1f\n", 1e9 / (ossl * 2));
	printf("aead_sodium_ns_per_op %.1f\n", 1e9 / (sod * 2));
	printf("aead_openssl_gbps %.2f\n", ossl_gbps);
	printf("aead_sodium_gbps %.2f\n", sod_gbps);
	printf("aead_openssl_over_sodium %.2f\n", ossl_gbps / sod_gbps);
	crypto_wipe(key, sizeof(key));
	crypto_cleanup();
	return 0;
}
