/*
 * librrshim.so internals: the real libc functions, the per-fd table, the RPC
 * to rrouted and the log. The interposed API itself is in shim.c (sockets)
 * and shim_if.c (interface names and addresses).
 */
#ifndef RR_SHIM_SHIM_H
#define RR_SHIM_SHIM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "stack/shim_proto.h"

#define SHIM_EXPORT __attribute__((visibility("default")))
#define SHIM_TAB_MAX 65536          /* fds above this are never tracked (logged once) */
#define IFNAMSIZ_SHIM 15                /* interface name without the NUL */

struct shim_real {
	int (*socket)(int, int, int);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*listen)(int, int);
	int (*accept)(int, struct sockaddr *, socklen_t *);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*getsockname)(int, struct sockaddr *, socklen_t *);
	int (*getpeername)(int, struct sockaddr *, socklen_t *);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	ssize_t (*send)(int, const void *, size_t, int);
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	ssize_t (*recv)(int, void *, size_t, int);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*writev)(int, const struct iovec *, int);
	int (*close)(int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, ...);
	int (*shutdown)(int, int);
};
extern struct shim_real shim_real;
void shim_resolve(void);

enum shim_state { SFD_NONE, SFD_KERNEL, SFD_ROUTER };
enum shim_kind { SK_STREAM, SK_UDP, SK_PING, SK_NETLINK, SK_RAW };

#define SHIM_MAX_REPLAY 8
struct shim_sockopt {   /* SOL_SOCKET options set on the kernel socket, replayed after conversion */
	int name;
	socklen_t len;
	uint8_t val[16];
};

struct shim_fd {
	uint8_t state, kind;
	bool listening, connected, bound, loop_bound, placeholder;
	bool recvttl, recvtos;
	bool shut_wr;                                 /* datagram socket after shutdown(SHUT_WR) */
	bool recvpktinfo, recvpktinfo6, recvtclass;   /* shim_dgram.c: control messages wanted */
#define SHIM_PENDING_MC 4
	uint8_t n_pending_mc;                         /* memberships joined before the bind */
	int priority;                                 /* SO_PRIORITY (no queueing discipline here) */
	struct shim_addr pending_mc[SHIM_PENDING_MC];
	int domain, type, protocol;
	int32_t sock_id;
	uint32_t nl_portid, nl_groups;   /* netlink sockets */
	struct shim_opts opts;
	struct shim_addr local, peer;
	unsigned n_replay;
	struct shim_sockopt replay[SHIM_MAX_REPLAY];
};

/* e as a fresh kernel socket of domain and type (without flags): no router socket yet. */
static inline void shim_fd_init_kernel(struct shim_fd *e, int domain, int type)
{
	memset(e, 0, sizeof(*e));
	e->state = SFD_KERNEL;
	e->sock_id = -1;
	e->domain = domain;
	e->type = type;
}

/* Copies fd's entry out; false if fd is not tracked. */
bool shim_fd_get(int fd, struct shim_fd *out);
void shim_fd_put(int fd, const struct shim_fd *e);
void shim_fd_drop(int fd);
/* The fast, lock-free test read/write use: is fd a router datagram socket? */
bool shim_fd_is_dgram(int fd);
/* The same test with detail (poll): SHIM_DG_* bits, 0 for anything else. */
#define SHIM_DG_DGRAM   0x1u   /* a router UDP or ping socket */
#define SHIM_DG_ERRORS  0x2u   /* rrouted may send it ICMP errors (IP_RECVERR or connected) */
#define SHIM_DG_RECVERR 0x4u   /* IP_RECVERR / IPV6_RECVERR is on */
uint8_t shim_fd_dgram_flags(int fd);

bool shim_enabled(void);
/*
 * One request to rrouted. rep->err is rrouted's answer; the return value is
 * 0, or -errno when rrouted could not be reached. *fd_out gets a passed fd
 * (or -1); data (may be NULL) up to cap bytes.
 */
int shim_rpc(const struct shim_req *req, struct shim_rep *rep, int *fd_out, void *data,
	     size_t cap);
/* The same with extra_len bytes of data after the request (ops with shim_op_takes_data). */
int shim_rpc_with_data(const struct shim_req *req, const void *extra, size_t extra_len,
		       struct shim_rep *rep, void *data, size_t cap);
/* A request without reply (SHIM_OP_CLOSE). */
void shim_rpc_oneway(const struct shim_req *req);
bool shim_is_ctl_fd(int fd);
/* dup2/dup3 is about to overwrite fd: move the control connection if it is there. */
void shim_ctl_evict(int fd);

void shim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs once per key (a string literal naming the call and the reason). */
void shim_log_once(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* After execve: recognises the router sockets the program inherited (by inode). */
void shim_adopt_inherited(void);

/* shim_netlink.c: NETLINK_ROUTE sockets, served by rrouted's rtnetlink emulation. */
int shim_netlink_socket(int type, int protocol);
int shim_netlink_bind(int fd, struct shim_fd *e, const struct sockaddr *sa, socklen_t len);
int shim_netlink_name(const struct shim_fd *e, bool peer, struct sockaddr *sa, socklen_t *len);
int shim_netlink_setsockopt(int fd, struct shim_fd *e, int level, int name, const void *val,
			    socklen_t len);
int shim_netlink_getsockopt(int fd, const struct shim_fd *e, int level, int name, void *val,
			    socklen_t *len);
ssize_t shim_netlink_sendmsg(int fd, const struct msghdr *msg, int flags);
ssize_t shim_netlink_recvmsg(int fd, struct msghdr *msg, int flags);

/*
 * shim_errqueue.c: ICMP errors on router datagram sockets (IP_RECVERR) and
 * the poll()/ppoll()/select() that report them as POLLERR.
 */
/* recvmsg(MSG_ERRQUEUE): the oldest error, as Linux gives it; -1 EAGAIN if none. */
ssize_t shim_errq_recvmsg(int fd, const struct shim_fd *e, struct msghdr *msg, int flags);
/*
 * An ordinary receive consumed an error message (h, then er and payload in
 * buf/len as they arrived): keeps it for MSG_ERRQUEUE if the socket has
 * IP_RECVERR. Returns the errno the receive must fail with.
 */
int shim_errq_reported(int fd, const struct shim_fd *e, const struct shim_dgram_hdr *h,
		       const void *buf, size_t len);
/*
 * A send failed locally (EMSGSIZE beyond the path MTU): with IP_RECVERR the
 * error queue gets it too, SO_EE_ORIGIN_LOCAL with ee_info = the MTU, as
 * Linux's ip_local_error does (tracepath learns the path MTU from it).
 */
void shim_errq_local(int fd, const struct shim_fd *e, const struct shim_addr *dst, int errnum,
		     uint32_t info);
/* fd is closed or reused: its kept errors go. */
void shim_errq_drop(int fd);

/* shim_raw.c: raw ICMP/ICMPv6 sockets (a router socket from the start, no privilege). */
int shim_raw_socket(int domain, int type, int protocol);
/* ICMP_FILTER / ICMP6_FILTER on a raw socket: handled here, not by rrouted. */
bool shim_raw_own_option(const struct shim_fd *e, int level, int name);
int shim_raw_setsockopt(int fd, const struct shim_fd *e, const void *val, socklen_t len);
int shim_raw_getsockopt(int fd, const struct shim_fd *e, void *val, socklen_t *len);
/* Does fd's filter drop the message just read into iov (got bytes)? */
bool shim_raw_filtered(int fd, const struct shim_fd *e, const struct iovec *iov, size_t iovlen,
		       size_t got);


/*
 * shim_tcp.c: the IPPROTO_TCP options rrouted keeps beyond shim_opts
 * (TCP_MD5SIG, TCP_MD5SIG_EXT, TCP_USER_TIMEOUT, TCP_CONGESTION, TCP_INFO).
 * shim_tcp_opt_ours says whether name is one; the calls return 0 or -1 with errno.
 */
bool shim_tcp_opt_ours(int name, bool get);
int shim_tcp_setsockopt(int fd, struct shim_fd *e, int name, const void *val, socklen_t len);
int shim_tcp_getsockopt(int fd, const struct shim_fd *e, int name, void *val, socklen_t *len);

/*
 * shim_dgram.c: IP-level options of router datagram sockets (path MTU,
 * packet info, free bind) and their control messages.
 */
#define SHIM_OPT_UNKNOWN (-100000)   /* not an option shim_dgram.c handles */
/* Linux's defaults for a new socket's entry. */
void shim_dgram_init(struct shim_fd *e);
/* The socket became the router's: the memberships joined before go to rrouted. */
void shim_dgram_after_bind(struct shim_fd *e);
/* As shim.c's opt_set: 1 (rrouted must hear of it), 2 (the shim's alone), -errno, or SHIM_OPT_UNKNOWN. */
int shim_dgram_opt_set(struct shim_fd *e, int level, int name, const void *val, socklen_t len);
/* 0, -errno, or SHIM_OPT_UNKNOWN. */
int shim_dgram_opt_get(const struct shim_fd *e, int level, int name, void *val, socklen_t *len);
/* IP_PKTINFO / IPV6_PKTINFO / IP_TTL / IPV6_HOPLIMIT / IP_TOS / IPV6_TCLASS of a send into h. 0 or -errno. */
int shim_dgram_send_cmsgs(const struct shim_fd *e, const struct msghdr *msg,
			  struct shim_dgram_hdr *h);
/*
 * -EMSGSIZE when a datagram of total payload bytes may not be fragmented and
 * exceeds the path MTU (*mtu gets it, 0 if unknown), else 0.
 */
int shim_dgram_check_size(const struct shim_fd *e, const struct shim_dgram_hdr *h, size_t total,
			  uint32_t *mtu);
/*
 * Appends one control message (len bytes of data) to msg at msg_control + *used; one
 * that does not fit sets MSG_CTRUNC, as the kernel does.
 */
static inline void shim_put_cmsg(struct msghdr *msg, size_t *used, int level, int type,
				 const void *data, size_t len)
{
	size_t space = CMSG_SPACE(len);
	if (!msg->msg_control || *used + space > msg->msg_controllen) {
		msg->msg_flags |= MSG_CTRUNC;
		return;
	}
	struct cmsghdr ch = { .cmsg_len = CMSG_LEN(len), .cmsg_level = level, .cmsg_type = type };
	uint8_t *p = (uint8_t *)msg->msg_control + *used;
	memset(p, 0, space);
	memcpy(p, &ch, sizeof(ch));
	memcpy(CMSG_DATA((struct cmsghdr *)p), data, len);
	*used += space;
}

/* Appends the packet-info / TOS control messages e asked for, at msg_control + *used. */
void shim_dgram_recv_cmsgs(const struct shim_fd *e, const struct shim_dgram_hdr *h,
			   struct msghdr *msg, size_t *used);

/* shim_if.c: interface index of a router interface, 0 if none (errno set). */
unsigned shim_if_index(const char *name);
int shim_if_name(unsigned index, char *name);

#endif
