/*
 * rtnetlink emulation: what a hosted program (BIRD, iproute2) sees when it
 * opens socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE) inside the router.
 *
 * The transport (shim <-> rrouted) hands each sendmsg datagram to
 * rtnl_sock_send and reads answers with rtnl_sock_recv, one datagram at a
 * time, as the kernel would deliver them (sender portid 0, the "kernel").
 * Links are the router's netifs plus an emulated "lo" (ifindex 1); addresses
 * are the netifs' addrs; routes are the FIB, every table. Requests change the
 * router (RTM_NEWROUTE/DELROUTE, NEWADDR/DELADDR, the MTU by NEWLINK/SETLINK)
 * and every FIB change, whoever made it, is multicast to subscribed sockets.
 *
 * The same sockets serve NETLINK_GENERIC (rtnl_sock_set_protocol): the
 * controller and the "wireguard" family, see nl/genl.h.
 *
 * Supported: RTM_GETLINK/GETADDR/GETROUTE dumps and gets, RTM_NEWLINK/SETLINK
 * (MTU, up/down; with NLM_F_CREATE a link of a registered kind: "dummy" built
 * in, "wireguard" registered by rrouted), RTM_DELLINK, RTM_NEWADDR/DELADDR
 * (also on lo, which holds the node's own addresses), RTM_NEWROUTE/DELROUTE; empty dumps for
 * neighbours, rules, qdiscs, nexthop objects and netconf; -EOPNOTSUPP else.
 * Socket options NETLINK_ADD/DROP_MEMBERSHIP, NETLINK_GET_STRICT_CHK,
 * NETLINK_EXT_ACK, NETLINK_CAP_ACK, NETLINK_NO_ENOBUFS (others: -ENOPROTOOPT).
 * Not emulated: RTM_F_FIB_MATCH lookups through other tables than main,
 * address lifetimes, ECMP (one next hop per route), the local table.
 */
#ifndef RR_NL_RTNL_H
#define RR_NL_RTNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ip_router;
struct netif;
struct rtnl;
struct rtnl_sock;

/* What one socket may hold in notifications before ENOBUFS (the kernel's default rmem). */
#define RTNL_SOCK_RCVBUF 212992
/* Dump datagrams: at least this, at most RTNL_DUMP_MAX, sized to the reader's buffer. */
#define RTNL_DUMP_MIN 4096
#define RTNL_DUMP_MAX 16384

/* One per router. Takes the FIB observer (fib_set_observer) until rtnl_free. NULL: no memory. */
struct rtnl *rtnl_new(struct ip_router *r);
/* Frees rtnl and every socket still open; gives the FIB observer back. */
void rtnl_free(struct rtnl *nl);

/*
 * Creates the interface "ip link add name type KIND" asks for, linked to the
 * router (ip_router_add_netif). NULL with *err = -errno (-EEXIST, -ENOMEM, ...)
 * if it cannot. rtnl then applies the request's up flag and MTU (links start
 * down, as on Linux) and multicasts one RTM_NEWLINK for it.
 */
typedef struct netif *(*rtnl_link_create_fn)(void *ctx, const char *name, int *err);
#define RTNL_LINK_KINDS_MAX 4
/* Makes kind creatable. 0, -EEXIST (kind taken), -ENOSPC or -EINVAL (name too long). */
int rtnl_register_link_kind(struct rtnl *nl, const char *kind, rtnl_link_create_fn create,
			    void *ctx);

/*
 * An address of nif changes outside rtnetlink (a reload applying a file):
 * multicasts RTM_NEWADDR for addr, which nif has now (call after adding it),
 * or RTM_DELADDR for addr, which nif still has (call before removing it).
 * Does nothing if nif has no such address.
 */
struct ip_addr;
void rtnl_address_changed(struct rtnl *nl, const struct netif *nif, const struct ip_addr *addr,
			  bool added);

/*
 * cb(ctx, s) is called when s, which had nothing to read, gets something (a
 * reply, a notification, or the ENOBUFS condition). It must not call rtnl.
 */
void rtnl_set_wakeup(struct rtnl *nl, void (*cb)(void *ctx, struct rtnl_sock *s), void *ctx);

/*
 * One emulated NETLINK_ROUTE socket. portid 0 picks a free one as the kernel's
 * autobind does. NULL with errno: EADDRINUSE (portid taken), ENOMEM.
 */
struct rtnl_sock *rtnl_sock_new(struct rtnl *nl, uint32_t portid);
void rtnl_sock_free(struct rtnl_sock *s);
uint32_t rtnl_sock_portid(const struct rtnl_sock *s);   /* for getsockname */
/*
 * Makes s a NETLINK_GENERIC socket (nl/genl.c: the controller and the
 * "wireguard" family) before its first request. 0, or -EPROTONOSUPPORT for
 * another protocol than NETLINK_ROUTE / NETLINK_GENERIC.
 */
int rtnl_sock_set_protocol(struct rtnl_sock *s, int protocol);

/* bind(): nl_groups, the RTMGRP_* bit mask (replaces groups 1..32). 0. */
int rtnl_sock_bind(struct rtnl_sock *s, uint32_t groups);
/* setsockopt(SOL_NETLINK, opt, &value). 0, -EINVAL (bad group) or -ENOPROTOOPT. */
int rtnl_sock_setsockopt(struct rtnl_sock *s, int opt, int value);
/* getsockopt for the same options (membership: value = 1 if in group). */
int rtnl_sock_getsockopt(const struct rtnl_sock *s, int opt, int *value);

/*
 * One sendmsg datagram: processes every netlink message in it, queueing
 * replies (data, ACKs, errors) in order. Returns 0, or -ENOMEM if a reply
 * could not be queued. Malformed input never fails the call: it earns error
 * replies, as the kernel's.
 */
int rtnl_sock_send(struct rtnl_sock *s, const void *buf, size_t len);

/*
 * Whether the transport should stop taking requests from s until its reader
 * catches up: a route dump is still going on (later requests would be
 * answered in the middle of it), or more than RTNL_SOCK_RCVBUF bytes wait.
 * This is how a program that asks without reading is held to a bounded
 * queue: its own socket buffer fills and its sends block.
 */
bool rtnl_sock_busy(const struct rtnl_sock *s);

/* Datagrams waiting (a pending ENOBUFS counts as one). 0: recv would block. */
size_t rtnl_sock_pending(const struct rtnl_sock *s);
/*
 * The next datagram into buf (at most len bytes), removed unless peek.
 * Returns its full length (MSG_TRUNC semantics: more than len when cut),
 * -EAGAIN when empty, or -ENOBUFS once after notifications were lost.
 * *group (may be NULL) gets the multicast group it was sent to, 0 for replies.
 */
ssize_t rtnl_sock_recv(struct rtnl_sock *s, void *buf, size_t len, bool peek, uint32_t *group);

#endif
