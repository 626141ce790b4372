/* The WireGuard send and receive paths (send.c, receive.c). */
#ifndef RR_WG_DATAPATH_H
#define RR_WG_DATAPATH_H

#include <stdbool.h>

#include "core/pbuf.h"
#include "ip/addr.h"

struct wg_device;
struct wg_peer;

/* Queues an IP packet for peer and sends whatever can be sent now. Consumes b. */
void wg_send_packet(struct wg_peer *peer, struct pbuf *b);
/* Sends the staged packets if a session allows, else starts a handshake. */
void wg_send_staged(struct wg_peer *peer);
void wg_send_keepalive(struct wg_peer *peer);
/* is_retry: from the retransmit timer (keeps the attempt count). */
void wg_send_handshake_initiation(struct wg_peer *peer, bool is_retry);

/* One UDP datagram from the underlay. Consumes b. */
void wg_receive(struct wg_device *dev, struct pbuf *b, const union sockaddr_inet *from);

#endif
