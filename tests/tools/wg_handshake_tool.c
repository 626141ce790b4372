/*
 * Drives src/wg/noise.c and cookie.c from the command line so that
 * tests/tools/record_wg_handshake.py can exchange handshakes with a real
 * wireguard-go and record the bytes. Not part of the router. Built by the
 * recorder script; all keys and messages are hex on argv/stdout.
 *
 *   initiate OUR_PRIV PEER_PUB PSK EPH TS INDEX
 *       -> "init=<148 bytes>"
 *   consume  OUR_PRIV PEER_PUB PSK EPH TS INDEX RESPONSE
 *       (re-creates the same initiation, consumes the response)
 *       -> "send=<key> recv=<key> remote_index=<n>"
 *   respond  OUR_PRIV PEER_PUB PSK EPH INDEX INITIATION
 *       -> "resp=<92 bytes> send=<key> recv=<key> remote_index=<n>"
 * PSK "-" means none. Indices are decimal host-order numbers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "wg/cookie.h"
#include "wg/noise.h"

static int unhex(uint8_t *out, size_t len, const char *s)
{
	if (strlen(s) != 2 * len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static void puthex(const char *label, const void *p, size_t len)
{
	const uint8_t *b = p;

	printf("%s=", label);
	for (size_t i = 0; i < len; i++)
		printf("%02x", b[i]);
	printf(" ");
}

static void die(const char *what, int err)
{
	fprintf(stderr, "wg_handshake_tool: %s failed (%d)\n", what, err);
	exit(1);
}

static void print_keys(struct noise_session_keys *k)
{
	puthex("send", k->sending, sizeof(k->sending));
	puthex("recv", k->receiving, sizeof(k->receiving));
	printf("remote_index=%u\n", k->remote_index);
	crypto_wipe(k, sizeof(*k));
}

int main(int argc, char **argv)
{
	struct noise_static_identity id;
	struct noise_handshake hs;
	struct cookie_maker cm;
	uint8_t priv[32], peer[32], psk[32], eph[32], ts[12];
	const char *mode = argc > 1 ? argv[1] : "";
	int err;

	if (crypto_init() < 0)
		die("crypto_init", -1);
	if (argc < 7 || unhex(priv, 32, argv[2]) || unhex(peer, 32, argv[3]) ||
	    (strcmp(argv[4], "-") && unhex(psk, 32, argv[4])) || unhex(eph, 32, argv[5])) {
		fprintf(stderr, "usage: see the comment at the top of %s\n", __FILE__);
		return 2;
	}
	if ((err = noise_static_identity_set(&id, priv)))
		die("identity", err);
	if ((err = noise_handshake_init(&hs, &id, peer, strcmp(argv[4], "-") ? psk : NULL)))
		die("handshake_init", err);
	cookie_maker_init(&cm, peer);

	if (!strcmp(mode, "initiate") || !strcmp(mode, "consume")) {
		struct message_handshake_initiation init;
		struct message_handshake_response resp;
		struct noise_session_keys keys;

		if (argc < 8 || unhex(ts, 12, argv[6]))
			return 2;
		if ((err = noise_handshake_create_initiation_ex(&hs, &id, &init,
				(uint32_t)strtoul(argv[7], NULL, 10), eph, ts)))
			die("create_initiation", err);
		if ((err = cookie_add_macs(&cm, &init, sizeof(init), 1)))
			die("add_macs", err);
		if (!strcmp(mode, "initiate")) {
			puthex("init", &init, sizeof(init));
			printf("\n");
			return 0;
		}
		if (argc < 9 || unhex((uint8_t *)&resp, sizeof(resp), argv[8]))
			return 2;
		if ((err = noise_handshake_consume_response(&hs, &id, &resp)))
			die("consume_response", err);
		if ((err = noise_handshake_derive_keys(&hs, &keys)))
			die("derive_keys", err);
		print_keys(&keys);
		return 0;
	}
	if (!strcmp(mode, "respond")) {
		struct message_handshake_initiation init;
		struct message_handshake_response resp;
		struct noise_initiation_result r;
		struct noise_session_keys keys;

		if (argc < 8 || unhex((uint8_t *)&init, sizeof(init), argv[7]))
			return 2;
		if ((err = noise_initiation_open(&id, &init, &r)))
			die("initiation_open", err);
		if ((err = noise_handshake_accept_initiation(&hs, &r, 1)))
			die("accept_initiation", err);
		crypto_wipe(&r, sizeof(r));
		if ((err = noise_handshake_create_response_ex(&hs, &resp,
				(uint32_t)strtoul(argv[6], NULL, 10), eph)))
			die("create_response", err);
		if ((err = cookie_add_macs(&cm, &resp, sizeof(resp), 1)))
			die("add_macs", err);
		puthex("resp", &resp, sizeof(resp));
		if ((err = noise_handshake_derive_keys(&hs, &keys)))
			die("derive_keys", err);
		print_keys(&keys);
		return 0;
	}
	fprintf(stderr, "unknown mode '%s'\n", mode);
	return 2;
}
