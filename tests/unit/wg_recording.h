/*
 * The recorded wireguard-go exchange (tests/unit/data/wg_go_handshake.hex),
 * loaded for test_noise.c and test_cookie.c. The bytes live in a data file so
 * that re-recording replaces data, not code. Header only, like testlib.h.
 * The tests run from the top of the tree (tests/run-all.sh does).
 */
#ifndef RR_TESTS_WG_RECORDING_H
#define RR_TESTS_WG_RECORDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define WG_RECORDING_FILE "tests/unit/data/wg_go_handshake.hex"

struct wg_recording {
	uint8_t idx_r[4];            /* our sender index in exchange A, big-endian as written */
	uint8_t idx_i[4];            /* our sender index in exchange B */
	uint8_t go_private[32];
	uint8_t our_private[32];
	uint8_t psk[32];
	uint8_t eph_r[32];           /* our fixed ephemeral key as responder (A) */
	uint8_t eph_i[32];           /* ... and as initiator (B) */
	uint8_t timestamp[12];
	uint8_t init_go[148];        /* A: wireguard-go's initiation */
	uint8_t resp_ours[92];       /* A: the response it accepted from us */
	uint8_t data_go_1[128];      /* A: its ping as a data packet */
	uint8_t init_ours[148];      /* B: our initiation */
	uint8_t resp_go[92];         /* B: its response */
	uint8_t data_ours_2[80];     /* B: our echo request */
	uint8_t data_go_2[80];       /* B: its echo reply */
};

/* Which line fills which field; every field must be there with exactly its size. */
static const struct wg_recording_field {
	const char *name;
	size_t offset, size;
} wg_recording_fields[] = {
#define WG_REC_FIELD(f) \
	{ #f, offsetof(struct wg_recording, f), sizeof(((struct wg_recording *)0)->f) }
	WG_REC_FIELD(idx_r), WG_REC_FIELD(idx_i), WG_REC_FIELD(go_private),
	WG_REC_FIELD(our_private), WG_REC_FIELD(psk), WG_REC_FIELD(eph_r), WG_REC_FIELD(eph_i),
	WG_REC_FIELD(timestamp), WG_REC_FIELD(init_go), WG_REC_FIELD(resp_ours),
	WG_REC_FIELD(data_go_1), WG_REC_FIELD(init_ours), WG_REC_FIELD(resp_go),
	WG_REC_FIELD(data_ours_2), WG_REC_FIELD(data_go_2),
#undef WG_REC_FIELD
};
#define WG_RECORDING_N_FIELDS (sizeof(wg_recording_fields) / sizeof(wg_recording_fields[0]))

/* Hex text into exactly size bytes: 0, or -1 if it is not that many hex bytes. */
static inline int wg_recording_unhex(const char *hex, uint8_t *out, size_t size)
{
	if (strlen(hex) != 2 * size)
		return -1;
	for (size_t i = 0; i < size; i++) {
		unsigned int byte;
		if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
			return -1;
		out[i] = (uint8_t)byte;
	}
	return 0;
}

/* The sender index fields as numbers, as the tests pass them to noise.c. */
static inline uint32_t wg_recording_index(const uint8_t idx[4])
{
	return (uint32_t)idx[0] << 24 | (uint32_t)idx[1] << 16 | (uint32_t)idx[2] << 8 | idx[3];
}

/* Fills rec from the file: 0, or -1 (said on stderr) if a field is missing or malformed. */
static inline int wg_recording_load(struct wg_recording *rec)
{
	FILE *f = fopen(WG_RECORDING_FILE, "r");
	if (!f) {
		perror(WG_RECORDING_FILE);
		return -1;
	}
	char line[1024], name[64] = "", hex[sizeof(line)];
	bool seen[WG_RECORDING_N_FIELDS] = { false };
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		rc = -1;
		if (sscanf(line, "%63s %1023s", name, hex) != 2)
			break;
		for (size_t i = 0; i < WG_RECORDING_N_FIELDS; i++) {
			const struct wg_recording_field *fl = &wg_recording_fields[i];
			if (strcmp(name, fl->name) == 0 && !seen[i]) {
				seen[i] = true;
				rc = wg_recording_unhex(hex, (uint8_t *)rec + fl->offset, fl->size);
			}
		}
	}
	fclose(f);
	for (size_t i = 0; i < WG_RECORDING_N_FIELDS; i++)
		if (!seen[i])
			rc = -1;
	if (rc < 0)
		fprintf(stderr, "%s: a field is missing, repeated or malformed (near \"%s\")\n",
			WG_RECORDING_FILE, name);
	return rc;
}

#endif
