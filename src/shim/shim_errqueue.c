/*
 * librrshim.so: ICMP errors on router datagram sockets, as Linux's
 * IP_RECVERR / IPV6_RECVERR error queue shows them, and the poll family
 * that reports them.
 *
 * DOC: Theory of operation
 *
 * rrouted sends an error in band, as a message on the socket's data fd
 * (SHIM_DGRAM_ERR, struct shim_dgram_err in stack/shim_proto.h): it keeps
 * its place among the datagrams and wakes poll/epoll like one. What the app
 * sees, per call:
 *
 *  - recvmsg(MSG_ERRQUEUE): the oldest error this process already reported
 *    (see below), else the message at the head of the data fd if it is an
 *    error, consumed and returned as Linux does (msg_name the original
 *    destination, the quoted payload as data, an IP_RECVERR/IPV6_RECVERR
 *    cmsg with sock_extended_err + SO_EE_OFFENDER, IP_TTL/IPV6_HOPLIMIT if
 *    asked for, SO_TIMESTAMP from the socketpair itself if set); else -1
 *    EAGAIN. An error queued behind a datagram waits until the datagram is
 *    read: the queue is the data fd's order, not a separate one.
 *  - an ordinary receive that meets an error fails once with its errno
 *    (ECONNREFUSED, EHOSTUNREACH...), as Linux reports sk_err once; with
 *    IP_RECVERR the error is then kept here, per fd, for MSG_ERRQUEUE (and
 *    poll keeps reporting POLLERR for it), as Linux's queue keeps it.
 *  - poll/ppoll/select: a router datagram fd that may get errors (IP_RECVERR
 *    or connected) is watched for POLLIN underneath; an error at the head
 *    becomes POLLERR (instead of POLLIN with IP_RECVERR; besides it without,
 *    where the next receive fails with the error). Other fds cost one byte
 *    load each and go straight to the real call.
 *  - epoll is not interposed: an error there wakes EPOLLIN, and the next
 *    receive fails with its errno (with IP_RECVERR, MSG_ERRQUEUE then has it).
 *
 * Kept errors belong to the fd number in this process: a dup() does not
 * share them, fork() copies them. At most ERRQ_KEEP per fd (Linux bounds
 * the queue by the receive buffer); more are dropped.
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>

#include <linux/errqueue.h>
#include <netinet/in.h>

#include "shim/shim.h"

#ifndef IP_RECVERR
#define IP_RECVERR 11
#endif
#ifndef IPV6_RECVERR
#define IPV6_RECVERR 25
#endif

#define ERRQ_KEEP 16
#define ERRQ_DATA_MAX 2048   /* an ICMP error quotes at most 1232 bytes (IPv6) */
#define POLL_STACK 64        /* pollfds whose events we can save without malloc */

struct kept {
	struct kept *next;
	struct shim_dgram_hdr h;
	struct shim_dgram_err er;
	size_t len;
	uint8_t data[];
};

static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kept *kept[SHIM_TAB_MAX];
static uint8_t n_kept[SHIM_TAB_MAX];

static int fail(int err)
{
	errno = err;
	return -1;
}

/* ---- kept errors ---- */

static bool kept_any(int fd)
{
	if (fd < 0 || fd >= SHIM_TAB_MAX)
		return false;
	return __atomic_load_n(&n_kept[fd], __ATOMIC_ACQUIRE) != 0;
}

static void kept_push(int fd, const struct shim_dgram_hdr *h, const struct shim_dgram_err *er,
		      const uint8_t *data, size_t len)
{
	if (fd < 0 || fd >= SHIM_TAB_MAX)
		return;
	struct kept *k = malloc(sizeof(*k) + len);
	if (!k)
		return;
	k->next = NULL;
	k->h = *h;
	k->er = *er;
	k->len = len;
	memcpy(k->data, data, len);
	pthread_mutex_lock(&kept_lock);
	if (n_kept[fd] >= ERRQ_KEEP) {
		pthread_mutex_unlock(&kept_lock);
		free(k);
		return;
	}
	struct kept **pp = &kept[fd];
	while (*pp)
		pp = &(*pp)->next;
	*pp = k;
	__atomic_store_n(&n_kept[fd], (uint8_t)(n_kept[fd] + 1), __ATOMIC_RELEASE);
	pthread_mutex_unlock(&kept_lock);
}

static struct kept *kept_pop(int fd)
{
	if (!kept_any(fd))
		return NULL;
	pthread_mutex_lock(&kept_lock);
	struct kept *k = kept[fd];
	if (k) {
		kept[fd] = k->next;
		__atomic_store_n(&n_kept[fd], (uint8_t)(n_kept[fd] - 1), __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&kept_lock);
	return k;
}

void shim_errq_drop(int fd)
{
	struct kept *k;
	while ((k = kept_pop(fd)))
		free(k);
}

int shim_errq_reported(int fd, const struct shim_fd *e, const struct shim_dgram_hdr *h,
		       const void *buf, size_t len)
{
	struct shim_dgram_err er;
	if (len < sizeof(er))
		return ECONNREFUSED;   /* a receive too small to see it: only hard errors come unasked */
	memcpy(&er, buf, sizeof(er));
	if (e->opts.recverr)
		kept_push(fd, h, &er, (const uint8_t *)buf + sizeof(er), len - sizeof(er));
	return er.errnum > 0 && er.errnum < 4096 ? er.errnum : EHOSTUNREACH;
}

void shim_errq_local(int fd, const struct shim_fd *e, const struct shim_addr *dst, int errnum,
		     uint32_t info)
{
	if (!e->opts.recverr)
		return;   /* Linux's ip_local_error: only with IP_RECVERR */
	struct shim_dgram_hdr h;
	struct shim_dgram_err er;
	static const uint8_t none[1];
	memset(&h, 0, sizeof(h));
	memset(&er, 0, sizeof(er));
	h.peer = *dst;
	h.flags = SHIM_DGRAM_ERR;
	er.origin = SHIM_ERR_ORIGIN_LOCAL;
	er.errnum = errnum;
	er.info = info;
	kept_push(fd, &h, &er, none, 0);
}

/* ---- recvmsg(MSG_ERRQUEUE) ---- */

/* Fills msg as Linux's ip_recv_error / ipv6_recv_error do; used: control bytes already there. */
static ssize_t fill_error(const struct shim_fd *e, struct msghdr *msg,
			  const struct shim_dgram_hdr *h, const struct shim_dgram_err *er,
			  const uint8_t *data, size_t len, size_t used, int kernel_flags)
{
	msg->msg_flags = kernel_flags & MSG_CTRUNC;
	size_t copied = 0;
	for (size_t i = 0; i < msg->msg_iovlen && copied < len; i++) {
		size_t n = msg->msg_iov[i].iov_len < len - copied ? msg->msg_iov[i].iov_len
								   : len - copied;
		if (n)
			memcpy(msg->msg_iov[i].iov_base, data + copied, n);
		copied += n;
	}
	if (copied < len)
		msg->msg_flags |= MSG_TRUNC;
	if (msg->msg_name && msg->msg_namelen) {
		socklen_t l = msg->msg_namelen;
		shim_addr_to_sockaddr(&h->peer, e->domain, msg->msg_name, &l);
		msg->msg_namelen = l;
	} else {
		msg->msg_namelen = 0;
	}
	if (e->recvttl && (h->flags & SHIM_DGRAM_HAS_TTL)) {
		int ttl = h->ttl;
		if (e->domain == AF_INET)
			shim_put_cmsg(msg, &used, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
		else
			shim_put_cmsg(msg, &used, IPPROTO_IPV6, IPV6_HOPLIMIT, &ttl, sizeof(ttl));
	}
	struct {
		struct sock_extended_err ee;
		struct sockaddr_in6 offender;   /* a sockaddr_in for AF_INET sockets */
	} eh;
	memset(&eh, 0, sizeof(eh));
	eh.ee.ee_errno = (uint32_t)er->errnum;
	eh.ee.ee_origin = er->origin == AF_INET ? SO_EE_ORIGIN_ICMP
			: er->origin == SHIM_ERR_ORIGIN_LOCAL ? SO_EE_ORIGIN_LOCAL : SO_EE_ORIGIN_ICMP6;
	eh.ee.ee_type = er->type;
	eh.ee.ee_code = er->code;
	eh.ee.ee_info = er->info;
	socklen_t ol = sizeof(eh.offender);
	if (er->origin != SHIM_ERR_ORIGIN_LOCAL)   /* a local error has no offender (AF_UNSPEC) */
		shim_addr_to_sockaddr(&er->offender, e->domain, (struct sockaddr *)&eh.offender, &ol);
	if (e->domain == AF_INET)
		shim_put_cmsg(msg, &used, IPPROTO_IP, IP_RECVERR, &eh,
			      sizeof(eh.ee) + sizeof(struct sockaddr_in));
	else
		shim_put_cmsg(msg, &used, IPPROTO_IPV6, IPV6_RECVERR, &eh, sizeof(eh));
	msg->msg_controllen = used;
	msg->msg_flags |= MSG_ERRQUEUE;
	return (ssize_t)copied;
}

ssize_t shim_errq_recvmsg(int fd, const struct shim_fd *e, struct msghdr *msg, int flags)
{
	struct kept *k = kept_pop(fd);
	if (k) {
		ssize_t n = fill_error(e, msg, &k->h, &k->er, k->data, k->len, 0, 0);
		free(k);
		return n;
	}
	struct shim_dgram_hdr h;
	ssize_t n = shim_real.recv(fd, &h, sizeof(h), MSG_PEEK | MSG_DONTWAIT);
	if (n < (ssize_t)sizeof(h) || !(h.flags & SHIM_DGRAM_ERR))
		return fail(EAGAIN);   /* Linux: an empty error queue never blocks */
	struct shim_dgram_err er;
	uint8_t data[ERRQ_DATA_MAX];
	struct iovec iov[3] = { { &h, sizeof(h) }, { &er, sizeof(er) }, { data, sizeof(data) } };
	/* The kernel adds what the socketpair was asked for (SO_TIMESTAMP) first, as Linux does. */
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 3, .msg_control = msg->msg_control,
			     .msg_controllen = msg->msg_control ? msg->msg_controllen : 0 };
	n = shim_real.recvmsg(fd, &mh, MSG_DONTWAIT | (flags & MSG_CMSG_CLOEXEC));
	if (n < 0)
		return -1;
	if (n < (ssize_t)(sizeof(h) + sizeof(er)) || !(h.flags & SHIM_DGRAM_ERR)) {
		/* Another thread read the fd between our peek and this: what we got was not it. */
		shim_log_once("errq-race", "recvmsg(MSG_ERRQUEUE) raced with another reader of the "
			      "same socket; a datagram was lost");
		return fail(EAGAIN);
	}
	return fill_error(e, msg, &h, &er, data, (size_t)n - sizeof(h) - sizeof(er),
			  mh.msg_controllen, mh.msg_flags);
}

/* ---- poll, ppoll, select ---- */

static int (*real_poll)(struct pollfd *, nfds_t, int);
static int (*real_ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
static int (*real_select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
static int (*real_pselect)(int, fd_set *, fd_set *, fd_set *, const struct timespec *,
			   const sigset_t *);
static pthread_once_t poll_once = PTHREAD_ONCE_INIT;

static void poll_resolve(void)
{
	real_poll = (__typeof__(real_poll))dlsym(RTLD_NEXT, "poll");
	real_ppoll = (__typeof__(real_ppoll))dlsym(RTLD_NEXT, "ppoll");
	real_select = (__typeof__(real_select))dlsym(RTLD_NEXT, "select");
	real_pselect = (__typeof__(real_pselect))dlsym(RTLD_NEXT, "pselect");
}

static bool head_is_error(int fd)
{
	struct shim_dgram_hdr h;
	ssize_t n = shim_real.recv(fd, &h, sizeof(h), MSG_PEEK | MSG_DONTWAIT);
	return n >= (ssize_t)sizeof(h) && (h.flags & SHIM_DGRAM_ERR);
}

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/*
 * poll over fds of which at least one may carry errors. ts: NULL waits
 * forever. Each round polls the watched fds for POLLIN too, then turns an
 * error at the head into POLLERR; a round whose every event was filtered
 * out waits again (for the time left), no longer asking POLLIN of fds whose
 * head is a datagram the app did not ask to hear about.
 */
static int poll_errors(struct pollfd *fds, nfds_t n, const struct timespec *ts,
		       const sigset_t *mask)
{
	short stack_saved[POLL_STACK];
	bool stack_quiet[POLL_STACK];
	short *saved = stack_saved;
	bool *quiet = stack_quiet;
	if (n > POLL_STACK) {
		saved = malloc(n * sizeof(*saved));
		quiet = calloc(n, sizeof(*quiet));
		if (!saved || !quiet) {
			free(saved);
			free(quiet);
			return real_ppoll(fds, n, ts, mask);   /* errors show as POLLIN then */
		}
	} else {
		memset(stack_quiet, 0, sizeof(stack_quiet));
	}
	int64_t deadline = ts ? now_ns() + (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec : 0;
	int r;
	for (;;) {
		bool now = false;
		for (nfds_t i = 0; i < n; i++) {
			saved[i] = fds[i].events;
			uint8_t fl = shim_fd_dgram_flags(fds[i].fd);
			if (!(fl & SHIM_DG_ERRORS))
				continue;
			if ((fl & SHIM_DG_RECVERR) && kept_any(fds[i].fd))
				now = true;
			if (!quiet[i])
				fds[i].events |= POLLIN;
		}
		struct timespec left, zero = { 0, 0 };
		const struct timespec *wait = ts;
		if (now) {
			wait = &zero;
		} else if (ts) {
			int64_t d = deadline - now_ns();
			if (d < 0)
				d = 0;
			left.tv_sec = (time_t)(d / 1000000000);
			left.tv_nsec = (long)(d % 1000000000);
			wait = &left;
		}
		r = real_ppoll(fds, n, wait, mask);
		int err = errno;
		for (nfds_t i = 0; i < n; i++)
			fds[i].events = saved[i];
		if (r < 0) {
			errno = err;
			break;
		}
		int count = 0;
		for (nfds_t i = 0; i < n; i++) {
			uint8_t fl = shim_fd_dgram_flags(fds[i].fd);
			if (fl & SHIM_DG_ERRORS) {
				short re = fds[i].revents;
				short in_bits = POLLIN | POLLRDNORM;
				if (re & POLLIN) {
					if (head_is_error(fds[i].fd)) {
						re |= POLLERR;
						if ((fl & SHIM_DG_RECVERR) || !(saved[i] & POLLIN))
							re &= (short)~in_bits;
					} else if (!(saved[i] & (POLLIN | POLLRDNORM))) {
						re &= (short)~in_bits;
						quiet[i] = true;
					}
				}
				if ((fl & SHIM_DG_RECVERR) && kept_any(fds[i].fd))
					re |= POLLERR;
				fds[i].revents = re;
			}
			if (fds[i].revents)
				count++;
		}
		r = count;
		if (count || (ts && now_ns() >= deadline))
			break;
	}
	if (saved != stack_saved) {
		free(saved);
		free(quiet);
	}
	return r;
}

static bool any_errors(const struct pollfd *fds, nfds_t n)
{
	if (!shim_enabled())
		return false;
	for (nfds_t i = 0; i < n; i++)
		if (shim_fd_dgram_flags(fds[i].fd) & SHIM_DG_ERRORS)
			return true;
	return false;
}

SHIM_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	pthread_once(&poll_once, poll_resolve);
	if (!any_errors(fds, n))
		return real_poll(fds, n, timeout);
	struct timespec ts = { timeout / 1000, (long)(timeout % 1000) * 1000000 };
	return poll_errors(fds, n, timeout < 0 ? NULL : &ts, NULL);
}

SHIM_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts,
		      const sigset_t *mask)
{
	pthread_once(&poll_once, poll_resolve);
	if (!any_errors(fds, n))
		return real_ppoll(fds, n, ts, mask);
	return poll_errors(fds, n, ts, mask);
}

/* _FORTIFY_SOURCE builds call these when they know the array's size. */
int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask,
		size_t fdslen);
SHIM_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		abort();
	return poll(fds, n, timeout);
}

SHIM_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts,
			    const sigset_t *mask, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		abort();
	return ppoll(fds, n, ts, mask);
}

/*
 * select over a watched fd: the same as poll, through a pollfd array (the
 * kernel's own mapping: readable = POLLIN|POLLHUP|POLLERR, writable =
 * POLLOUT|POLLERR, exceptional = POLLPRI). -2: nothing watched, use the real one.
 */
static int select_errors(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *ts,
			 const sigset_t *mask)
{
	if (!shim_enabled() || nfds <= 0)
		return -2;
	if (nfds > FD_SETSIZE)
		nfds = FD_SETSIZE;
	bool watched = false;
	nfds_t n = 0;
	for (int fd = 0; fd < nfds; fd++) {
		if (!((rd && FD_ISSET(fd, rd)) || (wr && FD_ISSET(fd, wr)) ||
		      (ex && FD_ISSET(fd, ex))))
			continue;
		n++;
		if (shim_fd_dgram_flags(fd) & SHIM_DG_ERRORS)
			watched = true;
	}
	if (!watched)
		return -2;
	struct pollfd *p = calloc(n, sizeof(*p));
	if (!p)
		return -2;
	nfds_t k = 0;
	for (int fd = 0; fd < nfds; fd++) {
		short ev = (short)((rd && FD_ISSET(fd, rd) ? POLLIN : 0) |
				   (wr && FD_ISSET(fd, wr) ? POLLOUT : 0) |
				   (ex && FD_ISSET(fd, ex) ? POLLPRI : 0));
		if (!ev)
			continue;
		p[k].fd = fd;
		p[k++].events = ev;
	}
	int r = poll_errors(p, n, ts, mask);
	if (r < 0) {
		int err = errno;
		free(p);
		errno = err;
		return -1;
	}
	for (nfds_t i = 0; i < n; i++) {
		if (p[i].revents & POLLNVAL) {
			free(p);
			return fail(EBADF);
		}
	}
	int count = 0;
	for (nfds_t i = 0; i < n; i++) {
		int fd = p[i].fd;
		short re = p[i].revents;
		bool want_rd = p[i].events & POLLIN, want_wr = p[i].events & POLLOUT,
		     want_ex = p[i].events & POLLPRI;
		if (rd && want_rd) {
			if (re & (POLLIN | POLLHUP | POLLERR))
				count++;
			else
				FD_CLR(fd, rd);
		}
		if (wr && want_wr) {
			if (re & (POLLOUT | POLLERR))
				count++;
			else
				FD_CLR(fd, wr);
		}
		if (ex && want_ex) {
			if (re & POLLPRI)
				count++;
			else
				FD_CLR(fd, ex);
		}
	}
	free(p);
	return count;
}

SHIM_EXPORT int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
	pthread_once(&poll_once, poll_resolve);
	struct timespec ts;
	int64_t start = 0;
	if (tv) {
		ts.tv_sec = tv->tv_sec;
		ts.tv_nsec = (long)tv->tv_usec * 1000;
		start = now_ns();
	}
	int r = select_errors(nfds, rd, wr, ex, tv ? &ts : NULL, NULL);
	if (r == -2)
		return real_select(nfds, rd, wr, ex, tv);
	if (tv) {   /* Linux leaves the time not slept in *tv */
		int64_t left = (int64_t)tv->tv_sec * 1000000000 + (int64_t)tv->tv_usec * 1000 -
			       (now_ns() - start);
		if (left < 0)
			left = 0;
		tv->tv_sec = (time_t)(left / 1000000000);
		tv->tv_usec = (suseconds_t)((left % 1000000000) / 1000);
	}
	return r;
}

SHIM_EXPORT int pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *ts,
			const sigset_t *mask)
{
	pthread_once(&poll_once, poll_resolve);
	int r = select_errors(nfds, rd, wr, ex, ts, mask);
	if (r == -2)
		return real_pselect(nfds, rd, wr, ex, ts, mask);
	return r;
}
