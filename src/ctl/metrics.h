/*
 * `rrctl show metrics`: the router's counters in the Prometheus text
 * exposition format, version 0.0.4 (one "# HELP" and "# TYPE" line per
 * family, then its samples as `name{label="value",...} number`).
 */
#ifndef RR_CTL_METRICS_H
#define RR_CTL_METRICS_H

#include <stdint.h>

#include "core/strbuf.h"
#include "exec/supervisor.h"
#include "ip/router.h"
#include "stack/sock.h"

/* What the metrics are read from; a NULL source's families are left out. */
struct metrics_sources {
	const struct ip_router *router;
	const struct sock_stats *sockets;    /* the host stack (shim sockets and clients) */
	const struct supervisor *sup;        /* the [exec] programs */
	uint64_t uptime_ns;
};

void metrics_render(struct strbuf *out, const struct metrics_sources *src);

/* A label value with \, " and newline escaped as the format requires, without the quotes. */
void metrics_label_value(struct strbuf *out, const char *s);

#endif
