/*
 * librrshim.so: the exec family and posix_spawn, so that a hosted program
 * starting a binary with file capabilities (mtr -> mtr-packet, a shell
 * running ping) starts it through its ELF interpreter, without the
 * capabilities, and with the shim still preloaded (exec/capless.h says why).
 *
 * glibc's execvp/execl/posix_spawn call the system call internally, not
 * through execve's PLT entry, so each of them is interposed. Binaries
 * without file capabilities go to the real function untouched. The real
 * functions are resolved at load time: execve may be called after vfork(),
 * where dlsym (which may allocate) must not run.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec/capless.h"
#include "exec/seccomp_filter.h"
#include "shim/shim.h"

extern char **environ;

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execvp_fn)(const char *, char *const[]);
typedef int (*execvpe_fn)(const char *, char *const[], char *const[]);
typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			const posix_spawnattr_t *, char *const[], char *const[]);

static execve_fn real_execve;
static execvp_fn real_execvp;
static execvpe_fn real_execvpe;
static spawn_fn real_posix_spawn, real_posix_spawnp;

/*
 * rrctl, found from this library: a static or Go binary, which LD_PRELOAD cannot follow, is
 * started as `rrctl exec --mode=seccomp -- PATH ARGS...` so that its sockets stay in the
 * router too (docs/SOCKETS.md, the seccomp path). In the build tree rrctl is next to the
 * library; installed, the library's directory holds rrctl-sudo/sudo, a link to rrctl (which
 * acts as rrctl under any name but "sudo"). Empty if there is none.
 */
static char rrctl_path[PATH_MAX];

static void find_rrctl(void)
{
	static const char *const candidates[] = { "rrctl", "rrctl-sudo/sudo" };
	Dl_info info;
	if (!dladdr((void *)find_rrctl, &info) || !info.dli_fname)
		return;
	const char *slash = strrchr(info.dli_fname, '/');
	if (!slash)
		return;
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		int n = snprintf(rrctl_path, sizeof(rrctl_path), "%.*s/%s",
				 (int)(slash - info.dli_fname), info.dli_fname, candidates[i]);
		if (n > 0 && (size_t)n < sizeof(rrctl_path) && access(rrctl_path, X_OK) == 0)
			return;
	}
	rrctl_path[0] = '\0';
}

/*
 * A program that needs the seccomp path when there is no rrctl to give it: refused (EACCES),
 * never run on the host's sockets by accident.
 */
static bool seccomp_unavailable(const char *path)
{
	if (rrctl_path[0])
		return false;
	shim_log_once("seccomp-no-rrctl", "%s is a static or Go program, which only rrctl exec can "
		      "keep inside the router, and rrctl was not found next to librrshim.so: refused",
		      path);
	errno = EACCES;
	return true;
}

/* Must path go through rrctl's seccomp path? (async-signal-safe: only system calls) */
static bool wants_seccomp(const char *path)
{
	return shim_enabled() && !getenv(SECCOMP_WRAP_ENV) && seccomp_path_needs(path) != NULL;
}

/* out = { rrctl, "exec", "--mode=seccomp", "--", path, argv[1]..., NULL } */
static size_t seccomp_argv_slots(char *const argv[])
{
	size_t n = 0;
	while (argv && argv[n])
		n++;
	return n + 5;
}

static void seccomp_build_argv(char **out, const char *path, char *const argv[])
{
	size_t k = 0;
	out[k++] = (char *)"rrctl";   /* not "sudo", whichever link rrctl_path is */
	out[k++] = (char *)"exec";
	out[k++] = (char *)"--mode=seccomp";
	out[k++] = (char *)"--";
	out[k++] = (char *)path;
	for (size_t i = 1; argv && argv[0] && argv[i]; i++)
		out[k++] = argv[i];
	out[k] = NULL;
}

__attribute__((constructor)) static void shim_exec_resolve(void)
{
	find_rrctl();
	real_execve = (execve_fn)dlsym(RTLD_NEXT, "execve");
	real_execvp = (execvp_fn)dlsym(RTLD_NEXT, "execvp");
	real_execvpe = (execvpe_fn)dlsym(RTLD_NEXT, "execvpe");
	real_posix_spawn = (spawn_fn)dlsym(RTLD_NEXT, "posix_spawn");
	real_posix_spawnp = (spawn_fn)dlsym(RTLD_NEXT, "posix_spawnp");
}

/* Did the resolve fail? Then the call fails as a missing function would. */
static bool missing(const void *fn)
{
	if (fn)
		return false;
	errno = ENOSYS;
	return true;
}

/* 1 and interp if path must run through its interpreter (only inside the router). */
static int wants_interp(const char *path, char *interp, size_t len)
{
	return shim_enabled() && capless_interp_for(path, interp, len) == 1;
}

/* How many pointers reroute may write for argv. */
static size_t reroute_argv_slots(char *const argv[])
{
	size_t capless = capless_argv_slots(argv), seccomp = seccomp_argv_slots(argv);
	return capless > seccomp ? capless : seccomp;
}

/*
 * What runs instead of path inside the router, with nargv (reroute_argv_slots entries):
 * its ELF interpreter (interp, PATH_MAX bytes) for a binary with file capabilities, or
 * rrctl for a static or Go program; NULL when path runs as it is, or when it cannot run
 * at all (*refused, errno EACCES). Async-signal-safe, as the exec family needs.
 */
static const char *reroute(const char *path, char *const argv[], char *interp, char **nargv,
			   bool *refused)
{
	*refused = false;
	if (wants_interp(path, interp, PATH_MAX)) {
		capless_build_argv(nargv, interp, path, argv);
		return interp;
	}
	if (wants_seccomp(path)) {
		*refused = seccomp_unavailable(path);
		if (*refused)
			return NULL;
		seccomp_build_argv(nargv, path, argv);
		return rrctl_path;
	}
	return NULL;
}

SHIM_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	if (missing(real_execve))
		return -1;
	char interp[PATH_MAX];
	char *nargv[reroute_argv_slots(argv)];
	bool refused;
	const char *prog = reroute(path, argv, interp, nargv, &refused);
	if (refused)
		return -1;
	return prog ? real_execve(prog, nargv, envp) : real_execve(path, argv, envp);
}

SHIM_EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

/* execvp/execvpe: the binary found along PATH, if it carries capabilities. */
static int exec_path(const char *file, char *const argv[], char *const envp[])
{
	char path[PATH_MAX], interp[PATH_MAX];
	if (!shim_enabled() || capless_resolve(file, path, sizeof(path)) < 0)
		return 1;
	if (wants_seccomp(path)) {
		if (seccomp_unavailable(path))
			return -1;
		char *nargv[seccomp_argv_slots(argv)];
		seccomp_build_argv(nargv, path, argv);
		return real_execve(rrctl_path, nargv, envp);
	}
	if (!wants_interp(path, interp, sizeof(interp)))
		return 1;
	char *nargv[capless_argv_slots(argv)];
	capless_build_argv(nargv, interp, path, argv);
	return real_execve(interp, nargv, envp);
}

SHIM_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	if (missing(real_execvpe) || missing(real_execve))
		return -1;
	if (exec_path(file, argv, envp) < 0)
		return -1;
	return real_execvpe(file, argv, envp);
}

SHIM_EXPORT int execvp(const char *file, char *const argv[])
{
	if (missing(real_execvp) || missing(real_execve))
		return -1;
	if (exec_path(file, argv, environ) < 0)
		return -1;
	return real_execvp(file, argv);
}

/* The variadic forms collect their arguments on the stack (no malloc after vfork). */
#define COLLECT_ARGS(first, ap, argv_name)                                              \
	size_t n_ = 1;                                                                  \
	va_list c_;                                                                     \
	va_copy(c_, ap);                                                                \
	while (va_arg(c_, char *))                                                      \
		n_++;                                                                   \
	va_end(c_);                                                                     \
	char *argv_name[n_ + 1];                                                        \
	argv_name[0] = (char *)(first);                                                 \
	for (size_t i_ = 1; i_ <= n_; i_++)                                             \
		argv_name[i_] = va_arg(ap, char *);

SHIM_EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	COLLECT_ARGS(arg, ap, argv);
	va_end(ap);
	return execve(path, argv, environ);
}

SHIM_EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	COLLECT_ARGS(arg, ap, argv);
	va_end(ap);
	return execvp(file, argv);
}

SHIM_EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	COLLECT_ARGS(arg, ap, argv);
	char *const *envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, argv, envp);
}

/*
 * posix_spawn of path (resolved) when it must not run as it is (reroute): *done, and
 * what posix_spawn returns. Not done: the caller spawns it as usual.
 */
static int spawn_rerouted(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			  const posix_spawnattr_t *attr, char *const argv[], char *const envp[],
			  bool *done)
{
	char interp[PATH_MAX];
	char *nargv[reroute_argv_slots(argv)];
	bool refused;
	const char *prog = reroute(path, argv, interp, nargv, &refused);
	*done = refused || prog;
	if (refused)
		return EACCES;
	return prog ? real_posix_spawn(pid, prog, fa, attr, nargv, envp) : 0;
}

SHIM_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			    const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	if (missing(real_posix_spawn))
		return ENOSYS;
	bool done;
	int r = spawn_rerouted(pid, path, fa, attr, argv, envp, &done);
	return done ? r : real_posix_spawn(pid, path, fa, attr, argv, envp);
}

SHIM_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			     const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	if (missing(real_posix_spawnp) || missing(real_posix_spawn))
		return ENOSYS;
	char path[PATH_MAX];
	if (shim_enabled() && capless_resolve(file, path, sizeof(path)) == 0) {
		bool done;
		int r = spawn_rerouted(pid, path, fa, attr, argv, envp, &done);
		if (done)
			return r;
	}
	return real_posix_spawnp(pid, file, fa, attr, argv, envp);
}
