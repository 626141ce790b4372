#include "ws/ws_http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "core/http_line.h"

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* Length of the head up to and including its blank line, or 0 if not there yet. */
static size_t head_length(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static bool ieq(const char *a, size_t alen, const char *b)
{
	return alen == strlen(b) && strncasecmp(a, b, alen) == 0;
}

/* True when the comma-separated list value contains token (case-insensitive). */
static bool list_has_token(const char *v, size_t vlen, const char *token)
{
	size_t i = 0;
	while (i < vlen) {
		while (i < vlen && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t start = i;
		while (i < vlen && v[i] != ',')
			i++;
		size_t end = i;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (end > start && ieq(v + start, end - start, token))
			return true;
	}
	return false;
}

typedef void (*header_cb)(void *ctx, const char *name, size_t nlen, const char *val, size_t vlen);

/* Calls cb for each header line after the first line; false on a malformed line. */
static bool for_each_header(const char *buf, size_t head_len, header_cb cb, void *ctx)
{
	size_t i = 0;
	while (i < head_len && buf[i] != '\n')
		i++;
	i++;
	while (i < head_len) {
		size_t start = i;
		while (i < head_len && buf[i] != '\n')
			i++;
		size_t end = i;
		i++;
		if (end > start && buf[end - 1] == '\r')
			end--;
		if (end == start)
			break;                         /* the blank line */
		const char *line = buf + start;
		size_t llen = end - start;
		const char *colon = memchr(line, ':', llen);
		if (!colon || colon == line || line[0] == ' ' || line[0] == '\t')
			return false;                  /* no name, or obsolete line folding */
		size_t nlen = (size_t)(colon - line);
		for (size_t k = 0; k < nlen; k++)
			if (!isgraph((unsigned char)line[k]))
				return false;
		const char *v = colon + 1;
		size_t vlen = llen - nlen - 1;
		while (vlen && (*v == ' ' || *v == '\t'))
			v++, vlen--;
		while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		cb(ctx, line, nlen, v, vlen);
	}
	return true;
}

struct request_headers {
	bool upgrade_ws, connection_upgrade, has_upgrade, key_ok, version_13, has_version;
	char key[WS_KEY_LEN + 1];
};

static bool key_valid(const char *v, size_t vlen)
{
	unsigned char raw[32];
	size_t raw_len = 0;
	if (vlen != WS_KEY_LEN)
		return false;
	if (sodium_base642bin(raw, sizeof(raw), v, vlen, NULL, &raw_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return false;
	return raw_len == 16;
}

static void request_header(void *ctx, const char *name, size_t nlen, const char *v, size_t vlen)
{
	struct request_headers *h = ctx;
	if (ieq(name, nlen, "Upgrade")) {
		h->has_upgrade = true;
		h->upgrade_ws = list_has_token(v, vlen, "websocket");
	} else if (ieq(name, nlen, "Connection")) {
		h->connection_upgrade |= list_has_token(v, vlen, "upgrade");
	} else if (ieq(name, nlen, "Sec-WebSocket-Key")) {
		h->key_ok = key_valid(v, vlen);
		if (h->key_ok) {
			memcpy(h->key, v, WS_KEY_LEN);
			h->key[WS_KEY_LEN] = '\0';
		}
	} else if (ieq(name, nlen, "Sec-WebSocket-Version")) {
		h->has_version = true;
		h->version_13 = ieq(v, vlen, "13");
	}
}

enum ws_http_verdict ws_http_parse_request(const char *buf, size_t len, struct ws_http_request *out)
{
	memset(out, 0, sizeof(*out));
	size_t hl = head_length(buf, len);
	if (!hl)
		return WS_HTTP_INCOMPLETE;
	out->head_len = hl;
	struct http_request_line rl;
	if (!http_request_line_parse(buf, hl, &rl))
		return WS_HTTP_BAD_REQUEST;
	size_t method_len = rl.method_len, target_len = rl.target_len;
	const char *target = rl.target, *version = rl.version;
	size_t copy = target_len < sizeof(out->path) - 1 ? target_len : sizeof(out->path) - 1;
	for (size_t i = 0; i < copy; i++)
		out->path[i] = isprint((unsigned char)target[i]) ? target[i] : '?';

	struct request_headers h = { 0 };
	if (!for_each_header(buf, hl, request_header, &h))
		return WS_HTTP_BAD_REQUEST;
	bool is_get = method_len == 3 && memcmp(buf, "GET", 3) == 0;
	out->head_only = method_len == 4 && memcmp(buf, "HEAD", 4) == 0;
	if (!is_get && !out->head_only)
		return WS_HTTP_BAD_METHOD;
	if (!h.has_upgrade)
		return WS_HTTP_PLAIN_GET;
	/* An upgrade must be a GET of HTTP/1.1 with every field of 4.2.1. */
	if (!is_get || version[7] != '1' || !h.upgrade_ws || !h.connection_upgrade || !h.key_ok)
		return WS_HTTP_BAD_REQUEST;
	if (!h.has_version || !h.version_13)
		return WS_HTTP_BAD_VERSION;
	memcpy(out->key, h.key, sizeof(out->key));
	return WS_HTTP_UPGRADE;
}

int ws_http_accept_key(const char *key, char out[WS_ACCEPT_LEN + 1])
{
	char in[WS_KEY_LEN + sizeof(ws_guid)];
	size_t klen = strnlen(key, WS_KEY_LEN);
	memcpy(in, key, klen);
	memcpy(in + klen, ws_guid, sizeof(ws_guid) - 1);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	if (!EVP_Digest(in, klen + sizeof(ws_guid) - 1, md, &md_len, EVP_sha1(), NULL) || md_len != 20)
		return -1;
	if (EVP_EncodeBlock((unsigned char *)out, md, 20) != WS_ACCEPT_LEN)
		return -1;
	out[WS_ACCEPT_LEN] = '\0';
	return 0;
}

void ws_http_new_key(char out[WS_KEY_LEN + 1])
{
	unsigned char raw[16];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, WS_KEY_LEN + 1, raw, sizeof(raw), sodium_base64_VARIANT_ORIGINAL);
}

int ws_http_build_response(struct strbuf *out, const char *key)
{
	char accept[WS_ACCEPT_LEN + 1];
	if (ws_http_accept_key(key, accept) < 0)
		return -1;
	strbuf_printf(out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
			   "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
	return out->oom ? -1 : 0;
}

void ws_http_build_request(struct strbuf *out, const char *host, unsigned port, const char *path,
			   const char *key)
{
	bool v6 = strchr(host, ':') != NULL;
	strbuf_printf(out, "GET %s HTTP/1.1\r\nHost: %s%s%s", path, v6 ? "[" : "", host, v6 ? "]" : "");
	if (port)
		strbuf_printf(out, ":%u", port);
	strbuf_printf(out, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
			   "User-Agent: rrouted\r\n\r\n", key);
}

struct response_headers {
	bool upgrade_ws, connection_upgrade, accept_ok;
	const char *expected;
};

static void response_header(void *ctx, const char *name, size_t nlen, const char *v, size_t vlen)
{
	struct response_headers *h = ctx;
	if (ieq(name, nlen, "Upgrade"))
		h->upgrade_ws = list_has_token(v, vlen, "websocket");
	else if (ieq(name, nlen, "Connection"))
		h->connection_upgrade |= list_has_token(v, vlen, "upgrade");
	else if (ieq(name, nlen, "Sec-WebSocket-Accept"))
		h->accept_ok = vlen == WS_ACCEPT_LEN && memcmp(v, h->expected, vlen) == 0;
}

enum ws_http_reply ws_http_parse_response(const char *buf, size_t len, const char *key,
					  size_t *head_len, int *status)
{
	*status = 0;
	*head_len = head_length(buf, len);
	if (!*head_len)
		return WS_HTTP_REPLY_INCOMPLETE;
	/* status-line = HTTP-version SP status-code SP [reason-phrase] */
	if (*head_len < 13 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ')
		return WS_HTTP_REPLY_BAD;
	for (int i = 9; i < 12; i++)
		if (!isdigit((unsigned char)buf[i]))
			return WS_HTTP_REPLY_BAD;
	*status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	if (*status != 101)
		return WS_HTTP_REPLY_BAD;
	struct response_headers h = { 0 };
	char expected[WS_ACCEPT_LEN + 1];
	if (ws_http_accept_key(key, expected) < 0)
		return WS_HTTP_REPLY_BAD;
	h.expected = expected;
	if (!for_each_header(buf, *head_len, response_header, &h))
		return WS_HTTP_REPLY_BAD;
	if (!h.upgrade_ws || !h.connection_upgrade || !h.accept_ok)
		return WS_HTTP_REPLY_BAD;
	return WS_HTTP_REPLY_OK;
}
