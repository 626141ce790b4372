/*
 * `rrctl bridge`: relays WireGuard between a local UDP port and WebSocket,
 * for the side of a peering that runs kernel WireGuard or wireguard-go.
 *
 *   rrctl bridge [--pin sha256/B64] [ADDR:]PORT ws(s)://host/path
 *     UDP in, WebSocket out: the local WireGuard's peer has Endpoint =
 *     ADDR:PORT (default 127.0.0.1); datagrams go to the URL one per binary
 *     frame, and frames come back to whoever sent the last datagram. The
 *     connection is kept open and reconnected with backoff.
 *   rrctl bridge --listen [ADDR:]PORT HOST:PORT
 *     WebSocket in, UDP out: accepts upgrades (an rrouted peer with
 *     Endpoint = ws://this-host:PORT/…) and relays each connection through
 *     its own UDP socket to the local WireGuard at HOST:PORT.
 */
#ifndef RR_WS_BRIDGE_H
#define RR_WS_BRIDGE_H

/* argv after "bridge"; runs until killed. Returns an exit status (2: usage). */
int ws_bridge_main(int argc, char **argv);

#endif
