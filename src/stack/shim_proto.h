/*
 * The wire protocol between librrshim.so (src/shim/) and rrouted (stack/sock.c).
 * Header-only: the shim includes it without linking the router.
 *
 * DOC: Theory of operation
 *
 * Control: each hosted process holds ONE AF_UNIX SOCK_SEQPACKET connection to
 * the shim socket ($RRSHIM_SOCKET). Every request is one message (struct
 * shim_req) answered by one message (struct shim_rep, then rep.data_len bytes
 * of data), possibly carrying one file descriptor with SCM_RIGHTS. Requests
 * are synchronous; the shim serialises them with a mutex.
 *
 * Router sockets have ids that are global in rrouted (not per connection), so
 * a child that inherited a socket across fork() can still ask about it over
 * its own connection. A socket with a data fd lives as long as the app holds
 * that fd (rrouted sees the hang-up on its end); one without (a TCP socket
 * that is only bound, a failed connect) lives until SHIM_OP_CLOSE or until the
 * connection that created it goes away.
 *
 * Data fds (what the app's fd number becomes, by dup3 in the shim):
 *  - TCP connection: a SOCK_STREAM socketpair; rrouted moves bytes between
 *    its end and the TCP engine, with backpressure both ways. While an active
 *    open is in progress, the app's end is kept unwritable by filler bytes
 *    rrouted wrote from it (and discards once the handshake completed), so
 *    poll/epoll/select report POLLOUT exactly when a real socket would.
 *  - TCP listener: a SOCK_SEQPACKET socketpair (the accept channel); each
 *    accepted connection is one message (struct shim_accept_msg) carrying the
 *    connection's stream fd.
 *  - UDP and ICMP echo ("ping") sockets: a SOCK_SEQPACKET socketpair; each
 *    message is struct shim_dgram_hdr followed by the payload, both ways
 *    (towards the app, a message may instead carry an ICMP error about a
 *    datagram the socket sent: struct shim_dgram_err below).
 *    For ICMP the payload is the ICMP message (echo header + data); rrouted
 *    sets the identifier and the checksum, as Linux ping sockets do.
 *
 * Addresses are struct shim_addr: family AF_INET/AF_INET6, port in host
 * order, scope for link-local. IPv4-mapped IPv6 addresses travel as AF_INET;
 * the shim maps them back for AF_INET6 sockets.
 */
#ifndef RR_STACK_SHIM_PROTO_H
#define RR_STACK_SHIM_PROTO_H

#include <netinet/in.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#define SHIM_PROTO_VERSION 1
#define SHIM_ENV_SOCKET "RRSHIM_SOCKET"
/*
 * "1": getuid()/geteuid() report 0 inside the router (src/shim/shim_root.c).
 * Set by rrctl's sudo (rrctl exec puts it first in PATH) so that tools
 * which insist on root, wg-quick first, run unmodified: they are root of
 * the router's own network, as in a user namespace, and nothing more.
 */
#define SHIM_ENV_ROOT "RRSHIM_ROOT"
#define SHIM_ENV_FDS    "RRSHIM_FDS"     /* router fds handed across execve (see shim) */
#define SHIM_MSG_MAX    65536            /* largest control message (the interface list) */
#define SHIM_DGRAM_MAX  65535            /* largest datagram payload a message carries */

enum shim_op {
	SHIM_OP_HELLO = 1,   /* arg = version; rep.val = version */
	SHIM_OP_BIND,        /* family/type/protocol, addr, opts -> sock_id, local; fd for datagrams */
	SHIM_OP_CONNECT,     /* sock_id (-1: implicit bind), addr, opts -> local, peer;
				fd for streams (handshake in progress); datagrams: sets the peer */
	SHIM_OP_LISTEN,      /* sock_id (-1: wildcard, ephemeral), arg = backlog -> fd */
	SHIM_OP_SETOPT,      /* sock_id, opts: the whole option set again */
	SHIM_OP_STATUS,      /* sock_id -> err (pending SO_ERROR, cleared), val = connected */
	SHIM_OP_CLOSE,       /* sock_id: the app closed its fd (a hint; no reply needed) */
	SHIM_OP_IFLIST,      /* -> data: struct shim_iflist_hdr, ifinfo[], ifaddr[] */
	SHIM_OP_LOOKUP,      /* ino: which router socket has this app end? -> sock_id, local, peer,
				data: struct shim_sockinfo (a program exec'ed with inherited fds) */
	/*
	 * NETLINK_ROUTE sockets, answered by the rtnetlink emulation (nl/rtnl.h).
	 * The data fd is a SOCK_SEQPACKET socketpair carrying the netlink
	 * datagrams as they are, both ways (the peer is always the "kernel").
	 */
	SHIM_OP_NL_OPEN,     /* protocol -> sock_id, val = portid, fd */
	SHIM_OP_NL_BIND,     /* sock_id, arg = nl_groups bit mask */
	SHIM_OP_NL_SETOPT,   /* sock_id, type = SOL_NETLINK option, arg = value */
	SHIM_OP_NL_GETOPT,   /* sock_id, type = option -> val */
	/*
	 * TCP options beyond shim_opts (stack/sock_tcp_opt.c). A socket the app
	 * has not bound or connected yet has no sock_id: with sock_id -1 (and
	 * family) rrouted creates it unbound, and the reply names it; the shim
	 * keeps that id for the bind/connect/listen that follows.
	 */
	SHIM_OP_TCP_MD5,     /* sock_id, family; data after the request: struct shim_tcp_md5
				-> sock_id */
	SHIM_OP_TCP_SETOPT,  /* sock_id, family, type = IPPROTO_TCP option, arg = value -> sock_id */
	SHIM_OP_TCP_GETOPT,  /* sock_id, type = option -> val; TCP_INFO: data = Linux's tcp_info */
	SHIM_OP_PMTU,        /* sock_id, addr (family 0: the connected peer) -> val = the MTU a
				datagram to it may have (IP_MTU / IPV6_MTU, EMSGSIZE checks) */
	SHIM_OP_MCAST,       /* sock_id, arg = 1 join / 0 leave, addr = group, addr.scope_id =
				interface (0: the router's choice) (IP_ADD_MEMBERSHIP, IPV6_JOIN_GROUP) */
	SHIM_OP_MAX
};

/* The largest data a request may carry after struct shim_req (SHIM_OP_TCP_MD5 only). */
#define SHIM_REQ_DATA_MAX 256
static inline bool shim_op_takes_data(uint32_t op) { return op == SHIM_OP_TCP_MD5; }

struct shim_addr {
	uint16_t family;     /* 0 (none), AF_INET, AF_INET6 */
	uint16_t port;       /* host order; for ICMP sockets the echo identifier */
	uint32_t scope_id;   /* interface index for link-local addresses */
	uint8_t addr[16];    /* network order; IPv4 in the first 4 bytes */
};

/* The socket options rrouted applies (the shim replays them all on each change). */
struct shim_opts {
	uint8_t reuseaddr, reuseport, v6only, nodelay, keepalive;
	uint8_t ttl;         /* 0: default 64 */
	uint8_t tos;
	uint8_t min_ttl;     /* IP_MINTTL / IPV6_MINHOPCOUNT (GTSM) */
	uint8_t recverr;     /* IP_RECVERR / IPV6_RECVERR: every ICMP error is queued */
	uint8_t pmtudisc;    /* IP_MTU_DISCOVER: IP_PMTUDISC_* (the shim starts it at WANT) */
	uint8_t pmtudisc6;   /* IPV6_MTU_DISCOVER: IPV6_PMTUDISC_* (same values) */
	uint8_t flags;       /* SHIM_OPT_* */
	uint32_t bind_ifindex;                        /* SO_BINDTODEVICE */
	uint32_t keepidle, keepintvl, keepcnt;
	uint32_t sndbuf, rcvbuf;
	uint32_t mtu6;       /* IPV6_MTU: largest IPv6 packet sent (fragments), 0: the path MTU */
	uint32_t pktinfo_ifindex;                     /* sticky IPV6_PKTINFO: outgoing interface */
	uint8_t pktinfo_src[16];                      /* ... and source address (:: none) */
	uint32_t mcast_ifindex;  /* IP_MULTICAST_IF / IPV6_MULTICAST_IF: 0 the router's choice */
	uint8_t mcast_hops;      /* IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS (the shim starts it at 1) */
	uint8_t mcast_noloop;    /* IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP off (default on) */
	uint8_t pad2[2];
};
#define SHIM_OPT_FREEBIND 0x1u   /* IP_FREEBIND / IPV6_FREEBIND / IP_TRANSPARENT: bind any address */
#define SHIM_OPT_DONTFRAG 0x2u   /* IPV6_DONTFRAG: EMSGSIZE rather than fragments */

#ifndef IP_RECVERR
#define IP_RECVERR 11
#endif
#ifndef IPV6_MINHOPCOUNT
#define IPV6_MINHOPCOUNT 73
#endif

/* The Linux TCP option names (netinet/tcp.h's TCP states clash with stack/tcp.h's). */
enum {
	SHIM_TCP_NODELAY = 1, SHIM_TCP_KEEPIDLE = 4, SHIM_TCP_KEEPINTVL = 5, SHIM_TCP_KEEPCNT = 6,
};

/*
 * The integer options the shim and rrctl's seccomp supervisor both record in a router
 * socket's set the same way: 1 when name is one of them (o updated), 0 when it is not,
 * -EINVAL for a value out of range. Whether the value is an int at all, and the options
 * that depend on the socket's state (IPV6_V6ONLY), are the caller's.
 */
static inline int shim_opts_set_int(struct shim_opts *o, int level, int name, int v)
{
	bool v6 = level == IPPROTO_IPV6;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_REUSEADDR: o->reuseaddr = !!v; return 1;
		case SO_REUSEPORT: o->reuseport = !!v; return 1;
		case SO_KEEPALIVE: o->keepalive = !!v; return 1;
		default: return 0;
		}
	}
	if (level == IPPROTO_TCP) {
		switch (name) {
		case SHIM_TCP_NODELAY: o->nodelay = !!v; return 1;
		case SHIM_TCP_KEEPIDLE: o->keepidle = (uint32_t)v; return 1;
		case SHIM_TCP_KEEPINTVL: o->keepintvl = (uint32_t)v; return 1;
		case SHIM_TCP_KEEPCNT: o->keepcnt = (uint32_t)v; return 1;
		default: return 0;
		}
	}
	if (level != IPPROTO_IP && !v6)
		return 0;
	if ((!v6 && name == IP_TTL) || (v6 && name == IPV6_UNICAST_HOPS)) {
		if (v < -1 || v > 255 || (v == 0 && !v6))
			return -EINVAL;
		o->ttl = v < 0 ? 0 : (uint8_t)v;
		return 1;
	}
	if ((!v6 && name == IP_TOS) || (v6 && name == IPV6_TCLASS)) {
		o->tos = v < 0 ? 0 : (uint8_t)v;
		return 1;
	}
	if ((!v6 && name == IP_MINTTL) || (v6 && name == IPV6_MINHOPCOUNT)) {
		if (v < 0 || v > 255)
			return -EINVAL;
		o->min_ttl = (uint8_t)v;
		return 1;
	}
	if ((!v6 && name == IP_RECVERR) || (v6 && name == IPV6_RECVERR)) {
		/* One switch for both families (Linux keeps two for dual-stack sockets). */
		o->recverr = !!v;
		return 1;
	}
	return 0;
}

struct shim_req {
	uint32_t op;
	int32_t sock_id;
	int32_t family, type, protocol;
	int32_t arg;
	struct shim_addr addr;
	struct shim_opts opts;
	uint64_t ino;        /* SHIM_OP_LOOKUP: st_ino of the app's end */
};

/*
 * A request op about router socket sock_id (-1: none yet) of family, type and protocol
 * (0: not said); everything else zero, for the caller to fill in.
 */
static inline void shim_req_init(struct shim_req *req, uint32_t op, int32_t sock_id, int family,
				 int type, int protocol)
{
	memset(req, 0, sizeof(*req));
	req->op = op;
	req->sock_id = sock_id;
	req->family = family;
	req->type = type;
	req->protocol = protocol;
}

struct shim_rep {
	int32_t err;         /* 0 or a positive errno */
	int32_t sock_id;
	int32_t val;
	uint32_t data_len;   /* bytes following this header */
	struct shim_addr local, peer;
};

enum shim_sock_kind { SHIM_KIND_STREAM, SHIM_KIND_UDP, SHIM_KIND_PING, SHIM_KIND_RAW };
struct shim_sockinfo {
	int32_t domain, kind;   /* kind: enum shim_sock_kind */
	uint8_t listening, connected, bound, pad;
	struct shim_opts opts;
};

/* One TCP_MD5SIG / TCP_MD5SIG_EXT key (RFC 2385), as the app gave it. Secret: wiped after use. */
#define SHIM_TCP_MD5_KEY_MAX 80
struct shim_tcp_md5 {
	struct shim_addr peer;   /* port ignored; scope_id: the interface (TCP_MD5SIG_FLAG_IFINDEX) */
	uint8_t prefixlen;       /* the full length for a single address */
	uint8_t keylen;          /* 0: delete the key for peer/prefixlen */
	uint8_t pad[2];
	uint8_t key[SHIM_TCP_MD5_KEY_MAX];
};

struct shim_accept_msg {
	int32_t sock_id;
	uint32_t pad;
	struct shim_addr local, peer;
};

#define SHIM_DGRAM_HAS_TTL 0x1u
#define SHIM_DGRAM_ERR     0x2u   /* receive only: an ICMP error, see struct shim_dgram_err */
#define SHIM_DGRAM_HAS_TOS 0x4u   /* send: tos is an IP_TOS / IPV6_TCLASS message's */
struct shim_dgram_hdr {
	struct shim_addr peer;   /* source on receive; destination on send (family 0: connected peer);
				    an error: the destination of the datagram it is about */
	uint32_t ifindex;        /* receive: the interface it arrived on; send: the outgoing one
				    from IP_PKTINFO / IPV6_PKTINFO (0: by the route) */
	uint8_t ttl, tos;        /* receive: from the IP header (an error: the ICMP packet's) */
	uint16_t flags;
	struct shim_addr local;  /* receive: the datagram's destination (IP_PKTINFO ipi_addr);
				    send: the source an IP_PKTINFO / IPV6_PKTINFO message asked for
				    (family 0: the socket's own choice), ifindex its interface */
};

/*
 * An ICMP error about a datagram the socket sent (Linux's IP_RECVERR error
 * queue), in band on the data fd so it keeps its order and wakes poll: the
 * message is shim_dgram_hdr with SHIM_DGRAM_ERR, this, and then the quoted
 * payload of the datagram (after its UDP header; for ping sockets the
 * quoted ICMP message), as far as the error quoted it. rrouted sends one
 * for every error to a socket with opts.recverr, and only the hard ones
 * (fatal) to a connected socket without it, as Linux does. The shim turns
 * it into a sock_extended_err for recvmsg(MSG_ERRQUEUE), or into errnum
 * for an ordinary receive, and poll into POLLERR.
 */
#define SHIM_ERR_ORIGIN_LOCAL 1   /* SO_EE_ORIGIN_LOCAL: not an ICMP message, no offender */
struct shim_dgram_err {
	struct shim_addr offender;   /* who sent the ICMP error (SO_EE_OFFENDER), port 0 */
	uint32_t info;               /* ee_info: the MTU of frag-needed / packet-too-big */
	int32_t errnum;              /* ee_errno, positive: what Linux maps the error to */
	uint8_t origin;              /* AF_INET: ICMP (SO_EE_ORIGIN_ICMP), AF_INET6: ICMPv6,
					SHIM_ERR_ORIGIN_LOCAL: the shim's own (EMSGSIZE) */
	uint8_t type, code;          /* of the ICMP message */
	uint8_t fatal;               /* a hard error (Linux's harderr) */
};

struct shim_iflist_hdr {
	uint32_t n_ifs, n_addrs;
};

#define SHIM_IF_UP 0x1u
struct shim_ifinfo {
	uint32_t ifindex;
	char name[16];
	uint32_t mtu;
	uint32_t flags;
};

struct shim_ifaddr {
	uint32_t ifindex;
	uint8_t family, prefixlen, pad[2];
	uint8_t addr[16];
};

/* ---- helpers both sides use ---- */

static inline bool shim_addr_is_any(const struct shim_addr *a)
{
	static const uint8_t zero[16];
	return memcmp(a->addr, zero, a->family == AF_INET ? 4 : 16) == 0;
}

static inline bool shim_addr_is_loopback(const struct shim_addr *a)
{
	if (a->family == AF_INET)
		return a->addr[0] == 127;
	static const uint8_t lo6[16] = { [15] = 1 };
	return a->family == AF_INET6 && memcmp(a->addr, lo6, 16) == 0;
}

/*
 * A socket address from the app into a shim_addr. IPv4-mapped IPv6
 * addresses become AF_INET. Returns 0, or -1 if sa is not a valid AF_INET /
 * AF_INET6 address of len bytes.
 */
static inline int shim_addr_from_sockaddr(struct shim_addr *out, const struct sockaddr *sa,
					  socklen_t len)
{
	memset(out, 0, sizeof(*out));
	if (!sa || len < (socklen_t)sizeof(sa_family_t))
		return -1;
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in in;
		if (len < (socklen_t)sizeof(in))
			return -1;
		memcpy(&in, sa, sizeof(in));
		out->family = AF_INET;
		out->port = ntohs(in.sin_port);
		memcpy(out->addr, &in.sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 in6;
		if (len < (socklen_t)sizeof(in6))
			return -1;
		memcpy(&in6, sa, sizeof(in6));
		out->port = ntohs(in6.sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
			out->family = AF_INET;
			memcpy(out->addr, in6.sin6_addr.s6_addr + 12, 4);
		} else {
			out->family = AF_INET6;
			memcpy(out->addr, &in6.sin6_addr, 16);
			out->scope_id = in6.sin6_scope_id;
		}
		return 0;
	}
	return -1;
}

/*
 * A shim_addr into a socket address for a socket of domain (AF_INET6
 * sockets see IPv4 peers as mapped addresses). Writes at most *len bytes
 * and sets *len to the full size, as getsockname does.
 */
static inline void shim_addr_to_sockaddr(const struct shim_addr *a, int domain,
					 struct sockaddr *sa, socklen_t *len)
{
	union {
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u;
	socklen_t full;
	memset(&u, 0, sizeof(u));
	if (domain == AF_INET6) {
		u.in6.sin6_family = AF_INET6;
		u.in6.sin6_port = htons(a->port);
		if (a->family == AF_INET) {
			u.in6.sin6_addr.s6_addr[10] = 0xff;
			u.in6.sin6_addr.s6_addr[11] = 0xff;
			memcpy(u.in6.sin6_addr.s6_addr + 12, a->addr, 4);
		} else {
			memcpy(&u.in6.sin6_addr, a->addr, 16);
			u.in6.sin6_scope_id = a->scope_id;
		}
		full = sizeof(u.in6);
	} else {
		u.in.sin_family = AF_INET;
		u.in.sin_port = htons(a->port);
		memcpy(&u.in.sin_addr, a->addr, 4);
		full = sizeof(u.in);
	}
	if (sa && len) {
		socklen_t n = *len < full ? *len : full;
		memcpy(sa, &u, n);
	}
	if (len)
		*len = full;
}

/*
 * The descriptor passed with a received message (SCM_RIGHTS; the last one if there are
 * several), or -1. n is what recvmsg returned: after a failed call mh's control area was never
 * written and holds nothing to read.
 */
static inline int shim_passed_fd(struct msghdr *mh, ssize_t n)
{
	int fd = -1;
	for (struct cmsghdr *ch = n >= 0 ? CMSG_FIRSTHDR(mh) : NULL; ch; ch = CMSG_NXTHDR(mh, ch))
		if (ch->cmsg_level == SOL_SOCKET && ch->cmsg_type == SCM_RIGHTS &&
		    ch->cmsg_len >= CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(ch), sizeof(int));
	return fd;
}

/*
 * recvmsg and sendmsg as the two sides call them: libc's, or the shim's saved real ones
 * (the shim must not go through its own wrappers).
 */
typedef ssize_t shim_recvmsg_fn(int, struct msghdr *, int);
typedef ssize_t shim_sendmsg_fn(int, const struct msghdr *, int);

/*
 * Receives one message of at most len bytes into buf, and the descriptor passed with it
 * into *fd (-1: none; the caller owns it, also when it then rejects the message).
 * *truncated (may be NULL) tells a message longer than len. Returns what recvmsg returned;
 * EINTR is the caller's to retry or report.
 */
static inline ssize_t shim_recv_with_fd(shim_recvmsg_fn *recv_fn, int sock, void *buf,
					size_t len, int flags, int *fd, bool *truncated)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b,
			     .msg_controllen = sizeof(cm.b) };
	ssize_t n = recv_fn(sock, &mh, flags);
	*fd = shim_passed_fd(&mh, n);
	if (truncated)
		*truncated = n >= 0 && (mh.msg_flags & MSG_TRUNC);
	return n;
}

/* Sends one message of len bytes from buf, with the descriptor fd unless it is -1. */
static inline ssize_t shim_send_with_fd(shim_sendmsg_fn *send_fn, int sock, const void *buf,
					size_t len, int fd, int flags)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.b;
		mh.msg_controllen = sizeof(cm.b);
		struct cmsghdr *ch = CMSG_FIRSTHDR(&mh);
		ch->cmsg_level = SOL_SOCKET;
		ch->cmsg_type = SCM_RIGHTS;
		ch->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(ch), &fd, sizeof(int));
	}
	return send_fn(sock, &mh, flags);
}

/* A reply as received: at least the header and exactly the data it announces. */
static inline bool shim_rep_valid(const void *buf, size_t len)
{
	struct shim_rep rep;
	if (len < sizeof(rep))
		return false;
	memcpy(&rep, buf, sizeof(rep));
	return rep.data_len == len - sizeof(rep) && rep.err >= 0 && rep.err < 4096;
}

/* An interface list reply's data: counts that match its length. */
static inline bool shim_iflist_valid(const void *data, size_t len, struct shim_iflist_hdr *h)
{
	if (len < sizeof(*h))
		return false;
	memcpy(h, data, sizeof(*h));
	if (h->n_ifs > 4096 || h->n_addrs > 65536)
		return false;
	return len == sizeof(*h) + h->n_ifs * sizeof(struct shim_ifinfo) +
		      h->n_addrs * sizeof(struct shim_ifaddr);
}

#endif
