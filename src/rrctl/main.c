/* rrctl: asks a running rrouted for its state over the control socket, and
 * makes WireGuard keys (genkey/pubkey, like wg(8)) for hosts without wg. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/localsock.h"
#include "exec/capless.h"
#include "exec/seccomp_filter.h"
#include "exec/seccomp_sup.h"
#include "exec/shim_locate.h"
#include "crypto/crypto.h"
#include "stack/shim_proto.h"
#include "ws/ws_bridge.h"

/* Next to librrshim.so: a directory holding "sudo", a link to rrctl (the Makefile makes it). */
#define SUDO_DIR "rrctl-sudo"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rrctl [-s SOCKET] show interfaces|peers|status [--json]\n"
		"       rrctl [-s SOCKET] show metrics   counters for Prometheus (text format 0.0.4)\n"
		"       rrctl [-s SOCKET] ping\n"
		"       rrctl [-s SOCKET] reload   re-read rrouted.conf and the interfaces (as SIGHUP)\n"
		"       rrctl [-s SOCKET] exec [-v|--verbose] [--mode=auto|shim|seccomp] [--] CMD [ARGS...]\n"
		"                                 run CMD inside the router's network\n"
		"       rrctl bridge [--pin sha256/B64] [ADDR:]PORT ws[s]://HOST[:PORT]/PATH\n"
		"       rrctl bridge --listen [ADDR:]PORT HOST:PORT\n"
		"                               relay WireGuard between UDP and a WebSocket (docs/WEBSOCKET.md)\n"
		"       rrctl genkey            print a new private key\n"
		"       rrctl pubkey < private  print the public key of a private key\n"
		"SOCKET defaults to $XDG_RUNTIME_DIR/rrouted.sock (or /tmp/rrouted-UID/rrouted.sock).\n"
		"exec preloads librrshim.so ($RRSHIM_LIB, else next to rrctl, else the installed\n"
		"library directory): the IPv4/IPv6 sockets of CMD and its children live in\n"
		"rrouted's network; loopback stays on the host.\n"
		"Programs with file capabilities (ping, mtr-packet) run without them, through\n"
		"their ELF interpreter: they need none inside the router.\n"
		"Static and Go programs, which LD_PRELOAD cannot reach, run under a seccomp filter\n"
		"instead: rrctl answers their socket calls for rrouted (Linux >= 5.14; UDP stays on\n"
		"loopback there). --mode (or $RR_EXEC_MODE) forces a path; --verbose says which.\n"
		"Inside exec, sudo is rrctl's own (" SUDO_DIR "/sudo, first in PATH): it runs the\n"
		"command as root of the router's network (getuid() = 0 for it, through the shim),\n"
		"so scripts that insist on root, like wg-quick, run unmodified. It grants nothing\n"
		"on the host: files and processes keep the real user's permissions.\n");
}

static void default_socket(char *buf, size_t len)
{
	const char *dir = getenv("XDG_RUNTIME_DIR");
	char priv[64];
	if (dir && *dir) {
		snprintf(buf, len, "%s/rrouted.sock", dir);
	} else {
		localsock_default_dir(priv, sizeof(priv));
		snprintf(buf, len, "%s/rrouted.sock", priv);
	}
}

/*
 * A connection to rrouted's control socket, or -1 with errno. Only a server
 * run by this user (or root) is believed: anyone else's socket at that path is
 * an impostor's, and rrctl exec would hand it the program's network.
 */
static int connect_control(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	uid_t uid = (uid_t)-1;
	if (!localsock_peer_trusted(fd, &uid)) {
		fprintf(stderr, "rrctl: %s is served by uid %u, not by you or root: refusing to "
			"talk to it\n", path, (unsigned)uid);
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

static int genkey(void)
{
	uint8_t key[CRYPTO_KEY_LEN];
	char text[KEY_BASE64_LEN + 1];
	if (crypto_init() < 0)
		return 1;
	x25519_generate(key);
	key_to_base64(text, key);
	crypto_wipe(key, sizeof(key));
	puts(text);
	crypto_wipe(text, sizeof(text));
	return 0;
}

static int pubkey(void)
{
	char line[256];
	uint8_t priv[CRYPTO_KEY_LEN], pub[CRYPTO_KEY_LEN];
	char text[KEY_BASE64_LEN + 1];
	if (crypto_init() < 0)
		return 1;
	if (!fgets(line, sizeof(line), stdin)) {
		fprintf(stderr, "rrctl pubkey: expected a private key on standard input\n");
		return 1;
	}
	line[strcspn(line, "\r\n")] = '\0';
	int bad = key_from_base64(priv, line) < 0;
	crypto_wipe(line, sizeof(line));
	if (bad) {
		fprintf(stderr, "rrctl pubkey: standard input is not a base64 WireGuard key\n");
		return 1;
	}
	x25519_clamp(priv);
	bad = x25519_public(pub, priv) < 0;
	crypto_wipe(priv, sizeof(priv));
	if (bad) {
		fprintf(stderr, "rrctl pubkey: cannot derive the public key\n");
		return 1;
	}
	key_to_base64(text, pub);
	puts(text);
	return 0;
}

static int request(const char *path, const char *line)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "rrctl: socket path too long: %s\n", path);
		return 1;
	}
	int fd = connect_control(path);
	if (fd < 0) {
		fprintf(stderr, "rrctl: cannot connect to %s: %s (is rrouted running? -s SOCKET)\n",
			path, strerror(errno));
		return 1;
	}
	size_t len = strlen(line);
	if (write(fd, line, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
		fprintf(stderr, "rrctl: writing to %s: %s\n", path, strerror(errno));
		close(fd);
		return 1;
	}
	shutdown(fd, SHUT_WR);
	char buf[8192];
	ssize_t n;
	bool first = true, error = false;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (first && n >= 7 && memcmp(buf, "error: ", 7) == 0)
			error = true;
		first = false;
		fwrite(buf, 1, (size_t)n, error ? stderr : stdout);
	}
	if (n < 0) {
		fprintf(stderr, "rrctl: reading from %s: %s\n", path, strerror(errno));
		error = true;
	}
	if (first) {
		fprintf(stderr, "rrctl: %s closed without a reply\n", path);
		error = true;
	}
	close(fd);
	return error ? 1 : 0;
}

/*
 * The reply to one request line, NUL-terminated; 0 if it is not an "error: "
 * reply. *server_pid (may be NULL) gets the pid of the process that answered
 * (SO_PEERCRED), 0 if unknown.
 */
static int fetch_reply(const char *path, const char *line, char *buf, size_t cap,
		       pid_t *server_pid)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path) || cap < 2)
		return -1;
	int fd = connect_control(path);
	if (fd < 0)
		return -1;
	size_t len = strlen(line), got = 0;
	if (write(fd, line, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
		close(fd);
		return -1;
	}
	shutdown(fd, SHUT_WR);
	if (server_pid) {
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		*server_pid = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0 ? cred.pid : 0;
	}
	ssize_t n;
	while (got < cap - 1 && (n = read(fd, buf + got, cap - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	if (got == 0 || strncmp(buf, "error: ", 7) == 0)
		return -1;
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

/* Puts the directory of rrctl's sudo (next to the shim library) first in PATH, if it exists. */
static int prepend_sudo_dir(const char *lib)
{
	char dir[PATH_MAX], probe[PATH_MAX + 16];
	snprintf(dir, sizeof(dir), "%s", lib);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	if (snprintf(probe, sizeof(probe), "%s/" SUDO_DIR "/sudo", dir) >= (int)sizeof(probe) ||
	    access(probe, X_OK) < 0)
		return 0;   /* without it, scripts that want root say so themselves */
	const char *path = getenv("PATH");
	char *np = NULL;
	if (asprintf(&np, "%s/" SUDO_DIR "%s%s", dir, path && *path ? ":" : "",
		     path && *path ? path : "") < 0) {
		fprintf(stderr, "rrctl exec: out of memory\n");
		return -1;
	}
	int r = setenv("PATH", np, 1);
	free(np);
	if (r < 0)
		fprintf(stderr, "rrctl exec: setenv: %s\n", strerror(errno));
	return r;
}

/*
 * execvp, except that a binary with file capabilities (ping) runs through its
 * ELF interpreter without them (exec/capless.h says why). Returns on failure.
 */
static void exec_capless(char **argv)
{
	char path[PATH_MAX], interp[PATH_MAX];
	if (capless_resolve(argv[0], path, sizeof(path)) == 0 &&
	    capless_interp_for(path, interp, sizeof(interp)) == 1) {
		char *nargv[capless_argv_slots(argv)];
		capless_build_argv(nargv, interp, path, argv);
		execv(interp, nargv);
		int err = errno;
		fprintf(stderr, "rrctl exec: %s carries file capabilities, and running it through "
			"its ELF interpreter %s failed: %s\n", path, interp, strerror(err));
		errno = err;
		return;
	}
	execvp(argv[0], argv);
}

/*
 * DOC: rrctl exec and orphans. A program run inside the router must not
 * outlive it (a BIRD whose router is gone holds sockets that lead nowhere).
 * So rrctl does not exec the command: it stays its parent, watches rrouted
 * through a pidfd (the pid from the control socket's SO_PEERCRED), and when
 * rrouted goes, for whatever reason, stops the command (SIGTERM, SIGKILL
 * after RRCTL_STOP_GRACE_S). Without a terminal the command gets its own
 * process group, and the whole group is stopped; on a terminal it stays in
 * rrctl's group so job control and ^C work as usual. Signals sent to rrctl
 * are passed on; rrctl exits with the command's status.
 */
#define RRCTL_STOP_GRACE_S 2

static int pidfd_open_compat(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int status_to_exit(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status)) {
		/* Die the same way, as a shell reports it (no core dump from rrctl itself). */
		int sig = WTERMSIG(status);
		struct rlimit none = { 0, 0 };
		setrlimit(RLIMIT_CORE, &none);
		signal(sig, SIG_DFL);
		sigset_t one;
		sigemptyset(&one);
		sigaddset(&one, sig);
		sigprocmask(SIG_UNBLOCK, &one, NULL);
		raise(sig);
		return 128 + sig;
	}
	return 1;
}

/* How exec_inside starts the command: the shim, or the seccomp path with its supervisor. */
struct exec_how {
	bool seccomp;
	bool verbose;
	const char *shim_path;   /* rrouted's shim socket (the supervisor is its client) */
};

/* In the child: the seccomp filter, its listener to the parent over sock. Exits on failure. */
static void child_seccomp(int sock, const char *prog)
{
	if (setenv(SECCOMP_WRAP_ENV, "1", 1) < 0) {
		fprintf(stderr, "rrctl exec: setenv: %s\n", strerror(errno));
		_exit(126);
	}
	int l = seccomp_filter_install();
	if (l < 0) {
		fprintf(stderr, "rrctl exec: %s: cannot install the seccomp filter that keeps its "
			"sockets in the router (Linux >= 5.14 with seccomp user notification "
			"needed): %s\n", prog, strerror(-l));
		_exit(126);
	}
	int r = seccomp_listener_send(sock, l);
	if (r < 0) {
		fprintf(stderr, "rrctl exec: %s: handing the seccomp listener over: %s\n", prog,
			strerror(-r));
		_exit(126);
	}
	close(l);
	close(sock);
}

/* The command being watched, and its stop once begun (SIGKILL due at kill_at). */
struct watched {
	pid_t child;
	bool own_group;              /* it leads its own process group */
	bool stopping;
	struct timespec kill_at;
};

/* Begins the grace period after which the command gets SIGKILL; sig (0: none) goes first. */
static void begin_stop(struct watched *w, int sig)
{
	if (sig)
		kill(w->own_group ? -w->child : w->child, sig);
	w->stopping = true;
	clock_gettime(CLOCK_MONOTONIC, &w->kill_at);
	w->kill_at.tv_sec += RRCTL_STOP_GRACE_S;
}

/* Milliseconds until the SIGKILL is due (0: now), -1 when not stopping. */
static int ms_until_kill(const struct watched *w)
{
	/* A deadline, not a poll timeout: other descriptors may keep waking the loop. */
	if (!w->stopping)
		return -1;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long ms = (w->kill_at.tv_sec - now.tv_sec) * 1000L +
		  (w->kill_at.tv_nsec - now.tv_nsec) / 1000000L;
	return ms > 0 ? (int)ms : 0;
}

/*
 * Forks argv with the signal mask old; on the seccomp path the child installs the filter
 * first and sends its listener over sp[1]. The child's pid, or -1 (said why).
 */
static pid_t fork_command(char **argv, int router_pidfd, const struct exec_how *how,
			  const sigset_t *old, bool own_group, int sp[2])
{
	pid_t child = fork();
	if (child < 0) {
		fprintf(stderr, "rrctl exec: fork: %s\n", strerror(errno));
		return -1;
	}
	if (child == 0) {
		sigprocmask(SIG_SETMASK, old, NULL);
		if (own_group)
			setpgid(0, 0);
		if (router_pidfd >= 0)
			close(router_pidfd);
		if (how->seccomp) {
			close(sp[0]);
			child_seccomp(sp[1], argv[0]);
		}
		exec_capless(argv);
		fprintf(stderr, "rrctl exec: %s: %s\n", argv[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	return child;
}

/* The supervisor of the listener the child sends over sp[0], or NULL (the child is stopped). */
static struct seccomp_sup *supervise(int sp[2], pid_t child, const char *prog,
				     const struct exec_how *how)
{
	struct seccomp_sup *sup = NULL;
	close(sp[1]);
	int l = seccomp_listener_recv(sp[0], child);
	close(sp[0]);
	/* No listener: the child failed and said why; its status is collected later. */
	if (l >= 0)
		sup = seccomp_sup_new(l, how->shim_path, prog, how->verbose);
	if (l >= 0 && !sup) {
		/* Unsupervised, its socket calls would hang: stop it. */
		kill(child, SIGKILL);
	}
	return sup;
}

/*
 * Waits for the command, answering its supervisor (sup, if any) and passing signals
 * (set, read from sfd) on; when rrouted (router_pidfd) or the supervisor goes, stops
 * it: SIGTERM, then SIGKILL after the grace. Its exit status as rrctl's.
 */
static int watch(struct watched *w, struct seccomp_sup *sup, int sfd, int router_pidfd,
		 const char *prog)
{
	for (;;) {
		struct pollfd pfd[3] = {
			{ .fd = sup ? seccomp_sup_fd(sup) : -1, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
			{ .fd = w->stopping ? -1 : router_pidfd, .events = POLLIN },
		};
		int timeout = ms_until_kill(w);
		int r = poll(pfd, 3, timeout);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && sup && (pfd[0].revents & (POLLIN | POLLHUP)) && !seccomp_sup_run(sup)) {
			seccomp_sup_free(sup);
			sup = NULL;
			/* rrouted gone (a program the shim handed over has no pidfd of it): stop */
			if (!w->stopping)
				begin_stop(w, SIGTERM);
		}
		int status;
		if (waitpid(w->child, &status, WNOHANG) == w->child) {
			seccomp_sup_free(sup);
			return status_to_exit(status);
		}
		if (w->stopping && timeout == 0) {
			kill(w->own_group ? -w->child : w->child, SIGKILL);
			w->kill_at.tv_sec += 1;   /* and again every second until it is gone */
			continue;
		}
		if (r > 0 && (pfd[1].revents & POLLIN)) {
			struct signalfd_siginfo si;
			/* A terminal's ^C reached the child already (same group); others are passed on. */
			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si) && si.ssi_signo != SIGCHLD &&
			    (w->own_group || si.ssi_code != SI_KERNEL)) {
				kill(w->child, (int)si.ssi_signo);
				/*
				 * On the seccomp path the program must not outlive its supervisor
				 * (its socket calls would fail): SIGKILL follows after the grace.
				 */
				if (sup && !w->stopping && si.ssi_signo != SIGQUIT)
					begin_stop(w, 0);
			}
		}
		if (r > 0 && !w->stopping && (pfd[2].revents & POLLIN)) {
			fprintf(stderr, "rrctl exec: rrouted exited; stopping %s\n", prog);
			begin_stop(w, SIGTERM);
			/* Nothing to answer for any more: its socket calls now fail (ENOSYS). */
			seccomp_sup_free(sup);
			sup = NULL;
		}
	}
	/* poll failed: nothing left to watch with; wait for the child plainly. */
	seccomp_sup_free(sup);
	int status;
	while (waitpid(w->child, &status, 0) < 0 && errno == EINTR)
		;
	return status_to_exit(status);
}

/* Runs argv as a child and waits for it, or stops it when rrouted (router_pidfd) goes. */
static int run_watched(char **argv, int router_pidfd, const struct exec_how *how)
{
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGCHLD);   /* wakes the poll when the command ends */
	sigprocmask(SIG_BLOCK, &set, &old);
	struct watched w = { .own_group = !isatty(STDIN_FILENO) };
	int sp[2] = { -1, -1 };
	if (how->seccomp && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		fprintf(stderr, "rrctl exec: socketpair: %s\n", strerror(errno));
		return 1;
	}
	w.child = fork_command(argv, router_pidfd, how, &old, w.own_group, sp);
	if (w.child < 0)
		return 1;
	if (w.own_group)
		setpgid(w.child, w.child);   /* also here: a signal sent right away finds the group */
	struct seccomp_sup *sup = how->seccomp ? supervise(sp, w.child, argv[0], how) : NULL;
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	return watch(&w, sup, sfd, router_pidfd, argv[0]);
}

/*
 * exec [--] CMD runs with librrshim.so preloaded and the shim
 * socket in $RRSHIM_SOCKET (its children inherit both), unprivileged.
 */
static int exec_inside(const char *sock, bool sock_given, char **argv)
{
	char shim[512], lib[PATH_MAX];
	struct exec_how how = { .seccomp = false };
	enum rr_exec_mode mode;
	if (seccomp_mode_parse(getenv(RR_EXEC_MODE_ENV), &mode) < 0) {
		fprintf(stderr, "rrctl exec: %s=%s: say auto, shim or seccomp\n", RR_EXEC_MODE_ENV,
			getenv(RR_EXEC_MODE_ENV));
		return 2;
	}
	for (; argv[0] && argv[0][0] == '-'; argv++) {
		if (strcmp(argv[0], "--") == 0) {
			argv++;
			break;
		}
		if (strcmp(argv[0], "-v") == 0 || strcmp(argv[0], "--verbose") == 0) {
			how.verbose = true;
		} else if (strncmp(argv[0], "--mode=", 7) == 0 &&
			   seccomp_mode_parse(argv[0] + 7, &mode) == 0) {
			continue;
		} else {
			fprintf(stderr, "rrctl exec: unknown option %s\n", argv[0]);
			return 2;
		}
	}
	if (!argv[0]) {
		fprintf(stderr, "rrctl exec: which command? (rrctl exec -- CMD [ARGS...])\n");
		return 2;
	}
	pid_t router_pid = 0;
	const char *inherited = getenv(SHIM_ENV_SOCKET);
	if (!sock_given && inherited && *inherited && strlen(inherited) < sizeof(shim)) {
		/* inside the router already (the shim sends a static program here): same router */
		snprintf(shim, sizeof(shim), "%s", inherited);
	} else if (fetch_reply(sock, "shim-path", shim, sizeof(shim), &router_pid) < 0) {
		fprintf(stderr, "rrctl exec: cannot ask %s for the shim socket (is rrouted "
			"running? -s SOCKET)\n", sock);
		return 1;
	}
	const char *why = NULL;
	char path[PATH_MAX];
	if (mode == RR_EXEC_SECCOMP)
		why = "forced";
	else if (mode == RR_EXEC_AUTO && capless_resolve(argv[0], path, sizeof(path)) == 0)
		why = seccomp_path_needs(path);
	if (why) {
		char err[256];
		if (seccomp_sup_check(err, sizeof(err)) < 0) {
			fprintf(stderr, "rrctl exec: %s: %s\n", argv[0], err);
			return 126;
		}
		how.seccomp = true;
		how.shim_path = shim;
		if (how.verbose)
			fprintf(stderr, "rrctl exec: %s: seccomp path (%s%s): its socket calls are "
				"answered by rrctl for rrouted\n", argv[0], why,
				strcmp(why, "forced") == 0 ? "" : " binary, the shim cannot reach it");
		if (setenv(SHIM_ENV_SOCKET, shim, 1) < 0)
			return 1;
		int router_pidfd = router_pid > 0 ? pidfd_open_compat(router_pid) : -1;
		return run_watched(argv, router_pidfd, &how);
	}
	if (how.verbose)
		fprintf(stderr, "rrctl exec: %s: shim path (librrshim.so preloaded)\n", argv[0]);
	if (shim_locate(lib, sizeof(lib)) < 0) {
		fprintf(stderr, "rrctl exec: %s: %s (librrshim.so is looked for in $RRSHIM_LIB, next "
			"to rrctl, and in %s; build it with make, or set RRSHIM_LIB)\n", lib,
			strerror(errno), shim_configured_dir());
		return 1;
	}
	const char *old = getenv("LD_PRELOAD");
	char *preload = NULL;
	if (asprintf(&preload, "%s%s%s", lib, old && *old ? " " : "", old && *old ? old : "") < 0) {
		fprintf(stderr, "rrctl exec: out of memory\n");
		return 1;
	}
	if (setenv("LD_PRELOAD", preload, 1) < 0 || setenv("RRSHIM_SOCKET", shim, 1) < 0) {
		fprintf(stderr, "rrctl exec: setenv: %s\n", strerror(errno));
		free(preload);
		return 1;
	}
	free(preload);
	if (prepend_sudo_dir(lib) < 0)
		return 1;
	int router_pidfd = router_pid > 0 ? pidfd_open_compat(router_pid) : -1;
	if (router_pidfd >= 0)
		return run_watched(argv, router_pidfd, &how);
	/* rrouted in another pid namespace, or an old kernel: nothing to watch it with. */
	exec_capless(argv);
	fprintf(stderr, "rrctl exec: %s: %s\n", argv[0], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}

/*
 * sudo inside rrctl exec (argv[0] is "sudo"): sudo's options are read and
 * ignored (-u/-g other than root are refused), then the command runs with
 * SHIM_ENV_ROOT=1: root of the router's network only (src/shim/shim_root.c).
 */
static int sudo_main(char **argv)
{
	const char *sock = getenv(SHIM_ENV_SOCKET);
	if (!sock || !*sock) {
		fprintf(stderr, "sudo: this is rrctl's sudo: it only runs commands inside "
			"\"rrctl exec\" (as root of the router's network); use the system's sudo\n");
		return 1;
	}
	static const char *const long_with_arg[] = {
		"--prompt", "--user", "--group", "--chdir", "--close-from", "--host", "--role",
		"--type", "--command-timeout", "--other-user", "--chroot", NULL,
	};
	int i = 1;
	for (; argv[i] && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		const char *user = NULL;
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[1] == '-') {
			const char *eq = strchr(a, '=');
			size_t n = eq ? (size_t)(eq - a) : strlen(a);
			for (int k = 0; long_with_arg[k]; k++) {
				if (strlen(long_with_arg[k]) != n || strncmp(a, long_with_arg[k], n) != 0)
					continue;
				const char *v = eq ? eq + 1 : argv[i + 1];
				if (!eq && argv[i + 1])
					i++;
				if (strcmp(long_with_arg[k], "--user") == 0 ||
				    strcmp(long_with_arg[k], "--group") == 0)
					user = v;
			}
		} else {
			for (const char *c = a + 1; *c; c++) {
				if (strchr("isleVK", *c)) {
					fprintf(stderr, "sudo: -%c is not supported by rrctl's sudo\n", *c);
					return 1;
				}
				if (strchr("CDghpRrtTUu", *c)) {
					const char *v = c[1] ? c + 1 : argv[i + 1];
					if (!c[1] && argv[i + 1])
						i++;
					if (*c == 'u' || *c == 'g')
						user = v;
					break;
				}
			}
		}
		if (user && strcmp(user, "root") != 0 && strcmp(user, "0") != 0 &&
		    strcmp(user, "#0") != 0) {
			fprintf(stderr, "sudo: rrctl's sudo runs commands as root of the router's "
				"network only, not as %s\n", user);
			return 1;
		}
	}
	if (!argv[i])
		return 0;   /* "sudo -v", "sudo -k": nothing to validate */
	if (setenv(SHIM_ENV_ROOT, "1", 1) < 0) {
		fprintf(stderr, "sudo: setenv: %s\n", strerror(errno));
		return 1;
	}
	exec_capless(argv + i);
	fprintf(stderr, "sudo: %s: %s\n", argv[i], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	if (strcmp(base ? base + 1 : argv[0], "sudo") == 0)
		return sudo_main(argv);
	char sock[512];
	default_socket(sock, sizeof(sock));
	int i = 1;
	bool sock_given = false;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if ((strcmp(argv[i], "-s") == 0 || strcmp(argv[i], "--socket") == 0) && i + 1 < argc) {
			snprintf(sock, sizeof(sock), "%s", argv[++i]);
			sock_given = true;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0) {
			break;   /* part of the request */
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[i], "genkey") == 0 && i + 1 == argc)
		return genkey();
	if (strcmp(argv[i], "pubkey") == 0 && i + 1 == argc)
		return pubkey();
	if (strcmp(argv[i], "bridge") == 0) {
		signal(SIGPIPE, SIG_IGN);
		return ws_bridge_main(argc - i - 1, argv + i + 1);
	}
	if (strcmp(argv[i], "exec") == 0) {
		i++;
		if (i < argc && strcmp(argv[i], "--") == 0)
			i++;
		return exec_inside(sock, sock_given, argv + i);
	}

	char line[1024] = "";
	size_t used = 0;
	for (; i < argc; i++) {
		int n = snprintf(line + used, sizeof(line) - used, "%s%s", used ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= sizeof(line) - used) {
			fprintf(stderr, "rrctl: request too long\n");
			return 2;
		}
		used += (size_t)n;
	}
	return request(sock, line);
}
