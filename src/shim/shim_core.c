/*
 * librrshim.so core: the real libc functions (dlsym RTLD_NEXT), the per-fd
 * table, the control connection to rrouted and the RPC over it, the log.
 *
 * The control connection is one SOCK_SEQPACKET socket, connected lazily,
 * kept at a high fd number with FD_CLOEXEC. The app closing it is ignored
 * (close() pretends), dup2() over it moves it first, and anything else that
 * breaks it (close_range, a daemon closing every fd) is noticed before each
 * request by its inode, and the connection is made again. After fork() the
 * child drops the inherited connection and makes its own on first use.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim/shim.h"

struct shim_real shim_real;

static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t rpc_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t resolve_once = PTHREAD_ONCE_INIT;

static struct shim_fd *tab[SHIM_TAB_MAX];
static uint8_t dgram_flag[SHIM_TAB_MAX];

static char sock_path[108];
static bool enabled;
static int ctl_fd = -1;
static ino_t ctl_ino;
static dev_t ctl_dev;

/* ---- real functions ---- */

#define RESOLVE(name) shim_real.name = (__typeof__(shim_real.name))dlsym(RTLD_NEXT, #name)

static void do_resolve(void)
{
	RESOLVE(socket); RESOLVE(bind); RESOLVE(listen); RESOLVE(accept); RESOLVE(accept4);
	RESOLVE(connect); RESOLVE(getsockname); RESOLVE(getpeername); RESOLVE(setsockopt);
	RESOLVE(getsockopt); RESOLVE(send); RESOLVE(sendto); RESOLVE(sendmsg); RESOLVE(recv);
	RESOLVE(recvfrom); RESOLVE(recvmsg); RESOLVE(read); RESOLVE(write); RESOLVE(readv);
	RESOLVE(writev); RESOLVE(close); RESOLVE(dup); RESOLVE(dup2); RESOLVE(dup3);
	RESOLVE(fcntl); RESOLVE(shutdown);
	const char *p = getenv(SHIM_ENV_SOCKET);
	if (p && *p && strlen(p) < sizeof(sock_path)) {
		memcpy(sock_path, p, strlen(p) + 1);
		enabled = true;
	}
}

void shim_resolve(void)
{
	pthread_once(&resolve_once, do_resolve);
}

bool shim_enabled(void)
{
	shim_resolve();
	return enabled;
}

/* ---- log ---- */

static void vlog(const char *fmt, va_list ap)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "rrshim[%d]: ", (int)getpid());
	if (n < 0)
		return;
	int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	size_t len = (size_t)n + ((size_t)m < sizeof(buf) - (size_t)n - 1 ? (size_t)m
								       : sizeof(buf) - (size_t)n - 2);
	buf[len++] = '\n';
	shim_resolve();
	(void)!shim_real.write(2, buf, len);
}

void shim_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void shim_log_once(const char *key, const char *fmt, ...)
{
	static const char *seen[128];
	static unsigned n_seen;
	pthread_mutex_lock(&log_lock);
	for (unsigned i = 0; i < n_seen; i++) {
		if (seen[i] == key || strcmp(seen[i], key) == 0) {
			pthread_mutex_unlock(&log_lock);
			return;
		}
	}
	if (n_seen < sizeof(seen) / sizeof(seen[0]))
		seen[n_seen++] = key;
	pthread_mutex_unlock(&log_lock);
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

/* ---- fd table ---- */

bool shim_fd_get(int fd, struct shim_fd *out)
{
	if (fd < 0 || fd >= SHIM_TAB_MAX)
		return false;
	pthread_mutex_lock(&tab_lock);
	bool found = tab[fd] != NULL;
	if (found)
		*out = *tab[fd];
	pthread_mutex_unlock(&tab_lock);
	return found;
}

void shim_fd_put(int fd, const struct shim_fd *e)
{
	if (fd < 0 || fd >= SHIM_TAB_MAX) {
		shim_log_once("fd-too-high", "fd %d is above %d: its socket is left to the host "
			      "kernel", fd, SHIM_TAB_MAX);
		return;
	}
	pthread_mutex_lock(&tab_lock);
	if (!tab[fd])
		tab[fd] = malloc(sizeof(*tab[fd]));
	if (tab[fd]) {
		*tab[fd] = *e;
		uint8_t fl = 0;
		if (e->state == SFD_ROUTER && e->kind != SK_STREAM && e->kind != SK_NETLINK) {
			fl = SHIM_DG_DGRAM;
			if (e->opts.recverr)
				fl |= SHIM_DG_RECVERR | SHIM_DG_ERRORS;
			if (e->connected)
				fl |= SHIM_DG_ERRORS;
		}
		__atomic_store_n(&dgram_flag[fd], fl, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&tab_lock);
}

void shim_fd_drop(int fd)
{
	if (fd < 0 || fd >= SHIM_TAB_MAX)
		return;
	pthread_mutex_lock(&tab_lock);
	__atomic_store_n(&dgram_flag[fd], 0, __ATOMIC_RELEASE);
	free(tab[fd]);
	tab[fd] = NULL;
	pthread_mutex_unlock(&tab_lock);
}

bool shim_fd_is_dgram(int fd)
{
	return fd >= 0 && fd < SHIM_TAB_MAX && __atomic_load_n(&dgram_flag[fd], __ATOMIC_ACQUIRE);
}

uint8_t shim_fd_dgram_flags(int fd)
{
	return fd >= 0 && fd < SHIM_TAB_MAX ? __atomic_load_n(&dgram_flag[fd], __ATOMIC_ACQUIRE) : 0;
}

/* ---- control connection ---- */

static bool ctl_alive(void)
{
	struct stat st;
	return ctl_fd >= 0 && fstat(ctl_fd, &st) == 0 && st.st_ino == ctl_ino &&
	       st.st_dev == ctl_dev;
}

static int ctl_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	memcpy(sun.sun_path, sock_path, sizeof(sock_path));
	int s = shim_real.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (shim_real.connect(s, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;
		shim_real.close(s);
		shim_log_once("ctl-connect", "cannot reach rrouted at %s: %s (is it running? "
			      "sockets inside the router fail with ENETDOWN)", sock_path, strerror(e));
		return -ENETDOWN;
	}
	/* Only rrouted run by our user (or root) gets our sockets: not an impostor's socket. */
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	uid_t me = (uid_t)syscall(SYS_geteuid);
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
	    (cred.uid != me && cred.uid != 0)) {
		shim_real.close(s);
		shim_log_once("ctl-cred", "%s is not served by rrouted of uid %u: refusing it "
			      "(sockets inside the router fail with ENETDOWN)", sock_path, (unsigned)me);
		return -ENETDOWN;
	}
	/* Out of the app's way: high, so it never takes a number the app expects. */
	struct rlimit rl;
	int hi = 900;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1024)
		hi = (int)rl.rlim_cur > 64 ? (int)rl.rlim_cur - 16 : 3;
	int moved = shim_real.fcntl(s, F_DUPFD_CLOEXEC, hi);
	if (moved >= 0) {
		shim_real.close(s);
		s = moved;
	}
	struct stat st;
	if (fstat(s, &st) < 0) {
		shim_real.close(s);
		return -errno;
	}
	ctl_fd = s;
	ctl_ino = st.st_ino;
	ctl_dev = st.st_dev;
	return 0;
}

static int ctl_ensure(void)
{
	if (ctl_alive())
		return 0;
	ctl_fd = -1;   /* whatever the number holds now is not ours */
	return ctl_connect();
}

bool shim_is_ctl_fd(int fd)
{
	return fd >= 0 && fd == ctl_fd && ctl_alive();
}

void shim_ctl_evict(int fd)
{
	pthread_mutex_lock(&rpc_lock);
	if (fd >= 0 && fd == ctl_fd) {
		int moved = shim_real.fcntl(ctl_fd, F_DUPFD_CLOEXEC, fd + 1);
		if (moved >= 0) {
			ctl_fd = moved;   /* same socket: inode unchanged */
		} else {
			ctl_fd = -1;
		}
	}
	pthread_mutex_unlock(&rpc_lock);
}

static int rpc_locked(const struct shim_req *req, const void *extra, size_t extra_len,
		      struct shim_rep *rep, int *fd_out, void *data, size_t cap, bool want_reply)
{
	static uint8_t buf[sizeof(struct shim_rep) + SHIM_MSG_MAX];
	if (fd_out)
		*fd_out = -1;
	for (int attempt = 0; attempt < 2; attempt++) {
		int r = ctl_ensure();
		if (r < 0)
			return r;
		ssize_t n;
		struct iovec out[2] = { { (void *)req, sizeof(*req) }, { (void *)extra, extra_len } };
		struct msghdr om = { .msg_iov = out, .msg_iovlen = extra_len ? 2 : 1 };
		do
			n = shim_real.sendmsg(ctl_fd, &om, MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			shim_real.close(ctl_fd);   /* broken (rrouted restarted?): once more, afresh */
			ctl_fd = -1;
			continue;
		}
		if (!want_reply)
			return 0;
		int passed;
		bool truncated;
		do
			n = shim_recv_with_fd(shim_real.recvmsg, ctl_fd, buf, sizeof(buf),
					      MSG_CMSG_CLOEXEC, &passed, &truncated);
		while (n < 0 && errno == EINTR);
		if (n <= 0 || !shim_rep_valid(buf, (size_t)n) || truncated) {
			if (passed >= 0)
				shim_real.close(passed);
			shim_real.close(ctl_fd);
			ctl_fd = -1;
			shim_log_once("ctl-reply", "rrouted closed the shim connection or sent a "
				      "malformed reply; sockets fail with ENETDOWN");
			return -ENETDOWN;
		}
		memcpy(rep, buf, sizeof(*rep));
		if (data && cap)
			memcpy(data, buf + sizeof(*rep), rep->data_len < cap ? rep->data_len : cap);
		if (fd_out)
			*fd_out = passed;
		else if (passed >= 0)
			shim_real.close(passed);
		return 0;
	}
	return -ENETDOWN;
}

int shim_rpc(const struct shim_req *req, struct shim_rep *rep, int *fd_out, void *data,
	     size_t cap)
{
	if (!shim_enabled())
		return -ENETDOWN;
	pthread_mutex_lock(&rpc_lock);
	int r = rpc_locked(req, NULL, 0, rep, fd_out, data, cap, true);
	pthread_mutex_unlock(&rpc_lock);
	return r;
}

int shim_rpc_with_data(const struct shim_req *req, const void *extra, size_t extra_len,
		       struct shim_rep *rep, void *data, size_t cap)
{
	if (!shim_enabled())
		return -ENETDOWN;
	if (extra_len > SHIM_REQ_DATA_MAX || !shim_op_takes_data(req->op))
		return -EINVAL;
	pthread_mutex_lock(&rpc_lock);
	int r = rpc_locked(req, extra, extra_len, rep, NULL, data, cap, true);
	pthread_mutex_unlock(&rpc_lock);
	return r;
}

void shim_rpc_oneway(const struct shim_req *req)
{
	if (!shim_enabled())
		return;
	pthread_mutex_lock(&rpc_lock);
	rpc_locked(req, NULL, 0, NULL, NULL, NULL, 0, false);
	pthread_mutex_unlock(&rpc_lock);
}

/* ---- fork ---- */

static void before_fork(void)
{
	pthread_mutex_lock(&rpc_lock);
	pthread_mutex_lock(&tab_lock);
}

static void after_fork_parent(void)
{
	pthread_mutex_unlock(&tab_lock);
	pthread_mutex_unlock(&rpc_lock);
}

static void after_fork_child(void)
{
	pthread_mutex_unlock(&tab_lock);
	pthread_mutex_unlock(&rpc_lock);
	/* The parent's connection is the parent's: ours is made on first use. */
	if (ctl_fd >= 0)
		shim_real.close(ctl_fd);
	ctl_fd = -1;
}

__attribute__((constructor)) static void shim_init(void)
{
	shim_resolve();
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
	if (enabled)
		shim_adopt_inherited();
}
