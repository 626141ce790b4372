/* Shared by src/nl/rtnl*.c only: message building, attribute parsing, the request context. */
#ifndef RR_NL_RTNL_INTERNAL_H
#define RR_NL_RTNL_INTERNAL_H

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ip/fib.h"
#include "ip/router.h"
#include "nl/rtnl.h"

/* ---- outgoing messages ---- */

/* A growable byte buffer; an allocation failure sticks in nomem and later puts are no-ops. */
struct nlbuf {
	uint8_t *data;
	size_t len, cap;
	bool nomem;
};

void nlbuf_free(struct nlbuf *b);
/* Appends len bytes (zeroed if src is NULL), then zero padding to 4. Offset of the bytes, or 0 on nomem. */
size_t nlbuf_put(struct nlbuf *b, const void *src, size_t len);
/* Starts a message: nlmsghdr + fixed header of hdrlen bytes copied from hdr. Returns its offset. */
size_t nlmsg_begin(struct nlbuf *b, uint16_t type, uint16_t flags, uint32_t seq, uint32_t portid,
		   const void *hdr, size_t hdrlen);
/* Sets nlmsg_len of the message started at off. */
void nlmsg_end(struct nlbuf *b, size_t off);
void nla_put(struct nlbuf *b, uint16_t type, const void *data, size_t len);
void nla_put_u8(struct nlbuf *b, uint16_t type, uint8_t v);
void nla_put_u32(struct nlbuf *b, uint16_t type, uint32_t v);
void nla_put_str(struct nlbuf *b, uint16_t type, const char *s);
void nla_put_addr(struct nlbuf *b, uint16_t type, const struct ip_addr *a);
size_t nla_nest_begin(struct nlbuf *b, uint16_t type);
void nla_nest_end(struct nlbuf *b, size_t off);

/* ---- incoming attributes ---- */

struct nla {
	const uint8_t *data;   /* NULL when absent */
	uint16_t len;          /* payload length */
	size_t offset;         /* of the attribute header in the request, for NLMSGERR_ATTR_OFFS */
};

/*
 * Parses the attributes in [p, p+len) into tb[0..max] (types above max are
 * skipped, the last of a type wins). base is the request's start, for offsets.
 * 0, or -EINVAL if an attribute's length runs past the end or is below 4.
 */
int nla_parse(const uint8_t *p, size_t len, const uint8_t *base, struct nla *tb, unsigned max);
bool nla_get_u32(const struct nla *a, uint32_t *v);   /* false unless exactly 4 bytes */
bool nla_get_u8(const struct nla *a, uint8_t *v);
/* An address of family (4 or 16 bytes). */
bool nla_get_addr(const struct nla *a, int family, struct ip_addr *out);

/* ---- sockets and requests ---- */

struct rtnl_dgram {
	struct rtnl_dgram *next;
	uint32_t group;       /* multicast group, 0 for a reply */
	size_t len;
	uint8_t data[];
};

/*
 * A route dump going on in pieces (RTM_GETROUTE with NLM_F_DUMP): the next
 * piece is built when the reader has taken the previous one, as the
 * kernel's netlink_dump does with its callback state.
 */
struct rtnl_route_cursor {
	bool active;
	bool intr;                    /* the FIB changed since the dump began: NLM_F_DUMP_INTR */
	int family;
	uint32_t seq;
	uint64_t gen;                 /* rtnl.route_gen when the dump began */
	size_t pos;                   /* routes of the walk passed already */
	uint32_t table, oif;          /* filters (strict requests) */
	uint8_t protocol, type;
};

struct rtnl_sock {
	struct rtnl *nl;
	struct rtnl_sock *next;
	uint32_t portid;
	int protocol;                 /* NETLINK_ROUTE, or NETLINK_GENERIC (nl/genl.c) */
	uint64_t groups;              /* bit g-1 for RTNLGRP g (1..64) */
	bool strict, ext_ack, cap_ack, no_enobufs;
	bool enobufs;                 /* notifications were lost: next recv says so */
	size_t max_recv_len;          /* largest buffer seen in recv, sizes dump datagrams */
	struct rtnl_dgram *head, **tail;
	size_t n_dgrams;
	size_t notif_bytes;           /* bytes of queued notifications, against RTNL_SOCK_RCVBUF */
	size_t queued_bytes;          /* bytes of every queued datagram (rtnl_sock_busy) */
	struct rtnl_route_cursor route_dump;
};

struct rtnl_link_kind {
	char name[16];                /* IFLA_INFO_KIND */
	rtnl_link_create_fn create;
	void *ctx;
};

struct rtnl {
	struct ip_router *router;
	struct rtnl_link_kind kinds[RTNL_LINK_KINDS_MAX];
	size_t n_kinds;
	/* A link being created: its RTM_NEWLINK waits until its flags and MTU are set. */
	bool creating_link;
	struct rtnl_sock *socks;
	uint32_t next_portid;
	void (*wakeup)(void *ctx, struct rtnl_sock *s);
	void *wakeup_ctx;
	/* The request being handled, so notifications carry its portid and seq. */
	struct rtnl_sock *req_sock;
	const struct nlmsghdr *req_hdr;
	uint64_t route_gen;           /* FIB changes seen, for NLM_F_DUMP_INTR */
};

/* What a handler reports besides its errno: the extended-ACK message and bad attribute. */
struct rtnl_req {
	struct rtnl_sock *s;
	struct nlmsghdr hdr;          /* copy of the request header */
	const uint8_t *msg;           /* the whole request message (hdr.nlmsg_len bytes) */
	const uint8_t *body;          /* after the nlmsghdr */
	size_t body_len;
	const char *errmsg;
	const struct nla *bad_attr;
};

static inline int rtnl_fail(struct rtnl_req *q, int err, const char *msg)
{
	q->errmsg = msg;
	return err;
}

/*
 * The attributes after the request's fixed header of hdr_len bytes (ifinfomsg, ifaddrmsg,
 * rtmsg) into tb[0..max]. 0, or -EINVAL with errmsg as the extended-ACK message.
 */
static inline int rtnl_req_attrs(struct rtnl_req *q, size_t hdr_len, struct nla *tb, unsigned max,
				 const char *errmsg)
{
	size_t hl = NLMSG_ALIGN(hdr_len);
	if (nla_parse(q->body + hl, q->body_len > hl ? q->body_len - hl : 0, q->msg, tb, max) < 0)
		return rtnl_fail(q, -EINVAL, errmsg);
	return 0;
}

/* A dump in construction: whole datagrams, spliced into the socket queue at the end. */
struct rtnl_dump {
	struct rtnl_sock *s;
	uint32_t seq;
	size_t chunk;
	struct nlbuf cur;             /* the datagram being filled */
	struct rtnl_dgram *head, **tail;
	size_t n;
	bool nomem;
};

void rtnl_dump_init(struct rtnl_dump *d, struct rtnl_req *q);
void rtnl_dump_init_sock(struct rtnl_dump *d, struct rtnl_sock *s, uint32_t seq);
/* Adds one message (len bytes) to the dump. */
void rtnl_dump_add(struct rtnl_dump *d, const uint8_t *msg, size_t len);
/* Appends NLMSG_DONE and queues everything; or drops it all and returns -ENOMEM. */
int rtnl_dump_finish(struct rtnl_dump *d);
/* Queues what the dump holds, with NLMSG_DONE (flags) after it if done; -ENOMEM drops it all. */
int rtnl_dump_emit(struct rtnl_dump *d, bool done, uint16_t done_flags);
/* Queues the next piece of s's route dump (rtnl_route.c); ends the dump after the last one. */
void rtnl_route_dump_step(struct rtnl_sock *s);
/* Bytes of messages a route dump puts in one piece (a few datagrams). */
#define RTNL_DUMP_PIECE (4 * RTNL_DUMP_MAX)

/* Queues one reply datagram (a single message or several) to s. -ENOMEM. */
int rtnl_queue_reply(struct rtnl_sock *s, const uint8_t *data, size_t len);
/*
 * Multicasts one message to every socket in group. from_request: stamp it
 * with the portid/seq of the request being handled, if any (and honour its
 * NLM_F_ECHO), as the kernel does for routes and IPv4 addresses.
 */
void rtnl_notify(struct rtnl *nl, uint32_t group, struct nlbuf *msg, bool from_request);

/* Handlers: 0 (ACK if asked), -errno (error reply), or RTNL_DONE (replied already, no ACK). */
#define RTNL_DONE 1
int rtnl_link_get(struct rtnl_req *q);
int rtnl_link_set(struct rtnl_req *q);
int rtnl_link_del(struct rtnl_req *q);
/* The built-in "dummy" kind; ctx is the router. */
struct netif *rtnl_dummy_create(void *ctx, const char *name, int *err);
int rtnl_addr_get(struct rtnl_req *q);
int rtnl_addr_new(struct rtnl_req *q);
int rtnl_addr_del(struct rtnl_req *q);
int rtnl_route_get(struct rtnl_req *q);
int rtnl_route_new(struct rtnl_req *q);
int rtnl_route_del(struct rtnl_req *q);
/* The FIB observer (rtnl_route.c). */
void rtnl_route_observer(void *ctx, int event, const struct fib_route *r);
/* Builds the RTM_NEWLINK message of ifindex (1 = lo) into b. false if there is no such link. */
bool rtnl_link_fill(struct rtnl *nl, struct nlbuf *b, uint32_t ifindex, uint16_t type,
		    uint16_t flags, uint32_t seq, uint32_t portid, uint32_t change);

/* Multicasts RTM_NEWADDR/RTM_DELADDR (type) for address i of nif. */
void rtnl_addr_notify(struct rtnl *nl, const struct netif *nif, size_t i, uint16_t type);
/* The router's link observer: RTM_NEWLINK / RTM_DELADDR… RTM_DELLINK multicasts. */
void rtnl_link_observer(void *ctx, enum ip_link_event ev, struct netif *nif);

/* Linux RTN_* <-> FIB_TYPE_*. */
int rtnl_type_to_fib(uint8_t rtn);     /* -1 if unsupported */
uint8_t rtnl_type_from_fib(uint8_t t);

#endif
