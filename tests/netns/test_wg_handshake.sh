#!/usr/bin/env bash
# rrouted <-> wireguard-go: handshakes started from either side, ping to every kind of address.
#
#   netns rrt-<pid>-r (rrouted, uid 65534, no caps)   netns rrt-<pid>-p (wireguard-go)
#   +--------------------------------+                +--------------------------------+
#   | rrouted wg0        udp/51820   |   WireGuard    | rrp<pid> (tun)     udp/51821   |
#   |  172.20.0.1/32 fd42:0:1::1/64  |<==============>|  172.20.0.2/32 fd42:0:1::2/64  |
#   |  fe80::1/64                    |                |  fe80::2/64                    |
#   | veth vr 192.0.2.1/24 ----------+----------------+- veth vp 192.0.2.2/24          |
#   +--------------------------------+                +--------------------------------+
#
# Part 1: wireguard-go knows rrouted's endpoint; its ping starts the handshake.
# Part 2: rrouted restarts with Endpoint + PersistentKeepalive = 5 while wireguard-go has no
#         endpoint for it, so only rrouted can start the handshake.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
rr_require

rr_setup_step "namespaces, veth and wireguard-go peer set up" rr_pair_setup

# ---- part 1: the peer initiates
rr_setup_step "rrouted starts and opens its control socket" rr_rrouted_start r "$NSR"
rr_check_unpriv "rrouted runs as uid 65534 with CapEff 0 (no capabilities at all)" "${RR_PID[r]}"

rr_ping "ping 172.20.0.1 from the peer (peer starts the handshake)" "$NSP" -c 3 -i 0.3 -w 15 172.20.0.1
hs=$(rr_wg_handshake "$NSP" "$PDEV")
if [ "${hs:-0}" -gt 0 ]; then
	ok "wg show latest-handshakes on the peer is non-zero"
else
	not_ok "wg show latest-handshakes on the peer is non-zero" "$(rr_wg "$NSP" show "$PDEV" 2>&1)"
fi

json=$(rr_ctl r show peers --json 2>&1)
peer_jq() { jq -er ".interfaces[] | select(.name == \"wg0\") | .peers[0] | $1" <<<"$json"; }
if peer_jq "select(.public_key == \"$PEER_PUB\" and .latest_handshake > 0 and .handshakes >= 1)" >/dev/null 2>&1; then
	ok "rrctl show peers --json shows the handshake (latest_handshake > 0, handshakes >= 1)"
else
	not_ok "rrctl show peers --json shows the handshake (latest_handshake > 0, handshakes >= 1)" "$json"
fi
ep=$(peer_jq .endpoint 2>/dev/null)
if [ "$ep" = "192.0.2.2:51821" ]; then
	ok "rrouted learned the peer's endpoint 192.0.2.2:51821 from its handshake"
else
	not_ok "rrouted learned the peer's endpoint 192.0.2.2:51821 from its handshake" "endpoint: ${ep:-?}" "$json"
fi

rr_ping "ping fd42:0:1::1 (IPv6) from the peer" "$NSP" -6 -c 3 -i 0.3 -w 10 fd42:0:1::1
rr_ping "ping fe80::1%$PDEV (link-local) from the peer" "$NSP" -6 -c 3 -i 0.3 -w 10 "fe80::1%$PDEV"
rr_ping "ping with 1392-byte payload (full 1420 MTU) from the peer" "$NSP" -c 2 -i 0.3 -w 10 -M "do" -s 1392 172.20.0.1

json=$(rr_ctl r show peers --json 2>&1)
if peer_jq 'select(.rx_bytes > 0 and .tx_bytes > 0)' >/dev/null 2>&1; then
	ok "rrctl counts rx_bytes and tx_bytes for the peer"
else
	not_ok "rrctl counts rx_bytes and tx_bytes for the peer" "$json"
fi
ijson=$(rr_ctl r show interfaces --json 2>&1)
if jq -e ".interfaces[] | select(.name == \"wg0\" and .public_key == \"$RR_PUB\" and .listen_port == 51820
	and .mtu == 1420 and (.addresses | index(\"172.20.0.1/32\")) != null and .rx_packets > 0 and .tx_packets > 0)" \
	<<<"$ijson" >/dev/null 2>&1; then
	ok "rrctl show interfaces --json: key, port, MTU, addresses, packet counters"
else
	not_ok "rrctl show interfaces --json: key, port, MTU, addresses, packet counters" "$ijson"
fi

# ---- part 2: only rrouted can initiate
if rr_rrouted_stop r; then
	ok "rrouted stops cleanly on SIGTERM (exit 0 within 5 s)"
else
	not_ok "rrouted stops cleanly on SIGTERM (exit 0 within 5 s)" "$RR_STOP_WHY"
fi
rr_wg "$NSP" set "$PDEV" peer "$RR_PUB" remove &&
	rr_wg "$NSP" set "$PDEV" peer "$RR_PUB" allowed-ips "$RR_PAIR_ALLOWED_PEER" preshared-key "$KEYS/psk"
if [ "$(rr_wg_handshake "$NSP" "$PDEV")" = 0 ] && [ "$(rr_wg_endpoint "$NSP" "$PDEV")" = "(none)" ]; then
	ok "peer re-added without endpoint and without session"
else
	not_ok "peer re-added without endpoint and without session" "$(rr_wg "$NSP" show "$PDEV" 2>&1)"
fi
rr_write_iface r wg0 "$KEYS/rr.key" 51820 "172.20.0.1/32, fd42:0:1::1/64, fe80::1/64" \
	"$PEER_PUB" "$KEYS/psk" 192.0.2.2:51821 "$RR_PAIR_ALLOWED_RR" 5
rr_check_or_finish "rrouted restarts with Endpoint and PersistentKeepalive = 5" \
	rr_rrouted_start r "$NSR"
rr_check_unpriv "restarted rrouted runs as uid 65534 with CapEff 0" "${RR_PID[r]}"

if wait_until 15 rr_wg_has_handshake "$NSP" "$PDEV"; then
	ok "rrouted initiates the handshake (peer's latest-handshake non-zero within 15 s)"
else
	not_ok "rrouted initiates the handshake (peer's latest-handshake non-zero within 15 s)" \
		"$(rr_wg "$NSP" show "$PDEV" 2>&1)" "$(rr_ctl r show peers --json 2>&1)"
fi
pep=$(rr_wg_endpoint "$NSP" "$PDEV")
if [ "$pep" = "192.0.2.1:51820" ]; then
	ok "peer learned rrouted's endpoint 192.0.2.1:51820 from the handshake"
else
	not_ok "peer learned rrouted's endpoint 192.0.2.1:51820 from the handshake" "endpoint: $pep"
fi
if wait_until 5 rr_handshakes_ge r wg0 1; then
	ok "rrctl show peers --json counts the handshake rrouted initiated"
else
	not_ok "rrctl show peers --json counts the handshake rrouted initiated" "$(rr_ctl r show peers --json 2>&1)"
fi
rr_ping "ping 172.20.0.1 from the peer over rrouted's session" "$NSP" -c 3 -i 0.3 -w 10 172.20.0.1
rr_ping "ping fe80::1%$PDEV over rrouted's session" "$NSP" -6 -c 3 -i 0.3 -w 10 "fe80::1%$PDEV"

if rr_rrouted_stop r INT; then
	ok "rrouted stops cleanly on SIGINT (exit 0 within 5 s)"
else
	not_ok "rrouted stops cleanly on SIGINT (exit 0 within 5 s)" "$RR_STOP_WHY"
fi
rr_finish
