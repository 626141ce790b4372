/*
 * NETLINK_SOCK_DIAG sockets of hosted programs (ss): rrouted's end of a
 * SOCK_SEQPACKET socketpair, one netlink datagram per message. Each request
 * is answered from a snapshot of the socket table (nl/sock_diag.h encodes
 * it); replies wait in the socket's queue while the program's end is full,
 * and no further request is read until they are gone (backpressure).
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "nl/sock_diag.h"
#include "stack/sock_int.h"

/* An endpoint address as inet_diag shows it for a socket of domain family. */
static void diag_addr(uint8_t out[16], int family, const struct ip_addr *a)
{
	memset(out, 0, 16);
	if (a->family == AF_INET && family == AF_INET) {
		memcpy(out, a->bytes, 4);
	} else if (a->family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, a->bytes, 4);
	} else if (a->family == AF_INET6 && family == AF_INET6) {
		memcpy(out, a->bytes, 16);
	}
}

/* Linux's numbers for our TCP states. */
static uint8_t diag_tcp_state(enum tcp_state st)
{
	switch (st) {
	case TCP_LISTEN: return SOCK_DIAG_LISTEN;
	case TCP_SYN_SENT: return SOCK_DIAG_SYN_SENT;
	case TCP_SYN_RECEIVED: return SOCK_DIAG_SYN_RECV;
	case TCP_ESTABLISHED: return SOCK_DIAG_ESTABLISHED;
	case TCP_FIN_WAIT_1: return SOCK_DIAG_FIN_WAIT1;
	case TCP_FIN_WAIT_2: return SOCK_DIAG_FIN_WAIT2;
	case TCP_CLOSE_WAIT: return SOCK_DIAG_CLOSE_WAIT;
	case TCP_CLOSING: return SOCK_DIAG_CLOSING;
	case TCP_LAST_ACK: return SOCK_DIAG_LAST_ACK;
	case TCP_TIME_WAIT: return SOCK_DIAG_TIME_WAIT;
	case TCP_CLOSED: break;
	}
	return SOCK_DIAG_CLOSE;
}

/* Bytes rrouted has written toward the program and it has not read yet. */
static uint32_t unread_by_app(const struct sock *s)
{
	int n = 0;
	if (s->lfd.fd < 0 || ioctl(s->lfd.fd, SIOCOUTQ, &n) < 0 || n < 0)
		return 0;
	return (uint32_t)n;
}

/* One router socket as inet_diag shows it; false for those it does not list. */
static bool describe(const struct sock *s, struct sock_diag_entry *e)
{
	memset(e, 0, sizeof(*e));
	if (s->dead || (s->family != AF_INET && s->family != AF_INET6))
		return false;
	struct tcp_endpoint local = s->local, remote = s->remote;
	bool has_remote = s->connected;
	switch (s->kind) {
	case SK_UDP:
		e->protocol = IPPROTO_UDP;
		e->state = s->connected ? SOCK_DIAG_ESTABLISHED : SOCK_DIAG_CLOSE;
		e->rqueue = unread_by_app(s);
		break;
	case SK_TCP:
		e->protocol = IPPROTO_TCP;
		e->state = SOCK_DIAG_CLOSE;
		has_remote = false;
		break;
	case SK_TCP_LISTEN: {
		unsigned q = 0, backlog = 0;
		e->protocol = IPPROTO_TCP;
		e->state = SOCK_DIAG_LISTEN;
		if (s->lis)
			tcp_listener_queue(s->lis, &q, &backlog);
		e->rqueue = q;
		e->wqueue = backlog;
		has_remote = false;
		break;
	}
	case SK_TCP_CONN:
		e->protocol = IPPROTO_TCP;
		if (s->conn) {
			e->state = diag_tcp_state(tcp_conn_state(s->conn));
			tcp_conn_endpoints(s->conn, &local, &remote);
			e->rqueue = (uint32_t)(tcp_recv_available(s->conn) + (s->rx_len - s->rx_off)) +
				    unread_by_app(s);
		} else {
			e->state = SOCK_DIAG_CLOSE;
		}
		e->wqueue = (uint32_t)(s->tx_len - s->tx_off);
		has_remote = true;
		break;
	default:
		return false;
	}
	e->family = (uint8_t)s->family;
	if (s->bound || s->kind == SK_TCP_CONN) {
		diag_addr(e->src, s->family, &local.addr);
		e->sport = local.port;
	}
	if (has_remote) {
		diag_addr(e->dst, s->family, &remote.addr);
		e->dport = remote.port;
	}
	e->ifindex = s->opts.bind_ifindex ? s->opts.bind_ifindex : local.scope_id;
	e->uid = (uint32_t)geteuid();   /* every hosted program is rrouted's user */
	e->inode = s->app_ino;
	e->cookie = ((uint64_t)s->sl->gen << 32) | (uint32_t)s->id;
	return true;
}

/* Any number unique among the program's netlink sockets does: nobody sends to it. */
static uint32_t diag_portid(const struct sock *s)
{
	return 0x40000000u | (uint32_t)s->id;
}

static void diag_answer(struct sock *s, const void *req, size_t len)
{
	struct sock_layer *sl = s->sl;
	struct sock_diag_entry *e = calloc(SOCK_MAX, sizeof(*e));
	if (!e) {
		log_warn("sock_diag socket %d: out of memory answering a request", s->id);
		return;
	}
	size_t n = 0;
	for (uint32_t i = 0; i < SOCK_MAX; i++)
		if (sl->socks[i] && describe(sl->socks[i], &e[n]))
			n++;
	if (sock_diag_request(req, len, diag_portid(s), e, n, s->diag) < 0)
		log_warn("sock_diag socket %d: out of memory answering a request", s->id);
	free(e);
}

/* Sends queued replies until the queue or the program's end is empty / full. */
static bool diag_flush(struct sock *s)
{
	while (s->diag->head) {
		const struct sock_diag_dgram *d = s->diag->head;
		if (send(s->lfd.fd, d->data, d->len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return false;
			sock_free(s);   /* the program is gone */
			return false;
		}
		sock_diag_queue_pop(s->diag);
	}
	return true;
}

static void diag_event(struct loop_fd *lfd, uint32_t events)
{
	struct sock *s = container_of(lfd, struct sock, lfd);
	if (!(events & (EPOLLIN | EPOLLOUT)) && (events & (EPOLLHUP | EPOLLERR))) {
		sock_free(s);
		return;
	}
	for (int i = 0; i < 16; i++) {   /* bounded work per wake-up */
		if (!diag_flush(s)) {
			if (!s->dead)
				sock_set_events(s, EPOLLOUT);
			return;
		}
		ssize_t n = sock_netlink_recv(s);
		if (n < 0)
			return;
		if (n == 0)
			break;
		diag_answer(s, s->sl->scratch, (size_t)n);
	}
	if (!diag_flush(s)) {
		if (!s->dead)
			sock_set_events(s, EPOLLOUT);
		return;
	}
	sock_set_events(s, EPOLLIN);
}

int sock_inet_diag_open(struct sock *s, int *app_fd, int32_t *portid)
{
	int sv[2];
	s->diag = calloc(1, sizeof(*s->diag));
	if (!s->diag)
		return ENOMEM;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		int err = errno;
		free(s->diag);
		s->diag = NULL;
		return err;
	}
	*portid = (int32_t)diag_portid(s);
	sock_netlink_attach(s, sv[0], diag_event, sv[1], app_fd);
	return 0;
}

void sock_inet_diag_release(struct sock *s)
{
	if (!s->diag)
		return;
	sock_diag_queue_clear(s->diag);
	free(s->diag);
	s->diag = NULL;
}

int sock_inet_diag_opt(struct sock *s, const struct shim_req *req, int32_t *val)
{
	switch (req->op) {
	case SHIM_OP_NL_BIND:
		return 0;   /* groups are socket-destroy notifications: none are ever sent */
	case SHIM_OP_NL_SETOPT:
		/* ss sets NETLINK_EXT_ACK etc.; they change nothing in our answers. */
		return 0;
	default:
		*val = 0;
		return ENOPROTOOPT;
	}
}
