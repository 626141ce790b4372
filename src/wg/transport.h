/*
 * The hook by which WireGuard messages take a path other than the UDP
 * sockets (the WebSocket transport, ws/ws_transport.h), without the device
 * knowing what that path is.
 *
 * Such a path is an endpoint in 100::/64, the IPv6 discard-only prefix
 * (RFC 6666), with a number that is never reused in its low 64 bits: to the
 * device, the peers, roaming and `wg show` it is an endpoint like any other,
 * and a reconnection is just a new endpoint (the session survives it). Sends
 * to such an endpoint go to ops->send, never to a UDP socket, so they cannot
 * leak onto the network.
 */
#ifndef RR_WG_TRANSPORT_H
#define RR_WG_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ip/addr.h"

struct wg_device;

struct wg_transport_ops {
	/* One WireGuard message to the path `to`. 0 or -errno (the caller counts the drop). */
	int (*send)(struct wg_device *dev, const union sockaddr_inet *to, const void *data,
		    size_t len);
	/* The device is going away: close everything of it (dev->transport). */
	void (*destroy)(struct wg_device *dev);
};

/* Set once at start by the program (rrouted); NULL: UDP only. */
void wg_transport_register(const struct wg_transport_ops *ops);
const struct wg_transport_ops *wg_transport_ops(void);

/* True for an endpoint in 100::/64 (a transport path). */
bool wg_transport_is_path(const union sockaddr_inet *a);
/* The endpoint of path number id (port 1, so that it prints as [100::ID]:1). */
void wg_transport_path_addr(union sockaddr_inet *out, uint64_t id);

#endif
