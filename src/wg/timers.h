/*
 * WireGuard's timers (whitepaper section 6), as event hooks the send and
 * receive paths call at the right moments:
 *
 * - retransmit_handshake: no response REKEY_TIMEOUT (+ jitter) after an
 *   initiation: send another, until MAX_TIMER_HANDSHAKES, then give up,
 *   drop the staged packets and schedule key zeroing.
 * - send_keepalive: we received data but sent nothing for KEEPALIVE_TIMEOUT:
 *   send a keepalive so the other side knows the session works.
 * - new_handshake: we sent data but heard nothing for KEEPALIVE_TIMEOUT +
 *   REKEY_TIMEOUT: the session may be dead, start a new handshake.
 * - zero_key_material: no new session for 3 * REJECT_AFTER_TIME: wipe keys.
 * - persistent_keepalive: nothing sent or received for the configured
 *   interval: send a keepalive to keep NAT and stateful firewalls open.
 */
#ifndef RR_WG_TIMERS_H
#define RR_WG_TIMERS_H

struct wg_peer;

void wg_timers_init(struct wg_peer *peer);
void wg_timers_stop(struct wg_peer *peer);

/* Should be called after an authenticated data packet is sent. */
void wg_timers_data_sent(struct wg_peer *peer);
/* Should be called after an authenticated data packet is received. */
void wg_timers_data_received(struct wg_peer *peer);
/* Should be called after any type of authenticated packet is sent (keepalive, data, handshake). */
void wg_timers_any_authenticated_packet_sent(struct wg_peer *peer);
/* Should be called after any type of authenticated packet is received. */
void wg_timers_any_authenticated_packet_received(struct wg_peer *peer);
/* Should be called after a handshake initiation message is sent. */
void wg_timers_handshake_initiated(struct wg_peer *peer);
/* Should be called after a handshake response is received and processed, or
 * when a responder session is confirmed by its first data packet. */
void wg_timers_handshake_complete(struct wg_peer *peer);
/* Should be called after ephemeral keys are created with a new session. */
void wg_timers_session_derived(struct wg_peer *peer);
/* Should be called before any authenticated packet is sent or after one is received. */
void wg_timers_any_authenticated_packet_traversal(struct wg_peer *peer);

#endif
