/*
 * WireGuard over WebSocket: the wg/transport.h hook for the WebSocket
 * connections of each interface (ws/ws_conn.h does one connection).
 *
 *   Dial out: a peer with Endpoint = ws://… or wss://… is reached over a
 *   connection its interface keeps open, reconnecting with backoff (0.5 s
 *   after a connection that was open, then 1, 2, 4 … 30 s). The peer's
 *   endpoint is one fixed path address for the dialer's whole life, so a
 *   reconnection changes nothing above the socket: the session goes on.
 *   Each (re)connection sends a keepalive (a handshake without a session),
 *   which tells the other side the new path.
 *   Accept: ListenWebSocket = [ADDR:]PORT. Each accepted connection is a new
 *   path address; a peer moves onto it when an authenticated message
 *   arrives over it, exactly as roaming. A plain GET gets the status page.
 *
 * One WireGuard message per binary frame, in both directions.
 */
#ifndef RR_WS_TRANSPORT_H
#define RR_WS_TRANSPORT_H

#include "conf/config.h"
#include "wg/transport.h"

#define WS_LISTEN_MAX_CONNS 64     /* accepted connections per interface, any state */

/* Registers the WebSocket transport with the WireGuard devices (once, before they are made). */
void ws_transport_install(void);
/*
 * Opens, keeps or closes dev's WebSocket listener and dial-out connections
 * to match conf, once its peers exist (wgconf/ calls it after
 * wg_device_apply). 0 when the transport is not installed. 0, or -errno with
 * "file:line: message" in err.
 */
int ws_transport_apply(struct wg_device *dev, const struct wg_iface_conf *conf, char *err,
		       size_t errlen);
extern const struct wg_transport_ops ws_transport_ops;

#endif
