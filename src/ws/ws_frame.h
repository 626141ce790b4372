/*
 * RFC 6455 frames, as pure functions over byte buffers: no sockets, no
 * allocation. The transport (ws/ws_conn.c) feeds received bytes to
 * ws_frame_parse and writes headers built by ws_frame_header.
 *
 * No extension is negotiated, so the RSV bits must be zero; control frames
 * must be final and carry at most 125 bytes; lengths must use the shortest
 * encoding. A frame longer than the caller's limit is an error, not a wait.
 */
#ifndef RR_WS_FRAME_H
#define RR_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
	WS_OP_CONTINUATION = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xa,
};

#define WS_FRAME_HEADER_MAX 14     /* 2 + 8 (64-bit length) + 4 (mask) */
#define WS_CONTROL_PAYLOAD_MAX 125

/* RFC 6455 7.4.1 status codes the transport sends. */
#define WS_CLOSE_NORMAL 1000
#define WS_CLOSE_PROTOCOL_ERROR 1002
#define WS_CLOSE_UNSUPPORTED 1003
#define WS_CLOSE_TOO_BIG 1009

struct ws_frame {
	bool fin;
	uint8_t opcode;
	bool masked;
	uint8_t mask[4];
	size_t header_len;          /* payload starts here in the buffer */
	uint64_t payload_len;
};

enum ws_parse_result {
	WS_PARSE_OK = 1,            /* a whole frame (header and payload) is in the buffer */
	WS_PARSE_INCOMPLETE = 0,    /* need more bytes */
	WS_PARSE_PROTOCOL = -1,     /* malformed: close with 1002 */
	WS_PARSE_TOO_BIG = -2,      /* payload above max_payload: close with 1009 */
};

/*
 * Parses the frame at the start of buf. must_be_masked: a server demands
 * masked frames from clients, a client demands unmasked ones (RFC 6455 5.1).
 * On WS_PARSE_OK the frame occupies header_len + payload_len bytes.
 */
enum ws_parse_result ws_frame_parse(const uint8_t *buf, size_t len, bool must_be_masked,
				    uint64_t max_payload, struct ws_frame *out);

/*
 * Writes a frame header into out (WS_FRAME_HEADER_MAX bytes) and returns its
 * length. mask NULL: unmasked (server to client); the payload is masked by
 * the caller with ws_mask.
 */
size_t ws_frame_header(uint8_t *out, bool fin, enum ws_opcode opcode, uint64_t payload_len,
		       const uint8_t *mask);

/* XORs n bytes with the mask, the first byte being at offset `offset` of the payload. */
void ws_mask(uint8_t *data, size_t n, const uint8_t mask[4], size_t offset);

/* A data opcode a receiver may get (continuation, text, binary) or a control one. */
static inline bool ws_opcode_is_control(uint8_t op) { return op & 0x8; }

#endif
