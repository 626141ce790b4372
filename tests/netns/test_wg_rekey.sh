#!/usr/bin/env bash
# The protocol's real timers: rrouted initiates the session, traffic flows (a ping every second),
# and REKEY_AFTER_TIME (120 s) later rrouted, as the initiator, must start a new handshake
# (whitepaper section 6.2). wireguard-go is the responder and has no endpoint for rrouted, so a
# responder never rekeys by time: a second handshake before REJECT_AFTER_TIME (180 s) can only be
# rrouted's. Pings must keep working across the rekey. Takes about 150 s.
#
#   netns rrt-<pid>-r (rrouted, uid 65534)           netns rrt-<pid>-p (wireguard-go)
#   +--------------------------------+               +--------------------------------+
#   | rrouted wg0        udp/51820   |   WireGuard   | rrp<pid> (tun)     udp/51821   |
#   |  172.20.0.1/32 fd42:0:1::1/64  |<=============>|  172.20.0.2/32 fd42:0:1::2/64  |
#   |  Endpoint 192.0.2.2:51821      |               |  (no endpoint for rrouted)     |
#   |  PersistentKeepalive 25        |               |                                |
#   | veth vr 192.0.2.1/24 ----------+---------------+- veth vp 192.0.2.2/24          |
#   +--------------------------------+               +--------------------------------+
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
rr_require
PINGS=${REKEY_PINGS:-150}

rr_setup_step "namespaces, veth and wireguard-go peer set up" \
	rr_pair_setup --rr-endpoint --rr-keepalive 25 --no-peer-endpoint
rr_setup_step "rrouted starts" rr_rrouted_start r "$NSR"

if ! wait_until 15 rr_wg_has_handshake "$NSP" "$PDEV"; then
	not_ok "rrouted initiates the first handshake within 15 s" "$(rr_wg "$NSP" show "$PDEV" 2>&1)"
	rr_finish
fi
t0=$(date +%s)
lh1=$(rr_wg_handshake "$NSP" "$PDEV")
ok "rrouted initiates the first handshake"
if wait_until 5 rr_handshakes_ge r wg0 1; then
	n1=$(rr_peer r wg0 handshakes)
	ok "rrctl counts $n1 handshake(s)"
else
	n1=1
	not_ok "rrctl counts the first handshake" "$(rr_ctl r show peers --json 2>&1)"
fi

# One ping a second for the whole test; its summary gives the losses across the rekey.
ip netns exec "$NSP" ping -n -i 1 -W 2 -c "$PINGS" 172.20.0.1 >"$RR_TMP/ping.log" 2>&1 &
ping_pid=$!
rr_track "$ping_pid" "ping"

rekeyed() { rr_handshakes_ge r wg0 $((n1 + 1)); }
# 120 s after the first handshake, plus up to 10 s of jitter and retries; 170 s is still
# before the responder could have taken over after the keys expire at 180 s.
if wait_until $((170 - ($(date +%s) - t0))) rekeyed; then
	dt=$(($(date +%s) - t0))
	if [ "$dt" -ge 115 ]; then
		ok "rrouted rekeys after REKEY_AFTER_TIME: handshakes $n1 -> $(rr_peer r wg0 handshakes) after ${dt} s"
	else
		not_ok "rrouted rekeys after REKEY_AFTER_TIME (120 s), not earlier" "second handshake after only ${dt} s"
	fi
else
	not_ok "rrouted rekeys after REKEY_AFTER_TIME: handshakes >= $((n1 + 1)) within 170 s" \
		"$(rr_ctl r show peers --json 2>&1)" "$(rr_wg "$NSP" show "$PDEV" 2>&1)"
fi
lh2=$(rr_wg_handshake "$NSP" "$PDEV")
if [ "${lh2:-0}" -gt "${lh1:-0}" ]; then
	ok "the peer's latest-handshake advanced ($lh1 -> $lh2, +$((lh2 - lh1)) s)"
else
	not_ok "the peer's latest-handshake advanced" "$lh1 -> $lh2"
fi

if ! wait_until $((PINGS + 30)) bash -c "! kill -0 $ping_pid 2>/dev/null"; then
	kill "$ping_pid" 2>/dev/null
fi
wait "$ping_pid" 2>/dev/null
sum=$(grep 'packets transmitted' "$RR_TMP/ping.log")
tx=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' <<<"$sum")
rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$sum")
lost=$((${tx:-0} - ${rx:-0}))
if [ -n "$tx" ] && [ "$tx" -ge "$PINGS" ] && [ "$lost" -le 2 ]; then
	ok "pings across the rekey: $lost of $tx lost (<= 2 allowed, 0 expected)"
else
	not_ok "pings across the rekey: ${lost} of ${tx:-?} lost (<= 2 allowed)" "$sum" \
		"$(grep -v 'bytes from' "$RR_TMP/ping.log" | tail -n 10)"
fi
diag "$sum"
rr_ping "ping after the rekey" "$NSP" -c 3 -i 0.3 -w 10 172.20.0.1
if rr_rrouted_stop r; then ok "rrouted stops cleanly"; else not_ok "rrouted stops cleanly" "$RR_STOP_WHY"; fi
rr_finish
