/*
 * The supervisor of the seccomp path (exec/seccomp_filter.h has the child
 * side): it answers the socket-call notifications of a program tree that
 * the LD_PRELOAD shim cannot reach, by speaking the shim protocol
 * (stack/shim_proto.h) to rrouted on the program's behalf.
 *
 * DOC: How a call is answered
 *
 * The supervisor takes a copy of the caller's descriptor (pidfd_getfd) to
 * see what it is. Loopback, AF_UNIX, netlink and any descriptor that is not
 * an inet socket: SECCOMP_USER_NOTIF_FLAG_CONTINUE, the kernel does the
 * call. A TCP socket bound, connected or listening outside loopback becomes
 * a router socket: rrouted's data fd replaces the caller's descriptor at the
 * same number (SECCOMP_IOCTL_NOTIF_ADDFD with SETFD, the O_NONBLOCK and
 * close-on-exec flags kept), exactly the fd the shim would dup3 there, so
 * read/write/poll/epoll then go to a kernel socketpair untouched. Accepted
 * connections arrive with SECCOMP_ADDFD_FLAG_SEND (the fd is the call's
 * result, atomically). Names and options of router sockets are answered
 * from a table keyed by the inode of the caller's file (shared across
 * fork, so children ask about inherited sockets too).
 *
 * Arguments are read with process_vm_readv and trusted only after
 * SECCOMP_IOCTL_NOTIF_ID_VALID says the caller still waits in that call (a
 * pid reused by another process fails it). A caller that died or was
 * interrupted makes SEND fail with ENOENT: its work is dropped. A blocking
 * connect or accept is parked (the supervisor waits on the socketpair)
 * and answered when it can complete; at most SUP_PARKED_MAX are parked.
 *
 * UDP, ICMP echo and other inet sockets are not converted: any send or
 * connect of theirs outside loopback fails with ENETUNREACH (a bind with
 * EADDRNOTAVAIL) and a line on stderr, never reaching the host's network.
 *
 * Needs Linux >= 5.14 (ADDFD_FLAG_SEND); seccomp_sup_check says so clearly.
 */
#ifndef RR_EXEC_SECCOMP_SUP_H
#define RR_EXEC_SECCOMP_SUP_H

#include <stdbool.h>

struct seccomp_sup;

/* Can this kernel run the seccomp path? 0, or -1 with a message in why[len]. */
int seccomp_sup_check(char *why, unsigned len);

/*
 * A supervisor for the notification listener (taken over) that talks to
 * rrouted's shim socket at shim_path. prog names the program in messages;
 * verbose logs every conversion on stderr. NULL (with a message) on failure.
 */
struct seccomp_sup *seccomp_sup_new(int listener, const char *shim_path, const char *prog,
				    bool verbose);

/* A descriptor to poll for POLLIN: then call seccomp_sup_run. */
int seccomp_sup_fd(const struct seccomp_sup *sup);

/*
 * Handles what is ready (bounded work). false once no process uses the filter any more, or
 * rrouted closed the shim socket: then free it (the program's calls fail with ENOSYS).
 */
bool seccomp_sup_run(struct seccomp_sup *sup);

void seccomp_sup_free(struct seccomp_sup *sup);

#endif
