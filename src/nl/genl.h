/*
 * Generic netlink (NETLINK_GENERIC) behind the shim, shared by src/nl only.
 * A NETLINK_GENERIC socket is an rtnl_sock whose protocol says so: it has the
 * same queues, dumps and error replies; only the dispatch differs. Two
 * families exist: the controller ("nlctrl", which answers CTRL_CMD_GETFAMILY
 * so programs learn the other ids) and "wireguard" (genl_wg.c), the kernel's
 * WireGuard configuration interface that the `wg` tool speaks.
 */
#ifndef RR_NL_GENL_H
#define RR_NL_GENL_H

#include <linux/genetlink.h>
#include <stddef.h>
#include <stdint.h>

#include "nl/rtnl_internal.h"

/* The id the kernel would allocate dynamically; programs ask the controller for it. */
#define GENL_WG_FAMILY_ID (GENL_ID_PMCRAID + 2)

/*
 * Largest message in a dump: the kernel fills one skb of NLMSG_GOODSIZE per
 * dump round (a 4 KiB page minus skb overhead), and readers such as
 * libmnl's size their buffer to a page, so bigger messages would be cut.
 */
#define GENL_DUMP_MSG_MAX 3776

/* A request on a NETLINK_GENERIC socket (rtnl.c calls it instead of the rtnetlink dispatch). */
int genl_dispatch(struct rtnl_req *q);

/* Starts a message: nlmsghdr + genlmsghdr. Returns its offset (nlmsg_end closes it). */
size_t genlmsg_begin(struct nlbuf *b, uint16_t family, uint16_t flags, uint32_t seq,
		     uint32_t portid, uint8_t cmd, uint8_t version);

/* The wireguard family (genl_wg.c): attrs/len are what follows the genlmsghdr. */
int genl_wg_request(struct rtnl_req *q, uint8_t cmd, const uint8_t *attrs, size_t len);

#endif
