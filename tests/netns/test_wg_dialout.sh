#!/usr/bin/env bash
# Dial-out only: rrouted's interface has no ListenPort (as on a PaaS with no inbound UDP), sits
# behind a masquerading NAT with short UDP timeouts, and keeps the mapping alive with
# PersistentKeepalive = 5. The peer has no endpoint for rrouted: it can only answer.
#
#   netns ...-r (rrouted, uid 65534)   netns ...-n (NAT)                  netns ...-p (wireguard-go)
#   +--------------------------+       +----------------------------+     +---------------------------+
#   | rrouted wg0, no port     |       | masquerade out of vn2      |     | rrp<pid> udp/51820        |
#   |  172.20.0.1/32           |       | conntrack udp timeout 10 s |     |  172.20.0.2/32            |
#   |  fd42:0:1::1/64          |       |   (stream 12 s)            |     |  fd42:0:1::2/64           |
#   | vr 192.0.2.2/24 ---------+-------+- vn1 192.0.2.1/24          |     |                           |
#   |  default via 192.0.2.1   |       |  vn2 198.51.100.1/24 ------+-----+- vp 198.51.100.2/24       |
#   +--------------------------+       +----------------------------+     | (no route to 192.0.2.0/24)|
#                                                                         +---------------------------+
# Without nftables the middle namespace only routes (no NAT) and the peer gets a route back.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
rr_require

setup() {
	rr_ns NSR r && rr_ns NSN n && rr_ns NSP p || return 1
	rr_veth "$NSR" vr "$NSN" vn1 && rr_veth "$NSN" vn2 "$NSP" vp || return 1
	rr_addr "$NSR" vr 192.0.2.2/24 && rr_addr "$NSN" vn1 192.0.2.1/24 &&
		rr_addr "$NSN" vn2 198.51.100.1/24 && rr_addr "$NSP" vp 198.51.100.2/24 || return 1
	ip -n "$NSR" route add default via 192.0.2.1 || return 1
	ip netns exec "$NSN" sysctl -qw net.ipv4.ip_forward=1 || return 1
	NAT=0
	if command -v nft >/dev/null 2>&1 &&
		ip netns exec "$NSN" nft -f - <<-'EOF'
			table ip rrnat {
				chain post {
					type nat hook postrouting priority srcnat; policy accept;
					oifname "vn2" masquerade
				}
			}
		EOF
	then
		NAT=1
		# Short timeouts: without keepalives the mapping would be gone between two pings.
		ip netns exec "$NSN" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=10 \
			net.netfilter.nf_conntrack_udp_timeout_stream=12 || return 1
	else
		ip -n "$NSP" route add 192.0.2.0/24 via 198.51.100.1 || return 1
	fi
	KEYS=$RR_TMP/keys
	mkdir -p "$KEYS" && chmod 700 "$KEYS"
	RR_PUB=$(rr_genkey "$KEYS" rr) && PEER_PUB=$(rr_genkey "$KEYS" peer) || return 1
	rr_instance r >/dev/null && rr_write_router_conf r || return 1
	rr_write_iface r wg0 "$KEYS/rr.key" "" "172.20.0.1/32, fd42:0:1::1/64, fe80::1/64" \
		"$PEER_PUB" "" 198.51.100.2:51820 "172.20.0.2/32, fd42:0:1::2/128, fe80::/64" 5 || return 1
	PDEV=rrp$$
	rr_wggo_peer "$NSP" "$PDEV" "$KEYS/peer.key" 51820 "$RR_PUB" "" "" \
		"172.20.0.1/32,fd42:0:1::1/128,fe80::/64" "" 172.20.0.2/32 fd42:0:1::2/64 fe80::2/64
}
if ! setup 2>"$RR_TMP/setup.err"; then
	not_ok "namespaces, NAT and wireguard-go peer set up" "$(cat "$RR_TMP/setup.err")"
	rr_finish
fi
if [ "$NAT" = 1 ]; then
	setup_ok "namespaces, nftables masquerade NAT and wireguard-go peer set up"
	nat_ip=198.51.100.1
else
	skip "NAT in the middle" "nftables is not available; the middle namespace only routes"
	nat_ip=192.0.2.2
fi

rr_setup_step "rrouted starts (interface without ListenPort)" rr_rrouted_start r "$NSR"
rr_check_unpriv "rrouted runs as uid 65534 with CapEff 0" "${RR_PID[r]}"

if wait_until 15 rr_wg_has_handshake "$NSP" "$PDEV"; then
	ok "rrouted dials out: handshake within 15 s"
else
	not_ok "rrouted dials out: handshake within 15 s" "$(rr_wg "$NSP" show "$PDEV" 2>&1)" \
		"$(rr_ctl r show peers --json 2>&1)"
	rr_finish
fi
pep=$(rr_wg_endpoint "$NSP" "$PDEV")
port=${pep##*:}
if [ "${pep%:*}" = "$nat_ip" ] && [ "$port" -ge 1024 ] 2>/dev/null && [ "$port" -ne 51820 ]; then
	ok "the peer sees rrouted at $pep ($([ "$NAT" = 1 ] && echo "the NAT's address, ")ephemeral port)"
else
	not_ok "the peer sees rrouted at $nat_ip:<ephemeral port>" "peer's endpoint for rrouted: $pep"
fi
lp=$(rr_iface r wg0 .listen_port 2>/dev/null)
diag "rrctl show interfaces: listen_port ${lp:-?} (the port the kernel picked)"

# > 30 s of pings, each round after an idle gap longer than the NAT's UDP timeout: only the
# keepalives (every 5 s) keep the mapping and thus the path from the peer alive. (Checked: with
# PersistentKeepalive = 25 instead, rounds 2 and 3 lose half their echoes and rrouted re-handshakes.)
start=$(date +%s)
round=0 failed_rounds=0 log=""
while [ $(($(date +%s) - start)) -lt 36 ]; do
	round=$((round + 1))
	# every echo of the round must be answered: a lost first one means the mapping had expired
	out=$(ip netns exec "$NSP" ping -n -q -c 3 -i 0.5 -w 5 172.20.0.1 2>&1)
	if ! grep -q '^3 packets transmitted, 3 received' <<<"$out"; then
		failed_rounds=$((failed_rounds + 1))
		log+="round $round at +$(($(date +%s) - start)) s: $(grep -E 'transmitted' <<<"$out")"$'\n'
	fi
	sleep 14
done
if [ "$failed_rounds" -eq 0 ]; then
	ok "peer pings rrouted in $round rounds over $(($(date +%s) - start)) s with 14 s idle gaps"
else
	not_ok "peer pings rrouted in $round rounds with 14 s idle gaps: $failed_rounds failed" "$log" \
		"$(ip netns exec "$NSN" cat /proc/net/nf_conntrack 2>/dev/null)"
fi
pep2=$(rr_wg_endpoint "$NSP" "$PDEV")
if [ "$pep2" = "$pep" ]; then
	ok "the NAT mapping stayed the same all along ($pep)"
else
	not_ok "the NAT mapping stayed the same all along" "$pep -> $pep2"
fi
rr_ping "IPv6 ping through the dialled-out session" "$NSP" -6 -c 3 -i 0.3 -w 10 fd42:0:1::1
hs=$(rr_peer r wg0 handshakes 2>/dev/null)
if [ "${hs:-0}" -eq 1 ]; then
	ok "one handshake for the whole run (keepalives, not re-handshakes, kept it alive)"
else
	not_ok "one handshake for the whole run" "rrctl handshakes: ${hs:-?}"
fi
if rr_rrouted_stop r; then ok "rrouted stops cleanly"; else not_ok "rrouted stops cleanly" "$RR_STOP_WHY"; fi
rr_finish
