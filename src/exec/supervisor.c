#include "exec/supervisor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"

static int pidfd_open_compat(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int supervisor_init(struct supervisor *sup, struct loop *loop, const char *shim_lib,
		    const char *shim_socket)
{
	*sup = (struct supervisor){ .loop = loop };
	if (shim_lib && !(sup->shim_lib = strdup(shim_lib)))
		return -ENOMEM;
	if (shim_socket && !(sup->shim_socket = strdup(shim_socket))) {
		free(sup->shim_lib);
		return -ENOMEM;
	}
	return 0;
}

/* In the grandchild: the shim and a clean signal state, then the shell. Never returns. */
static void exec_child(const struct supervisor *sup, const char *command)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (sup->shim_lib && sup->shim_socket) {
		const char *old = getenv("LD_PRELOAD");
		char preload[8192];
		if (old && *old)
			snprintf(preload, sizeof(preload), "%s:%s", sup->shim_lib, old);
		else
			snprintf(preload, sizeof(preload), "%s", sup->shim_lib);
		setenv("LD_PRELOAD", preload, 1);
		setenv("RRSHIM_SOCKET", sup->shim_socket, 1);
	}
	execl("/bin/sh", "sh", "-c", command, (char *)NULL);
	fprintf(stderr, "rrouted: cannot run /bin/sh for \"%s\": %s\n", command, strerror(errno));
	_exit(127);
}

/*
 * DOC: no orphans. A program must not outlive rrouted, even when rrouted is
 * killed with SIGKILL or by the OOM killer (a BIRD left running would hold
 * its sockets and announce nothing). PR_SET_PDEATHSIG alone does not do it:
 * it fires only for the direct child (the shell), not for what the shell
 * starts. So the direct child is a small guard that never execs: it leads
 * the process group, runs the shell as its own child, asks the kernel for
 * SIGUSR1 when rrouted dies, and then kills its whole process group. While
 * rrouted lives, it only waits for the shell and exits with the shell's
 * status, so the supervisor sees the guard as the program (its pid, its
 * process group, its exit status).
 */
static _Noreturn void exit_like(int status)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		sigset_t one;
		signal(sig, SIG_DFL);
		sigemptyset(&one);
		sigaddset(&one, sig);
		sigprocmask(SIG_UNBLOCK, &one, NULL);
		raise(sig);
		_exit(128 + sig);
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

static _Noreturn void guard(const struct supervisor *sup, const char *command, pid_t rrouted)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigprocmask(SIG_SETMASK, &set, NULL);
	setpgid(0, 0);   /* rrouted stops its children itself; a terminal's ^C is rrouted's */
	prctl(PR_SET_NAME, "rrouted-guard");
	if (prctl(PR_SET_PDEATHSIG, SIGUSR1) < 0 || getppid() != rrouted)
		_exit(127);   /* rrouted is already gone (or we cannot tell when it goes) */
	/* rrouted's sockets and files are not ours to keep open (a port must be free to rebind). */
	closefrom(3);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "rrouted: cannot fork for \"%s\": %s\n", command, strerror(errno));
		_exit(127);
	}
	if (pid == 0)
		exec_child(sup, command);
	for (;;) {
		siginfo_t si;
		if (sigwaitinfo(&set, &si) < 0)
			continue;
		if (si.si_signo == SIGUSR1) {
			kill(0, SIGKILL);   /* the group, this guard included */
			_exit(137);
		}
		if (si.si_signo != SIGCHLD) {
			kill(pid, si.si_signo);   /* a signal for the program */
			continue;
		}
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			exit_like(status);
		if (r < 0 && errno == ECHILD)
			_exit(127);
	}
}

static void child_exited(struct loop_fd *lfd, uint32_t events);
static void restart_due(struct timer *t);

static int start(struct supervised *s)
{
	struct supervisor *sup = s->sup;
	pid_t self = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		log_error("%s: cannot fork: %s", s->name, strerror(err));
		return -err;
	}
	if (pid == 0)
		guard(sup, s->command, self);
	setpgid(pid, pid);   /* also here, so a signal sent right away finds the group */
	int fd = pidfd_open_compat(pid);
	if (fd < 0) {
		int err = errno;
		log_error("%s: pidfd_open: %s; stopping it", s->name, strerror(err));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -err;
	}
	s->pid = pid;
	s->pidfd.fd = fd;
	s->pidfd.cb = child_exited;
	s->started_at = loop_now(sup->loop);
	s->starts++;
	if (loop_add_fd(sup->loop, &s->pidfd, EPOLLIN) < 0) {
		int err = errno;
		log_error("%s: cannot watch pid %d: %s", s->name, (int)pid, strerror(err));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(fd);
		s->pid = 0;
		return -err;
	}
	log_info("%s: started (pid %d): %s", s->name, (int)pid, s->command);
	return 0;
}

static void describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "ended (status 0x%x)", status);
}

static void unlink_and_free(struct supervised *s)
{
	for (struct supervised **pp = &s->sup->list; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	timer_cancel(s->sup->loop, &s->restart_timer);
	free(s->command);
	free(s);
}

static void child_exited(struct loop_fd *lfd, uint32_t events)
{
	struct supervised *s = container_of(lfd, struct supervised, pidfd);
	struct supervisor *sup = s->sup;
	int status = 0;
	if (waitpid(s->pid, &status, WNOHANG) == 0)
		return;   /* not yet: spurious wake-up */
	loop_del_fd(sup->loop, &s->pidfd);
	close(s->pidfd.fd);
	s->pidfd.fd = -1;
	s->pid = 0;
	char what[96];
	describe_status(status, what, sizeof(what));

	if (!s->restart) {
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			log_info("%s: done", s->name);
		else
			log_warn("%s: %s", s->name, what);
		supervised_done_cb done = s->done;
		void *ctx = s->done_ctx;
		char name[sizeof(s->name)];
		snprintf(name, sizeof(name), "%s", s->name);
		unlink_and_free(s);
		if (done)
			done(ctx, name, status);
		if (sup->on_child_exit)
			sup->on_child_exit(sup->on_child_exit_ctx);
		return;
	}
	if (s->retired) {
		log_info("%s: %s (stopped by a reload)", s->name, what);
		unlink_and_free(s);
		if (sup->on_child_exit)
			sup->on_child_exit(sup->on_child_exit_ctx);
		return;
	}
	if (sup->stopping) {
		log_info("%s: %s", s->name, what);
		if (sup->on_child_exit)
			sup->on_child_exit(sup->on_child_exit_ctx);
		return;
	}
	uint64_t ran = (loop_now(sup->loop) - s->started_at) / NSEC_PER_SEC;
	if (ran >= SUPERVISOR_STABLE_S)
		s->backoff_s = SUPERVISOR_BACKOFF_MIN_S;
	else if (!s->backoff_s)
		s->backoff_s = SUPERVISOR_BACKOFF_MIN_S;
	else if (s->backoff_s * 2 <= SUPERVISOR_BACKOFF_MAX_S)
		s->backoff_s *= 2;
	else
		s->backoff_s = SUPERVISOR_BACKOFF_MAX_S;
	log_warn("%s: %s after %llu s; restarting in %u s", s->name, what,
		 (unsigned long long)ran, s->backoff_s);
	timer_arm(sup->loop, &s->restart_timer,
		  loop_now(sup->loop) + (uint64_t)s->backoff_s * NSEC_PER_SEC, 10 * NSEC_PER_MSEC);
}

static void restart_due(struct timer *t)
{
	struct supervised *s = container_of(t, struct supervised, restart_timer);
	if (s->retired) {
		/* Still there after the grace period: the whole group goes now. */
		log_warn("%s: still running %d s after SIGTERM; killing it", s->name,
			 SUPERVISOR_STOP_GRACE_S);
		if (s->pid > 0 && kill(-s->pid, SIGKILL) < 0)
			kill(s->pid, SIGKILL);
		return;
	}
	if (s->sup->stopping)
		return;
	if (start(s) < 0)
		timer_arm(s->sup->loop, &s->restart_timer,
			  loop_now(s->sup->loop) + SUPERVISOR_BACKOFF_MAX_S * NSEC_PER_SEC,
			  NSEC_PER_SEC);
}

static struct supervised *new_entry(struct supervisor *sup, const char *name, const char *command,
				    bool restart)
{
	struct supervised *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->command = strdup(command);
	if (!s->command) {
		free(s);
		return NULL;
	}
	s->sup = sup;
	s->restart = restart;
	s->pidfd.fd = -1;
	snprintf(s->name, sizeof(s->name), "%s", name);
	timer_init(&s->restart_timer, restart_due);
	s->next = sup->list;
	sup->list = s;
	return s;
}

int supervisor_add_program(struct supervisor *sup, const char *name, const char *command)
{
	struct supervised *s = new_entry(sup, name, command, true);
	if (!s)
		return -ENOMEM;
	if (start(s) < 0) {   /* retried later; start() logged why */
		s->backoff_s = SUPERVISOR_BACKOFF_MIN_S;
		timer_arm(sup->loop, &s->restart_timer,
			  loop_now(sup->loop) + SUPERVISOR_BACKOFF_MIN_S * NSEC_PER_SEC,
			  10 * NSEC_PER_MSEC);
	}
	return 0;
}

int supervisor_run_once(struct supervisor *sup, const char *name, const char *command,
			supervised_done_cb done, void *ctx)
{
	struct supervised *s = new_entry(sup, name, command, false);
	if (!s)
		return -ENOMEM;
	s->done = done;
	s->done_ctx = ctx;
	int r = start(s);
	if (r < 0) {
		unlink_and_free(s);
		if (done)
			done(ctx, name, -1);
	}
	return r;
}

int supervisor_stop_program(struct supervisor *sup, const char *name)
{
	struct supervised *s;
	for (s = sup->list; s; s = s->next)
		if (s->restart && !s->retired && strcmp(s->name, name) == 0)
			break;
	if (!s)
		return -ENOENT;
	timer_cancel(sup->loop, &s->restart_timer);
	if (s->pid <= 0) {   /* waiting for a restart: nothing to stop */
		log_info("%s: removed", s->name);
		unlink_and_free(s);
		return 0;
	}
	s->retired = true;
	log_info("%s: stopping (pid %d)", s->name, (int)s->pid);
	if (kill(-s->pid, SIGTERM) < 0)
		kill(s->pid, SIGTERM);
	timer_arm(sup->loop, &s->restart_timer,
		  loop_now(sup->loop) + SUPERVISOR_STOP_GRACE_S * NSEC_PER_SEC, 10 * NSEC_PER_MSEC);
	return 0;
}

void supervisor_stop_all(struct supervisor *sup)
{
	sup->stopping = true;
	for (struct supervised *s = sup->list; s; s = s->next) {
		timer_cancel(sup->loop, &s->restart_timer);
		/* The whole process group it leads (the shell and what it started). */
		if (s->pid > 0 && kill(-s->pid, SIGTERM) < 0)
			kill(s->pid, SIGTERM);
	}
}

unsigned supervisor_running(const struct supervisor *sup)
{
	unsigned n = 0;
	for (const struct supervised *s = sup->list; s; s = s->next)
		n += s->pid > 0;
	return n;
}

void supervisor_free(struct supervisor *sup)
{
	while (sup->list) {
		struct supervised *s = sup->list;
		if (s->pid > 0) {
			if (kill(-s->pid, SIGKILL) < 0)
				kill(s->pid, SIGKILL);
			waitpid(s->pid, NULL, 0);
		}
		if (s->pidfd.fd >= 0) {
			loop_del_fd(sup->loop, &s->pidfd);
			close(s->pidfd.fd);
		}
		unlink_and_free(s);
	}
	free(sup->shim_lib);
	free(sup->shim_socket);
	sup->shim_lib = sup->shim_socket = NULL;
}

char *supervisor_expand_hook(const char *command, const char *iface)
{
	size_t ilen = strlen(iface), n = 0;
	for (const char *p = command; *p; p++) {
		if (p[0] == '%' && p[1] == 'i') {
			n += ilen;
			p++;
		} else {
			n++;
		}
	}
	char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	for (const char *p = command; *p; p++) {
		if (p[0] == '%' && p[1] == 'i') {
			memcpy(o, iface, ilen);
			o += ilen;
			p++;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}
