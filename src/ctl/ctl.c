#include "ctl/ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/localsock.h"
#include "core/log.h"
#include "core/pbuf.h"
#include "ctl/metrics.h"
#include "ctl/show.h"
#include "wg/index.h"

#define CTL_MAX_CLIENTS 32
#define CTL_REQUEST_MAX 4096
#define CTL_MAX_WORDS 16
/* A client that has not sent its request and read its reply by then loses its slot. */
#define CTL_CLIENT_TIMEOUT_NS (10 * NSEC_PER_SEC)

static void show_status(struct ctl_server *srv, struct strbuf *out, bool json)
{
	struct pbuf_stats ps;
	pbuf_pool_stats(&ps);
	const struct ip_router_stats *rs = &srv->router->stats;
	unsigned long long v[] = {
		(loop_now(srv->loop) - srv->started_at) / NSEC_PER_SEC, srv->loop->wakeups,
		srv->loop->heap_len, srv->router->n_netifs, index_table_count(), ps.allocated, ps.cached,
		fib_count(srv->router->fib, AF_INET), fib_count(srv->router->fib, AF_INET6),
		fib_memory(srv->router->fib), rs->local_delivered, rs->echo_replies, rs->forwarded,
		rs->fragmented, rs->mss_clamped, rs->icmp_errors_sent, rs->icmp_errors_ratelimited,
	};
	static const char *const names[] = {
		"uptime", "wakeups", "timers", "interfaces", "sessions_indexed", "pbufs_in_use",
		"pbufs_cached", "routes_v4", "routes_v6", "fib_bytes", "local_delivered",
		"echo_replies", "forwarded", "fragmented", "mss_clamped", "icmp_errors_sent",
		"icmp_errors_ratelimited",
	};
	_Static_assert(sizeof(v) / sizeof(v[0]) == sizeof(names) / sizeof(names[0]),
		       "one name per status value");
	strbuf_puts(out, json ? "{" : "");
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (json)
			strbuf_printf(out, "%s\"%s\":%llu", i ? "," : "", names[i], v[i]);
		else
			strbuf_printf(out, "%s: %llu\n", names[i], v[i]);
	}
	strbuf_puts(out, json ? "}\n" : "");
}

void ctl_handle_request(struct ctl_server *srv, const char *line, struct strbuf *out)
{
	char buf[CTL_REQUEST_MAX];
	char *words[CTL_MAX_WORDS];
	int n = 0;
	bool json = false;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *save = NULL, *w = strtok_r(buf, " \t\r\n", &save); w;
	     w = strtok_r(NULL, " \t\r\n", &save)) {
		if (strcmp(w, "--json") == 0 || strcmp(w, "-j") == 0) {
			json = true;
			continue;
		}
		if (n == CTL_MAX_WORDS) {
			strbuf_puts(out, "error: too many words in the request\n");
			return;
		}
		words[n++] = w;
	}
	if (n == 0) {
		strbuf_puts(out, "error: empty request; try \"show interfaces\"\n");
		return;
	}
	if (strcmp(words[0], "show") == 0 && n == 2) {
		if (strcmp(words[1], "interfaces") == 0) {
			show_interfaces(out, srv->router, json);
			return;
		}
		if (strcmp(words[1], "peers") == 0) {
			show_peers(out, srv->router, json);
			return;
		}
		if (strcmp(words[1], "routes") == 0) {
			show_routes(out, srv->router, json);
			return;
		}
		if (strcmp(words[1], "status") == 0) {
			show_status(srv, out, json);
			return;
		}
		if (strcmp(words[1], "metrics") == 0) {
			struct metrics_sources src = {
				.router = srv->router, .sockets = srv->sock_stats, .sup = srv->sup,
				.uptime_ns = loop_now(srv->loop) - srv->started_at,
			};
			metrics_render(out, &src);
			return;
		}
	}
	if (strcmp(words[0], "shim-path") == 0 && n == 1) {
		if (!srv->shim_path[0])
			strbuf_puts(out, "error: this rrouted has no shim socket\n");
		else
			strbuf_printf(out, "%s\n", srv->shim_path);
		return;
	}
	if (strcmp(words[0], "reload") == 0 && n == 1 && srv->reload) {
		srv->reload(srv->reload_ctx, out);
		return;
	}
	if (strcmp(words[0], "ping") == 0 && n == 1) {
		strbuf_puts(out, json ? "{\"pong\":true}\n" : "pong\n");
		return;
	}
	strbuf_printf(out, "error: unknown request \"%s\"; known: show interfaces|peers|routes|status "
			   "[--json], show metrics, ping, shim-path, reload\n", line);
}

/* Reads the request line (oneshot_server.read_request): 1 once the reply is in c->out. */
static int client_read_request(struct oneshot_client *c)
{
	struct ctl_server *srv = container_of(c->srv, struct ctl_server, clients);
	ssize_t n = read(c->lfd.fd, c->in + c->in_len, CTL_REQUEST_MAX - 1 - c->in_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0 && c->in_len == 0)
		return -1;
	if (n > 0)
		c->in_len += (size_t)n;
	c->in[c->in_len] = '\0';
	char *nl = memchr(c->in, '\n', c->in_len);
	if (!nl && n > 0 && c->in_len < CTL_REQUEST_MAX - 1)
		return 0;   /* wait for the rest of the line */
	if (nl)
		*nl = '\0';
	if (!nl && c->in_len >= CTL_REQUEST_MAX - 1)
		strbuf_printf(&c->out, "error: request longer than %d bytes\n",
			      CTL_REQUEST_MAX - 1);
	else
		ctl_handle_request(srv, c->in, &c->out);
	if (c->out.oom) {
		strbuf_reset(&c->out);
		strbuf_puts(&c->out, "error: out of memory building the reply\n");
	}
	return 1;
}

static void client_timed_out(struct oneshot_client *c)
{
	struct ctl_server *srv = container_of(c->srv, struct ctl_server, clients);
	log_debug("control socket %s: closing a client idle for %d s", srv->path,
		  (int)(CTL_CLIENT_TIMEOUT_NS / NSEC_PER_SEC));
	srv->stats_timeouts++;
}

static void server_accept(struct loop_fd *lfd, uint32_t events)
{
	struct ctl_server *srv = container_of(lfd, struct ctl_server, lfd);
	for (;;) {
		int fd = accept4(lfd->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("control socket %s: accept: %s", srv->path, strerror(errno));
			return;
		}
		uid_t uid = (uid_t)-1;
		if (!localsock_peer_trusted(fd, &uid)) {
			log_warn("control socket %s: refusing a client of uid %u (only this user and "
				 "root may control rrouted)", srv->path, (unsigned)uid);
			close(fd);
			continue;
		}
		int r = oneshot_add(&srv->clients, fd);
		if (r == -EBUSY) {
			static const char busy[] = "error: too many control clients, try again\n";
			(void)!send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		}
		if (r < 0)
			close(fd);
	}
}

int ctl_server_open(struct ctl_server *srv, struct loop *loop, const char *path,
		    struct ip_router *router)
{
	*srv = (struct ctl_server){ .loop = loop, .router = router };
	srv->clients = (struct oneshot_server){
		.loop = loop, .max_clients = CTL_MAX_CLIENTS, .request_max = CTL_REQUEST_MAX,
		.timeout_ns = CTL_CLIENT_TIMEOUT_NS, .read_request = client_read_request,
		.timed_out = client_timed_out,
	};
	srv->lfd.fd = -1;
	srv->lfd.cb = server_accept;
	srv->started_at = loop_now(loop);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_error("control socket path %s is longer than %zu bytes", path,
			  sizeof(sun.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	snprintf(srv->path, sizeof(srv->path), "%s", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);

	/* A stale socket from a crashed run is replaced; a live one is an error. */
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -errno;
	int live = connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(probe);
	if (live) {
		log_error("control socket %s is in use: is another rrouted running?", path);
		return -EADDRINUSE;
	}
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	mode_t old = umask(0077);
	int r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0 || listen(fd, 16) < 0) {
		int err = errno;
		log_error("control socket %s: %s", path, strerror(err));
		close(fd);
		return -err;
	}
	srv->lfd.fd = fd;
	if (loop_add_fd(loop, &srv->lfd, EPOLLIN) < 0) {
		int err = errno;
		close(fd);
		unlink(path);
		srv->lfd.fd = -1;
		return -err;
	}
	return 0;
}

void ctl_server_close(struct ctl_server *srv)
{
	oneshot_drop_all(&srv->clients);
	if (srv->lfd.fd >= 0) {
		loop_del_fd(srv->loop, &srv->lfd);
		close(srv->lfd.fd);
		unlink(srv->path);
		srv->lfd.fd = -1;
	}
}
