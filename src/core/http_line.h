/*
 * The request line of an HTTP/1.x request (RFC 9112 section 3): method SP
 * request-target SP HTTP-version. Shared by the small HTTP servers on the
 * loop (the metrics listener, the WebSocket listener).
 */
#ifndef RR_CORE_HTTP_LINE_H
#define RR_CORE_HTTP_LINE_H

#include <stdbool.h>
#include <stddef.h>

struct http_request_line {
	const char *method, *target, *version;   /* point into the buffer parsed */
	size_t method_len, target_len;           /* the version is always 8 bytes: HTTP/1.x */
};

/* The first line of buf (len bytes, CRLF or LF ended); false if it is not a request line. */
bool http_request_line_parse(const char *buf, size_t len, struct http_request_line *out);

#endif
