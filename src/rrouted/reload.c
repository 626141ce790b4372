/*
 * DOC: how a reload applies a configuration.
 *
 * 1. Load everything (rrouted.conf and every NAME.conf). Any error: report
 *    all of them, change nothing.
 * 2. Diff against the running configuration (conf/confdiff.c).
 * 3. Check what can be checked without touching anything (a new file whose
 *    name is taken by an interface made at runtime).
 * 4. The steps that can fail, each undone if a later one fails: create the
 *    new interfaces (binds their ports), then wg_device_apply_conf on the
 *    changed ones (itself all or nothing; undone by applying the old part).
 * 5. The steps that cannot fail for a reason the user must hear about:
 *    MTU, addresses, routes, removed interfaces, [exec] programs, hooks.
 *    Unchanged interfaces and peers are not touched at all, so their
 *    sessions, counters and timers go on, and packets keep flowing: the
 *    whole reload is one callback of the single-threaded loop.
 */
#include "rrouted/reload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf/confdiff.h"
#include "core/log.h"
#include "exec/hooks.h"
#include "wg/device.h"
#include "wgconf/wgconf.h"

static void add_route_logged(struct ip_router *router, const struct fib_route *rt,
			     const char *origin)
{
	int e = fib_add(router->fib, rt, 0);
	if (e < 0 && e != -EEXIST) {
		char buf[IP_PREFIX_STRLEN];
		log_warn("%s: cannot add route %s: %s", origin, ip_prefix_format(&rt->prefix, buf),
			 strerror(-e));
	}
}

static struct fib_route allowedips_route(const struct confdiff_route *r, uint32_t ifindex)
{
	return (struct fib_route){
		.prefix = r->prefix, .type = FIB_TYPE_UNICAST, .ifindex = ifindex,
		.protocol = FIB_PROTO_BOOT, .scope = FIB_SCOPE_LINK, .table = r->table,
	};
}

/* wg-quick's routes for one interface's AllowedIPs. */
static void install_iface_routes(struct ip_router *router, const struct wg_iface_conf *c)
{
	struct netif *nif = ip_router_netif_by_name(router, c->name);
	struct confdiff_route *routes;
	size_t n;
	if (!nif)
		return;
	if (confdiff_iface_routes(c, &routes, &n) < 0) {
		log_error("%s: out of memory installing its routes", c->name);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct fib_route rt = allowedips_route(&routes[i], nif->ifindex);
		add_route_logged(router, &rt, c->name);
	}
	free(routes);
}

/* A route = line as a FIB route; false (logged) if its dev does not exist. */
static bool config_route(struct ip_router *router, const struct router_conf *conf,
			 const struct route_conf *rc, struct fib_route *rt)
{
	*rt = (struct fib_route){
		.prefix = rc->prefix, .type = (uint8_t)rc->type, .protocol = FIB_PROTO_STATIC,
	};
	if (rc->has_gateway)
		rt->gateway = rc->gateway;
	if (rc->dev[0]) {
		struct netif *nif = ip_router_netif_by_name(router, rc->dev);
		if (!nif) {
			log_warn("%s:%d: route via unknown interface %s", conf->path, rc->line, rc->dev);
			return false;
		}
		rt->ifindex = nif->ifindex;
	}
	return true;
}

void reload_install_routes(struct ip_router *router, const struct router_conf *conf)
{
	for (size_t i = 0; i < conf->n_ifaces; i++)
		install_iface_routes(router, &conf->ifaces[i]);
	for (size_t i = 0; i < conf->n_routes; i++) {
		struct fib_route rt;
		if (config_route(router, conf, &conf->routes[i], &rt))
			add_route_logged(router, &rt, conf->path);
	}
}

/* ---- errors ---- */

static void report_errors(const struct conf_errors *errs, struct strbuf *out)
{
	unsigned shown = errs->count < CONF_MAX_ERRORS ? errs->count : CONF_MAX_ERRORS;
	strbuf_puts(out, "error: reload failed; the running configuration is unchanged\n");
	for (unsigned i = 0; i < shown; i++) {
		log_error("reload: %s", errs->msg[i]);
		strbuf_printf(out, "%s\n", errs->msg[i]);
	}
	if (errs->count > shown)
		strbuf_printf(out, "(%u more errors not shown)\n", errs->count - shown);
}

/* ---- step 4: what can fail, with its undo ---- */

struct pending {
	struct confdiff *diff;
	/* Per diff->ifaces entry: what step 4 did to it. */
	enum { DID_NOTHING, DID_CREATE, DID_APPLY } *did;
};

static bool wg_part_changed(const struct confdiff_iface *d)
{
	return d->old && d->new && (d->changes & CONFDIFF_WG);
}

/* The interface of a changed entry, if it still exists as ours (not deleted at runtime). */
static struct wg_device *running_device(struct ip_router *router, const char *name)
{
	struct netif *nif = ip_router_netif_by_name(router, name);
	if (!nif || nif->ops->kind != NETIF_KIND_WIREGUARD)
		return NULL;
	return wg_device_of_netif(nif);
}

static void undo(struct reload_target *t, struct pending *p, size_t upto)
{
	for (size_t i = upto; i-- > 0;) {
		const struct confdiff_iface *d = &p->diff->ifaces[i];
		if (p->did[i] == DID_CREATE) {
			struct netif *nif = ip_router_netif_by_name(t->router, d->new->name);
			if (nif)
				ip_router_destroy_netif(t->router, nif);
		} else if (p->did[i] == DID_APPLY) {
			struct wg_device *dev = running_device(t->router, d->old->name);
			char err[256];
			if (dev && wg_device_apply_conf(dev, d->old, err, sizeof(err)) < 0)
				log_error("%s: cannot restore its previous WireGuard settings: %s",
					  d->old->name, err);
		}
		p->did[i] = DID_NOTHING;
	}
}

static int prepare(struct reload_target *t, struct pending *p, struct conf_errors *errs)
{
	struct confdiff *diff = p->diff;
	size_t i;
	for (i = 0; i < diff->n_ifaces; i++) {
		const struct confdiff_iface *d = &diff->ifaces[i];
		bool create = !d->old && d->new;
		/* A file we had, whose interface someone deleted at runtime: bring it back. */
		if (d->old && d->new && !running_device(t->router, d->new->name))
			create = true;
		if (create) {
			if (!wg_device_create(t->loop, t->router, d->new)) {
				conf_error(errs, d->new->path, 0,
					   "cannot create interface %s (rrouted's log says why: "
					   "ListenPort in use?)", d->new->name);
				goto fail;
			}
			p->did[i] = DID_CREATE;
			continue;
		}
		if (!wg_part_changed(d))
			continue;
		char err[256] = "";
		if (wg_device_apply_conf(running_device(t->router, d->new->name), d->new, err,
					 sizeof(err)) < 0) {
			conf_error(errs, d->new->path, 0, "%s", err[0] ? err : "cannot apply");
			goto fail;
		}
		p->did[i] = DID_APPLY;
	}
	return 0;
fail:
	undo(t, p, i);
	return -1;
}

/* ---- step 5 ---- */

static void hooks_done(void *ctx, unsigned failed)
{
	struct hook_run *hr = ctx;
	if (failed)
		log_warn("reload: %u hook command(s) failed", failed);
	hooks_free(hr);
	free(hr);
}

/* Runs the up (or down) hooks of some interfaces in the background. */
static void run_hooks(struct reload_target *t, const struct wg_iface_conf *const *ifaces,
		      size_t n, bool up)
{
	if (!t->sup || !n)
		return;
	/* hooks_run takes an array of structs: copy the few pointers' targets shallowly. */
	struct wg_iface_conf *list = calloc(n, sizeof(*list));
	struct hook_run *hr = calloc(1, sizeof(*hr));
	if (!list || !hr) {
		log_error("reload: out of memory starting the interface hooks");
		free(list);
		free(hr);
		return;
	}
	for (size_t i = 0; i < n; i++)
		list[i] = *ifaces[i];   /* hooks_run copies the commands it keeps */
	if (hooks_run(hr, t->sup, list, n, up, hooks_done, hr) < 0) {
		log_error("reload: out of memory starting the interface hooks");
		free(hr);
	}
	free(list);
}

static void apply_iface_changes(struct reload_target *t, const struct confdiff_iface *d)
{
	struct netif *nif = ip_router_netif_by_name(t->router, d->new->name);
	if (!nif)
		return;
	if (d->changes & CONFDIFF_MTU) {
		nif->mtu = d->new->mtu;
		ip_router_netif_changed(t->router, nif);
	}
	for (size_t a = 0; a < d->n_addrs_del; a++) {
		if (t->address_changed)
			t->address_changed(t->address_changed_ctx, nif, &d->addrs_del[a].addr, false);
		ip_router_del_address(t->router, nif, &d->addrs_del[a]);
	}
	for (size_t a = 0; a < d->n_addrs_add; a++) {
		int e = ip_router_add_address(t->router, nif, &d->addrs_add[a], NULL);
		if (e < 0 && e != -EEXIST) {
			char buf[IP_PREFIX_STRLEN];
			log_warn("%s: cannot add address %s: %s", nif->name,
				 ip_prefix_format(&d->addrs_add[a], buf), strerror(-e));
		} else if (e == 0 && t->address_changed) {
			t->address_changed(t->address_changed_ctx, nif, &d->addrs_add[a].addr, true);
		}
	}
	for (size_t r = 0; r < d->n_routes_del; r++) {
		struct fib_route rt = allowedips_route(&d->routes_del[r], nif->ifindex);
		fib_del(t->router->fib, &rt);   /* -ESRCH: someone removed it already */
	}
	for (size_t r = 0; r < d->n_routes_add; r++) {
		struct fib_route rt = allowedips_route(&d->routes_add[r], nif->ifindex);
		add_route_logged(t->router, &rt, nif->name);
	}
}

static void describe(const struct confdiff_iface *d, struct strbuf *out)
{
	const char *name = d->new ? d->new->name : d->old->name;
	if (!d->old) {
		strbuf_printf(out, "%s: added (%zu peer%s)\n", name, d->peers_added,
			      d->peers_added == 1 ? "" : "s");
		return;
	}
	if (!d->new) {
		strbuf_printf(out, "%s: removed\n", name);
		return;
	}
	strbuf_printf(out, "%s: changed:", name);
	if (d->changes & CONFDIFF_WG)
		strbuf_printf(out, " peers +%zu -%zu ~%zu", d->peers_added, d->peers_removed,
			      d->peers_changed);
	if (d->changes & CONFDIFF_ADDRS)
		strbuf_printf(out, " addresses +%zu -%zu", d->n_addrs_add, d->n_addrs_del);
	if (d->changes & CONFDIFF_MTU)
		strbuf_printf(out, " mtu %u", d->new->mtu);
	if (d->changes & CONFDIFF_ROUTES)
		strbuf_printf(out, " routes +%zu -%zu", d->n_routes_add, d->n_routes_del);
	if (d->changes & CONFDIFF_HOOKS)
		strbuf_puts(out, " hooks (used at the next up/down)");
	strbuf_puts(out, "\n");
}

static void commit(struct reload_target *t, struct pending *p, struct router_conf *new,
		   struct strbuf *out)
{
	struct confdiff *diff = p->diff;
	const struct router_conf *old = t->conf;
	const struct wg_iface_conf **up = calloc(diff->n_ifaces + 1, sizeof(*up));
	const struct wg_iface_conf **down = calloc(diff->n_ifaces + 1, sizeof(*down));
	size_t n_up = 0, n_down = 0;

	/* route = lines first out, while the interfaces they name still exist. */
	for (size_t i = 0; i < diff->n_routes_del; i++) {
		struct fib_route rt;
		if (config_route(t->router, old, diff->routes_del[i], &rt))
			fib_del(t->router->fib, &rt);
	}
	for (size_t i = 0; i < diff->n_ifaces; i++) {
		const struct confdiff_iface *d = &diff->ifaces[i];
		describe(d, out);
		if (!d->new) {
			struct wg_device *dev = running_device(t->router, d->old->name);
			if (dev)
				ip_router_destroy_netif(t->router, &dev->netif);
			if (down)
				down[n_down++] = d->old;
			continue;
		}
		if (p->did[i] == DID_CREATE) {
			install_iface_routes(t->router, d->new);
			/* Unchanged route = lines through it were lost with the old interface. */
			for (size_t r = 0; r < new->n_routes; r++) {
				struct fib_route rt;
				if (strcmp(new->routes[r].dev, d->new->name) == 0 &&
				    config_route(t->router, new, &new->routes[r], &rt))
					add_route_logged(t->router, &rt, new->path);
			}
			if (!d->old && up)
				up[n_up++] = d->new;
			continue;
		}
		apply_iface_changes(t, d);
	}
	for (size_t i = 0; i < diff->n_routes_add; i++) {
		struct fib_route rt;
		if (config_route(t->router, new, diff->routes_add[i], &rt))
			add_route_logged(t->router, &rt, new->path);
		char buf[IP_PREFIX_STRLEN];
		strbuf_printf(out, "route %s: set\n", ip_prefix_format(&diff->routes_add[i]->prefix, buf));
	}
	for (size_t i = 0; i < diff->n_routes_del; i++) {
		bool replaced = false;
		for (size_t j = 0; j < diff->n_routes_add; j++)
			replaced |= ip_prefix_equal(&diff->routes_add[j]->prefix,
						    &diff->routes_del[i]->prefix);
		char buf[IP_PREFIX_STRLEN];
		if (!replaced)
			strbuf_printf(out, "route %s: removed\n",
				      ip_prefix_format(&diff->routes_del[i]->prefix, buf));
	}

	/* [exec]: before the up hooks start, up_hooks_done starts whatever conf lists then. */
	if (t->sup && t->programs_started) {
		for (size_t i = 0; i < diff->n_execs_stop; i++)
			supervisor_stop_program(t->sup, diff->execs_stop[i]->name);
		for (size_t i = 0; i < diff->n_execs_start; i++)
			if (supervisor_add_program(t->sup, diff->execs_start[i]->name,
						   diff->execs_start[i]->command) < 0)
				log_error("[exec] %s: out of memory", diff->execs_start[i]->name);
	}
	for (size_t i = 0; i < diff->n_execs_stop; i++) {
		bool restarted = false;
		for (size_t j = 0; j < diff->n_execs_start; j++)
			restarted |= strcmp(diff->execs_start[j]->name, diff->execs_stop[i]->name) == 0;
		strbuf_printf(out, "[exec] %s: %s\n", diff->execs_stop[i]->name,
			      restarted ? "restarted" : "stopped");
	}
	for (size_t i = 0; i < diff->n_execs_start; i++) {
		bool restarted = false;
		for (size_t j = 0; j < diff->n_execs_stop; j++)
			restarted |= strcmp(diff->execs_start[i]->name, diff->execs_stop[j]->name) == 0;
		if (!restarted)
			strbuf_printf(out, "[exec] %s: started\n", diff->execs_start[i]->name);
	}
	if (diff->log_level_changed && t->log_level_forced) {
		strbuf_puts(out, "log_level: stays as --log-level set it\n");
	} else if (diff->log_level_changed) {
		enum log_level level = LOG_INFO;
		if (!new->log_level[0] || log_level_parse(new->log_level, &level) == 0)
			log_set_level(level);
		strbuf_printf(out, "log_level: %s\n", new->log_level[0] ? new->log_level : "info");
	}
	if (diff->batch_hold_changed) {
		loop_set_wakeup_policy(t->loop, t->loop->busy_poll_ns, (uint64_t)new->batch_hold_us * 1000);
		strbuf_printf(out, "batch_hold_us: %u\n", new->batch_hold_us);
	}
	if (diff->control_changed) {
		strbuf_printf(out, "control: stays %s until rrouted restarts\n", old->control_path);
		/* Keep the socket we listen on as the configured one, so a later reload agrees. */
		snprintf(new->control_path, sizeof(new->control_path), "%s", old->control_path);
	}
	if (diff->metrics_changed) {
		char mbuf[SOCKADDR_INET_STRLEN];
		strbuf_printf(out, "metrics: stays %s until rrouted restarts\n",
			      old->has_metrics ? sockaddr_inet_format(&old->metrics_addr, mbuf,
								      sizeof(mbuf)) : "off");
		/* As for control: the running listener stays the configured one. */
		new->has_metrics = old->has_metrics;
		new->metrics_addr = old->metrics_addr;
	}
	if (!up || !down)
		log_error("reload: out of memory: interface hooks not run");
	/* Down hooks copy their commands now: the old configuration is freed below. */
	if (down)
		run_hooks(t, down, n_down, false);
	if (up)
		run_hooks(t, up, n_up, true);
	free(up);
	free(down);
}

int reload_apply(struct reload_target *t, struct strbuf *out)
{
	struct conf_errors *errs = calloc(1, sizeof(*errs));
	struct router_conf new;
	struct confdiff diff;
	int rc = -1;

	if (!errs) {
		strbuf_puts(out, "error: reload: out of memory\n");
		return -1;
	}
	log_info("reload: reading %s", t->conf->path);
	if (router_conf_load_flags(t->conf->path, CONF_DEFER_NAMES, &new, errs) < 0) {
		report_errors(errs, out);
		free(errs);
		return -1;
	}
	if (confdiff_compute(t->conf, &new, &diff) < 0) {
		strbuf_puts(out, "error: reload: out of memory\n");
		goto out_conf;
	}
	/* Step 3: a new file must not take the name of an interface made at runtime. */
	for (size_t i = 0; i < diff.n_ifaces; i++) {
		const struct confdiff_iface *d = &diff.ifaces[i];
		if (!d->old && d->new && ip_router_netif_by_name(t->router, d->new->name))
			conf_error(errs, d->new->path, 0,
				   "interface %s already exists (made at runtime, e.g. ip link add); "
				   "delete it first (ip link del %s)", d->new->name, d->new->name);
	}
	if (errs->count) {
		report_errors(errs, out);
		goto out_diff;
	}
	struct pending p = { .diff = &diff, .did = calloc(diff.n_ifaces + 1, sizeof(*p.did)) };
	if (!p.did) {
		strbuf_puts(out, "error: reload: out of memory\n");
		goto out_diff;
	}
	if (prepare(t, &p, errs) < 0) {
		report_errors(errs, out);
		free(p.did);
		goto out_diff;
	}
	bool empty = confdiff_empty(&diff);
	commit(t, &p, &new, out);
	free(p.did);
	if (empty)
		strbuf_puts(out, "no changes\n");
	log_info("reload: done (%zu interface(s) changed)", diff.n_ifaces);
	confdiff_free(&diff);
	/* The diff pointed into both configurations: only now may the old one go. */
	router_conf_free(t->conf);
	*t->conf = new;
	free(errs);
	return 0;

out_diff:
	confdiff_free(&diff);
out_conf:
	router_conf_free(&new);
	free(errs);
	return rc;
}
