/*
 * Reload (SIGHUP, `rrctl reload`): re-read rrouted.conf and the interfaces
 * directory and apply the difference to the running router, like
 * `wg syncconf` for each interface. All or nothing: a file with an error, or
 * a change that cannot be made, leaves the running configuration as it was.
 *
 * Interfaces that are not in the configuration (made at runtime with
 * `ip link add`) are never touched; a new file naming one is an error.
 */
#ifndef RR_RROUTED_RELOAD_H
#define RR_RROUTED_RELOAD_H

#include <stdbool.h>

#include "conf/config.h"
#include "core/loop.h"
#include "core/strbuf.h"
#include "exec/supervisor.h"
#include "ip/router.h"

struct reload_target {
	struct loop *loop;
	struct ip_router *router;
	struct router_conf *conf;   /* the running configuration; replaced when a reload succeeds */
	struct supervisor *sup;     /* NULL: no programs or hooks can run */
	bool programs_started;      /* false while the up hooks run: [exec] starts later from conf */
	bool log_level_forced;      /* --log-level was given: log_level = lines do not change it */
	/*
	 * May be NULL. Told of each address a reload adds (after) or removes
	 * (before), for the rtnetlink multicasts BIRD listens to.
	 */
	void (*address_changed)(void *ctx, const struct netif *nif, const struct ip_addr *addr,
				bool added);
	void *address_changed_ctx;
};

/*
 * Loads conf->path again (endpoint names deferred: never blocks on DNS) and
 * applies it. On success appends one line per change ("no changes" if none)
 * and returns 0. On failure appends "file:line: message" lines, logs them,
 * changes nothing and returns -1.
 */
int reload_apply(struct reload_target *t, struct strbuf *out);

/* Installs the routes of the configuration (AllowedIPs unless Table = off, route = lines). */
void reload_install_routes(struct ip_router *router, const struct router_conf *conf);

#endif
