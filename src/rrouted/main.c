/* rrouted: the router daemon. Loads the config, brings up the interfaces and
 * the control socket, then sleeps in the event loop until SIGTERM/SIGINT. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "conf/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/pbuf.h"
#include "crypto/crypto.h"
#include "ctl/ctl.h"
#include "ip/router.h"
#include "wg/device.h"

struct daemon {
	struct loop loop;
	struct ip_router router;
	struct router_conf conf;
	struct wg_device **devs;
	size_t n_devs;
	struct ctl_server ctl;
	struct loop_fd signals;
};

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
		log_info("received %s, shutting down", strsignal((int)si.ssi_signo));
		loop_stop(&d->loop);
	}
}

static int setup_signals(struct daemon *d)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	d->signals.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	d->signals.cb = signal_event;
	if (d->signals.fd < 0)
		return -errno;
	return loop_add_fd(&d->loop, &d->signals, EPOLLIN);
}

static void note_unrun_hooks(const struct wg_iface_conf *ic)
{
	size_t n = ic->n_pre_up + ic->n_post_up + ic->n_pre_down + ic->n_post_down;
	if (n)
		log_warn("%s: %zu PreUp/PostUp/PreDown/PostDown command(s) are parsed but not run "
			 "yet (running them inside the router comes with the socket shim)",
			 ic->name, n);
}

static void add_route_logged(struct daemon *d, const struct fib_route *rt, const char *origin)
{
	int e = fib_add(d->router.fib, rt, 0);
	if (e < 0 && e != -EEXIST) {
		char buf[IP_PREFIX_STRLEN];
		log_warn("%s: cannot add route %s: %s", origin, ip_prefix_format(&rt->prefix, buf),
			 strerror(-e));
	}
}

/*
 * Routes from the config: each peer's AllowedIPs (unless Table = off, as
 * wg-quick does) and the route = lines of rrouted.conf.
 */
static void install_config_routes(struct daemon *d)
{
	for (size_t i = 0; i < d->n_devs; i++) {
		struct wg_device *dev = d->devs[i];
		if (dev->table == TABLE_OFF)
			continue;
		for (size_t p = 0; p < dev->n_peers; p++) {
			const struct wg_peer *peer = dev->peers[p];
			for (size_t a = 0; a < peer->n_allowed_ips; a++) {
				struct fib_route rt = {
					.prefix = peer->allowed_ips[a], .type = FIB_TYPE_UNICAST,
					.ifindex = dev->netif.ifindex, .protocol = FIB_PROTO_BOOT,
					.scope = FIB_SCOPE_LINK,
					.table = dev->table == TABLE_ID ? d->conf.ifaces[i].table_id : 0,
				};
				ip_prefix_mask(&rt.prefix);
				add_route_logged(d, &rt, dev->netif.name);
			}
		}
	}
	for (size_t i = 0; i < d->conf.n_routes; i++) {
		const struct route_conf *rc = &d->conf.routes[i];
		struct fib_route rt = {
			.prefix = rc->prefix, .type = (uint8_t)rc->type,
			.protocol = FIB_PROTO_STATIC,
		};
		if (rc->has_gateway)
			rt.gateway = rc->gateway;
		if (rc->dev[0]) {
			struct netif *nif = ip_router_netif_by_name(&d->router, rc->dev);
			if (!nif) {
				log_warn("%s:%d: route via unknown interface %s", d->conf.path, rc->line,
					 rc->dev);
				continue;
			}
			rt.ifindex = nif->ifindex;
		}
		add_route_logged(d, &rt, d->conf.path);
	}
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
	ctl_server_close(&d->ctl);
	for (size_t i = 0; i < d->n_devs; i++)
		wg_device_destroy(d->devs[i]);
	free(d->devs);
	ip_router_free(&d->router);
	if (d->signals.fd >= 0)
		close(d->signals.fd);
	loop_free(&d->loop);
	router_conf_free(&d->conf);
	pbuf_pool_trim();
	crypto_cleanup();
}

int main(int argc, char **argv)
{
	const char *conf_path = NULL, *level_name = NULL;
	bool check_only = false;
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
		case 'c': conf_path = optarg; break;
		case 'C': check_only = true; break;
		case 'l': level_name = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!conf_path || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (crypto_init() < 0)
		return 1;

	struct daemon d = { .signals.fd = -1, .ctl.lfd.fd = -1 };
	struct conf_errors *errs = calloc(1, sizeof(*errs));
	if (!errs) {
		fprintf(stderr, "rrouted: out of memory\n");
		return 1;
	}
	if (router_conf_load(conf_path, &d.conf, errs) < 0) {
		print_errors(errs);
		free(errs);
		return 1;
	}
	free(errs);
	if (check_only) {
		printf("%s: OK, %zu interface(s), %zu route(s)\n", conf_path, d.conf.n_ifaces,
		       d.conf.n_routes);
		router_conf_free(&d.conf);
		return 0;
	}

	enum log_level level;
	const char *name = level_name ? level_name : d.conf.log_level[0] ? d.conf.log_level : NULL;
	if (name) {
		if (log_level_parse(name, &level) < 0) {
			fprintf(stderr, "rrouted: unknown log level \"%s\" (error, warn, info, debug)\n",
				name);
			router_conf_free(&d.conf);
			return 2;
		}
		log_set_level(level);
	}

	int r = loop_init(&d.loop);
	if (r < 0) {
		log_error("cannot create the event loop: %s", strerror(-r));
		router_conf_free(&d.conf);
		return 1;
	}
	if (ip_router_init(&d.router, &d.loop) < 0) {
		log_error("out of memory");
		goto fail;
	}
	if (setup_signals(&d) < 0) {
		log_error("cannot set up signal handling: %s", strerror(errno));
		goto fail;
	}
	d.devs = calloc(d.conf.n_ifaces ? d.conf.n_ifaces : 1, sizeof(*d.devs));
	if (!d.devs) {
		log_error("out of memory");
		goto fail;
	}
	for (size_t i = 0; i < d.conf.n_ifaces; i++) {
		struct wg_device *dev = wg_device_create(&d.loop, &d.router, &d.conf.ifaces[i]);
		if (!dev)
			goto fail;
		d.devs[d.n_devs++] = dev;
		note_unrun_hooks(&d.conf.ifaces[i]);
	}
	install_config_routes(&d);
	r = ctl_server_open(&d.ctl, &d.loop, d.conf.control_path, &d.router, d.devs, d.n_devs);
	if (r < 0)
		goto fail;
	log_info("rrouted running: %zu interface(s), control socket %s", d.n_devs,
		 d.conf.control_path);

	r = loop_run(&d.loop);
	if (r < 0)
		log_error("event loop failed: %s", strerror(-r));
	daemon_shutdown(&d);
	return r < 0 ? 1 : 0;

fail:
	daemon_shutdown(&d);
	return 1;
}
