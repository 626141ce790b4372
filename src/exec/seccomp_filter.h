/*
 * The child side of the seccomp path: which programs the LD_PRELOAD shim
 * cannot reach (static ELF files, Go binaries: they make system calls
 * without libc), and the seccomp filter that hands their socket calls to a
 * supervisor (exec/seccomp_sup.h) as user notifications.
 *
 * The filter returns SECCOMP_RET_USER_NOTIF for the socket calls that name
 * an address or a socket's state (bind, connect, listen, accept, accept4,
 * getsockname, getpeername, setsockopt, getsockopt, sendto, sendmsg,
 * sendmmsg) and ALLOW for everything else: data on a converted socket is
 * a kernel socketpair, so read/write/poll/epoll cost nothing extra. A
 * system call of another ABI (i386 or x32 on x86_64, whose socketcall would
 * slip past the numbers) fails with ENOSYS rather than reach the host.
 *
 * seccomp_filter_install is async-signal-safe (only system calls): it runs
 * between fork and execve.
 */
#ifndef RR_EXEC_SECCOMP_FILTER_H
#define RR_EXEC_SECCOMP_FILTER_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum rr_exec_mode { RR_EXEC_AUTO, RR_EXEC_SHIM, RR_EXEC_SECCOMP };
#define RR_EXEC_MODE_ENV "RR_EXEC_MODE"   /* auto (default) | shim | seccomp */
/*
 * Set by rrctl in the environment of a program it runs on the seccomp path: the shim (in rrctl
 * itself, or in a dynamic program that program starts) must not send it to rrctl again.
 */
#define SECCOMP_WRAP_ENV "RRSHIM_SECCOMP_CHILD"

/* "auto", "shim", "seccomp" (NULL or "": auto). 0, or -1 for anything else. */
int seccomp_mode_parse(const char *s, enum rr_exec_mode *out);

/*
 * Why the shim cannot reach the ELF executable open at fd: "static" (no
 * PT_INTERP), "Go" (a .go.buildinfo section or a Go build-id note: Go makes
 * its own system calls even when dynamically linked), or NULL (the shim
 * reaches it, or fd is no ELF file of this machine's class: a script).
 */
const char *seccomp_elf_needs(int fd);

/* The same for the file at path (NULL if unreadable). */
const char *seccomp_path_needs(const char *path);

/* Number of instructions seccomp_filter_build writes. */
#define SECCOMP_FILTER_LEN 19

/* Writes the filter into out (cap >= SECCOMP_FILTER_LEN); returns its length or 0. */
size_t seccomp_filter_build(struct sock_filter *out, size_t cap);

/* Is system call nr one the filter hands to the supervisor? */
bool seccomp_filter_traps(long nr);

/*
 * Sets no_new_privs and installs the filter with a notification listener.
 * Returns the listener fd (close-on-exec), or -errno: -EINVAL / -ENOSYS on a
 * kernel without SECCOMP_FILTER_FLAG_NEW_LISTENER (Linux < 5.0).
 */
int seccomp_filter_install(void);

/*
 * The listener from the child to its supervisor (the parent) over a socketpair: the child
 * writes its number (sendmsg is trapped already) and waits; the parent takes the file with
 * pidfd_getfd (Linux 5.6) and answers. Both: 0 / the listener, or -errno / -1.
 */
int seccomp_listener_send(int sock, int fd);
int seccomp_listener_recv(int sock, pid_t child);

#endif
