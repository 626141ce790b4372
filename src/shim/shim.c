/*
 * librrshim.so: the socket calls of an unmodified program, redirected into
 * rrouted's network (stack/shim_proto.h has the design).
 *
 * socket() makes a real kernel socket, so the fd number exists and
 * loopback works, and records it. The first bind/connect/sendto/listen with
 * an address that is not loopback converts it: rrouted makes the router
 * socket and passes its data fd, which is dup3()ed over the app's number
 * (O_NONBLOCK and FD_CLOEXEC kept). Loopback and AF_UNIX never leave the host.
 *
 * Streams need nothing more: read/write/poll work on the socketpair. Datagram
 * sockets carry a header per message, added and stripped here in every send
 * and receive call (read/write included).
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "shim/shim.h"

_Static_assert(SHIM_TCP_NODELAY == TCP_NODELAY && SHIM_TCP_KEEPIDLE == TCP_KEEPIDLE &&
	       SHIM_TCP_KEEPINTVL == TCP_KEEPINTVL && SHIM_TCP_KEEPCNT == TCP_KEEPCNT,
	       "shim_proto.h's TCP option names are Linux's");

/* ---- helpers ---- */

static int fail(int err)
{
	errno = err;
	return -1;
}

static bool inet_domain(int d)
{
	return d == AF_INET || d == AF_INET6;
}

static void req_init(struct shim_req *req, uint32_t op, const struct shim_fd *e)
{
	if (!e) {
		shim_req_init(req, op, -1, 0, 0, 0);
		return;
	}
	int protocol = e->kind == SK_PING || e->kind == SK_RAW
		? (e->domain == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6)
		: e->kind == SK_UDP ? IPPROTO_UDP : IPPROTO_TCP;
	shim_req_init(req, op, e->sock_id, e->domain, e->type, protocol);
	req->opts = e->opts;
}

/* Puts newfd (from rrouted) in place of fd, keeping the app's flags. 0 or -errno. */
static int install_fd(int fd, int newfd, const struct shim_fd *e, bool replay)
{
	int fl = shim_real.fcntl(fd, F_GETFL);
	int fdfl = shim_real.fcntl(fd, F_GETFD);
	if (fl < 0 || fdfl < 0 ||
	    shim_real.dup3(newfd, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		int err = errno;
		shim_real.close(newfd);
		return -err;
	}
	shim_real.close(newfd);
	if (shim_real.fcntl(fd, F_SETFL, fl & O_NONBLOCK) < 0)
		return -errno;
	for (unsigned i = 0; replay && i < e->n_replay; i++)
		(void)shim_real.setsockopt(fd, SOL_SOCKET, e->replay[i].name, e->replay[i].val,
					   e->replay[i].len);
	return 0;
}

/* rrouted's answer to a request: -1 with errno set, or 0. */
static int rpc_checked(const struct shim_req *req, struct shim_rep *rep, int *fd_out)
{
	int r = shim_rpc(req, rep, fd_out, NULL, 0);
	if (r < 0)
		return fail(-r);
	if (rep->err) {
		if (fd_out && *fd_out >= 0) {
			shim_real.close(*fd_out);
			*fd_out = -1;
		}
		return fail(rep->err);
	}
	return 0;
}

/*
 * Makes e (fd) a router socket bound to addr (NULL: the wildcard of its
 * domain, ephemeral port). Datagram sockets get their data fd now.
 */
static int router_bind(int fd, struct shim_fd *e, const struct shim_addr *addr)
{
	struct shim_req req;
	struct shim_rep rep;
	int newfd = -1;
	req_init(&req, SHIM_OP_BIND, e);
	if (addr)
		req.addr = *addr;
	else
		req.addr.family = (uint16_t)e->domain;
	if (rpc_checked(&req, &rep, &newfd) < 0)
		return -1;
	if (e->kind != SK_STREAM) {
		if (newfd < 0)
			return fail(EPROTO);
		int r = install_fd(fd, newfd, e, true);
		if (r < 0)
			return fail(-r);
	} else if (newfd >= 0) {
		shim_real.close(newfd);
	}
	e->state = SFD_ROUTER;
	e->sock_id = rep.sock_id;
	e->bound = true;
	e->local = rep.local;
	shim_dgram_after_bind(e);
	shim_fd_put(fd, e);
	return 0;
}

/* ---- socket, bind, listen, accept, connect ---- */

SHIM_EXPORT int socket(int domain, int type, int protocol)
{
	shim_resolve();
	if (domain == AF_NETLINK && shim_enabled())
		return shim_netlink_socket(type, protocol);
	if (!shim_enabled() || !inet_domain(domain))
		return shim_real.socket(domain, type, protocol);
	int base = type & 0xf;
	struct shim_fd e;
	shim_fd_init_kernel(&e, domain, base);
	if (base == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP)) {
		e.kind = SK_STREAM;
	} else if (base == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP)) {
		e.kind = SK_UDP;
	} else if (base == SOCK_DGRAM &&
		   protocol == (domain == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6)) {
		e.kind = SK_PING;
	} else if (base == SOCK_RAW &&
		   protocol == (domain == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6)) {
		return shim_raw_socket(domain, type, protocol);
	} else {
		shim_log_once("socket-unsupported", "socket(%s, type %d, protocol %d): only TCP, UDP, "
			      "ICMP echo (ping) and raw ICMP sockets exist inside the router (other "
			      "raw sockets do not): failing with %s", domain == AF_INET ? "AF_INET" : "AF_INET6",
			      base, protocol, base == SOCK_RAW ? "EPERM" : "EPROTONOSUPPORT");
		return fail(base == SOCK_RAW ? EPERM : EPROTONOSUPPORT);
	}
	e.protocol = protocol;
	shim_dgram_init(&e);
	int fd = shim_real.socket(domain, type, protocol);
	if (fd < 0 && e.kind == SK_PING) {
		/* The host forbids ping sockets (ping_group_range): a UDP socket holds the number. */
		fd = shim_real.socket(domain, (type & ~0xf) | SOCK_DGRAM, 0);
		e.placeholder = true;
	}
	if (fd < 0)
		return fd;
	shim_fd_put(fd, &e);
	return fd;
}

SHIM_EXPORT int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct shim_fd e;
	struct shim_addr a;
	shim_resolve();
	if (shim_fd_get(fd, &e) && e.kind == SK_NETLINK)
		return shim_netlink_bind(fd, &e, sa, len);
	if (!shim_fd_get(fd, &e) || shim_addr_from_sockaddr(&a, sa, len) < 0)
		return shim_real.bind(fd, sa, len);
	if (e.state == SFD_ROUTER || e.bound)
		return fail(EINVAL);
	if (a.family == AF_INET6 && e.domain == AF_INET)
		return fail(EAFNOSUPPORT);
	if (shim_addr_is_loopback(&a)) {
		if (e.placeholder)
			return fail(EADDRNOTAVAIL);
		int r = shim_real.bind(fd, sa, len);
		if (r == 0) {
			e.loop_bound = e.bound = true;
			shim_fd_put(fd, &e);
		}
		return r;
	}
	return router_bind(fd, &e, &a);
}

/*
 * A router datagram socket is one end of a socketpair with rrouted, so the
 * kernel's shutdown would tell rrouted the socket is gone. Linux's UDP keeps
 * receiving after SHUT_WR (socat shuts its sending side at EOF of its input and
 * waits for the answer): SHUT_WR is only remembered here; SHUT_RD ends reads.
 */
SHIM_EXPORT int shutdown(int fd, int how)
{
	struct shim_fd e;
	if (!shim_fd_get(fd, &e) || e.state != SFD_ROUTER || e.kind == SK_STREAM ||
	    e.kind == SK_NETLINK)
		return shim_real.shutdown(fd, how);
	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		return fail(EINVAL);
	if (!e.connected)
		return fail(ENOTCONN);   /* Linux: a datagram socket with no peer */
	if (how != SHUT_RD) {
		e.shut_wr = true;
		shim_fd_put(fd, &e);
	}
	return how == SHUT_WR ? 0 : shim_real.shutdown(fd, SHUT_RD);
}

SHIM_EXPORT int listen(int fd, int backlog)
{
	struct shim_fd e;
	shim_resolve();
	if (shim_fd_get(fd, &e) && e.kind == SK_NETLINK)
		return fail(EOPNOTSUPP);
	if (!shim_fd_get(fd, &e) || e.loop_bound || e.kind != SK_STREAM)
		return shim_real.listen(fd, backlog);
	if (e.connected)
		return fail(EINVAL);
	if (e.listening)
		return 0;   /* Linux lets the backlog change; ours stays */
	struct shim_req req;
	struct shim_rep rep;
	int newfd = -1;
	req_init(&req, SHIM_OP_LISTEN, &e);
	req.arg = backlog;
	if (rpc_checked(&req, &rep, &newfd) < 0)
		return -1;
	if (newfd < 0)
		return fail(EPROTO);
	int r = install_fd(fd, newfd, &e, true);
	if (r < 0)
		return fail(-r);
	e.state = SFD_ROUTER;
	e.sock_id = rep.sock_id;
	e.bound = e.listening = true;
	e.local = rep.local;
	shim_fd_put(fd, &e);
	return 0;
}

static int do_accept(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	struct shim_fd e;
	if (!shim_fd_get(fd, &e) || e.state != SFD_ROUTER || !e.listening)
		return shim_real.accept4(fd, sa, len, flags);
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return fail(EINVAL);
	struct shim_accept_msg m;
	int nfd;
	ssize_t n = shim_recv_with_fd(shim_real.recvmsg, fd, &m, sizeof(m),
				      (flags & SOCK_CLOEXEC) ? MSG_CMSG_CLOEXEC : 0, &nfd, NULL);
	if (n < 0)
		return -1;
	if (n == 0 && nfd < 0)
		return fail(ECONNABORTED);   /* rrouted went away */
	if ((size_t)n != sizeof(m) || nfd < 0) {
		if (nfd >= 0)
			shim_real.close(nfd);
		return fail(EPROTO);
	}
	if ((flags & SOCK_NONBLOCK) && shim_real.fcntl(nfd, F_SETFL, O_NONBLOCK) < 0) {
		int err = errno;
		shim_real.close(nfd);
		return fail(err);
	}
	struct shim_fd c;
	memset(&c, 0, sizeof(c));
	c.state = SFD_ROUTER;
	c.kind = SK_STREAM;
	c.domain = e.domain;
	c.type = SOCK_STREAM;
	c.protocol = e.protocol;
	c.sock_id = m.sock_id;
	c.opts = e.opts;
	c.bound = c.connected = true;
	c.local = m.local;
	c.peer = m.peer;
	shim_fd_put(nfd, &c);
	if (sa && len)
		shim_addr_to_sockaddr(&m.peer, e.domain, sa, len);
	return nfd;
}

SHIM_EXPORT int accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	shim_resolve();
	return do_accept(fd, sa, len, flags);
}

SHIM_EXPORT int accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	shim_resolve();
	return do_accept(fd, sa, len, 0);
}

/* Waits for a blocking connect on the socketpair, then asks how it went. */
static int connect_wait(int fd, const struct shim_fd *e)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	for (;;) {
		int r = poll(&p, 1, -1);
		if (r > 0)
			break;
		if (r < 0 && errno != EINTR)
			return -1;
	}
	struct shim_req req;
	struct shim_rep rep;
	req_init(&req, SHIM_OP_STATUS, e);
	int r = shim_rpc(&req, &rep, NULL, NULL, 0);
	if (r < 0)
		return fail(-r);
	return rep.err ? fail(rep.err) : 0;
}

SHIM_EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct shim_fd e;
	struct shim_addr a;
	shim_resolve();
	if (!shim_fd_get(fd, &e))
		return shim_real.connect(fd, sa, len);
	if (e.kind == SK_NETLINK) {
		/* Connecting to the kernel (portid 0) is what programs do; it changes nothing. */
		const struct sockaddr_nl *to = (const struct sockaddr_nl *)sa;
		if (!sa || len < (socklen_t)sizeof(*to) || to->nl_family != AF_NETLINK)
			return fail(EINVAL);
		return to->nl_pid == 0 ? 0 : fail(ECONNREFUSED);
	}
	if (shim_addr_from_sockaddr(&a, sa, len) < 0) {
		if (e.state == SFD_ROUTER && e.kind != SK_STREAM && sa &&
		    len >= (socklen_t)sizeof(sa_family_t) && sa->sa_family == AF_UNSPEC) {
			struct shim_req req;
			struct shim_rep rep;
			req_init(&req, SHIM_OP_CONNECT, &e);
			if (rpc_checked(&req, &rep, NULL) < 0)
				return -1;
			e.connected = false;
			memset(&e.peer, 0, sizeof(e.peer));
			shim_fd_put(fd, &e);
			return 0;
		}
		return shim_real.connect(fd, sa, len);
	}
	if (a.family == AF_INET6 && e.domain == AF_INET)
		return fail(EAFNOSUPPORT);
	if (shim_addr_is_loopback(&a) || e.loop_bound) {
		if (e.state == SFD_ROUTER) {
			shim_log_once("connect-loopback", "connect: a socket already in the router "
				      "cannot reach the host's loopback: ENETUNREACH");
			return fail(ENETUNREACH);
		}
		if (e.placeholder)
			return fail(EACCES);
		return shim_real.connect(fd, sa, len);
	}
	struct shim_req req;
	struct shim_rep rep;
	int newfd = -1;
	if (e.kind == SK_STREAM) {
		if (e.connected) {
			/* connect() again on a non-blocking socket: how the first one is going */
			req_init(&req, SHIM_OP_STATUS, &e);
			int r = shim_rpc(&req, &rep, NULL, NULL, 0);
			if (r < 0)
				return fail(-r);
			return fail(rep.err ? rep.err : rep.val ? EISCONN : EALREADY);
		}
		if (e.listening)
			return fail(EISCONN);
		req_init(&req, SHIM_OP_CONNECT, &e);
		req.addr = a;
		if (rpc_checked(&req, &rep, &newfd) < 0)
			return -1;
		if (newfd < 0)
			return fail(EPROTO);
		int r = install_fd(fd, newfd, &e, false);
		if (r < 0)
			return fail(-r);
		e.state = SFD_ROUTER;
		e.sock_id = rep.sock_id;
		e.bound = e.connected = true;
		e.local = rep.local;
		e.peer = rep.peer;
		shim_fd_put(fd, &e);
		int fl = shim_real.fcntl(fd, F_GETFL);
		if (fl >= 0 && (fl & O_NONBLOCK))
			return fail(EINPROGRESS);
		return connect_wait(fd, &e);
	}
	if (e.state != SFD_ROUTER && router_bind(fd, &e, NULL) < 0)
		return -1;
	req_init(&req, SHIM_OP_CONNECT, &e);
	req.addr = a;
	if (rpc_checked(&req, &rep, NULL) < 0)
		return -1;
	e.connected = true;
	e.local = rep.local;
	e.peer = rep.peer;
	shim_fd_put(fd, &e);
	return 0;
}

/* ---- names ---- */

SHIM_EXPORT int getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
	struct shim_fd e;
	shim_resolve();
	if (!shim_fd_get(fd, &e) || e.state != SFD_ROUTER)
		return shim_real.getsockname(fd, sa, len);
	if (e.kind == SK_NETLINK)
		return shim_netlink_name(&e, false, sa, len);
	if (!len)
		return fail(EFAULT);
	struct shim_addr a = e.local;
	if (!a.family)
		a.family = (uint16_t)e.domain;
	shim_addr_to_sockaddr(&a, e.domain, sa, len);
	return 0;
}

SHIM_EXPORT int getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
	struct shim_fd e;
	shim_resolve();
	if (!shim_fd_get(fd, &e) || e.state != SFD_ROUTER)
		return shim_real.getpeername(fd, sa, len);
	if (e.kind == SK_NETLINK)
		return shim_netlink_name(&e, true, sa, len);
	if (!len)
		return fail(EFAULT);
	if (!e.connected || !e.peer.family)
		return fail(ENOTCONN);
	shim_addr_to_sockaddr(&e.peer, e.domain, sa, len);
	return 0;
}

/* ---- options ---- */

static int opt_int(const void *val, socklen_t len, int *out)
{
	if (!val || len < (socklen_t)sizeof(int)) {
		if (val && len >= 1) {   /* Linux takes a single byte for some IP options */
			*out = *(const unsigned char *)val;
			return 0;
		}
		return -EINVAL;
	}
	memcpy(out, val, sizeof(int));
	return 0;
}

/*
 * Applies an option to e's recorded set. 1: it is a router option (rrouted
 * must hear of it), 0: it belongs to the fd itself (the kernel), -errno.
 */
static int opt_set(struct shim_fd *e, int level, int name, const void *val, socklen_t len)
{
	int v = 0;
	switch (level) {
	case SOL_SOCKET:
		switch (name) {
		case SO_REUSEADDR:
		case SO_REUSEPORT:
		case SO_KEEPALIVE:
			if (opt_int(val, len, &v) < 0)
				return -EINVAL;
			return shim_opts_set_int(&e->opts, level, name, v);
		case SO_BINDTODEVICE: {
			char ifname[IFNAMSIZ_SHIM + 1];
			size_t n = len < IFNAMSIZ_SHIM ? (size_t)len : IFNAMSIZ_SHIM;
			memcpy(ifname, val, n);
			ifname[n] = '\0';
			if (!ifname[0]) {
				e->opts.bind_ifindex = 0;
				return 1;
			}
			unsigned idx = shim_if_index(ifname);
			if (!idx)
				return -ENODEV;
			e->opts.bind_ifindex = idx;
			return 1;
		}
		case SO_PRIORITY:
			return shim_dgram_opt_set(e, level, name, val, len);
		case SO_SNDBUF:
		case SO_RCVBUF:
			if (opt_int(val, len, &v) == 0 && v > 0) {
				if (name == SO_SNDBUF)
					e->opts.sndbuf = (uint32_t)v;
				else
					e->opts.rcvbuf = (uint32_t)v;
			}
			return 0;   /* the socketpair's buffer too */
		default:
			return 0;
		}
	case IPPROTO_IP:
	case IPPROTO_IPV6:
		v = shim_dgram_opt_set(e, level, name, val, len);
		if (v != SHIM_OPT_UNKNOWN)
			return v;
		if (opt_int(val, len, &v) < 0)
			return -EINVAL;
		if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY) {
			if (e->bound)
				return -EINVAL;
			e->opts.v6only = !!v;
			return 1;
		}
		/* IPV6_2292HOPLIMIT: the RFC 2292 name tracepath -6 falls back to. */
		if ((level == IPPROTO_IP && name == IP_RECVTTL) ||
		    (level == IPPROTO_IPV6 && (name == IPV6_RECVHOPLIMIT ||
					       name == IPV6_2292HOPLIMIT))) {
			e->recvttl = !!v;
			return 2;
		}
		return shim_opts_set_int(&e->opts, level, name, v) ?: -ENOPROTOOPT;
	case IPPROTO_TCP:
		if (e->kind != SK_STREAM)
			return -ENOPROTOOPT;
		if (opt_int(val, len, &v) < 0)
			return -EINVAL;
		return shim_opts_set_int(&e->opts, level, name, v) ?: -ENOPROTOOPT;
	default:
		return -ENOPROTOOPT;
	}
}

static const char *level_name(int level)
{
	return level == SOL_SOCKET ? "SOL_SOCKET" : level == IPPROTO_IP ? "IPPROTO_IP"
	     : level == IPPROTO_IPV6 ? "IPPROTO_IPV6" : level == IPPROTO_TCP ? "IPPROTO_TCP"
	     : "another level";
}

SHIM_EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	struct shim_fd e;
	shim_resolve();
	if (!shim_fd_get(fd, &e))
		return shim_real.setsockopt(fd, level, name, val, len);
	if (e.kind == SK_NETLINK)
		return shim_netlink_setsockopt(fd, &e, level, name, val, len);
	if (shim_raw_own_option(&e, level, name))
		return shim_raw_setsockopt(fd, &e, val, len);
	/*
	 * IP_RECVRETOPTS (the same number as IP_RETOPTS, an int flag; ping sets it):
	 * Linux adds the received IP options as a control message only when a
	 * packet carried some; the router delivers none, so the flag is kept as set.
	 */
	if (level == IPPROTO_IP && name == IP_RECVRETOPTS && e.kind != SK_STREAM && val &&
	    len == sizeof(int) && (*(const int *)val == 0 || *(const int *)val == 1))
		return 0;
	if (level == IPPROTO_TCP && e.kind == SK_STREAM && shim_tcp_opt_ours(name, false))
		return shim_tcp_setsockopt(fd, &e, name, val, len);
	int kind = opt_set(&e, level, name, val, len);
	if (kind == -ENOPROTOOPT) {
		if (e.state == SFD_KERNEL && e.loop_bound)
			return shim_real.setsockopt(fd, level, name, val, len);
		shim_log_once("opt-unknown", "setsockopt(%s, %d) is not supported inside the router: "
			      "ENOPROTOOPT", level_name(level), name);
		return fail(ENOPROTOOPT);
	}
	if (kind < 0)
		return fail(-kind);
	if (e.state == SFD_KERNEL) {
		/* Also on the kernel socket (loopback use); the router ones are replayed by rrouted. */
		if (level == SOL_SOCKET && name != SO_BINDTODEVICE && kind != 2) {
			int r = shim_real.setsockopt(fd, level, name, val, len);
			if (r < 0)
				return r;
			if (kind == 0 && e.n_replay < SHIM_MAX_REPLAY && len <= 16) {
				struct shim_sockopt *o = &e.replay[e.n_replay++];
				o->name = name;
				o->len = len;
				memcpy(o->val, val, len);
			}
		} else if (!e.placeholder && level != SOL_SOCKET) {
			(void)shim_real.setsockopt(fd, level, name, val, len);
		}
		shim_fd_put(fd, &e);
		return 0;
	}
	if (kind == 0 && level == SOL_SOCKET) {
		int r = shim_real.setsockopt(fd, level, name, val, len);
		if (r < 0)
			return r;
	}
	shim_fd_put(fd, &e);
	if (kind == 1 && e.sock_id >= 0) {
		struct shim_req req;
		struct shim_rep rep;
		req_init(&req, SHIM_OP_SETOPT, &e);
		if (rpc_checked(&req, &rep, NULL) < 0)
			return -1;
	}
	return 0;
}

static int put_int(void *val, socklen_t *len, int v)
{
	if (!val || !len || *len < 1)
		return fail(EINVAL);
	if (*len < (socklen_t)sizeof(int)) {
		*(unsigned char *)val = (unsigned char)v;
		*len = 1;
		return 0;
	}
	memcpy(val, &v, sizeof(int));
	*len = sizeof(int);
	return 0;
}

SHIM_EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	struct shim_fd e;
	shim_resolve();
	if (shim_fd_get(fd, &e) && e.kind == SK_NETLINK)
		return shim_netlink_getsockopt(fd, &e, level, name, val, len);
	if (shim_fd_get(fd, &e) && shim_raw_own_option(&e, level, name))
		return shim_raw_getsockopt(fd, &e, val, len);
	if (shim_fd_get(fd, &e) && level == IPPROTO_TCP && e.kind == SK_STREAM &&
	    shim_tcp_opt_ours(name, true))
		return shim_tcp_getsockopt(fd, &e, name, val, len);
	if (!shim_fd_get(fd, &e) || (e.state != SFD_ROUTER && !(level == SOL_SOCKET &&
			(name == SO_PROTOCOL || (e.placeholder && name == SO_TYPE)))))
		return shim_real.getsockopt(fd, level, name, val, len);
	int proto = e.kind == SK_STREAM ? IPPROTO_TCP : e.kind == SK_UDP ? IPPROTO_UDP
		  : e.domain == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	switch (level) {
	case SOL_SOCKET:
		switch (name) {
		case SO_TYPE: return put_int(val, len, e.type);
		case SO_DOMAIN: return put_int(val, len, e.domain);
		case SO_PROTOCOL: return put_int(val, len, proto);
		case SO_ACCEPTCONN: return put_int(val, len, e.listening);
		case SO_REUSEADDR: return put_int(val, len, e.opts.reuseaddr);
		case SO_REUSEPORT: return put_int(val, len, e.opts.reuseport);
		case SO_KEEPALIVE: return put_int(val, len, e.opts.keepalive);
		case SO_PRIORITY: return put_int(val, len, e.priority);
		case SO_ERROR: {
			if (e.sock_id < 0)
				return put_int(val, len, 0);
			struct shim_req req;
			struct shim_rep rep;
			req_init(&req, SHIM_OP_STATUS, &e);
			int r = shim_rpc(&req, &rep, NULL, NULL, 0);
			return put_int(val, len, r < 0 ? -r : rep.err);
		}
		case SO_BINDTODEVICE: {
			char name_buf[IFNAMSIZ_SHIM + 1] = "";
			if (e.opts.bind_ifindex)
				shim_if_name(e.opts.bind_ifindex, name_buf);
			size_t n = strlen(name_buf) + 1;
			if (!val || !len || *len < (socklen_t)n)
				return fail(EINVAL);
			memcpy(val, name_buf, n);
			*len = (socklen_t)n;
			return 0;
		}
		default:
			return shim_real.getsockopt(fd, level, name, val, len);
		}
	case IPPROTO_IP:
	case IPPROTO_IPV6: {
		int r = shim_dgram_opt_get(&e, level, name, val, len);
		if (r != SHIM_OPT_UNKNOWN)
			return r < 0 ? fail(-r) : 0;
		if (level == IPPROTO_IP && name == IP_RECVTTL)
			return put_int(val, len, e.recvttl);
		if (level == IPPROTO_IPV6 && name == IPV6_RECVHOPLIMIT)
			return put_int(val, len, e.recvttl);
		if ((level == IPPROTO_IP && name == IP_TTL) ||
		    (level == IPPROTO_IPV6 && name == IPV6_UNICAST_HOPS))
			return put_int(val, len, e.opts.ttl ? e.opts.ttl : 64);
		if ((level == IPPROTO_IP && name == IP_TOS) ||
		    (level == IPPROTO_IPV6 && name == IPV6_TCLASS))
			return put_int(val, len, e.opts.tos);
		if ((level == IPPROTO_IP && name == IP_MINTTL) ||
		    (level == IPPROTO_IPV6 && name == IPV6_MINHOPCOUNT))
			return put_int(val, len, e.opts.min_ttl);
		if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY)
			return put_int(val, len, e.opts.v6only);
		if ((level == IPPROTO_IP && name == IP_RECVERR) ||
		    (level == IPPROTO_IPV6 && name == IPV6_RECVERR))
			return put_int(val, len, e.opts.recverr);
		break;
	}
	case IPPROTO_TCP:
		if (e.kind != SK_STREAM)
			break;
		switch (name) {
		case TCP_NODELAY: return put_int(val, len, e.opts.nodelay);
		case TCP_KEEPIDLE: return put_int(val, len, e.opts.keepidle ? (int)e.opts.keepidle : 7200);
		case TCP_KEEPINTVL: return put_int(val, len, e.opts.keepintvl ? (int)e.opts.keepintvl : 75);
		case TCP_KEEPCNT: return put_int(val, len, e.opts.keepcnt ? (int)e.opts.keepcnt : 9);
		case TCP_MAXSEG: return put_int(val, len, e.local.family == AF_INET6 ? 1360 : 1380);
		default:
			break;
		}
		break;
	default:
		break;
	}
	shim_log_once("getopt-unknown", "getsockopt(%s, %d) is not supported inside the router: "
		      "ENOPROTOOPT", level_name(level), name);
	return fail(ENOPROTOOPT);
}

/* ---- datagrams ---- */

/*
 * A kernel datagram socket about to send to dst: converts it to the router
 * unless dst is loopback. Returns 1 when the send goes to the router, 0 when
 * it stays on the kernel socket, -1 with errno.
 */
static int dgram_route(int fd, struct shim_fd *e, const struct sockaddr *dst, socklen_t dlen)
{
	if (e->state == SFD_ROUTER)
		return 1;
	struct shim_addr a;
	if (!dst || shim_addr_from_sockaddr(&a, dst, dlen) < 0 || shim_addr_is_loopback(&a) ||
	    e->loop_bound)
		return 0;
	if (router_bind(fd, e, NULL) < 0)
		return -1;
	return 1;
}

static ssize_t dgram_sendmsg(int fd, const struct shim_fd *e, const struct msghdr *msg,
			     int flags)
{
	struct shim_dgram_hdr h;
	memset(&h, 0, sizeof(h));
	if (e->shut_wr) {
		if (!(flags & MSG_NOSIGNAL))
			raise(SIGPIPE);
		return fail(EPIPE);   /* as sock_alloc_send_pskb after SHUT_WR */
	}
	if (msg->msg_name && msg->msg_namelen) {
		if (shim_addr_from_sockaddr(&h.peer, msg->msg_name, msg->msg_namelen) < 0)
			return fail(msg->msg_namelen < sizeof(sa_family_t) ? EINVAL : EAFNOSUPPORT);
		if (h.peer.family == AF_INET6 && e->domain == AF_INET)
			return fail(EAFNOSUPPORT);
		if (shim_addr_is_loopback(&h.peer)) {
			shim_log_once("send-loopback", "sendto: a socket already in the router cannot "
				      "reach the host's loopback: ENETUNREACH");
			return fail(ENETUNREACH);
		}
	} else if (!e->connected) {
		return fail(EDESTADDRREQ);
	}
	if (flags & MSG_OOB)
		return fail(EOPNOTSUPP);
	int r = shim_dgram_send_cmsgs(e, msg, &h);
	if (r < 0)
		return fail(-r);
	if (msg->msg_iovlen > 63)
		return fail(EMSGSIZE);
	struct iovec iov[64];
	size_t total = 0;
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	for (size_t i = 0; i < msg->msg_iovlen; i++) {
		iov[i + 1] = msg->msg_iov[i];
		total += msg->msg_iov[i].iov_len;
	}
	uint32_t mtu;
	if (total > SHIM_DGRAM_MAX - 28) {
		/* Linux reports it in the error queue too (tracepath -6) */
		(void)shim_dgram_check_size(e, &h, total, &mtu);
		shim_errq_local(fd, e, h.peer.family ? &h.peer : &e->peer, EMSGSIZE, mtu);
		return fail(EMSGSIZE);
	}
	r = shim_dgram_check_size(e, &h, total, &mtu);
	if (r < 0) {
		if (mtu)
			shim_errq_local(fd, e, h.peer.family ? &h.peer : &e->peer, -r, mtu);
		return fail(-r);
	}
	if (e->kind == SK_PING && total < 8)
		return fail(EINVAL);
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = msg->msg_iovlen + 1 };
	ssize_t n = shim_real.sendmsg(fd, &mh, (flags & (MSG_DONTWAIT | MSG_NOSIGNAL)) | MSG_NOSIGNAL);
	if (n < 0)
		return -1;
	return n >= (ssize_t)sizeof(h) ? n - (ssize_t)sizeof(h) : 0;
}

/*
 * An ordinary receive met an ICMP error message (shim_errqueue.c has the
 * design): it fails once with the error's errno. What the error record and
 * payload left in the app's buffers is gathered back from there; a peek is
 * made a real read first, so the error is reported once, not at every peek.
 */
static ssize_t dgram_error(int fd, const struct shim_fd *e, const struct shim_dgram_hdr *h,
			   const struct iovec *iov, size_t iovlen, size_t got, int flags)
{
	uint8_t buf[sizeof(struct shim_dgram_err) + 2048];
	size_t len = 0;
	if (flags & MSG_PEEK) {
		struct shim_dgram_hdr h2;
		struct iovec v[2] = { { &h2, sizeof(h2) }, { buf, sizeof(buf) } };
		struct msghdr mh = { .msg_iov = v, .msg_iovlen = 2 };
		ssize_t n = shim_real.recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n >= (ssize_t)sizeof(h2))
			len = (size_t)n - sizeof(h2);
		return fail(shim_errq_reported(fd, e, &h2, buf, len));
	}
	for (size_t i = 0; i < iovlen && len < got && len < sizeof(buf); i++) {
		size_t n = iov[i].iov_len;
		if (n > got - len)
			n = got - len;
		if (n > sizeof(buf) - len)
			n = sizeof(buf) - len;
		memcpy(buf + len, iov[i].iov_base, n);
		len += n;
	}
	return fail(shim_errq_reported(fd, e, h, buf, len));
}

static ssize_t dgram_recvmsg(int fd, const struct shim_fd *e, struct msghdr *msg, int flags)
{
	struct shim_dgram_hdr h;
	if (flags & MSG_ERRQUEUE)
		return shim_errq_recvmsg(fd, e, msg, flags);
	if (flags & MSG_OOB)
		return fail(EOPNOTSUPP);
	if (msg->msg_iovlen > 63)
		return fail(EMSGSIZE);
	struct iovec iov[64];
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	for (size_t i = 0; i < msg->msg_iovlen; i++)
		iov[i + 1] = msg->msg_iov[i];
	struct msghdr mh;
	ssize_t n;
again:
	mh = (struct msghdr){ .msg_iov = iov, .msg_iovlen = msg->msg_iovlen + 1,
			      .msg_control = msg->msg_control, .msg_controllen = msg->msg_controllen };
	n = shim_real.recvmsg(fd, &mh, flags & (MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC | MSG_WAITALL |
						MSG_CMSG_CLOEXEC));
	if (n < 0)
		return -1;
	if (e->kind == SK_RAW && n >= (ssize_t)sizeof(h) && !(h.flags & SHIM_DGRAM_ERR) &&
	    shim_raw_filtered(fd, e, msg->msg_iov, msg->msg_iovlen, (size_t)n - sizeof(h))) {
		if (flags & MSG_PEEK)   /* a peek would meet it again: it goes now */
			(void)shim_real.recv(fd, NULL, 0, MSG_DONTWAIT);
		goto again;
	}
	if (n < (ssize_t)sizeof(h)) {
		msg->msg_controllen = 0;
		msg->msg_flags = 0;
		return 0;   /* rrouted closed the socket */
	}
	if (h.flags & SHIM_DGRAM_ERR) {
		size_t got = (size_t)n - sizeof(h);
		if (mh.msg_flags & MSG_TRUNC && (flags & MSG_TRUNC)) {
			size_t cap = 0;   /* n was the full length: only the buffers hold bytes */
			for (size_t i = 0; i < msg->msg_iovlen; i++)
				cap += msg->msg_iov[i].iov_len;
			got = got < cap ? got : cap;
		}
		msg->msg_controllen = 0;
		return dgram_error(fd, e, &h, msg->msg_iov, msg->msg_iovlen, got, flags);
	}
	msg->msg_flags = mh.msg_flags;
	size_t used = mh.msg_controllen;
	shim_dgram_recv_cmsgs(e, &h, msg, &used);
	if (e->recvttl && (h.flags & SHIM_DGRAM_HAS_TTL)) {
		int ttl = h.ttl;
		if (h.peer.family == AF_INET && e->domain == AF_INET)
			shim_put_cmsg(msg, &used, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
		else
			shim_put_cmsg(msg, &used, IPPROTO_IPV6, IPV6_HOPLIMIT, &ttl, sizeof(ttl));
	}
	msg->msg_controllen = used;
	if (msg->msg_name && msg->msg_namelen) {
		socklen_t l = msg->msg_namelen;
		shim_addr_to_sockaddr(&h.peer, e->domain, msg->msg_name, &l);
		msg->msg_namelen = l;
	} else {
		msg->msg_namelen = 0;
	}
	return n - (ssize_t)sizeof(h);
}

/* ---- send family ---- */

static ssize_t do_sendto(int fd, const void *buf, size_t len, int flags,
			 const struct sockaddr *sa, socklen_t slen, bool is_send)
{
	struct shim_fd e;
	if (shim_fd_get(fd, &e) && e.kind == SK_NETLINK) {
		struct iovec iov = { (void *)buf, len };
		struct msghdr mh = { .msg_name = (void *)sa, .msg_namelen = sa ? slen : 0,
				     .msg_iov = &iov, .msg_iovlen = 1 };
		return shim_netlink_sendmsg(fd, &mh, flags);
	}
	if (!shim_fd_get(fd, &e) || e.kind == SK_STREAM)
		return is_send ? shim_real.send(fd, buf, len, flags)
			       : shim_real.sendto(fd, buf, len, flags, e.state == SFD_ROUTER
							    ? NULL : sa, e.state == SFD_ROUTER ? 0 : slen);
	int r = dgram_route(fd, &e, sa, slen);
	if (r < 0)
		return -1;
	if (r == 0)
		return is_send ? shim_real.send(fd, buf, len, flags)
			       : shim_real.sendto(fd, buf, len, flags, sa, slen);
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_name = (void *)sa, .msg_namelen = sa ? slen : 0, .msg_iov = &iov,
			     .msg_iovlen = 1 };
	return dgram_sendmsg(fd, &e, &mh, flags);
}

SHIM_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
			   const struct sockaddr *sa, socklen_t slen)
{
	shim_resolve();
	return do_sendto(fd, buf, len, flags, sa, slen, false);
}

SHIM_EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	shim_resolve();
	if (!shim_fd_is_dgram(fd))
		return shim_real.send(fd, buf, len, flags);
	return do_sendto(fd, buf, len, flags, NULL, 0, true);
}

SHIM_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct shim_fd e;
	shim_resolve();
	if (!shim_fd_get(fd, &e))
		return shim_real.sendmsg(fd, msg, flags);
	if (e.kind == SK_NETLINK)
		return shim_netlink_sendmsg(fd, msg, flags);
	if (e.kind == SK_STREAM) {
		if (e.state != SFD_ROUTER || !msg->msg_name)
			return shim_real.sendmsg(fd, msg, flags);
		struct msghdr m = *msg;
		m.msg_name = NULL;
		m.msg_namelen = 0;
		return shim_real.sendmsg(fd, &m, flags);
	}
	int r = dgram_route(fd, &e, msg->msg_name, msg->msg_namelen);
	if (r < 0)
		return -1;
	if (r == 0)
		return shim_real.sendmsg(fd, msg, flags);
	return dgram_sendmsg(fd, &e, msg, flags);
}

SHIM_EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
	shim_resolve();
	if (!shim_fd_is_dgram(fd))
		return shim_real.write(fd, buf, len);
	return do_sendto(fd, buf, len, 0, NULL, 0, true);
}

SHIM_EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
	struct shim_fd e;
	shim_resolve();
	if (!shim_fd_is_dgram(fd) || !shim_fd_get(fd, &e))
		return shim_real.writev(fd, iov, n);
	struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = n < 0 ? 0 : (size_t)n };
	return dgram_sendmsg(fd, &e, &mh, 0);
}

SHIM_EXPORT int sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags)
{
	unsigned i;
	for (i = 0; i < n; i++) {
		ssize_t r = sendmsg(fd, &v[i].msg_hdr, flags);
		if (r < 0)
			return i ? (int)i : -1;
		v[i].msg_len = (unsigned)r;
	}
	return (int)i;
}

/* ---- receive family ---- */

static ssize_t do_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *sa,
			   socklen_t *slen)
{
	struct shim_fd e;
	if (shim_fd_get(fd, &e) && e.kind == SK_NETLINK) {
		struct iovec iov = { buf, len };
		struct msghdr mh = { .msg_name = sa, .msg_namelen = sa && slen ? *slen : 0,
				     .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n = shim_netlink_recvmsg(fd, &mh, flags);
		if (n >= 0 && sa && slen)
			*slen = mh.msg_namelen;
		return n;
	}
	if (!shim_fd_get(fd, &e) || e.state != SFD_ROUTER || e.kind == SK_STREAM) {
		if (e.state == SFD_ROUTER && sa && slen) {   /* a stream: the peer's name */
			ssize_t n = shim_real.recv(fd, buf, len, flags);
			if (n >= 0)
				getpeername(fd, sa, slen);
			return n;
		}
		return shim_real.recvfrom(fd, buf, len, flags, sa, slen);
	}
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_name = sa, .msg_namelen = sa && slen ? *slen : 0,
			     .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n = dgram_recvmsg(fd, &e, &mh, flags);
	if (n >= 0 && sa && slen)
		*slen = mh.msg_namelen;
	return n;
}

SHIM_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *sa,
			     socklen_t *slen)
{
	shim_resolve();
	return do_recvfrom(fd, buf, len, flags, sa, slen);
}

SHIM_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	shim_resolve();
	if (!shim_fd_is_dgram(fd))
		return shim_real.recv(fd, buf, len, flags);
	return do_recvfrom(fd, buf, len, flags, NULL, NULL);
}

SHIM_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct shim_fd e;
	shim_resolve();
	if (!shim_fd_is_dgram(fd) && shim_fd_get(fd, &e) && e.kind == SK_NETLINK)
		return shim_netlink_recvmsg(fd, msg, flags);
	if (!shim_fd_is_dgram(fd) || !shim_fd_get(fd, &e)) {
		ssize_t n = shim_real.recvmsg(fd, msg, flags);
		if (n >= 0 && msg->msg_name && msg->msg_namelen && shim_fd_get(fd, &e) &&
		    e.state == SFD_ROUTER) {
			socklen_t l = msg->msg_namelen;   /* a stream: the router peer, not the pair */
			if (getpeername(fd, msg->msg_name, &l) == 0)
				msg->msg_namelen = l;
		}
		return n;
	}
	return dgram_recvmsg(fd, &e, msg, flags);
}

SHIM_EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	shim_resolve();
	if (!shim_fd_is_dgram(fd))
		return shim_real.read(fd, buf, len);
	return do_recvfrom(fd, buf, len, 0, NULL, NULL);
}

SHIM_EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
	struct shim_fd e;
	shim_resolve();
	if (!shim_fd_is_dgram(fd) || !shim_fd_get(fd, &e))
		return shim_real.readv(fd, iov, n);
	struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = n < 0 ? 0 : (size_t)n };
	return dgram_recvmsg(fd, &e, &mh, 0);
}

SHIM_EXPORT int recvmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags,
			 struct timespec *timeout)
{
	unsigned i;
	for (i = 0; i < n; i++) {
		ssize_t r = recvmsg(fd, &v[i].msg_hdr, i ? (flags | MSG_DONTWAIT) : flags);
		if (r < 0)
			return i ? (int)i : -1;
		v[i].msg_len = (unsigned)r;
		if (flags & MSG_WAITFORONE)
			flags |= MSG_DONTWAIT;
	}
	return (int)i;
}

/* _FORTIFY_SOURCE builds call these instead of read/recv/recvfrom. */
SHIM_EXPORT ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	if (len > buflen)
		abort();
	return read(fd, buf, len);
}

SHIM_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
	if (len > buflen)
		abort();
	return recv(fd, buf, len, flags);
}

SHIM_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
				   struct sockaddr *sa, socklen_t *slen)
{
	if (len > buflen)
		abort();
	return recvfrom(fd, buf, len, flags, sa, slen);
}

/* ---- fd life ---- */

static void forget(int fd)
{
	struct shim_fd e;
	if (!shim_fd_get(fd, &e))
		return;
	shim_fd_drop(fd);
	shim_errq_drop(fd);
	/* A TCP socket that is only bound (or only has options, see shim_tcp.c) has no data fd
	 * rrouted could watch: tell it. */
	if (e.state != SFD_NONE && e.sock_id >= 0 && e.kind == SK_STREAM && !e.listening &&
	    !e.connected) {
		struct shim_req req;
		req_init(&req, SHIM_OP_CLOSE, &e);
		shim_rpc_oneway(&req);
	}
}

SHIM_EXPORT int close(int fd)
{
	shim_resolve();
	if (shim_is_ctl_fd(fd))
		return 0;   /* the app closing everything: our connection is not its to close */
	forget(fd);
	return shim_real.close(fd);
}

static void copy_entry(int from, int to)
{
	struct shim_fd e;
	if (shim_fd_get(from, &e))
		shim_fd_put(to, &e);
}

SHIM_EXPORT int dup(int fd)
{
	shim_resolve();
	int n = shim_real.dup(fd);
	if (n >= 0)
		copy_entry(fd, n);
	return n;
}

SHIM_EXPORT int dup2(int fd, int fd2)
{
	shim_resolve();
	if (fd == fd2)
		return shim_real.dup2(fd, fd2);
	shim_ctl_evict(fd2);
	int n = shim_real.dup2(fd, fd2);
	if (n >= 0) {
		forget(fd2);
		copy_entry(fd, fd2);
	}
	return n;
}

SHIM_EXPORT int dup3(int fd, int fd2, int flags)
{
	shim_resolve();
	if (fd != fd2)
		shim_ctl_evict(fd2);
	int n = shim_real.dup3(fd, fd2, flags);
	if (n >= 0) {
		forget(fd2);
		copy_entry(fd, fd2);
	}
	return n;
}

SHIM_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	shim_resolve();
	int r = shim_real.fcntl(fd, cmd, arg);
	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		copy_entry(fd, r);
	return r;
}

SHIM_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl(fd, cmd, arg);
}

/* ---- exec ---- */

/*
 * The fd table does not survive execve, but the fds do: a router socket's
 * app end is an AF_UNIX socket whose inode rrouted knows. Only inherited
 * AF_UNIX sockets are asked about, one request each, at start-up.
 */
void shim_adopt_inherited(void)
{
	for (int fd = 0; fd < 1024; fd++) {
		struct stat st;
		if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) || shim_is_ctl_fd(fd))
			continue;
		int dom = 0;
		socklen_t l = sizeof(dom);
		if (shim_real.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0 || dom != AF_UNIX)
			continue;
		struct shim_req req;
		struct shim_rep rep;
		struct shim_sockinfo si;
		shim_req_init(&req, SHIM_OP_LOOKUP, -1, 0, 0, 0);
		req.ino = (uint64_t)st.st_ino;
		if (shim_rpc(&req, &rep, NULL, &si, sizeof(si)) < 0 || rep.err ||
		    rep.data_len != sizeof(si) || !inet_domain(si.domain))
			continue;
		struct shim_fd e;
		memset(&e, 0, sizeof(e));
		e.state = SFD_ROUTER;
		e.kind = si.kind == SHIM_KIND_UDP ? SK_UDP : si.kind == SHIM_KIND_PING ? SK_PING
		       : si.kind == SHIM_KIND_RAW ? SK_RAW : SK_STREAM;
		e.domain = si.domain;
		e.type = e.kind == SK_STREAM ? SOCK_STREAM : e.kind == SK_RAW ? SOCK_RAW : SOCK_DGRAM;
		e.sock_id = rep.sock_id;
		e.opts = si.opts;
		e.listening = si.listening;
		e.connected = si.connected;
		e.bound = si.bound;
		e.local = rep.local;
		e.peer = rep.peer;
		shim_fd_put(fd, &e);
	}
}
