#include "ws/ws_frame.h"

#include <string.h>

static bool opcode_known(uint8_t op)
{
	return op == WS_OP_CONTINUATION || op == WS_OP_TEXT || op == WS_OP_BINARY ||
	       op == WS_OP_CLOSE || op == WS_OP_PING || op == WS_OP_PONG;
}

enum ws_parse_result ws_frame_parse(const uint8_t *buf, size_t len, bool must_be_masked,
				    uint64_t max_payload, struct ws_frame *out)
{
	if (len < 2)
		return WS_PARSE_INCOMPLETE;
	memset(out, 0, sizeof(*out));
	out->fin = buf[0] & 0x80;
	out->opcode = buf[0] & 0x0f;
	out->masked = buf[1] & 0x80;
	if (buf[0] & 0x70)
		return WS_PARSE_PROTOCOL;          /* RSV1-3 without a negotiated extension */
	if (!opcode_known(out->opcode))
		return WS_PARSE_PROTOCOL;
	if (out->masked != must_be_masked)
		return WS_PARSE_PROTOCOL;
	uint64_t plen = buf[1] & 0x7f;
	size_t pos = 2;
	if (plen == 126) {
		if (len < 4)
			return WS_PARSE_INCOMPLETE;
		plen = (uint64_t)buf[2] << 8 | buf[3];
		pos = 4;
		if (plen < 126)
			return WS_PARSE_PROTOCOL;      /* not the minimal encoding (5.2) */
	} else if (plen == 127) {
		if (len < 10)
			return WS_PARSE_INCOMPLETE;
		plen = 0;
		for (int i = 0; i < 8; i++)
			plen = plen << 8 | buf[2 + i];
		pos = 10;
		if (plen >> 63 || plen <= 0xffff)
			return WS_PARSE_PROTOCOL;      /* top bit set, or not minimal */
	}
	if (ws_opcode_is_control(out->opcode) && (!out->fin || plen > WS_CONTROL_PAYLOAD_MAX))
		return WS_PARSE_PROTOCOL;
	if (plen > max_payload)
		return WS_PARSE_TOO_BIG;
	if (out->masked) {
		if (len < pos + 4)
			return WS_PARSE_INCOMPLETE;
		memcpy(out->mask, buf + pos, 4);
		pos += 4;
	}
	out->header_len = pos;
	out->payload_len = plen;
	if (len - pos < plen)
		return WS_PARSE_INCOMPLETE;
	return WS_PARSE_OK;
}

size_t ws_frame_header(uint8_t *out, bool fin, enum ws_opcode opcode, uint64_t payload_len,
		       const uint8_t *mask)
{
	size_t pos = 2;
	out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
	uint8_t mbit = mask ? 0x80 : 0;
	if (payload_len < 126) {
		out[1] = (uint8_t)(mbit | payload_len);
	} else if (payload_len <= 0xffff) {
		out[1] = mbit | 126;
		out[2] = (uint8_t)(payload_len >> 8);
		out[3] = (uint8_t)payload_len;
		pos = 4;
	} else {
		out[1] = mbit | 127;
		for (int i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)(payload_len >> (56 - 8 * i));
		pos = 10;
	}
	if (mask) {
		memcpy(out + pos, mask, 4);
		pos += 4;
	}
	return pos;
}

void ws_mask(uint8_t *data, size_t n, const uint8_t mask[4], size_t offset)
{
	size_t i = 0;
	/* Byte by byte up to a 4-aligned payload offset, then whole words. */
	for (; i < n && (offset + i) % 4; i++)
		data[i] ^= mask[(offset + i) % 4];
	uint32_t m;
	memcpy(&m, mask, 4);
	for (; i + 4 <= n; i += 4) {
		uint32_t w;
		memcpy(&w, data + i, 4);
		w ^= m;
		memcpy(data + i, &w, 4);
	}
	for (; i < n; i++)
		data[i] ^= mask[(offset + i) % 4];
}
