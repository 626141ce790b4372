/*
 * NETLINK_SOCK_DIAG emulation (inet_diag, what `ss` reads): the router's own
 * TCP and UDP sockets, IPv4 and IPv6, as the kernel would list its own.
 *
 * The codec only: the socket layer describes its sockets as a table of
 * struct sock_diag_entry, and sock_diag_request turns one request datagram
 * into the reply datagrams, appended to a queue the transport drains.
 *
 * Supported: SOCK_DIAG_BY_FAMILY with struct inet_diag_req_v2 for AF_INET /
 * AF_INET6 and IPPROTO_TCP / IPPROTO_UDP: dumps filtered by the state mask,
 * and exact lookups by inet_diag_sockid; the INET_DIAG_MEMINFO extension.
 * Other families and protocols (unix, raw, sctp, mptcp...) get -ENOENT as from
 * a kernel without their diag module; other message types -EINVAL. A
 * bytecode filter (INET_DIAG_REQ_BYTECODE) is ignored: ss filters again itself.
 */
#ifndef RR_NL_SOCK_DIAG_H
#define RR_NL_SOCK_DIAG_H

#include <stddef.h>
#include <stdint.h>

/* Linux TCP state numbers (include/net/tcp_states.h), which inet_diag reports. */
enum sock_diag_state {
	SOCK_DIAG_ESTABLISHED = 1, SOCK_DIAG_SYN_SENT, SOCK_DIAG_SYN_RECV, SOCK_DIAG_FIN_WAIT1,
	SOCK_DIAG_FIN_WAIT2, SOCK_DIAG_TIME_WAIT, SOCK_DIAG_CLOSE, SOCK_DIAG_CLOSE_WAIT,
	SOCK_DIAG_LAST_ACK, SOCK_DIAG_LISTEN, SOCK_DIAG_CLOSING,
};

/* One socket as the socket layer sees it. */
struct sock_diag_entry {
	uint8_t family;            /* the socket's domain: AF_INET or AF_INET6 */
	uint8_t protocol;          /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t state;             /* enum sock_diag_state */
	uint8_t src[16], dst[16];  /* network order; IPv4 in the first 4 bytes of an AF_INET socket,
				      v4-mapped in an AF_INET6 one */
	uint16_t sport, dport;     /* host order */
	uint32_t ifindex;          /* bound device or link-local scope, 0 if none */
	uint32_t rqueue, wqueue;   /* bytes (listeners: accept queue length and backlog) */
	uint32_t uid;
	uint64_t inode;            /* of the program's end of the socket, as fstat shows it */
	uint64_t cookie;           /* stable per socket */
};

/* The reply datagrams of a request, in order. */
struct sock_diag_dgram {
	struct sock_diag_dgram *next;
	size_t len;
	uint8_t data[];
};

struct sock_diag_queue {
	struct sock_diag_dgram *head, *tail;
};

/* Largest reply datagram (messages are never split; one larger message goes alone). */
#define SOCK_DIAG_DGRAM_MAX 8192

/*
 * Answers every netlink message in one request datagram [buf, buf+len)
 * against the sockets e[0..n), appending reply datagrams to q; replies carry
 * portid, the requesting socket's (programs check it). Malformed
 * input earns error replies, never a failure. 0, or -ENOMEM (q keeps what
 * was built so far).
 */
int sock_diag_request(const void *buf, size_t len, uint32_t portid,
		      const struct sock_diag_entry *e, size_t n, struct sock_diag_queue *q);

/* Removes and frees the first datagram of q. */
void sock_diag_queue_pop(struct sock_diag_queue *q);
void sock_diag_queue_clear(struct sock_diag_queue *q);

#endif
