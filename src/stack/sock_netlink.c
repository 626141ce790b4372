/*
 * Netlink sockets of hosted programs (BIRD's kernel and device protocols,
 * iproute2, and the wg tool over NETLINK_GENERIC): rrouted's end of a
 * SOCK_SEQPACKET socketpair, one netlink datagram per message, handed to the
 * rtnetlink emulation (which passes generic sockets' requests to nl/genl); its replies and
 * notifications go back the same way as the program reads them.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "nl/rtnl.h"
#include "stack/sock_int.h"

/*
 * What to wait for: requests only while the emulation is not busy with this
 * socket (a dump going on, or a full queue): a program that asks and never
 * reads fills its own socket buffer and blocks, instead of our memory.
 */
static uint32_t netlink_events(const struct sock *s, bool app_full)
{
	return (rtnl_sock_busy(s->nl) ? 0 : EPOLLIN) | (app_full ? EPOLLOUT : 0);
}

/* Moves queued replies to the app until it or the queue is full. */
static void netlink_flush(struct sock *s)
{
	for (;;) {
		uint32_t group = 0;
		ssize_t n = rtnl_sock_recv(s->nl, s->sl->scratch, sizeof(s->sl->scratch), true,
					   &group);
		if (n == -EAGAIN)
			break;
		if (n == -ENOBUFS) {
			/* No errno crosses a socketpair: the program misses notifications as it
			 * would on a full kernel socket, minus the ENOBUFS hint. */
			log_warn("netlink socket %d: notifications lost (the program reads too slowly)",
				 s->id);
			continue;
		}
		if (n < 0)
			break;
		size_t len = (size_t)n < sizeof(s->sl->scratch) ? (size_t)n : sizeof(s->sl->scratch);
		if (send(s->lfd.fd, s->sl->scratch, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				sock_set_events(s, netlink_events(s, true));
				return;
			}
			sock_free(s);   /* the program is gone */
			return;
		}
		rtnl_sock_recv(s->nl, s->sl->scratch, 0, false, NULL);   /* sent: drop it */
	}
	sock_set_events(s, netlink_events(s, false));
}

static void netlink_event(struct loop_fd *lfd, uint32_t events)
{
	struct sock *s = container_of(lfd, struct sock, lfd);
	if (events & EPOLLIN) {
		/* A bounded batch per wake-up so one chatty program cannot starve the router. */
		for (int i = 0; i < 64 && !rtnl_sock_busy(s->nl); i++) {
			ssize_t n = sock_netlink_recv(s);
			if (n < 0)
				return;
			if (n == 0)
				break;
			if (rtnl_sock_send(s->nl, s->sl->scratch, (size_t)n) < 0)
				log_warn("netlink socket %d: out of memory answering a request", s->id);
		}
	} else if (events & (EPOLLHUP | EPOLLERR)) {
		sock_free(s);
		return;
	}
	netlink_flush(s);
}

void sock_netlink_wakeup(void *ctx, struct rtnl_sock *ns)
{
	struct sock_layer *sl = ctx;
	for (uint32_t i = 0; i < SOCK_MAX; i++) {
		struct sock *s = sl->socks[i];
		if (s && s->kind == SK_NETLINK && s->nl == ns && !s->dead) {
			/* Not from inside rtnl: flush after this round. */
			sock_set_events(s, EPOLLIN | EPOLLOUT);
			return;
		}
	}
}

int sock_netlink_open(struct sock *s, int protocol, int *app_fd, int32_t *portid)
{
	if (protocol == NETLINK_SOCK_DIAG)
		return sock_inet_diag_open(s, app_fd, portid);
	if (protocol != NETLINK_ROUTE && protocol != NETLINK_GENERIC) {
		log_warn("netlink protocol %d requested: only NETLINK_ROUTE, NETLINK_GENERIC and "
			 "NETLINK_SOCK_DIAG "
			 "are emulated", protocol);
		return EPROTONOSUPPORT;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return errno;
	s->nl = rtnl_sock_new(s->sl->rtnl, 0);
	if (!s->nl) {
		int err = errno ? errno : ENOMEM;
		close(sv[0]);
		close(sv[1]);
		return err;
	}
	rtnl_sock_set_protocol(s->nl, protocol);   /* one of the two checked above */
	*portid = (int32_t)rtnl_sock_portid(s->nl);
	sock_netlink_attach(s, sv[0], netlink_event, sv[1], app_fd);
	return 0;
}

ssize_t sock_netlink_recv(struct sock *s)
{
	ssize_t n = recv(s->lfd.fd, s->sl->scratch, sizeof(s->sl->scratch), MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		sock_free(s);
		return -1;
	}
	return n < 0 ? 0 : n;
}

void sock_netlink_attach(struct sock *s, int ours, loop_fd_cb cb, int app, int *app_fd)
{
	/* Room for a dump datagram or two queued toward a program that is busy. */
	int size = 256 * 1024;
	setsockopt(ours, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	s->lfd.fd = ours;
	s->lfd.cb = cb;
	*app_fd = app;
	sock_set_events(s, EPOLLIN);
}

void sock_netlink_release(struct sock *s)
{
	if (s->nl)
		rtnl_sock_free(s->nl);
	s->nl = NULL;
	sock_inet_diag_release(s);
}
