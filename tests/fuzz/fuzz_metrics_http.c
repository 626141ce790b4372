/*
 * libFuzzer harness for the metrics listener's request parser
 * (metrics_http_parse): bytes from any local process reach it. The input is
 * copied to a buffer of exactly its size so that a read past the end is
 * caught; a verdict other than "incomplete" without a blank line ending the
 * head would be a parser bug, and aborts.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/metrics_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	bool head_only = true;
	enum metrics_http_verdict v = metrics_http_parse(buf, size, &head_only);
	bool ended = memmem(buf, size, "\n\n", 2) || memmem(buf, size, "\r\n\r\n", 4);
	if (v != METRICS_HTTP_INCOMPLETE && !ended)
		abort();
	if (v == METRICS_HTTP_INCOMPLETE && ended)
		abort();
	if (head_only && (size < 4 || memcmp(buf, "HEAD", 4) != 0))
		abort();
	free(buf);
	return 0;
}
