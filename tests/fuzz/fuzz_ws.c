/*
 * libFuzzer harness for the WebSocket codec: the bytes a listener or a
 * dialer receives from the network. The first input byte picks the parser
 * (frames as server or client, request head, response head, URL); the rest
 * is copied to a buffer of exactly its size so a read past the end is caught.
 * A frame said complete must fit the buffer, and re-encoding its header
 * must give the same bytes (the parser accepts minimal lengths only).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws/ws_frame.h"
#include "ws/ws_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void frames(uint8_t *buf, size_t size, bool server)
{
	size_t off = 0;
	struct ws_frame fr;
	while (off < size && ws_frame_parse(buf + off, size - off, server, 4096, &fr) == WS_PARSE_OK) {
		if (fr.header_len + fr.payload_len > size - off || fr.payload_len > 4096)
			abort();
		uint8_t h[WS_FRAME_HEADER_MAX];
		size_t hl = ws_frame_header(h, fr.fin, fr.opcode, fr.payload_len,
					    fr.masked ? fr.mask : NULL);
		if (hl != fr.header_len || memcmp(h, buf + off, hl) != 0)
			abort();
		ws_mask(buf + off + hl, (size_t)fr.payload_len, fr.mask, 0);
		off += hl + (size_t)fr.payload_len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t which = data[0] % 5;
	data++;
	size--;
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	switch (which) {
	case 0:
	case 1:
		frames(buf, size, which == 0);
		break;
	case 2: {
		struct ws_http_request rq;
		enum ws_http_verdict v = ws_http_parse_request((char *)buf, size, &rq);
		if (v != WS_HTTP_INCOMPLETE && (rq.head_len == 0 || rq.head_len > size))
			abort();
		if (v == WS_HTTP_UPGRADE && strlen(rq.key) != WS_KEY_LEN)
			abort();
		break;
	}
	case 3: {
		size_t hl;
		int status;
		enum ws_http_reply r = ws_http_parse_response((char *)buf, size,
							      "dGhlIHNhbXBsZSBub25jZQ==", &hl, &status);
		if (r == WS_HTTP_REPLY_OK && (status != 101 || hl > size))
			abort();
		break;
	}
	default: {
		char *s = malloc(size + 1);
		if (s) {
			memcpy(s, buf, size);
			s[size] = '\0';
			struct ws_url u;
			const char *why;
			if (ws_url_parse(s, &u, &why) == 0 && (u.port == 0 || u.port > 65535 || !u.host[0]))
				abort();
			free(s);
		}
		break;
	}
	}
	free(buf);
	return 0;
}
