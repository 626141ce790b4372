/*
 * UDP segmentation offload for the WireGuard sockets, both unprivileged:
 *
 *   GSO (UDP_SEGMENT): a run of same-size datagrams to one endpoint leaves in
 *   one message whose cmsg gives the segment size; the kernel (or the veth /
 *   NIC) cuts it up. Only the last datagram of a run may be shorter.
 *   GRO (UDP_GRO): the kernel hands us datagrams of one flow coalesced into
 *   one buffer, with the segment size in a cmsg; we cut it back into packets.
 *
 * Both are probed per socket (setsockopt); a kernel without them leaves the
 * socket on the plain recvmmsg/sendmmsg path, and a GSO send the kernel
 * refuses (EIO: no checksum offload on the route) turns GSO off for good.
 */
#ifndef RR_WG_UDP_BATCH_H
#define RR_WG_UDP_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "core/pbuf.h"
#include "ip/addr.h"

/* The socket options, for C libraries whose headers predate them. */
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

/* Kernel limits: UDP_MAX_SEGMENTS is 64 on older kernels; a datagram is < 64 KiB. */
#define UDP_BATCH_GSO_MAX_SEGS  64
#define UDP_BATCH_GSO_MAX_BYTES 65000
/* A coalesced datagram is at most this long (the IP total length limit). */
#define UDP_BATCH_GRO_MAX_BYTES 65536

struct wg_device;
struct wg_socket;

/*
 * Sets s->gro and s->gso for the socket now in s->lfd.fd (turning GRO on):
 * every path that puts a new fd into a wg_socket calls it, since the receive
 * path must know whether the kernel may hand it coalesced datagrams.
 */
void udp_batch_socket_setup(struct wg_socket *s);
/*
 * One recvmmsg (non-blocking) on a WireGuard socket fd into the n_bufs messages
 * set up: how many arrived, 0 when none (an error other than "nothing now" is
 * logged), or -1 when n_bufs is 0 as no pbuf could be had (counted as a drop).
 */
int udp_batch_recv(struct wg_device *dev, int fd, struct mmsghdr *msgs, int n_bufs);
/*
 * Whether the message in b (whose recvmmsg slot is m) holds a datagram to process:
 * received, and not truncated. If not, b is freed (and a truncated one counted).
 */
bool udp_batch_received(struct wg_device *dev, const struct mmsghdr *m, bool received,
			struct pbuf *b);
/* Turns UDP_GRO on for fd; false when the kernel does not have it. */
bool udp_batch_enable_gro(int fd);
/* True when the kernel knows UDP_SEGMENT (probed without changing the socket). */
bool udp_batch_probe_gso(int fd);

/*
 * The segment size of a datagram of len bytes received with msg (its control
 * data): the UDP_GRO cmsg value, or len when it was not coalesced.
 */
size_t udp_batch_gro_segment_size(const struct msghdr *msg, size_t len);

/*
 * How many of the n queued packets from the first on can leave as one GSO
 * message: same endpoint, same length as the first, except that the last of
 * the run may be shorter; at most UDP_BATCH_GSO_MAX_SEGS segments and
 * UDP_BATCH_GSO_MAX_BYTES bytes. At least 1 when n > 0.
 */
unsigned udp_batch_gso_run(struct pbuf *const *bufs, const union sockaddr_inet *dst, unsigned n);

/* Receive rounds for a socket with GRO on: every segment goes to wg_receive. */
void udp_batch_receive_gro(struct wg_device *dev, struct wg_socket *s);
/*
 * Sends the socket's queued packets as GSO runs in one sendmmsg and frees
 * them. A run the kernel refuses (EMSGSIZE/EINVAL: segments larger than the
 * route's MTU, which plain sends would fragment; EIO: no GSO there, which
 * also turns s->gso off) is resent one datagram per packet.
 */
void udp_batch_send_gso(struct wg_device *dev, struct wg_socket *s);
/* False when RR_UDP_OFFLOAD=0 is in the environment (benchmarks compare both paths). */
bool udp_batch_offload_allowed(void);

#endif
