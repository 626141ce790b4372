#include "conf/ws_url.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int ws_url_parse(const char *text, struct ws_url *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	const char *p;
	if (strncasecmp(text, "ws://", 5) == 0) {
		p = text + 5;
		out->port = 80;
	} else if (strncasecmp(text, "wss://", 6) == 0) {
		p = text + 6;
		out->tls = true;
		out->port = 443;
	} else {
		*why = "a WebSocket URL starts with ws:// or wss://";
		return -1;
	}
	const char *host_end;
	const char *after;
	if (*p == '[') {
		host_end = strchr(p, ']');
		if (!host_end) {
			*why = "an IPv6 host needs its closing ]";
			return -1;
		}
		p++;
		after = host_end + 1;
	} else {
		host_end = p + strcspn(p, ":/?#");
		after = host_end;
	}
	size_t hlen = (size_t)(host_end - p);
	if (hlen == 0 || hlen >= sizeof(out->host)) {
		*why = hlen ? "host name too long" : "no host";
		return -1;
	}
	for (size_t i = 0; i < hlen; i++) {
		unsigned char c = (unsigned char)p[i];
		if (!isalnum(c) && c != '.' && c != '-' && c != ':' && c != '_') {
			*why = "the host has a character that is not allowed (user@ is not supported)";
			return -1;
		}
	}
	memcpy(out->host, p, hlen);
	if (*after == ':') {
		char *end;
		unsigned long port = strtoul(after + 1, &end, 10);
		if (end == after + 1 || port == 0 || port > 65535) {
			*why = "the port must be 1..65535";
			return -1;
		}
		out->port = (unsigned)port;
		after = end;
	}
	if (*after == '\0') {
		strcpy(out->path, "/");
	} else if (*after == '/' || *after == '?') {
		if (strlen(after) + 2 > sizeof(out->path)) {
			*why = "path too long";
			return -1;
		}
		snprintf(out->path, sizeof(out->path), "%s%s", *after == '?' ? "/" : "", after);
		for (char *c = out->path; *c; c++) {
			if (!isgraph((unsigned char)*c) || *c == '#') {
				*why = "the path has a space, control character or fragment";
				return -1;
			}
		}
	} else {
		*why = "expected :port or /path after the host";
		return -1;
	}
	return 0;
}
