/*
 * rrouted: the router daemon. Loads the config, brings up the interfaces,
 * the routes, the host stack with its shim socket and the control socket,
 * runs the interfaces' PreUp/PostUp hooks and then the [exec] programs inside
 * its network, and sleeps in the event loop. On SIGTERM/SIGINT it stops the
 * programs, runs PreDown/PostDown, and exits (each step bounded in time).
 * SIGHUP and `rrctl reload` re-read the configuration (rrouted/reload.c).
 */
#include <errno.h>
#include <netdb.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "conf/config.h"
#include "core/localsock.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/pbuf.h"
#include "crypto/crypto.h"
#include "ctl/ctl.h"
#include "ctl/metrics_http.h"
#include "exec/hooks.h"
#include "exec/shim_locate.h"
#include "exec/supervisor.h"
#include "ip/router.h"
#include "nl/rtnl.h"
#include "rrouted/dns.h"
#include "rrouted/reload.h"
#include "stack/sock.h"
#include "wg/device.h"
#include "wgconf/wgconf.h"
#include "ws/ws_transport.h"

/* How long shutdown waits for programs to exit and for the down hooks. */
#define SHUTDOWN_PROGRAMS_S 5
#define SHUTDOWN_HOOKS_S 10

enum daemon_phase { PHASE_STARTING, PHASE_RUNNING, PHASE_STOPPING_PROGRAMS, PHASE_DOWN_HOOKS };

struct daemon {
	struct loop loop;
	struct ip_router router;
	struct router_conf conf;
	struct ctl_server ctl;
	struct metrics_http metrics;   /* [router] metrics = ADDR:PORT; unopened (zero) otherwise */
	struct loop_fd signals;
	struct sock_layer *sockets;
	char shim_path[PATH_MAX];
	struct supervisor sup;
	bool sup_ready;
	struct hook_run hooks;
	enum daemon_phase phase;
	struct timer shutdown_timer;
	struct endpoint_dns *dns;
	bool log_level_forced;       /* --log-level given: a reload's log_level does not apply */
};

static void begin_shutdown(struct daemon *d);
static void reload(void *ctx, struct strbuf *out);

/*
 * --check: an endpoint name that does not resolve now is a warning, not an
 * error, because the daemon starts all the same and retries it.
 */
static void warn_unresolved_names(const struct router_conf *conf)
{
	for (size_t i = 0; i < conf->n_ifaces; i++) {
		const struct wg_iface_conf *ic = &conf->ifaces[i];
		for (size_t p = 0; p < ic->n_peers; p++) {
			const struct wg_peer_conf *pc = &ic->peers[p];
			if (!pc->endpoint_is_name)
				continue;
			struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res = NULL;
			int rc = getaddrinfo(pc->endpoint_host, NULL, &hints, &res);
			if (rc == 0) {
				freeaddrinfo(res);
				continue;
			}
			fprintf(stderr, "%s:%d: warning: Endpoint: '%s' does not resolve now (%s); "
				"rrouted starts anyway and retries it every 5 s\n", ic->path, pc->line,
				pc->endpoint_host, gai_strerror(rc));
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rrouted -c rrouted.conf [--log-level error|warn|info|debug]\n"
		"       rrouted --check -c rrouted.conf\n"
		"Runs the Rootless Router daemon in the foreground, as any user.\n");
}

static void signal_event(struct loop_fd *lfd, uint32_t events)
{
	struct daemon *d = container_of(lfd, struct daemon, signals);
	struct signalfd_siginfo si;
	while (read(lfd->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			/* The outcome goes to the log; rrctl reload also shows it to the user. */
			struct strbuf out;
			strbuf_init(&out);
			log_info("received SIGHUP, reloading");
			reload(d, &out);
			strbuf_free(&out);
			continue;
		}
		if (d->phase >= PHASE_STOPPING_PROGRAMS) {
			log_info("received %s again, exiting now", strsignal((int)si.ssi_signo));
			loop_stop(&d->loop);
			return;
		}
		log_info("received %s, shutting down", strsignal((int)si.ssi_signo));
		begin_shutdown(d);
	}
}

static int setup_signals(struct daemon *d)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	d->signals.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	d->signals.cb = signal_event;
	if (d->signals.fd < 0)
		return -errno;
	return loop_add_fd(&d->loop, &d->signals, EPOLLIN);
}

/* ---- lifecycle: hooks and programs ---- */

static void down_hooks_done(void *ctx, unsigned failed)
{
	struct daemon *d = ctx;
	log_info("down hooks finished%s; exiting", failed ? " (some failed)" : "");
	loop_stop(&d->loop);
}

static void run_down_hooks(struct daemon *d)
{
	d->phase = PHASE_DOWN_HOOKS;
	hooks_free(&d->hooks);
	timer_arm(&d->loop, &d->shutdown_timer,
		  loop_now(&d->loop) + SHUTDOWN_HOOKS_S * NSEC_PER_SEC, 10 * NSEC_PER_MSEC);
	if (hooks_run(&d->hooks, &d->sup, d->conf.ifaces, d->conf.n_ifaces, false,
		      down_hooks_done, d) < 0) {
		log_error("out of memory starting the down hooks");
		loop_stop(&d->loop);
	}
}

/* Bounded waits of the shutdown: programs that ignore SIGTERM, hooks that hang. */
static void shutdown_timeout(struct timer *t)
{
	struct daemon *d = container_of(t, struct daemon, shutdown_timer);
	if (d->phase == PHASE_STOPPING_PROGRAMS) {
		log_warn("%u program(s) still running after %d s; going on without them",
			 supervisor_running(&d->sup), SHUTDOWN_PROGRAMS_S);
		run_down_hooks(d);
		return;
	}
	log_warn("down hooks still running after %d s; exiting", SHUTDOWN_HOOKS_S);
	loop_stop(&d->loop);
}

/* During shutdown: once the last program is gone, the down hooks. */
static void child_exited(void *ctx)
{
	struct daemon *d = ctx;
	if (d->phase == PHASE_STOPPING_PROGRAMS && supervisor_running(&d->sup) == 0) {
		timer_cancel(&d->loop, &d->shutdown_timer);
		run_down_hooks(d);
	}
}

static void begin_shutdown(struct daemon *d)
{
	if (!d->sup_ready || d->phase == PHASE_STARTING) {
		loop_stop(&d->loop);
		return;
	}
	d->phase = PHASE_STOPPING_PROGRAMS;
	supervisor_stop_all(&d->sup);
	if (supervisor_running(&d->sup) == 0) {
		run_down_hooks(d);
		return;
	}
	timer_arm(&d->loop, &d->shutdown_timer,
		  loop_now(&d->loop) + SHUTDOWN_PROGRAMS_S * NSEC_PER_SEC, 10 * NSEC_PER_MSEC);
}

static void up_hooks_done(void *ctx, unsigned failed)
{
	struct daemon *d = ctx;
	if (d->hooks.n)
		log_info("up hooks finished%s", failed ? " (some failed)" : "");
	hooks_free(&d->hooks);
	d->phase = PHASE_RUNNING;
	for (size_t i = 0; i < d->conf.n_execs; i++)
		if (supervisor_add_program(&d->sup, d->conf.execs[i].name,
					   d->conf.execs[i].command) < 0)
			log_error("[exec] %s: out of memory", d->conf.execs[i].name);
}

/* A reload's address changes reach rtnetlink listeners (BIRD) as the kernel's would. */
static void address_changed(void *ctx, const struct netif *nif, const struct ip_addr *addr,
			    bool added)
{
	struct daemon *d = ctx;
	if (d->sockets)
		rtnl_address_changed(sock_layer_rtnl(d->sockets), nif, addr, added);
}

/* SIGHUP and "rrctl reload". */
static void reload(void *ctx, struct strbuf *out)
{
	struct daemon *d = ctx;
	if (d->phase >= PHASE_STOPPING_PROGRAMS) {
		strbuf_puts(out, "error: rrouted is shutting down\n");
		return;
	}
	struct reload_target t = {
		.loop = &d->loop, .router = &d->router, .conf = &d->conf,
		.sup = d->sup_ready ? &d->sup : NULL, .programs_started = d->phase == PHASE_RUNNING,
		.log_level_forced = d->log_level_forced,
		.address_changed = address_changed, .address_changed_ctx = d,
	};
	int r = reload_apply(&t, out);
	if (r == 0 && d->dns)
		endpoint_dns_check(d->dns);   /* new names are looked up now, not at the next tick */
	if (r == 0 && log_get_level() >= LOG_INFO) {
		/* One log line per change, as rrctl reload prints them. */
		const char *p = out->data;
		while (p && *p) {
			const char *nl = strchr(p, '\n');
			int len = nl ? (int)(nl - p) : (int)strlen(p);
			log_info("reload: %.*s", len, p);
			p = nl ? nl + 1 : NULL;
		}
	}
}

/* "ip link add NAME type wireguard" (nl/rtnl_link.c): an empty device, as the kernel's. */
static struct netif *create_wireguard_link(void *ctx, const char *name, int *err)
{
	struct daemon *d = ctx;
	struct wg_device *dev = wg_device_create_empty(&d->loop, &d->router, name, err);
	if (!dev)
		return NULL;
	log_info("%s: created by rtnetlink (ip link add ... type wireguard)", name);
	return &dev->netif;
}

/* The socket layer (the router's own TCP/UDP/ICMP), its shim socket, and the supervisor. */
static int start_host_stack(struct daemon *d)
{
	d->sockets = sock_layer_new(&d->loop, &d->router);
	if (!d->sockets) {
		log_error("out of memory creating the host stack");
		return -1;
	}
	ip_router_set_local_handler(&d->router, sock_layer_input, d->sockets);
	if (rtnl_register_link_kind(sock_layer_rtnl(d->sockets), "wireguard", create_wireguard_link,
				    d) < 0) {
		log_error("cannot register the wireguard link kind");
		return -1;
	}
	sock_default_path(d->conf.control_path, d->shim_path, sizeof(d->shim_path));
	if (sock_layer_open(d->sockets, d->shim_path) < 0)
		return -1;
	char lib[PATH_MAX];
	bool have_lib = shim_locate(lib, sizeof(lib)) == 0;
	bool needs_lib = d->conf.n_execs > 0;
	for (size_t i = 0; i < d->conf.n_ifaces; i++) {
		const struct wg_iface_conf *c = &d->conf.ifaces[i];
		needs_lib |= c->n_pre_up + c->n_post_up + c->n_pre_down + c->n_post_down > 0;
	}
	if (!have_lib && needs_lib) {
		log_error("librrshim.so not found ($RRSHIM_LIB, next to rrouted, or in %s; last "
			  "tried %s): the [exec] programs and interface hooks cannot run inside "
			  "the router", shim_configured_dir(), lib);
		return -1;
	}
	if (supervisor_init(&d->sup, &d->loop, have_lib ? lib : NULL, d->shim_path) < 0) {
		log_error("out of memory");
		return -1;
	}
	d->sup.on_child_exit = child_exited;
	d->sup.on_child_exit_ctx = d;
	d->sup_ready = true;
	return 0;
}

/* A microsecond count from the environment, 0 when unset; bad text is 0 with a warning. */
static uint64_t env_us(const char *name)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return 0;
	char *end;
	errno = 0;
	unsigned long long us = strtoull(v, &end, 10);
	if (errno || *end || us > 1000000) {
		log_warn("%s=\"%s\": not a number of microseconds up to 1000000; ignored", name, v);
		return 0;
	}
	return us * 1000;
}

/*
 * [router] batch_hold_us waits that long after a round with traffic, so that
 * what arrives meanwhile is handled in one wake-up (less CPU at low rates,
 * up to that much latency). Benchmark switches (docs/PERFORMANCE.md):
 * RR_HOLD_US overrides it, RR_BUSY_POLL_US polls for that long after a busy
 * round before sleeping.
 */
static void set_wakeup_policy(struct loop *loop, uint32_t conf_hold_us)
{
	uint64_t busy = env_us("RR_BUSY_POLL_US");
	uint64_t hold = getenv("RR_HOLD_US") ? env_us("RR_HOLD_US") : (uint64_t)conf_hold_us * 1000;
	if (busy || hold)
		log_info("wake-up policy: busy poll %llu us, hold %llu us",
			 (unsigned long long)(busy / 1000), (unsigned long long)(hold / 1000));
	loop_set_wakeup_policy(loop, busy, hold);
}

static void print_errors(const struct conf_errors *errs)
{
	unsigned shown = errs->count < CONF_MAX_ERRORS ? errs->count : CONF_MAX_ERRORS;
	for (unsigned i = 0; i < shown; i++)
		fprintf(stderr, "%s\n", errs->msg[i]);
	if (errs->count > shown)
		fprintf(stderr, "(%u more errors not shown)\n", errs->count - shown);
}

static void daemon_shutdown(struct daemon *d)
{
	timer_cancel(&d->loop, &d->shutdown_timer);
	endpoint_dns_free(d->dns);
	d->dns = NULL;
	if (d->sup_ready)
		supervisor_free(&d->sup);
	hooks_free(&d->hooks);
	metrics_http_close(&d->metrics);
	ctl_server_close(&d->ctl);
	ip_router_set_local_handler(&d->router, NULL, NULL);
	if (d->sockets)
		sock_layer_free(d->sockets);
	d->sockets = NULL;
	ip_router_destroy_netifs(&d->router);
	ip_router_free(&d->router);
	if (d->signals.fd >= 0)
		close(d->signals.fd);
	loop_free(&d->loop);
	router_conf_free(&d->conf);
	pbuf_pool_trim();
	crypto_cleanup();
}

/* What the command line asks for. */
struct rrouted_args {
	const char *conf_path, *level_name;
	bool check_only;
};

/* Reads the command line into a: -1 to go on, or the exit status (--help, a usage error). */
static int parse_args(int argc, char **argv, struct rrouted_args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'C' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "c:l:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': a->conf_path = optarg; break;
		case 'C': a->check_only = true; break;
		case 'l': a->level_name = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!a->conf_path || optind != argc) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* Loads conf_path into d->conf; false when it has errors (printed). */
static bool load_config(struct daemon *d, const char *conf_path)
{
	struct conf_errors *errs = calloc(1, sizeof(*errs));
	if (!errs) {
		fprintf(stderr, "rrouted: out of memory\n");
		return false;
	}
	/* The daemon resolves endpoint names itself, off its loop, and retries them (rrouted/dns.c). */
	bool ok = router_conf_load_flags(conf_path, CONF_DEFER_NAMES, &d->conf, errs) == 0;
	if (!ok)
		print_errors(errs);
	free(errs);
	return ok;
}

/* The log level --log-level names (forced), else the configuration's; false: not a level. */
static bool apply_log_level(struct daemon *d, const char *forced)
{
	enum log_level level;
	d->log_level_forced = forced != NULL;
	const char *name = forced ? forced : d->conf.log_level[0] ? d->conf.log_level : NULL;
	if (!name)
		return true;
	if (log_level_parse(name, &level) < 0) {
		fprintf(stderr, "rrouted: unknown log level \"%s\" (error, warn, info, debug)\n", name);
		return false;
	}
	log_set_level(level);
	return true;
}

/* The control socket and, when configured, the metrics listener. false: failed. */
static bool start_control(struct daemon *d)
{
	if (ctl_server_open(&d->ctl, &d->loop, d->conf.control_path, &d->router) < 0)
		return false;
	d->ctl.reload = reload;
	d->ctl.reload_ctx = d;
	d->ctl.sock_stats = sock_layer_stats(d->sockets);
	d->ctl.sup = &d->sup;
	if (d->conf.has_metrics) {
		struct metrics_sources src = { .router = &d->router, .sockets = d->ctl.sock_stats,
					       .sup = &d->sup };
		if (metrics_http_open(&d->metrics, &d->loop, &d->conf.metrics_addr, &src) < 0)
			return false;
	}
	/* rrctl exec asks the control socket where the shim socket is. */
	if (strlen(d->shim_path) < sizeof(d->ctl.shim_path))
		memcpy(d->ctl.shim_path, d->shim_path, strlen(d->shim_path) + 1);
	return true;
}

/*
 * Everything the daemon runs, on d->loop: the interfaces and routes, the endpoint
 * resolver, the host stack, the control socket and metrics, then the up hooks.
 * false: something failed (logged); daemon_shutdown undoes what was started.
 */
static bool start_daemon(struct daemon *d)
{
	if (ip_router_init(&d->router, &d->loop) < 0) {
		log_error("out of memory");
		return false;
	}
	if (setup_signals(d) < 0) {
		log_error("cannot set up signal handling: %s", strerror(errno));
		return false;
	}
	ws_transport_install();   /* Endpoint = ws://…, ListenWebSocket */
	for (size_t i = 0; i < d->conf.n_ifaces; i++)
		if (!wg_device_create(&d->loop, &d->router, &d->conf.ifaces[i]))
			return false;
	reload_install_routes(&d->router, &d->conf);
	if (d->conf.private_dir[0]) {
		char err[PATH_MAX + 160];
		if (localsock_ensure_private_dir(d->conf.private_dir, err, sizeof(err)) < 0) {
			log_error("%s", err);
			return false;
		}
	}
	d->dns = endpoint_dns_new(&d->loop, &d->router, &d->conf);
	if (!d->dns) {
		log_error("cannot start the endpoint name resolver: %s", strerror(errno));
		return false;
	}
	endpoint_dns_check(d->dns);
	if (start_host_stack(d) < 0)
		return false;
	if (!start_control(d))
		return false;
	log_info("rrouted running: %zu interface(s) besides lo, control socket %s, shim socket %s",
		 d->router.n_netifs - 1,
		 d->conf.control_path, d->shim_path);
	if (hooks_run(&d->hooks, &d->sup, d->conf.ifaces, d->conf.n_ifaces, true, up_hooks_done,
		      d) < 0) {
		log_error("out of memory starting the interface hooks");
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	struct rrouted_args args = { 0 };
	int status = parse_args(argc, argv, &args);
	if (status >= 0)
		return status;
	if (crypto_init() < 0)
		return 1;

	struct daemon d = { .signals.fd = -1, .ctl.lfd.fd = -1 };
	timer_init(&d.shutdown_timer, shutdown_timeout);
	if (!load_config(&d, args.conf_path))
		return 1;
	if (args.check_only) {
		warn_unresolved_names(&d.conf);
		printf("%s: OK, %zu interface(s), %zu route(s)\n", args.conf_path, d.conf.n_ifaces,
		       d.conf.n_routes);
		router_conf_free(&d.conf);
		return 0;
	}
	if (!apply_log_level(&d, args.level_name)) {
		router_conf_free(&d.conf);
		return 2;
	}

	int r = loop_init(&d.loop);
	if (r < 0) {
		log_error("cannot create the event loop: %s", strerror(-r));
		router_conf_free(&d.conf);
		return 1;
	}
	set_wakeup_policy(&d.loop, d.conf.batch_hold_us);
	if (!start_daemon(&d)) {
		daemon_shutdown(&d);
		return 1;
	}
	r = loop_run(&d.loop);
	if (r < 0)
		log_error("event loop failed: %s", strerror(-r));
	daemon_shutdown(&d);
	return r < 0 ? 1 : 0;
}
