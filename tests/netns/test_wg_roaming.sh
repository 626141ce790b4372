#!/usr/bin/env bash
# Roaming: mid-session the peer's packets start coming from a new ip:port; rrouted must follow
# (WireGuard whitepaper section 2.1: the endpoint is the source of the latest authenticated
# packet) without a new handshake.
#
#   netns rrt-<pid>-r (rrouted, uid 65534)              netns rrt-<pid>-p (wireguard-go)
#   +--------------------------------+                  +--------------------------------+
#   | rrouted wg0        udp/51820   |    WireGuard     | rrp<pid> (tun)  udp/51821      |
#   |  172.20.0.1/32 fd42:0:1::1/64  |<================>|  -> 51831 in move 2            |
#   | veth vr  192.0.2.1/24 ---------+------------------+- veth vp  192.0.2.2/24         |
#   |                                |                  |     -> 192.0.2.3 in move 1     |
#   | veth vr2 198.51.100.1/24 ------+------------------+- veth vp2 198.51.100.2/24      |
#   |                                |                  |     (used from move 3 on)      |
#   +--------------------------------+                  +--------------------------------+
#
# move 1: the peer's address on vp changes 192.0.2.2 -> 192.0.2.3 (the old one is deleted)
# move 2: wireguard-go's listen port changes 51821 -> 51831
# move 3: vp loses its address; the peer reaches 192.0.2.1 through vp2 from 198.51.100.2
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
rr_require

setup() {
	rr_pair_setup && rr_veth "$NSR" vr2 "$NSP" vp2 &&
		rr_addr "$NSR" vr2 198.51.100.1/24 && rr_addr "$NSP" vp2 198.51.100.2/24
}
rr_setup_step "namespaces, two veth pairs and wireguard-go peer set up" setup
rr_setup_step "rrouted starts" rr_rrouted_start r "$NSR"

rr_ping "session up: ping 172.20.0.1 from the peer" "$NSP" -c 3 -i 0.3 -w 15 172.20.0.1
hs0=$(rr_peer r wg0 handshakes 2>/dev/null)
lh0=$(rr_wg_handshake "$NSP" "$PDEV")
ep0=$(rr_peer r wg0 endpoint 2>/dev/null)
if [ "$ep0" = 192.0.2.2:51821 ] && [ "${hs0:-0}" -ge 1 ]; then
	ok "rrctl shows endpoint 192.0.2.2:51821 after $hs0 handshake(s)"
else
	not_ok "rrctl shows endpoint 192.0.2.2:51821 after the first handshake" "$(rr_ctl r show peers --json 2>&1)"
fi

# wireguard-go keeps sending from its cached ("sticky") source address even after that
# address is deleted (sendmsg fails with ENETUNREACH). Setting the same endpoint again clears
# the cache without touching the session: that is all this does.
peer_forget_source() { rr_wg "$NSP" set "$PDEV" peer "$RR_PUB" endpoint 192.0.2.1:51820; }

ep_is() { [ "$(rr_peer r wg0 endpoint 2>/dev/null)" = "$1" ]; }

# after_move LABEL EXPECTED_ENDPOINT: ping continues, endpoint followed, no new handshake.
after_move() {
	local label=$1 want=$2 hs lh
	rr_ping "$label: ping continues" "$NSP" -c 3 -i 0.3 -w 10 172.20.0.1
	if wait_until 5 ep_is "$want"; then
		ok "$label: rrctl shows the new endpoint $want"
	else
		not_ok "$label: rrctl shows the new endpoint $want" "$(rr_ctl r show peers --json 2>&1)"
	fi
	hs=$(rr_peer r wg0 handshakes 2>/dev/null)
	lh=$(rr_wg_handshake "$NSP" "$PDEV")
	if [ -n "$hs" ] && [ "$hs" = "$hs0" ] && [ "$lh" = "$lh0" ]; then
		ok "$label: no new handshake (rrctl handshakes still $hs, peer's latest-handshake unchanged)"
	else
		not_ok "$label: no new handshake" "rrctl handshakes $hs0 -> ${hs:-?}" \
			"peer latest-handshake $lh0 -> $lh"
	fi
}

# move 1: new source address (promote_secondaries: deleting the primary must keep .3)
ip netns exec "$NSP" sysctl -qw net.ipv4.conf.all.promote_secondaries=1 net.ipv4.conf.vp.promote_secondaries=1
ip -n "$NSP" addr add 192.0.2.3/24 dev vp && ip -n "$NSP" addr del 192.0.2.2/24 dev vp && peer_forget_source
after_move "move 1 (192.0.2.2 -> 192.0.2.3)" 192.0.2.3:51821

# move 2: new source port
rr_wg "$NSP" set "$PDEV" listen-port 51831
after_move "move 2 (port 51821 -> 51831)" 192.0.2.3:51831

# move 3: a different network, through the second link
ip -n "$NSP" addr del 192.0.2.3/24 dev vp && ip -n "$NSP" route replace 192.0.2.1/32 via 198.51.100.1 dev vp2 &&
	peer_forget_source
after_move "move 3 (to 198.51.100.2 on a second link)" 198.51.100.2:51831

# and back to the first network: the old path must work again
ip -n "$NSP" route del 192.0.2.1/32 && ip -n "$NSP" addr add 192.0.2.2/24 dev vp && peer_forget_source
after_move "move 4 (back to 192.0.2.2)" 192.0.2.2:51831

if rr_rrouted_stop r; then ok "rrouted stops cleanly"; else not_ok "rrouted stops cleanly" "$RR_STOP_WHY"; fi
rr_finish
