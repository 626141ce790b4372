/*
 * The URL of a WebSocket endpoint (Endpoint = ws://… or wss://…), split for
 * the config parser, which checks it, and the transport (ws/), which dials it.
 */
#ifndef RR_CONF_WS_URL_H
#define RR_CONF_WS_URL_H

#include <stdbool.h>

/*
 * Splits ws://host[:port]/path or wss://... (IPv6 hosts in brackets). 0, or
 * -1 with a reason in *why. The port defaults to 80 / 443, the path to "/".
 */
struct ws_url {
	bool tls;
	char host[256];
	unsigned port;
	char path[256];
};
int ws_url_parse(const char *text, struct ws_url *out, const char **why);

#endif
