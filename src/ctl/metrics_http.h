/*
 * `[router] metrics = 127.0.0.1:9142`: a tiny HTTP/1.x server on rrouted's
 * loop that answers GET /metrics with the exposition of ctl/metrics.h, for a
 * Prometheus that scrapes over TCP. Loopback addresses only (the figures name
 * peers and endpoints); one request per connection, then close. Everything is
 * bounded: METRICS_HTTP_MAX_CLIENTS connections, a request of at most
 * METRICS_HTTP_REQUEST_MAX bytes, and METRICS_HTTP_TIMEOUT_S for a client to
 * send its request and read the reply, so a slow or silent client costs a
 * slot for a few seconds and never stalls the loop.
 */
#ifndef RR_CTL_METRICS_HTTP_H
#define RR_CTL_METRICS_HTTP_H

#include <stddef.h>

#include "core/loop.h"
#include "ctl/metrics.h"
#include "ctl/oneshot.h"
#include "ip/addr.h"

#define METRICS_HTTP_MAX_CLIENTS 8
#define METRICS_HTTP_REQUEST_MAX 2048
#define METRICS_HTTP_TIMEOUT_S 5

struct metrics_http {
	struct loop_fd lfd;
	struct loop *loop;
	struct metrics_sources src;        /* uptime_ns is filled in per request */
	uint64_t started_at;               /* CLOCK_MONOTONIC ns, for the uptime */
	struct oneshot_server clients;     /* one request each, then the reply and close */
	uint64_t refused;                  /* connections turned away: all slots taken */
};

/* What a request asks for, from its head (request line and headers). */
enum metrics_http_verdict {
	METRICS_HTTP_INCOMPLETE,   /* the blank line ending the head has not arrived yet */
	METRICS_HTTP_OK,           /* GET (or HEAD) /metrics */
	METRICS_HTTP_NOT_FOUND,    /* another path */
	METRICS_HTTP_BAD_METHOD,   /* neither GET nor HEAD */
	METRICS_HTTP_BAD_REQUEST,  /* not an HTTP/1.x request line */
};
/* Parses the bytes received so far; *head_only is set for HEAD. Never reads past len. */
enum metrics_http_verdict metrics_http_parse(const char *buf, size_t len, bool *head_only);

/* True for 127.0.0.0/8 and ::1 (and ::ffff:127.x): the only addresses the listener may use. */
bool metrics_http_addr_is_loopback(const union sockaddr_inet *a);

/*
 * Listens on addr (a loopback address; anything else is -EPERM) for the
 * sources in src. 0, or -errno with a log line saying why.
 */
int metrics_http_open(struct metrics_http *h, struct loop *loop, const union sockaddr_inet *addr,
		      const struct metrics_sources *src);
/* Closes the listener and every client; harmless on one that never opened. */
void metrics_http_close(struct metrics_http *h);

#endif
