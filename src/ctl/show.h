/* Renders router state for the control socket, as text or JSON. */
#ifndef RR_CTL_SHOW_H
#define RR_CTL_SHOW_H

#include <stdbool.h>
#include <stddef.h>

#include "core/strbuf.h"
#include "ip/router.h"
#include "wg/device.h"

void show_interfaces(struct strbuf *out, const struct ip_router *r, bool json);
void show_routes(struct strbuf *out, const struct ip_router *router, bool json);
void show_peers(struct strbuf *out, const struct ip_router *r, bool json);

#endif
