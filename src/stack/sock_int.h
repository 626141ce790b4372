/* Internals shared by sock.c (server, ports, dispatch), sock_dgram.c and sock_tcp.c. */
#ifndef RR_STACK_SOCK_INT_H
#define RR_STACK_SOCK_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ip/addr.h"
#include "stack/shim_proto.h"
#include "stack/sock.h"
#include "stack/tcp.h"

struct rtnl;
struct rtnl_sock;
struct tcp_md5_keyset;
struct sock_diag_queue;

#define SOCK_MAX        4096          /* router sockets at once (bounded memory) */
#define SOCK_SLOT_BITS  12
#define SOCK_CLIENT_MAX 256
/*
 * Quotas, so that one hosted program cannot take what the others need: the
 * sockets one shim client (one process) may hold at once, as Linux's default
 * RLIMIT_NOFILE (EMFILE past it), and the shim connections of one pid.
 */
#define SOCK_CLIENT_SOCKS_MAX 1024
#define SOCK_CLIENTS_PER_PID  8
#define SOCK_EPHEMERAL_LO 32768
#define SOCK_EPHEMERAL_HI 60999
#define SOCK_TCP_CHUNK  65536         /* bytes moved per read/write between TCP and a socketpair */

enum sock_kind {
	SK_UDP, SK_ICMP,
	SK_TCP,          /* bound only, or a failed connect keeping its SO_ERROR */
	SK_TCP_LISTEN,
	SK_TCP_CONN,     /* connecting or connected: data fd is a stream socketpair */
	SK_NETLINK,      /* an emulated NETLINK_ROUTE socket (nl/rtnl.h) */
	SK_RAW,          /* raw ICMP / ICMPv6 (sock_raw.c) */
};

struct sock_client {
	struct loop_fd lfd;
	struct sock_layer *sl;
	struct sock_client *next;
	pid_t pid;                       /* SO_PEERCRED at connect, 0 if unknown */
	char comm[16];                   /* its /proc/PID/comm, for log lines */
	uint32_t n_socks;                /* sockets charged to it, against SOCK_CLIENT_SOCKS_MAX */
	bool quota_logged;               /* the EMFILE log line is written once per client */
};

struct sock {
	struct sock_layer *sl;
	int32_t id;
	enum sock_kind kind;
	struct sock_client *owner;       /* for sockets without a data fd: freed with it */
	struct sock_client *charged;     /* the client whose quota it counts against, or NULL */
	int family;                      /* the app's socket domain */
	struct shim_opts opts;
	/* binding (ports are ours for UDP/ICMP and for TCP binds; the TCP engine keeps its own) */
	bool bound, local_any, accepted;
	struct tcp_endpoint local, remote;
	bool connected;
	bool dead;                       /* freed after this loop round (events may be pending) */
	struct sock *next_dead;
	int err;                         /* pending SO_ERROR (positive errno) */
	struct loop_fd lfd;              /* rrouted's end of the data socketpair, -1 if none */
	uint32_t events;                 /* what lfd is registered for; UINT32_MAX: not on the loop */
	/* TCP */
	struct tcp_conn *conn;
	struct tcp_listener *lis, *lis4;   /* lis4: the IPv4 half of a dual-stack listener */
	uint64_t app_ino;                /* st_ino of the app's end (SHIM_OP_LOOKUP after exec) */
	size_t filler;                   /* bytes of filler queued from the app's end while connecting */
	bool app_eof, app_closed, tcp_eof, tcp_dead, shut_wr;
	uint8_t *rx;                     /* bytes from TCP not yet written to the app */
	size_t rx_len, rx_off;
	uint8_t *tx;                     /* bytes from the app tcp_send did not take yet */
	size_t tx_len, tx_off;
	/* netlink */
	struct rtnl_sock *nl;
	/* TCP options beyond shim_opts (sock_tcp_opt.c) */
	struct tcp_md5_keyset *md5;      /* TCP_MD5SIG keys; NULL until the first one */
	uint32_t user_timeout_ms;        /* TCP_USER_TIMEOUT */
	bool cork;                       /* TCP_CORK */
	uint16_t user_mss;               /* TCP_MAXSEG */
	/* accepted hints the engine has no use for, kept for getsockopt (docs/SOCKETS.md) */
	int32_t quickack, defer_accept, fastopen, fastopen_connect, notsent_lowat;
	struct sock_diag_queue *diag;    /* a NETLINK_SOCK_DIAG socket: replies not yet sent */
	/* multicast memberships (IP_ADD_MEMBERSHIP / IPV6_JOIN_GROUP), at most SOCK_MCAST_MAX */
	struct sock_mcast *mc;
	uint8_t n_mc;
};

#define SOCK_MCAST_MAX 20   /* Linux's IP_MAX_MEMBERSHIPS */
struct sock_mcast {
	struct ip_addr group;
	uint32_t ifindex;
};

struct sock_layer {
	struct loop *loop;
	struct ip_router *router;
	struct rtnl *rtnl;               /* the rtnetlink emulation behind netlink sockets */
	struct tcp_stack *tcp;
	struct loop_fd lfd;              /* the shim listening socket */
	char path[108];
	struct sock_client *clients;
	struct sock *socks[SOCK_MAX];
	uint32_t gen;
	uint16_t next_port[3];
	uint16_t ip_id;
	struct pbuf_queue loopq;         /* packets to our own addresses, re-input after the round */
	struct loop_hook loop_hook;
	struct sock *dead;               /* sock_free()d this round, released by reap_hook */
	struct loop_hook reap_hook;
	struct sock_stats stats;
	uint8_t scratch[SHIM_DGRAM_MAX + sizeof(struct shim_dgram_hdr)];
	uint8_t reply[sizeof(struct shim_rep) + SHIM_MSG_MAX];   /* handle_request's answer */
};

/* sock.c */
/*
 * A new socket charged to client c (NULL: nobody's). NULL with errno EMFILE
 * (c's quota is full, logged once per client with its pid and name), ENOBUFS
 * (SOCK_MAX sockets in use) or ENOMEM.
 */
struct sock *sock_new(struct sock_layer *sl, enum sock_kind kind, int family,
		      struct sock_client *c);
void sock_free(struct sock *s);
struct sock *sock_find(struct sock_layer *sl, int32_t id);
/* Sets s's events on the loop (0 with nothing wanted; removes it when app_closed). */
void sock_set_events(struct sock *s, uint32_t events);
/* Checks and records a binding; port 0 picks an ephemeral one. 0 or -errno. */
int sock_bind(struct sock *s, const struct shim_addr *a);
/* The local address toward dst (s's bound one, or the router's choice). 0 or -errno. */
int sock_pick_source(struct sock *s, const struct tcp_endpoint *dst, struct ip_addr *out);
/* A socketpair of type (SOCK_STREAM, SOCK_SEQPACKET) for a socket's data: the app's end and
 * ours, non-blocking. 0 or -errno. */
int sock_data_pair(int type, int *app, int *ours);
/* Sends an IP packet the router originates (also to its own addresses). Consumes b. */
void sock_ip_output(struct sock_layer *sl, struct pbuf *b, uint32_t scope_id);
void sock_addr_to_ep(const struct shim_addr *a, struct tcp_endpoint *ep);
void sock_ep_to_addr(const struct tcp_endpoint *ep, struct shim_addr *a);
uint16_t sock_pmtu(struct sock_layer *sl, const struct tcp_endpoint *dst);
uint64_t sock_fd_ino(int fd);

/* sock_dgram.c: UDP and ICMP echo */
int sock_dgram_open(struct sock *s, int *app_fd);
int sock_dgram_connect(struct sock *s, const struct shim_addr *a);
bool sock_udp_input(struct sock_layer *sl, struct netif *in, struct pbuf *b,
		    const struct ip_packet *pkt);
bool sock_icmp_input(struct sock_layer *sl, struct netif *in, struct pbuf *b,
		     const struct ip_packet *pkt);
/* Sends one datagram the app wrote (header h, payload data of len bytes; data may be changed). */
typedef void (*sock_dgram_sender)(struct sock *s, const struct shim_dgram_hdr *h, uint8_t *data,
				  size_t len);
/* Takes what the app wrote on a datagram socket's pair (a batch per wake-up) and sends each. */
void sock_dgram_drain(struct loop_fd *lfd, uint32_t events, sock_dgram_sender send);
void sock_dgram_event(struct loop_fd *lfd, uint32_t events);
bool sock_dgram_may_fragment(const struct shim_opts *o, int family);
uint16_t sock_dgram_mtu(struct sock *s, const struct tcp_endpoint *dst, uint32_t oif);
/* SHIM_OP_MCAST: join (or leave) group on interface g->scope_id (0: the router's choice). 0 or -errno. */
int sock_dgram_membership(struct sock *s, const struct shim_addr *g, bool join);

/* sock_netlink.c */
int sock_netlink_open(struct sock *s, int protocol, int *app_fd, int32_t *portid);
void sock_netlink_release(struct sock *s);   /* from sock_free */
void sock_netlink_wakeup(void *ctx, struct rtnl_sock *ns);
/*
 * Puts s on the loop with ours, its end of the datagram pair (cb reads the requests),
 * and hands the app its end: rtnetlink and inet_diag sockets alike.
 */
void sock_netlink_attach(struct sock *s, int ours, loop_fd_cb cb, int app, int *app_fd);
/*
 * One request datagram from the app's end into s->sl->scratch: its length, 0 when none
 * is waiting, or -1 when the app closed its end or the pair broke (s is freed then).
 */
ssize_t sock_netlink_recv(struct sock *s);

/*
 * sock_dgram.c, also for raw sockets: the header of a received datagram, from the
 * packet that brought it in on ifindex (peer address, interface, TTL and TOS); the
 * ports are the caller's.
 */
void sock_dgram_hdr_init(struct shim_dgram_hdr *h, const struct ip_packet *pkt, uint32_t ifindex);

/* sock_dgram.c, also for raw sockets: ICMP errors about what a socket sent */
struct err_map {
	int16_t errnum;
	uint8_t fatal;
};
/* The datagram an ICMP error quotes, as far as it is quoted. */
struct quoted {
	struct ip_addr src, dst;
	uint8_t proto;
	const uint8_t *l4;           /* the quoted transport header */
	size_t l4_len;               /* bytes of it (and after it) present, capped at its length */
};
/* The errno of an ICMP error type/code and whether it is hard; false: not an error. */
bool classify_error(int family, uint8_t type, uint8_t code, struct err_map *m);
/* The quoted datagram of an error's body [q, q+qlen); false if it quotes too little. */
bool parse_quoted(int family, const uint8_t *q, size_t qlen, struct quoted *out);
/* Queues the error (icmp: its header; data/len: the quoted payload) to s, in band. */
void deliver_error(struct sock *s, const struct ip_packet *pkt, uint32_t ifindex,
		   const struct quoted *q, uint16_t dport, const struct err_map *m,
		   const uint8_t *icmp, const uint8_t *data, size_t len);

/* sock_raw.c: raw ICMP/ICMPv6 sockets */
int sock_raw_bind(struct sock *s, const struct shim_addr *a);
int sock_raw_open(struct sock *s, int *app_fd);
/* A copy of an ICMP packet to our addresses for every raw socket that matches (b is not taken). */
void sock_raw_input(struct sock_layer *sl, struct netif *in, const struct ip_packet *pkt);

/* sock_inet_diag.c: NETLINK_SOCK_DIAG sockets (ss), answered from the socket table */
int sock_inet_diag_open(struct sock *s, int *app_fd, int32_t *portid);
void sock_inet_diag_release(struct sock *s);   /* from sock_netlink_release */
/* SHIM_OP_NL_BIND/SETOPT/GETOPT on such a socket: a positive errno or 0. */
int sock_inet_diag_opt(struct sock *s, const struct shim_req *req, int32_t *val);

/* sock_tcp.c */
extern const struct tcp_ops sock_tcp_ops;
int sock_tcp_connect(struct sock *s, const struct shim_addr *a, int *app_fd);
int sock_tcp_listen(struct sock *s, int backlog, int *app_fd);
void sock_tcp_set_options(struct sock *s);
void sock_tcp_release(struct sock *s);   /* from sock_free */
void sock_tcp_opts(const struct sock *s, struct tcp_options *o);

/* sock_tcp_opt.c: TCP_MD5SIG, TCP_USER_TIMEOUT, TCP_INFO (SHIM_OP_TCP_*) */
/*
 * Answers one SHIM_OP_TCP_* request (data: what followed the request).
 * Fills rep (sock_id, val) and up to cap bytes of out (*out_len). Returns 0
 * or a positive errno.
 */
int sock_tcp_opt_request(struct sock_client *c, const struct shim_req *req, const void *data,
			 size_t len, struct shim_rep *rep, uint8_t *out, size_t cap, size_t *out_len);
/* An accepted socket inherits what Linux copies from the listener. 0 or -ENOMEM. */
int sock_tcp_opt_inherit(struct sock *s, const struct sock *ls);
void sock_tcp_opt_release(struct sock *s);   /* from sock_free: wipes the keys */

#endif
