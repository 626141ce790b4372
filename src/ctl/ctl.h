/*
 * The control socket: a unix stream socket where rrctl (or anything else)
 * writes one request line such as "show peers --json" and reads the reply
 * until the server closes the connection. A reply that begins with
 * "error: " is a failure. The socket is created mode 0600: only the user
 * running rrouted may talk to it.
 */
#ifndef RR_CTL_CTL_H
#define RR_CTL_CTL_H

#include <limits.h>
#include <stddef.h>

#include "core/loop.h"
#include "core/strbuf.h"
#include "ctl/oneshot.h"
#include "exec/supervisor.h"
#include "ip/router.h"
#include "stack/sock.h"
#include "wg/device.h"

struct ctl_server {
	struct loop_fd lfd;
	struct loop *loop;
	char path[PATH_MAX];
	struct ip_router *router;
	struct oneshot_server clients;  /* one request line each, then the reply */
	uint64_t stats_timeouts;     /* clients closed for idling (CTL_CLIENT_TIMEOUT_NS) */
	uint64_t started_at;         /* CLOCK_MONOTONIC ns */
	char shim_path[108];         /* the shim socket (rrctl exec asks "shim-path"); "" if none */
	/*
	 * "reload": set by rrouted after ctl_server_open (NULL: not offered).
	 * Appends the reply, which starts with "error: " when it failed.
	 */
	void (*reload)(void *ctx, struct strbuf *out);
	void *reload_ctx;
	/* "show metrics" reads these too when set (after ctl_server_open); NULL: left out. */
	const struct sock_stats *sock_stats;
	const struct supervisor *sup;
};

int ctl_server_open(struct ctl_server *srv, struct loop *loop, const char *path,
		    struct ip_router *router);
void ctl_server_close(struct ctl_server *srv);

/* Runs one request line and appends the reply (also used by tests). */
void ctl_handle_request(struct ctl_server *srv, const char *line, struct strbuf *out);

#endif
