#include "exec/seccomp_sup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "stack/shim_proto.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL   /* Linux 6.9: a pidfd for a thread, not only a leader */
#endif
#ifndef IP_RECVERR
#define IP_RECVERR 11
#endif

#define SUP_SOCKS_MAX  4096   /* router sockets remembered (oldest forgotten first) */
#define SUP_PARKED_MAX 256    /* blocking connect/accept calls waiting at once */
#define SUP_BATCH      64     /* notifications handled per wake-up */
#define SUP_ADDR_MAX   128    /* the largest socket address read from a caller */
#define SUP_MMSG_MAX   1024   /* sendmmsg's own limit (UIO_MAXIOV) */
#define EV_LISTENER    UINT64_MAX
#define EV_SHIM        (UINT64_MAX - 1)   /* rrouted never speaks first: readable = gone */

enum sup_kind { SS_BOUND, SS_CONN, SS_LISTEN };

/* A router socket, known by the inode of the caller's file (kernel socket or socketpair end). */
struct sup_sock {
	uint64_t ino;           /* 0: free slot */
	uint64_t stamp;         /* last use, to forget the oldest */
	int32_t sock_id;
	int domain;
	enum sup_kind kind;
	bool confirmed;         /* SS_CONN: the handshake is known complete */
	int pending_err;        /* SO_ERROR read by a getpeername, not yet by the app */
	struct shim_addr local, peer;
	struct shim_opts opts;
};

/* A notification answered later: a blocking connect (waits for POLLOUT) or accept (POLLIN). */
struct parked {
	bool used;
	uint64_t id;
	pid_t pid;
	int nr;
	int fd;                 /* our copy of the caller's descriptor */
	uint64_t ino;
	uint64_t args[6];
};

struct seccomp_sup {
	int listener, epfd, shim;
	char prog[64];
	bool verbose;
	struct seccomp_notif *notif;
	struct seccomp_notif_resp *resp;
	size_t notif_size, resp_size;
	uint64_t clock;
	unsigned logged;        /* which refusals were said once */
	struct sup_sock socks[SUP_SOCKS_MAX];
	struct parked parked[SUP_PARKED_MAX];
};

/* One notification being handled. */
struct call {
	struct seccomp_sup *sup;
	uint64_t id;
	pid_t pid;
	int nr;
	uint64_t args[6];
	int pidfd;
};

static void say(const struct seccomp_sup *sup, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(const struct seccomp_sup *sup, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "rrctl exec: %s (seccomp): %s\n", sup->prog, line);
}

static void say_once(struct seccomp_sup *sup, unsigned bit, const char *what)
{
	if (sup->logged & bit)
		return;
	sup->logged |= bit;
	say(sup, "%s", what);
}

/* ---- answering the kernel ---- */

static bool id_valid(const struct seccomp_sup *sup, uint64_t id)
{
	return ioctl(sup->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

static void reply(struct call *c, int64_t val, int err, uint32_t flags)
{
	struct seccomp_notif_resp *r = c->sup->resp;
	memset(r, 0, c->sup->resp_size);
	r->id = c->id;
	r->val = err ? -1 : val;
	r->error = -err;
	r->flags = flags;
	/* ENOENT: the caller died or was interrupted meanwhile; nothing waits for this answer. */
	if (ioctl(c->sup->listener, SECCOMP_IOCTL_NOTIF_SEND, r) < 0 && errno != ENOENT)
		say(c->sup, "answering a notification: %s", strerror(errno));
}

static void pass_on(struct call *c)
{
	reply(c, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
}

/* newfd at number fd in the caller (replacing what was there). 0 or -errno. */
static int install_at(struct call *c, int newfd, int fd, bool cloexec)
{
	struct seccomp_notif_addfd a = {
		.id = c->id, .flags = SECCOMP_ADDFD_FLAG_SETFD, .srcfd = (uint32_t)newfd,
		.newfd = (uint32_t)fd, .newfd_flags = cloexec ? O_CLOEXEC : 0,
	};
	return ioctl(c->sup->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a) < 0 ? -errno : 0;
}

/* ---- the caller's memory and descriptors ---- */

static int read_mem(const struct call *c, uint64_t addr, void *buf, size_t len)
{
	if (!addr)
		return -EFAULT;
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(c->pid, &local, 1, &remote, 1, 0);
	return n == (ssize_t)len ? 0 : -EFAULT;
}

static int write_mem(const struct call *c, uint64_t addr, const void *buf, size_t len)
{
	if (!addr)
		return -EFAULT;
	struct iovec local = { (void *)buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_writev(c->pid, &local, 1, &remote, 1, 0);
	return n == (ssize_t)len ? 0 : -EFAULT;
}

static int open_pidfd(pid_t tid)
{
	int fd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
	if (fd >= 0)
		return fd;
	/* Before Linux 6.9: the thread's process (a thread of Go asks as often as the leader). */
	char path[64], line[128];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	pid_t tgid = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid > 0 ? (int)syscall(SYS_pidfd_open, tgid, 0) : -1;
}

/* Is the caller's descriptor fd close-on-exec? (/proc/PID/fdinfo/FD "flags:", octal) */
static bool fd_cloexec(pid_t pid, int fd)
{
	char path[64], line[128];
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
	FILE *f = fopen(path, "re");
	if (!f)
		return true;
	unsigned long fl = 0;
	bool found = false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "flags: %lo", &fl) == 1;
	fclose(f);
	return !found || (fl & O_CLOEXEC);
}

static int sock_int(int fd, int level, int name)
{
	int v = 0;
	socklen_t l = sizeof(v);
	return getsockopt(fd, level, name, &v, &l) == 0 ? v : -1;
}

static uint64_t ino_of(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/* ---- the router socket table ---- */

static struct sup_sock *sock_find(struct seccomp_sup *sup, uint64_t ino)
{
	for (size_t i = 0; ino && i < SUP_SOCKS_MAX; i++)
		if (sup->socks[i].ino == ino) {
			sup->socks[i].stamp = ++sup->clock;
			return &sup->socks[i];
		}
	return NULL;
}

static struct sup_sock *sock_add(struct seccomp_sup *sup, uint64_t ino)
{
	struct sup_sock *old = &sup->socks[0];
	for (size_t i = 0; i < SUP_SOCKS_MAX; i++) {
		if (!sup->socks[i].ino) {
			old = &sup->socks[i];
			break;
		}
		if (sup->socks[i].stamp < old->stamp)
			old = &sup->socks[i];
	}
	memset(old, 0, sizeof(*old));
	old->ino = ino;
	old->stamp = ++sup->clock;
	return old;
}

/* ---- rrouted ---- */

static int rpc(struct seccomp_sup *sup, const struct shim_req *req, struct shim_rep *rep, int *fd)
{
	if (fd)
		*fd = -1;
	if (send(sup->shim, req, sizeof(*req), MSG_NOSIGNAL) != (ssize_t)sizeof(*req))
		return -ECONNRESET;
	union {
		struct shim_rep rep;
		uint8_t raw[sizeof(struct shim_rep) + 512];
	} m;
	ssize_t n;
	int got;
	bool truncated;
	do
		n = shim_recv_with_fd(recvmsg, sup->shim, &m, sizeof(m), MSG_CMSG_CLOEXEC, &got,
				      &truncated);
	while (n < 0 && errno == EINTR);
	if (n < (ssize_t)sizeof(struct shim_rep) || truncated ||
	    !shim_rep_valid(&m, (size_t)n)) {
		if (got >= 0)
			close(got);
		return -ECONNRESET;
	}
	*rep = m.rep;
	if (rep->err) {
		if (got >= 0)
			close(got);
		return -rep->err;
	}
	if (fd)
		*fd = got;
	else if (got >= 0)
		close(got);
	return 0;
}

static void req_init(struct shim_req *req, uint32_t op, int domain, int32_t sock_id,
		     const struct shim_opts *opts)
{
	shim_req_init(req, op, sock_id, domain, SOCK_STREAM, IPPROTO_TCP);
	if (opts)
		req->opts = *opts;
}

/* The options a kernel socket collected before it became a router socket. */
static void opts_from_kernel(int tfd, int domain, struct shim_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->reuseaddr = sock_int(tfd, SOL_SOCKET, SO_REUSEADDR) > 0;
	o->reuseport = sock_int(tfd, SOL_SOCKET, SO_REUSEPORT) > 0;
	o->keepalive = sock_int(tfd, SOL_SOCKET, SO_KEEPALIVE) > 0;
	o->nodelay = sock_int(tfd, IPPROTO_TCP, TCP_NODELAY) > 0;
	if (domain == AF_INET6)
		o->v6only = sock_int(tfd, IPPROTO_IPV6, IPV6_V6ONLY) > 0;
	o->pmtudisc = IP_PMTUDISC_WANT;
	o->pmtudisc6 = IPV6_PMTUDISC_WANT;
	o->mcast_hops = 1;
}

static int read_addr(const struct call *c, uint64_t ptr, uint64_t len, struct shim_addr *a,
		     sa_family_t *family)
{
	union {
		struct sockaddr sa;
		uint8_t b[SUP_ADDR_MAX];
	} u;
	if (len > SUP_ADDR_MAX)
		len = SUP_ADDR_MAX;
	if (len < sizeof(sa_family_t) || read_mem(c, ptr, &u, (size_t)len) < 0)
		return -1;
	*family = u.sa.sa_family;
	return shim_addr_from_sockaddr(a, &u.sa, (socklen_t)len);
}

/* Writes a into the caller's (sockaddr *, socklen_t *) pair, as getsockname does. */
static int write_name(const struct call *c, const struct shim_addr *a, int domain, uint64_t sa,
		      uint64_t lenp)
{
	socklen_t len;
	if (read_mem(c, lenp, &len, sizeof(len)) < 0 || (int)len < 0)
		return -EFAULT;
	union {
		struct sockaddr_in6 in6;
		uint8_t b[sizeof(struct sockaddr_in6)];
	} u;
	socklen_t full = sizeof(u);
	shim_addr_to_sockaddr(a, domain, (struct sockaddr *)&u, &full);
	size_t n = len < full ? len : full;
	if ((n && write_mem(c, sa, &u, n) < 0) || write_mem(c, lenp, &full, sizeof(full)) < 0)
		return -EFAULT;
	return 0;
}

static int write_int(const struct call *c, uint64_t val, uint64_t lenp, int v)
{
	socklen_t len;
	if (read_mem(c, lenp, &len, sizeof(len)) < 0)
		return -EFAULT;
	if ((int)len < 1)
		return -EINVAL;
	socklen_t out = len < sizeof(int) ? 1 : sizeof(int);
	unsigned char byte = (unsigned char)v;
	if (write_mem(c, val, out == 1 ? (const void *)&byte : (const void *)&v, out) < 0 ||
	    write_mem(c, lenp, &out, sizeof(out)) < 0)
		return -EFAULT;
	return 0;
}

/* ---- parking blocking calls ---- */

static int park(struct call *c, int fd, uint64_t ino, uint32_t events)
{
	struct seccomp_sup *sup = c->sup;
	for (size_t i = 0; i < SUP_PARKED_MAX; i++) {
		struct parked *p = &sup->parked[i];
		if (p->used)
			continue;
		struct epoll_event ev = { .events = events, .data.u64 = i };
		if (epoll_ctl(sup->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return -errno;
		*p = (struct parked){ .used = true, .id = c->id, .pid = c->pid, .nr = c->nr, .fd = fd,
				      .ino = ino };
		memcpy(p->args, c->args, sizeof(p->args));
		return 0;
	}
	return -EAGAIN;
}

static void unpark(struct seccomp_sup *sup, struct parked *p)
{
	epoll_ctl(sup->epfd, EPOLL_CTL_DEL, p->fd, NULL);
	close(p->fd);
	p->used = false;
}

/* ---- connect, listen, accept ---- */

/* How a connect on a router stream goes: SO_ERROR (cleared), or 0 and *connected. */
static int stream_status(struct seccomp_sup *sup, struct sup_sock *e, bool *connected)
{
	if (e->pending_err) {
		int err = e->pending_err;
		e->pending_err = 0;
		return err;
	}
	if (e->confirmed) {
		*connected = true;
		return 0;
	}
	struct shim_req req;
	struct shim_rep rep;
	req_init(&req, SHIM_OP_STATUS, e->domain, e->sock_id, &e->opts);
	int r = rpc(sup, &req, &rep, NULL);
	if (r < 0)
		return -r;
	*connected = rep.val != 0 || rep.sock_id < 0;   /* gone: it ended cleanly */
	if (rep.val)
		e->confirmed = true;
	return 0;
}

/* A socket's options: as we recorded them, or as its kernel socket tfd collected them. */
static void socket_opts(int tfd, int domain, const struct sup_sock *e, struct shim_opts *opts)
{
	if (e)
		*opts = e->opts;
	else
		opts_from_kernel(tfd, domain, opts);
}

/*
 * Asks rrouted for a router socket's data fd (connect, listen): req goes with tfd's
 * socket options (*opts, to record), the fd comes back in *newfd. false: it failed,
 * and the call is answered.
 */
static bool rpc_data_fd(struct call *c, int tfd, int domain, const struct sup_sock *e,
			struct shim_req *req, struct shim_opts *opts, struct shim_rep *rep,
			int *newfd)
{
	socket_opts(tfd, domain, e, opts);
	req->opts = *opts;
	int r = rpc(c->sup, req, rep, newfd);
	if (r == 0 && *newfd < 0)
		r = -EPROTO;
	if (r < 0) {
		reply(c, 0, -r, 0);
		return false;
	}
	return true;
}

/*
 * Records a router socket rrouted made (rep) for the process's socket ino: in e, or in
 * a new entry when e is NULL.
 */
static struct sup_sock *sock_record(struct seccomp_sup *sup, struct sup_sock *e, uint64_t ino,
				    enum sup_kind kind, int domain, const struct shim_rep *rep,
				    const struct shim_opts *opts)
{
	if (!e)
		e = sock_add(sup, ino);
	e->ino = ino;
	e->kind = kind;
	e->domain = domain;
	e->sock_id = rep->sock_id;
	e->local = rep->local;
	e->opts = *opts;
	return e;
}

/* Gives newfd the O_NONBLOCK of the process's socket tfd: 1 if set, 0 if not, or -errno. */
static int mirror_nonblock(int tfd, int newfd)
{
	int fl = fcntl(tfd, F_GETFL);
	if (fl < 0 || !(fl & O_NONBLOCK))
		return 0;
	return fcntl(newfd, F_SETFL, O_NONBLOCK) < 0 ? -errno : 1;
}

static void do_connect(struct call *c, int fd, int tfd, int domain, struct sup_sock *e,
		       const struct shim_addr *a)
{
	struct seccomp_sup *sup = c->sup;
	struct shim_opts opts;
	struct shim_req req;
	struct shim_rep rep;
	req_init(&req, SHIM_OP_CONNECT, domain, e ? e->sock_id : -1, NULL);
	req.addr = *a;
	int newfd;
	if (!rpc_data_fd(c, tfd, domain, e, &req, &opts, &rep, &newfd))
		return;
	int nb = mirror_nonblock(tfd, newfd);
	bool nonblock = nb > 0;
	int r = nb < 0 ? nb : 0;
	if (r == 0 && !id_valid(sup, c->id))
		r = -ENOENT;
	if (r == 0)
		r = install_at(c, newfd, fd, fd_cloexec(c->pid, fd));
	if (r < 0) {
		close(newfd);   /* rrouted sees the hang-up and drops the connection */
		reply(c, 0, -r, 0);
		return;
	}
	uint64_t ino = ino_of(newfd);
	e = sock_record(sup, e, ino, SS_CONN, domain, &rep, &opts);
	e->peer = rep.peer;
	if (sup->verbose)
		say(sup, "pid %d: TCP connect through the router (socket %d)", (int)c->pid,
		    rep.sock_id);
	if (nonblock) {
		close(newfd);
		reply(c, 0, EINPROGRESS, 0);
		return;
	}
	r = park(c, newfd, ino, EPOLLOUT);
	if (r < 0) {
		close(newfd);
		reply(c, 0, -r, 0);
	}
}

/* The parked blocking connect on p can finish: the socketpair is writable (or hung up). */
static void finish_connect(struct seccomp_sup *sup, struct parked *p)
{
	struct call c = { .sup = sup, .id = p->id, .pid = p->pid, .nr = p->nr, .pidfd = -1 };
	struct sup_sock *e = sock_find(sup, p->ino);
	bool connected = false;
	int err = e ? stream_status(sup, e, &connected) : 0;
	reply(&c, 0, err, 0);
}

static void do_listen(struct call *c, int fd, int tfd, int domain, struct sup_sock *e)
{
	struct seccomp_sup *sup = c->sup;
	struct shim_opts opts;
	struct shim_req req;
	struct shim_rep rep;
	req_init(&req, SHIM_OP_LISTEN, domain, e ? e->sock_id : -1, NULL);
	req.arg = (int32_t)c->args[1];
	int newfd;
	if (!rpc_data_fd(c, tfd, domain, e, &req, &opts, &rep, &newfd))
		return;
	int r = mirror_nonblock(tfd, newfd);
	if (r >= 0)
		r = install_at(c, newfd, fd, fd_cloexec(c->pid, fd));
	uint64_t ino = ino_of(newfd);
	close(newfd);
	if (r < 0) {
		reply(c, 0, -r, 0);
		return;
	}
	sock_record(sup, e, ino, SS_LISTEN, domain, &rep, &opts);
	if (sup->verbose)
		say(sup, "pid %d: TCP listener on port %u in the router (socket %d)", (int)c->pid,
		    (unsigned)rep.local.port, rep.sock_id);
	reply(c, 0, 0, 0);
}

/*
 * One connection from the listener's accept channel (our copy lfd) to the
 * caller. 1: answered; 0: none waiting (EAGAIN, nothing answered).
 */
static int try_accept(struct call *c, int lfd, const struct sup_sock *e)
{
	struct seccomp_sup *sup = c->sup;
	int flags = c->nr == SYS_accept4 ? (int)c->args[3] : 0;
	if (!id_valid(sup, c->id))
		return 1;   /* nobody to give a connection to: leave it queued */
	struct shim_accept_msg m;
	int nfd;
	ssize_t n = shim_recv_with_fd(recvmsg, lfd, &m, sizeof(m), MSG_DONTWAIT | MSG_CMSG_CLOEXEC,
				      &nfd, NULL);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	int err = 0;
	if (n < 0)
		err = errno;
	else if (n == 0 && nfd < 0)
		err = ECONNABORTED;   /* rrouted went away */
	else if ((size_t)n != sizeof(m) || nfd < 0)
		err = EPROTO;
	if (!err && (flags & SOCK_NONBLOCK) && fcntl(nfd, F_SETFL, O_NONBLOCK) < 0)
		err = errno;
	if (!err && c->args[1] && c->args[2])
		err = -write_name(c, &m.peer, e->domain, c->args[1], c->args[2]);
	if (err) {
		if (nfd >= 0)
			close(nfd);
		reply(c, 0, err, 0);
		return 1;
	}
	uint64_t ino = ino_of(nfd);
	struct seccomp_notif_addfd a = {
		.id = c->id, .flags = SECCOMP_ADDFD_FLAG_SEND, .srcfd = (uint32_t)nfd,
		.newfd_flags = (flags & SOCK_CLOEXEC) ? O_CLOEXEC : 0,
	};
	int r = ioctl(sup->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a);
	close(nfd);
	if (r < 0) {
		/* The caller went away meanwhile: this connection is lost (its peer sees a reset). */
		if (errno != ENOENT)
			say(sup, "handing an accepted connection over: %s", strerror(errno));
		return 1;
	}
	struct sup_sock *s = sock_add(sup, ino);
	s->kind = SS_CONN;
	s->domain = e->domain;
	s->sock_id = m.sock_id;
	s->local = m.local;
	s->peer = m.peer;
	s->opts = e->opts;
	s->confirmed = true;
	return 1;
}

static void do_accept(struct call *c, int tfd, struct sup_sock *e, bool *kept)
{
	int flags = c->nr == SYS_accept4 ? (int)c->args[3] : 0;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) {
		reply(c, 0, EINVAL, 0);
		return;
	}
	if (try_accept(c, tfd, e))
		return;
	int fl = fcntl(tfd, F_GETFL);
	if (fl >= 0 && (fl & O_NONBLOCK)) {
		reply(c, 0, EAGAIN, 0);
		return;
	}
	int r = park(c, tfd, e->ino, EPOLLIN);
	if (r < 0)
		reply(c, 0, -r, 0);
	else
		*kept = true;
}

/* ---- options of router sockets ---- */

/* 1: a router option (rrouted hears of it), 0: the descriptor's own (the kernel), -errno. */
static int opt_set(struct sup_sock *e, int level, int name, int v, bool have_int)
{
	if (level == SOL_SOCKET && name != SO_REUSEADDR && name != SO_REUSEPORT &&
	    name != SO_KEEPALIVE)
		return 0;
	if (!have_int)
		return -EINVAL;
	if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY) {
		if (e->kind != SS_BOUND || e->local.port)
			return -EINVAL;
		e->opts.v6only = !!v;
		return 1;
	}
	return shim_opts_set_int(&e->opts, level, name, v) ?: -ENOPROTOOPT;
}

static void do_setsockopt(struct call *c, struct sup_sock *e)
{
	int level = (int)c->args[1], name = (int)c->args[2];
	uint64_t len = c->args[4];
	int v = 0;
	bool have_int = false;
	if (len >= 1 && c->args[3]) {
		unsigned char raw[sizeof(int)] = { 0 };
		size_t n = len < sizeof(int) ? 1 : sizeof(int);
		if (read_mem(c, c->args[3], raw, n) < 0) {
			reply(c, 0, EFAULT, 0);
			return;
		}
		if (n == 1)
			v = raw[0];
		else
			memcpy(&v, raw, sizeof(int));
		have_int = true;
	}
	int kind = opt_set(e, level, name, v, have_int);
	if (kind == 0) {
		pass_on(c);   /* buffers, linger: the socketpair's (or kernel socket's) own */
		return;
	}
	if (kind < 0) {
		if (kind == -ENOPROTOOPT)
			say(c->sup, "setsockopt(level %d, %d) is not supported inside the router: "
			    "ENOPROTOOPT", level, name);
		reply(c, 0, -kind, 0);
		return;
	}
	if (e->sock_id >= 0) {
		struct shim_req req;
		struct shim_rep rep;
		req_init(&req, SHIM_OP_SETOPT, e->domain, e->sock_id, &e->opts);
		int r = rpc(c->sup, &req, &rep, NULL);
		if (r < 0 && r != -EBADF) {
			reply(c, 0, -r, 0);
			return;
		}
	}
	reply(c, 0, 0, 0);
}

static void do_getsockopt(struct call *c, struct sup_sock *e)
{
	int level = (int)c->args[1], name = (int)c->args[2];
	int v;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_TYPE: v = SOCK_STREAM; break;
		case SO_DOMAIN: v = e->domain; break;
		case SO_PROTOCOL: v = IPPROTO_TCP; break;
		case SO_ACCEPTCONN: v = e->kind == SS_LISTEN; break;
		case SO_REUSEADDR: v = e->opts.reuseaddr; break;
		case SO_REUSEPORT: v = e->opts.reuseport; break;
		case SO_KEEPALIVE: v = e->opts.keepalive; break;
		case SO_ERROR: {
			bool connected = false;
			v = e->kind == SS_CONN ? stream_status(c->sup, e, &connected) : 0;
			break;
		}
		default:
			pass_on(c);
			return;
		}
	} else if (level == IPPROTO_TCP) {
		switch (name) {
		case TCP_NODELAY: v = e->opts.nodelay; break;
		case TCP_KEEPIDLE: v = e->opts.keepidle ? (int)e->opts.keepidle : 7200; break;
		case TCP_KEEPINTVL: v = e->opts.keepintvl ? (int)e->opts.keepintvl : 75; break;
		case TCP_KEEPCNT: v = e->opts.keepcnt ? (int)e->opts.keepcnt : 9; break;
		default: reply(c, 0, ENOPROTOOPT, 0); return;
		}
	} else if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY) {
		v = e->opts.v6only;
	} else if ((level == IPPROTO_IP && name == IP_TTL) ||
		   (level == IPPROTO_IPV6 && name == IPV6_UNICAST_HOPS)) {
		v = e->opts.ttl ? e->opts.ttl : 64;
	} else {
		reply(c, 0, ENOPROTOOPT, 0);
		return;
	}
	int r = write_int(c, c->args[3], c->args[4], v);
	reply(c, 0, -r, 0);
}

/* ---- dispatch ---- */

static void refuse(struct call *c, int err, unsigned bit, const char *what)
{
	say_once(c->sup, bit, what);
	reply(c, 0, err, 0);
}

/* Does a send of the caller name a destination outside loopback? */
static bool send_leaves_host(struct call *c)
{
	struct shim_addr a;
	sa_family_t fam = 0;
	if (c->nr == SYS_sendto) {
		if (!c->args[4])
			return false;   /* a connected socket: its peer passed connect already */
		return read_addr(c, c->args[4], c->args[5], &a, &fam) == 0 &&
		       !shim_addr_is_loopback(&a);
	}
	struct msghdr mh;
	if (c->nr == SYS_sendmsg) {
		if (read_mem(c, c->args[1], &mh, sizeof(mh)) < 0 || !mh.msg_name)
			return false;
		return read_addr(c, (uintptr_t)mh.msg_name, mh.msg_namelen, &a, &fam) == 0 &&
		       !shim_addr_is_loopback(&a);
	}
	uint64_t vlen = c->args[2] > SUP_MMSG_MAX ? SUP_MMSG_MAX : c->args[2];
	for (uint64_t i = 0; i < vlen; i++) {
		struct mmsghdr m;
		if (read_mem(c, c->args[1] + i * sizeof(m), &m, sizeof(m)) < 0)
			return false;   /* the kernel fails it with EFAULT */
		if (m.msg_hdr.msg_name &&
		    read_addr(c, (uintptr_t)m.msg_hdr.msg_name, m.msg_hdr.msg_namelen, &a, &fam) == 0 &&
		    !shim_addr_is_loopback(&a))
			return true;
	}
	return false;
}

#define LOG_UDP  0x1u
#define LOG_SEND 0x2u
#define LOG_LOOP 0x4u

/* A kernel inet socket not (yet) in the router. */
static void on_kernel_socket(struct call *c, int fd, int tfd, int domain)
{
	struct seccomp_sup *sup = c->sup;
	int type = sock_int(tfd, SOL_SOCKET, SO_TYPE);
	int proto = sock_int(tfd, SOL_SOCKET, SO_PROTOCOL);
	bool tcp = type == SOCK_STREAM && (proto == IPPROTO_TCP || proto == 0);
	struct shim_addr a;
	sa_family_t fam = 0;
	struct sockaddr_storage name;
	socklen_t nl = sizeof(name);
	bool loop_bound = false;
	if (getsockname(tfd, (struct sockaddr *)&name, &nl) == 0) {
		struct shim_addr la;
		loop_bound = shim_addr_from_sockaddr(&la, (struct sockaddr *)&name, nl) == 0 &&
			     la.port && shim_addr_is_loopback(&la);
	}
	switch (c->nr) {
	case SYS_bind:
		if (read_addr(c, c->args[1], c->args[2], &a, &fam) < 0 || shim_addr_is_loopback(&a) ||
		    (a.family == AF_INET6 && domain == AF_INET)) {
			pass_on(c);   /* loopback, or an error the kernel reports as it should */
			return;
		}
		if (!tcp) {
			refuse(c, EADDRNOTAVAIL, LOG_UDP, "only TCP sockets reach the router's network "
			       "on the seccomp path (UDP and ICMP: loopback only); bind fails with "
			       "EADDRNOTAVAIL");
			return;
		}
		{
			struct shim_opts opts;
			opts_from_kernel(tfd, domain, &opts);
			struct shim_req req;
			struct shim_rep rep;
			req_init(&req, SHIM_OP_BIND, domain, -1, &opts);
			req.addr = a;
			int r = rpc(sup, &req, &rep, NULL);
			if (r < 0) {
				reply(c, 0, -r, 0);
				return;
			}
			sock_record(sup, NULL, ino_of(tfd), SS_BOUND, domain, &rep, &opts);
			reply(c, 0, 0, 0);
		}
		return;
	case SYS_connect:
		if (read_addr(c, c->args[1], c->args[2], &a, &fam) < 0 ||
		    (a.family == AF_INET6 && domain == AF_INET) ||
		    (shim_addr_is_loopback(&a) && !(loop_bound && !tcp))) {
			pass_on(c);
			return;
		}
		if (loop_bound || shim_addr_is_loopback(&a)) {
			pass_on(c);   /* a loopback socket to loopback; else the kernel refuses */
			return;
		}
		if (!tcp) {
			refuse(c, ENETUNREACH, LOG_UDP, "only TCP sockets reach the router's network "
			       "on the seccomp path (UDP and ICMP: loopback only); connect fails with "
			       "ENETUNREACH");
			return;
		}
		do_connect(c, fd, tfd, domain, NULL, &a);
		return;
	case SYS_listen:
		if (!tcp || loop_bound) {
			pass_on(c);
			return;
		}
		do_listen(c, fd, tfd, domain, NULL);
		return;
	case SYS_sendto:
	case SYS_sendmsg:
	case SYS_sendmmsg:
		if (send_leaves_host(c)) {
			refuse(c, ENETUNREACH, LOG_SEND, "a send to an address outside loopback from a "
			       "socket that is not in the router: ENETUNREACH (only TCP reaches the "
			       "router's network on the seccomp path)");
			return;
		}
		pass_on(c);
		return;
	default:
		pass_on(c);   /* names and options of a kernel socket: the kernel's */
		return;
	}
}

/* A router socket (e), through the caller's descriptor tfd. */
static void on_router_socket(struct call *c, int fd, int tfd, struct sup_sock *e, bool *kept)
{
	struct shim_addr a;
	sa_family_t fam = 0;
	bool connected = false;
	int err;
	switch (c->nr) {
	case SYS_bind:
		reply(c, 0, EINVAL, 0);
		return;
	case SYS_connect:
		if (e->kind == SS_LISTEN) {
			reply(c, 0, EISCONN, 0);
			return;
		}
		if (e->kind == SS_CONN) {
			err = stream_status(c->sup, e, &connected);
			reply(c, 0, err ? err : connected ? EISCONN : EALREADY, 0);
			return;
		}
		if (read_addr(c, c->args[1], c->args[2], &a, &fam) < 0) {
			reply(c, 0, fam == AF_UNSPEC ? 0 : EINVAL, 0);
			return;
		}
		if (shim_addr_is_loopback(&a)) {
			refuse(c, ENETUNREACH, LOG_LOOP, "connect: a socket already in the router "
			       "cannot reach the host's loopback: ENETUNREACH");
			return;
		}
		do_connect(c, fd, tfd, e->domain, e, &a);
		return;
	case SYS_listen:
		if (e->kind == SS_LISTEN)
			reply(c, 0, 0, 0);   /* Linux lets the backlog change; ours stays */
		else if (e->kind == SS_CONN)
			reply(c, 0, EINVAL, 0);
		else
			do_listen(c, fd, tfd, e->domain, e);
		return;
	case SYS_accept:
	case SYS_accept4:
		if (e->kind != SS_LISTEN)
			reply(c, 0, EINVAL, 0);
		else
			do_accept(c, tfd, e, kept);
		return;
	case SYS_getsockname:
		err = write_name(c, &e->local, e->domain, c->args[1], c->args[2]);
		reply(c, 0, -err, 0);
		return;
	case SYS_getpeername:
		if (e->kind != SS_CONN) {
			reply(c, 0, ENOTCONN, 0);
			return;
		}
		/* Go asks getpeername to tell a real wake-up from a spurious one after connect. */
		err = stream_status(c->sup, e, &connected);
		if (err || !connected) {
			e->pending_err = err;
			reply(c, 0, ENOTCONN, 0);
			return;
		}
		err = write_name(c, &e->peer, e->domain, c->args[1], c->args[2]);
		reply(c, 0, -err, 0);
		return;
	case SYS_setsockopt:
		do_setsockopt(c, e);
		return;
	case SYS_getsockopt:
		do_getsockopt(c, e);
		return;
	default:   /* sends: a stream's own data on the socketpair */
		if (e->kind == SS_CONN)
			pass_on(c);
		else
			reply(c, 0, e->kind == SS_LISTEN ? ENOTCONN : EPIPE, 0);
		return;
	}
}

static void handle(struct seccomp_sup *sup, const struct seccomp_notif *n)
{
	struct call c = { .sup = sup, .id = n->id, .pid = (pid_t)n->pid, .nr = n->data.nr,
			  .pidfd = -1 };
	memcpy(c.args, n->data.args, sizeof(c.args));
	int fd = (int)c.args[0];
	c.pidfd = open_pidfd(c.pid);
	/* The pid may already name another process: trust it only while the call waits. */
	if (c.pidfd < 0 || !id_valid(sup, c.id)) {
		if (c.pidfd >= 0)
			close(c.pidfd);
		reply(&c, 0, ESRCH, 0);
		return;
	}
	int tfd = (int)syscall(SYS_pidfd_getfd, c.pidfd, fd, 0);
	close(c.pidfd);
	if (tfd < 0) {
		pass_on(&c);   /* EBADF and the like: the kernel says it */
		return;
	}
	struct stat st;
	bool kept = false;
	if (fstat(tfd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		pass_on(&c);
	} else {
		struct sup_sock *e = sock_find(sup, (uint64_t)st.st_ino);
		int domain = e ? e->domain : sock_int(tfd, SOL_SOCKET, SO_DOMAIN);
		if (e)
			on_router_socket(&c, fd, tfd, e, &kept);
		else if (domain == AF_INET || domain == AF_INET6)
			on_kernel_socket(&c, fd, tfd, domain);
		else
			pass_on(&c);   /* AF_UNIX, netlink, and the rest stay the kernel's */
	}
	if (!kept)
		close(tfd);
}

static void on_parked(struct seccomp_sup *sup, struct parked *p)
{
	if (!id_valid(sup, p->id)) {
		unpark(sup, p);   /* interrupted (a signal) or dead: the call will be asked again */
		return;
	}
	if (p->nr == SYS_connect) {
		finish_connect(sup, p);
		unpark(sup, p);
		return;
	}
	struct sup_sock *e = sock_find(sup, p->ino);
	struct call c = { .sup = sup, .id = p->id, .pid = p->pid, .nr = p->nr, .pidfd = -1 };
	memcpy(c.args, p->args, sizeof(c.args));
	if (!e) {
		reply(&c, 0, EBADF, 0);
		unpark(sup, p);
		return;
	}
	if (try_accept(&c, p->fd, e))
		unpark(sup, p);   /* else another process took it first: keep waiting */
}

static void drop_stale_parked(struct seccomp_sup *sup)
{
	for (size_t i = 0; i < SUP_PARKED_MAX; i++)
		if (sup->parked[i].used && !id_valid(sup, sup->parked[i].id))
			unpark(sup, &sup->parked[i]);
}

bool seccomp_sup_run(struct seccomp_sup *sup)
{
	struct epoll_event evs[16];
	int n = epoll_wait(sup->epfd, evs, 16, 0);
	bool alive = true;
	for (int i = 0; i < n; i++) {
		if (evs[i].data.u64 == EV_SHIM) {
			say(sup, "rrouted closed the shim socket: the program's socket calls fail from now on");
			alive = false;
			continue;
		}
		if (evs[i].data.u64 != EV_LISTENER) {
			struct parked *p = &sup->parked[evs[i].data.u64 % SUP_PARKED_MAX];
			if (p->used)
				on_parked(sup, p);
			continue;
		}
		for (int k = 0; k < SUP_BATCH; k++) {
			/* NOTIF_RECV blocks when nothing waits: ask poll first, every time. */
			struct pollfd pf = { .fd = sup->listener, .events = POLLIN };
			if (poll(&pf, 1, 0) <= 0 || !(pf.revents & POLLIN))
				break;
			memset(sup->notif, 0, sup->notif_size);
			if (ioctl(sup->listener, SECCOMP_IOCTL_NOTIF_RECV, sup->notif) < 0) {
				if (errno == ENOENT || errno == EINTR)
					continue;   /* the caller went away before we read it */
				break;
			}
			handle(sup, sup->notif);
		}
		/* POLLHUP: every process that had the filter is gone. */
		if (evs[i].events & EPOLLHUP)
			alive = false;
	}
	drop_stale_parked(sup);
	return alive;
}

/* ---- life cycle ---- */

int seccomp_sup_check(char *why, unsigned len)
{
	struct utsname u;
	int major = 0, minor = 0;
	if (uname(&u) == 0 && sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
	    (major > 5 || (major == 5 && minor >= 14)))
		return 0;
	snprintf(why, len, "the seccomp path needs Linux 5.14 or later (seccomp user notification "
		 "with SECCOMP_ADDFD_FLAG_SEND, pidfd_getfd); this kernel is %s, so static and Go "
		 "programs cannot run inside the router here (their sockets would be the host's)",
		 u.release);
	return -1;
}

struct seccomp_sup *seccomp_sup_new(int listener, const char *shim_path, const char *prog,
				    bool verbose)
{
	struct seccomp_sup *sup = calloc(1, sizeof(*sup));
	if (!sup) {
		close(listener);
		return NULL;
	}
	sup->listener = listener;
	sup->epfd = sup->shim = -1;
	sup->verbose = verbose;
	snprintf(sup->prog, sizeof(sup->prog), "%s", prog);
	struct seccomp_notif_sizes sz;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0) {
		say(sup, "SECCOMP_GET_NOTIF_SIZES: %s", strerror(errno));
		goto fail;
	}
	sup->notif_size = sz.seccomp_notif > sizeof(struct seccomp_notif)
		? sz.seccomp_notif : sizeof(struct seccomp_notif);
	sup->resp_size = sz.seccomp_notif_resp > sizeof(struct seccomp_notif_resp)
		? sz.seccomp_notif_resp : sizeof(struct seccomp_notif_resp);
	sup->notif = calloc(1, sup->notif_size);
	sup->resp = calloc(1, sup->resp_size);
	sup->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!sup->notif || !sup->resp || sup->epfd < 0)
		goto fail;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_LISTENER };
	if (epoll_ctl(sup->epfd, EPOLL_CTL_ADD, listener, &ev) < 0)
		goto fail;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(shim_path) >= sizeof(sun.sun_path)) {
		say(sup, "shim socket path too long: %s", shim_path);
		goto fail;
	}
	memcpy(sun.sun_path, shim_path, strlen(shim_path) + 1);
	sup->shim = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sup->shim < 0 || connect(sup->shim, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		say(sup, "cannot reach rrouted's shim socket %s: %s", shim_path, strerror(errno));
		goto fail;
	}
	struct shim_req req;
	struct shim_rep rep;
	req_init(&req, SHIM_OP_HELLO, 0, -1, NULL);
	req.arg = SHIM_PROTO_VERSION;
	if (rpc(sup, &req, &rep, NULL) < 0 || rep.val != SHIM_PROTO_VERSION) {
		say(sup, "rrouted at %s speaks another shim protocol", shim_path);
		goto fail;
	}
	struct epoll_event sev = { .events = EPOLLIN | EPOLLRDHUP, .data.u64 = EV_SHIM };
	if (epoll_ctl(sup->epfd, EPOLL_CTL_ADD, sup->shim, &sev) < 0)
		goto fail;
	return sup;
fail:
	seccomp_sup_free(sup);
	return NULL;
}

int seccomp_sup_fd(const struct seccomp_sup *sup)
{
	return sup->epfd;
}

void seccomp_sup_free(struct seccomp_sup *sup)
{
	if (!sup)
		return;
	for (size_t i = 0; i < SUP_PARKED_MAX; i++)
		if (sup->parked[i].used)
			unpark(sup, &sup->parked[i]);
	if (sup->epfd >= 0)
		close(sup->epfd);
	if (sup->shim >= 0)
		close(sup->shim);
	close(sup->listener);
	free(sup->notif);
	free(sup->resp);
	free(sup);
}
