/*
 * wg-quick's PreUp/PostUp/PreDown/PostDown commands, run inside the router's
 * network one after another (each may configure the router through the
 * shim, e.g. `ip addr add … dev %i`, so none may block the event loop).
 */
#ifndef RR_EXEC_HOOKS_H
#define RR_EXEC_HOOKS_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/config.h"
#include "exec/supervisor.h"

struct hook_run {
	struct supervisor *sup;
	char **names, **commands;   /* expanded, in order */
	size_t n, next;
	unsigned failed;
	void (*done)(void *ctx, unsigned failed);
	void *ctx;
};

/*
 * Runs, for each interface in order, its PreUp then PostUp commands (up) or
 * PreDown then PostDown (down), and calls done when the last one ended (at
 * once if there are none). A failing command is logged and the rest still
 * run. 0 or -ENOMEM.
 */
int hooks_run(struct hook_run *hr, struct supervisor *sup, const struct wg_iface_conf *ifaces,
	      size_t n_ifaces, bool up, void (*done)(void *ctx, unsigned failed), void *ctx);
void hooks_free(struct hook_run *hr);

#endif
