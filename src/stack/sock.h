/*
 * The socket layer: the router's own sockets (UDP, ICMP echo, TCP) for the
 * programs that run inside it through librrshim.so. It serves the shim
 * socket (stack/shim_proto.h describes the protocol and the data fds),
 * receives packets for the router's addresses from the IP layer
 * (sock_layer_input, registered with ip_router_set_local_handler), and sends
 * what the sockets originate with ip_router_output_local.
 *
 * Threading: none; everything runs on the loop thread.
 */
#ifndef RR_STACK_SOCK_H
#define RR_STACK_SOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/loop.h"
#include "core/pbuf.h"
#include "ip/netif.h"
#include "ip/packet.h"
#include "ip/router.h"

struct rtnl;
struct sock_layer;

struct sock_stats {
	uint32_t sockets;            /* live router sockets of all kinds */
	uint32_t clients;            /* connected shim clients (hosted processes) */
	uint64_t udp_in, udp_out, udp_drops;   /* drops: no buffer room, bad checksum, too big */
	uint64_t dgram_fragmented;   /* datagrams sent in fragments */
	uint64_t min_ttl_drops;      /* datagrams under the socket's IP_MINTTL / IPV6_MINHOPCOUNT */
	uint64_t icmp_in, icmp_out;
	uint64_t tcp_accepted, tcp_connected, tcp_failed;
	uint64_t loopback;           /* packets to the router's own addresses, looped */
};

/* NULL when out of memory. The TCP engine is created here too. */
struct sock_layer *sock_layer_new(struct loop *loop, struct ip_router *router);
/* Frees every socket and client and closes the shim socket (unlinking it). */
void sock_layer_free(struct sock_layer *sl);
/* The rtnetlink emulation behind the layer's netlink sockets (to register link kinds). */
struct rtnl *sock_layer_rtnl(struct sock_layer *sl);

/*
 * Opens the shim socket at path (mode 0600, a stale one is replaced, a live
 * one is -EADDRINUSE). 0 or -errno, with a log line saying why.
 */
int sock_layer_open(struct sock_layer *sl, const char *path);
const char *sock_layer_path(const struct sock_layer *sl);

/* Serves a shim connection that already exists (tests; socketpair). 0 or -errno. */
int sock_layer_add_client(struct sock_layer *sl, int fd);

/* The IP layer's local handler (ip_local_handler): true if it took b. */
bool sock_layer_input(void *ctx, struct netif *in, struct pbuf *b, struct ip_packet *pkt);

const struct sock_stats *sock_layer_stats(const struct sock_layer *sl);

/* The default shim socket next to a control socket: "X.sock" -> "X-shim.sock". */
void sock_default_path(const char *control_path, char *out, size_t len);

#endif
