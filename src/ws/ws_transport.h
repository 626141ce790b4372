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

#include "wg/transport.h"

#define WS_LISTEN_MAX_CONNS 64     /* accepted connections per interface, any state */

/* Registers the WebSocket transport with the WireGuard devices (once, before they are made). */
void ws_transport_install(void);
extern const struct wg_transport_ops ws_transport_ops;

#endif
