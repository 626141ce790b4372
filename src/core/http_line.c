#include "core/http_line.h"

#include <string.h>

bool http_request_line_parse(const char *buf, size_t len, struct http_request_line *out)
{
	size_t line_len = 0;
	while (line_len < len && buf[line_len] != '\r' && buf[line_len] != '\n')
		line_len++;
	const char *sp1 = memchr(buf, ' ', line_len);
	if (!sp1)
		return false;
	size_t method_len = (size_t)(sp1 - buf);
	const char *target = sp1 + 1;
	size_t rest = line_len - method_len - 1;
	const char *sp2 = memchr(target, ' ', rest);
	if (!sp2 || sp2 == target)
		return false;
	size_t target_len = (size_t)(sp2 - target);
	const char *version = sp2 + 1;
	size_t version_len = rest - target_len - 1;
	if (version_len != 8 || memcmp(version, "HTTP/1.", 7) != 0)
		return false;
	*out = (struct http_request_line){ .method = buf, .method_len = method_len,
					   .target = target, .target_len = target_len,
					   .version = version };
	return true;
}
