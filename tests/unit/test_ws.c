/*
 * The WebSocket codec (ws/ws_frame.c, ws/ws_http.c) against the examples of
 * RFC 6455: the frames of section 5.7 and the handshake of section 1.3.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "conf/config.h"
#include "conf/confdiff.h"
#include "ws/ws_frame.h"
#include "ws/ws_http.h"

static void test_rfc_unmasked_text(void **state)
{
	const uint8_t f[] = { 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
	struct ws_frame fr;
	assert_int_equal(ws_frame_parse(f, sizeof(f), false, 1000, &fr), WS_PARSE_OK);
	assert_true(fr.fin);
	assert_int_equal(fr.opcode, WS_OP_TEXT);
	assert_int_equal(fr.header_len, 2);
	assert_int_equal(fr.payload_len, 5);
	assert_memory_equal(f + 2, "Hello", 5);
	/* A client must not accept it as masked, a server must refuse it unmasked. */
	assert_int_equal(ws_frame_parse(f, sizeof(f), true, 1000, &fr), WS_PARSE_PROTOCOL);
	for (size_t n = 0; n < sizeof(f); n++)
		assert_int_equal(ws_frame_parse(f, n, false, 1000, &fr), WS_PARSE_INCOMPLETE);
	uint8_t h[WS_FRAME_HEADER_MAX];
	assert_int_equal(ws_frame_header(h, true, WS_OP_TEXT, 5, NULL), 2);
	assert_memory_equal(h, f, 2);
}

static void test_rfc_masked_text(void **state)
{
	const uint8_t f[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
	struct ws_frame fr;
	assert_int_equal(ws_frame_parse(f, sizeof(f), true, 1000, &fr), WS_PARSE_OK);
	assert_true(fr.masked);
	assert_int_equal(fr.header_len, 6);
	uint8_t p[5];
	memcpy(p, f + 6, 5);
	ws_mask(p, 5, fr.mask, 0);
	assert_memory_equal(p, "Hello", 5);
	/* Building it again gives the same bytes; masking in two pieces equals one. */
	uint8_t h[WS_FRAME_HEADER_MAX];
	assert_int_equal(ws_frame_header(h, true, WS_OP_TEXT, 5, fr.mask), 6);
	assert_memory_equal(h, f, 6);
	memcpy(p, "Hello", 5);
	ws_mask(p, 3, fr.mask, 0);
	ws_mask(p + 3, 2, fr.mask, 3);
	assert_memory_equal(p, f + 6, 5);
}

static void test_rfc_fragments_and_control(void **state)
{
	const uint8_t first[] = { 0x01, 0x03, 0x48, 0x65, 0x6c };
	const uint8_t last[] = { 0x80, 0x02, 0x6c, 0x6f };
	const uint8_t ping[] = { 0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
	const uint8_t pong[] = { 0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
	struct ws_frame fr;
	assert_int_equal(ws_frame_parse(first, sizeof(first), false, 1000, &fr), WS_PARSE_OK);
	assert_false(fr.fin);
	assert_int_equal(fr.opcode, WS_OP_TEXT);
	assert_int_equal(ws_frame_parse(last, sizeof(last), false, 1000, &fr), WS_PARSE_OK);
	assert_true(fr.fin);
	assert_int_equal(fr.opcode, WS_OP_CONTINUATION);
	assert_int_equal(ws_frame_parse(ping, sizeof(ping), false, 1000, &fr), WS_PARSE_OK);
	assert_int_equal(fr.opcode, WS_OP_PING);
	assert_int_equal(ws_frame_parse(pong, sizeof(pong), true, 1000, &fr), WS_PARSE_OK);
	assert_int_equal(fr.opcode, WS_OP_PONG);
	/* A fragmented ping, and a ping of 126 bytes, are errors. */
	const uint8_t ping_frag[] = { 0x09, 0x00 };
	assert_int_equal(ws_frame_parse(ping_frag, 2, false, 1000, &fr), WS_PARSE_PROTOCOL);
	uint8_t big_ping[4 + 126] = { 0x89, 126, 0, 126 };
	assert_int_equal(ws_frame_parse(big_ping, sizeof(big_ping), false, 1000, &fr),
			 WS_PARSE_PROTOCOL);
}

static void test_rfc_lengths(void **state)
{
	static uint8_t f[10 + 65536];
	struct ws_frame fr;
	/* 256 bytes: 16-bit length. */
	const uint8_t h256[] = { 0x82, 0x7e, 0x01, 0x00 };
	memcpy(f, h256, 4);
	assert_int_equal(ws_frame_parse(f, 4 + 256, false, 65536, &fr), WS_PARSE_OK);
	assert_int_equal(fr.payload_len, 256);
	assert_int_equal(fr.header_len, 4);
	assert_int_equal(ws_frame_parse(f, 4 + 255, false, 65536, &fr), WS_PARSE_INCOMPLETE);
	uint8_t h[WS_FRAME_HEADER_MAX];
	assert_int_equal(ws_frame_header(h, true, WS_OP_BINARY, 256, NULL), 4);
	assert_memory_equal(h, h256, 4);
	/* 64 KiB: 64-bit length. */
	const uint8_t h64k[] = { 0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0 };
	memcpy(f, h64k, 10);
	assert_int_equal(ws_frame_parse(f, sizeof(f), false, 65536, &fr), WS_PARSE_OK);
	assert_int_equal(fr.payload_len, 65536);
	assert_int_equal(ws_frame_header(h, true, WS_OP_BINARY, 65536, NULL), 10);
	assert_memory_equal(h, h64k, 10);
	/* Above the limit: refused from the header alone, before the payload arrives. */
	assert_int_equal(ws_frame_parse(f, 10, false, 65535, &fr), WS_PARSE_TOO_BIG);
	/* Not minimal, top bit set, reserved bits, unknown opcode. */
	const uint8_t short16[] = { 0x82, 0x7e, 0x00, 0x05 };
	assert_int_equal(ws_frame_parse(short16, 4, false, 1000, &fr), WS_PARSE_PROTOCOL);
	const uint8_t short64[] = { 0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0x01, 0x00 };
	assert_int_equal(ws_frame_parse(short64, 10, false, 1000, &fr), WS_PARSE_PROTOCOL);
	const uint8_t top[] = { 0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0 };
	assert_int_equal(ws_frame_parse(top, 10, false, UINT64_MAX, &fr), WS_PARSE_PROTOCOL);
	const uint8_t rsv[] = { 0xc2, 0x00 };
	assert_int_equal(ws_frame_parse(rsv, 2, false, 1000, &fr), WS_PARSE_PROTOCOL);
	const uint8_t op3[] = { 0x83, 0x00 };
	assert_int_equal(ws_frame_parse(op3, 2, false, 1000, &fr), WS_PARSE_PROTOCOL);
}

static void test_mask_alignment(void **state)
{
	const uint8_t mask[4] = { 1, 2, 3, 4 };
	uint8_t a[37], b[37];
	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = b[i] = (uint8_t)(i * 7);
	for (size_t i = 0; i < sizeof(a); i++)
		b[i] ^= mask[(i + 2) % 4];
	ws_mask(a, sizeof(a), mask, 2);
	assert_memory_equal(a, b, sizeof(a));
}

static void test_rfc_handshake_key(void **state)
{
	char accept[WS_ACCEPT_LEN + 1];
	assert_int_equal(ws_http_accept_key("dGhlIHNhbXBsZSBub25jZQ==", accept), 0);
	assert_string_equal(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static const char rfc_request[] =
	"GET /chat HTTP/1.1\r\n"
	"Host: server.example.com\r\n"
	"Upgrade: websocket\r\n"
	"Connection: keep-alive, Upgrade\r\n"
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	"Origin: http://example.com\r\n"
	"Sec-WebSocket-Version: 13\r\n\r\n";

static void test_request_parse(void **state)
{
	struct ws_http_request rq;
	size_t len = strlen(rfc_request);
	assert_int_equal(ws_http_parse_request(rfc_request, len, &rq), WS_HTTP_UPGRADE);
	assert_int_equal(rq.head_len, len);
	assert_string_equal(rq.path, "/chat");
	assert_string_equal(rq.key, "dGhlIHNhbXBsZSBub25jZQ==");
	for (size_t n = 0; n < len; n++)
		assert_int_equal(ws_http_parse_request(rfc_request, n, &rq), WS_HTTP_INCOMPLETE);

	const char *plain = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	assert_int_equal(ws_http_parse_request(plain, strlen(plain), &rq), WS_HTTP_PLAIN_GET);
	const char *head = "HEAD / HTTP/1.0\n\n";
	assert_int_equal(ws_http_parse_request(head, strlen(head), &rq), WS_HTTP_PLAIN_GET);
	assert_true(rq.head_only);
	const char *post = "POST / HTTP/1.1\r\n\r\n";
	assert_int_equal(ws_http_parse_request(post, strlen(post), &rq), WS_HTTP_BAD_METHOD);
	const char *garbage = "\x16\x03\x01\x02\r\n\r\n";
	assert_int_equal(ws_http_parse_request(garbage, strlen(garbage), &rq), WS_HTTP_BAD_REQUEST);
	const char *badkey = "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
			     "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n";
	assert_int_equal(ws_http_parse_request(badkey, strlen(badkey), &rq), WS_HTTP_BAD_REQUEST);
	const char *v8 = "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
			 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n";
	assert_int_equal(ws_http_parse_request(v8, strlen(v8), &rq), WS_HTTP_BAD_VERSION);
}

static void test_response_roundtrip(void **state)
{
	char key[WS_KEY_LEN + 1];
	ws_http_new_key(key);
	assert_int_equal(strlen(key), WS_KEY_LEN);
	struct strbuf req, resp;
	strbuf_init(&req);
	strbuf_init(&resp);
	ws_http_build_request(&req, "::1", 8080, "/wg", key);
	struct ws_http_request rq;
	assert_int_equal(ws_http_parse_request(req.data, req.len, &rq), WS_HTTP_UPGRADE);
	assert_string_equal(rq.path, "/wg");
	assert_non_null(strstr(req.data, "Host: [::1]:8080\r\n"));
	assert_int_equal(ws_http_build_response(&resp, rq.key), 0);
	size_t hl;
	int status;
	assert_int_equal(ws_http_parse_response(resp.data, resp.len, key, &hl, &status),
			 WS_HTTP_REPLY_OK);
	assert_int_equal(hl, resp.len);
	assert_int_equal(status, 101);
	/* The answer to another key is refused, as is a 200. */
	char other[WS_KEY_LEN + 1];
	ws_http_new_key(other);
	assert_int_equal(ws_http_parse_response(resp.data, resp.len, other, &hl, &status),
			 WS_HTTP_REPLY_BAD);
	const char *ok = "HTTP/1.1 200 OK\r\n\r\n";
	assert_int_equal(ws_http_parse_response(ok, strlen(ok), key, &hl, &status), WS_HTTP_REPLY_BAD);
	assert_int_equal(status, 200);
	strbuf_free(&req);
	strbuf_free(&resp);
}

static void test_url(void **state)
{
	struct ws_url u;
	const char *why = NULL;
	assert_int_equal(ws_url_parse("ws://example.net", &u, &why), 0);
	assert_false(u.tls);
	assert_string_equal(u.host, "example.net");
	assert_int_equal(u.port, 80);
	assert_string_equal(u.path, "/");
	assert_int_equal(ws_url_parse("wss://[2001:db8::1]:8443/a/b?c=d", &u, &why), 0);
	assert_true(u.tls);
	assert_string_equal(u.host, "2001:db8::1");
	assert_int_equal(u.port, 8443);
	assert_string_equal(u.path, "/a/b?c=d");
	assert_int_equal(ws_url_parse("http://x/", &u, &why), -1);
	assert_int_equal(ws_url_parse("ws://x:0/", &u, &why), -1);
	assert_int_equal(ws_url_parse("ws://user@x/", &u, &why), -1);
	assert_int_equal(ws_url_parse("ws:///", &u, &why), -1);
	assert_int_equal(ws_url_parse("ws://x/a b", &u, &why), -1);
}

/* A syntactically valid key pair for config texts (any 32 bytes in base64 will do). */
#define KEY_A "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
#define KEY_B "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="

static int parse(const char *text, struct wg_iface_conf *w, struct conf_errors *e)
{
	memset(e, 0, sizeof(*e));
	return wg_iface_conf_parse_string(text, "mem", "wg0", CONF_NUMERIC_ONLY, w, e);
}

static void test_config_keys(void **state)
{
	struct wg_iface_conf w;
	struct conf_errors e;
	setenv("RR_TEST_WS_PORT", "8081", 1);
	const char *text = "[Interface]\nPrivateKey = " KEY_A "\nListenWebSocket = ${RR_TEST_WS_PORT}\n"
			   "[Peer]\nPublicKey = " KEY_B "\nEndpoint = wss://node.example.net/wg\n"
			   "EndpointPin = sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
			   "AllowedIPs = 10.0.0.2/32\n";
	assert_int_equal(parse(text, &w, &e), 0);
	assert_true(w.has_listen_ws);
	assert_true(w.listen_ws_any);
	assert_int_equal(ntohs(w.listen_ws.in6.sin6_port), 8081);
	assert_true(w.peers[0].endpoint_is_ws);
	assert_false(w.peers[0].has_endpoint);
	assert_false(w.peers[0].endpoint_is_name);
	assert_string_equal(w.peers[0].endpoint_text, "wss://node.example.net/wg");
	assert_true(w.peers[0].has_endpoint_pin);
	assert_int_equal(w.peers[0].endpoint_pin[0], 0xe3);   /* SHA-256 of nothing */

	/* print -> parse gives the same config (confdiff sees no change). */
	char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	assert_non_null(f);
	assert_int_equal(wg_iface_conf_print(f, &w, true), 0);
	fclose(f);
	struct wg_iface_conf w2;
	assert_int_equal(parse(buf, &w2, &e), 0);
	assert_true(w2.has_listen_ws && w2.listen_ws_any);
	assert_true(confdiff_peer_equal(&w.peers[0], &w2.peers[0]));
	wg_iface_conf_free(&w2);

	/* An address, and the port straight from $NAME. */
	const char *t2 = "[Interface]\nPrivateKey = " KEY_A "\nListenWebSocket = 127.0.0.1:$RR_TEST_WS_PORT\n";
	assert_int_equal(parse(t2, &w2, &e), 0);
	assert_false(w2.listen_ws_any);
	assert_int_equal(w2.listen_ws.sa.sa_family, AF_INET);
	wg_iface_conf_free(&w2);
	wg_iface_conf_free(&w);
}

static void test_config_errors(void **state)
{
	struct wg_iface_conf w;
	struct conf_errors e;
	unsetenv("RR_TEST_WS_UNSET");
	const char *bad[] = {
		"[Interface]\nPrivateKey = " KEY_A "\nListenWebSocket = $RR_TEST_WS_UNSET\n",
		"[Interface]\nPrivateKey = " KEY_A "\nListenWebSocket = 70000\n",
		"[Interface]\nPrivateKey = " KEY_A "\nListenWebSocket = nohost:80\n",
		"[Interface]\nPrivateKey = " KEY_A "\n[Peer]\nPublicKey = " KEY_B "\nEndpoint = http://x/\n",
		"[Interface]\nPrivateKey = " KEY_A "\n[Peer]\nPublicKey = " KEY_B "\nEndpointPin = md5/abc\n",
	};
	const char *want[] = { "$RR_TEST_WS_UNSET is not set", "port '70000'", "'nohost' is not",
			       "ws:// or wss://", "EndpointPin" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], &w, &e), -1);
		assert_true(e.count >= 1);
		if (!strstr(e.msg[0], want[i]))
			fail_msg("case %zu: '%s' lacks '%s'", i, e.msg[0], want[i]);
		assert_non_null(strstr(e.msg[0], "mem:"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_unmasked_text),
		cmocka_unit_test(test_rfc_masked_text),
		cmocka_unit_test(test_rfc_fragments_and_control),
		cmocka_unit_test(test_rfc_lengths),
		cmocka_unit_test(test_mask_alignment),
		cmocka_unit_test(test_rfc_handshake_key),
		cmocka_unit_test(test_request_parse),
		cmocka_unit_test(test_response_roundtrip),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_config_keys),
		cmocka_unit_test(test_config_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
