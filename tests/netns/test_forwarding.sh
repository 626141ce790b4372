#!/usr/bin/env bash
# Forwarding plane acceptance: rrouted routes between two WireGuard interfaces, as a user sees it
# from the hosts on either side (ping, traceroute, path MTU, ICMP unreachables, TCP, MSS clamp).
#
#  netns rrt-<pid>-a          netns rrt-<pid>-r (rrouted, uid 65534, no caps)    netns rrt-<pid>-b
#  +-------------------+      +--------------------------------------------+      +-------------------+
#  | rrfa<pid> (tun)   |      | wga udp/51820          wgb udp/51821       |      | rrfb<pid> (tun)   |
#  |  172.20.1.1/24    |  WG  |  172.20.0.1/32          172.20.0.2/32      |  WG  |  172.20.3.1/24    |
#  |  fd42:1::1/48     |<====>|  fd42:0:1::1/64         fd42:0:2::1/64     |<====>|  fd42:3::1/48     |
#  |  MTU 1420         |      |  fe80::1/64             fe80::1/64         |      |  MTU 1280         |
#  |  172.20.0.0/14,   |      |  MTU 1420               MTU 1280           |      |  172.20.0.0/14,   |
#  |  fd42::/16 dev wg |      |  peer A:                peer B:            |      |  fd42::/16 dev wg |
#  |                   |      |   172.20.1.0/24          172.20.3.0/24     |      |                   |
#  |                   |      |   fd42:1::/48            fd42:3::/48       |      |                   |
#  | va 192.0.2.2 -----+------+- ra 192.0.2.1           rb 198.51.100.1 ---+------+- vb 198.51.100.2  |
#  +-------------------+      +--------------------------------------------+      +-------------------+
#
#  rrouted.conf also has: route = 172.20.8.0/24 unreachable, fd42:8::/48 unreachable,
#                                 172.20.7.0/24 prohibit,    fd42:7::/48 prohibit
#  and nothing for 172.20.9.9 / fd42:9::9 (no route at all).
# A and B run wireguard-go with one peer (R, allowed-ips 0.0.0.0/0,::/0); R has an Endpoint for
# both, and both have one for R, so either side may start a handshake.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
rr_require

A4=172.20.1.1 A6=fd42:1::1 B4=172.20.3.1 B6=fd42:3::1
RA4=172.20.0.1 RA6=fd42:0:1::1   # rrouted's addresses on the interface facing A

setup() {
	rr_arb_setup --dev-prefix rrf --mtu-b 1280 || return 1
	cat >>"$RR_TMP/r/rrouted.conf" <<-EOF
		route = 172.20.8.0/24 unreachable
		route = fd42:8::/48 unreachable
		route = 172.20.7.0/24 prohibit
		route = fd42:7::/48 prohibit
	EOF
}

rr_setup_step "namespaces A, R, B, veths and wireguard-go hosts set up" setup
rr_setup_step "rrouted starts with wga and wgb" rr_rrouted_start r "$NSR"
rr_check_unpriv "rrouted runs as uid 65534 with CapEff 0 (no capabilities at all)" "${RR_PID[r]}"

# ---- reachability through R (the first ping also brings both sessions up)
rr_ping "ping A -> B over IPv4 ($A4 -> $B4)" "$NSA" -c 3 -i 0.3 -w 15 "$B4"
rr_ping "ping B -> A over IPv4 ($B4 -> $A4)" "$NSB" -c 3 -i 0.3 -w 10 "$A4"
rr_ping "ping A -> B over IPv6 ($A6 -> $B6)" "$NSA" -6 -c 3 -i 0.3 -w 10 "$B6"
rr_ping "ping B -> A over IPv6 ($B6 -> $A6)" "$NSB" -6 -c 3 -i 0.3 -w 10 "$A6"

# ---- traceroute: hop 1 is R (its address on the A side), hop 2 is B, and it ends there
# trace_check DESC FAMILY-OPTS... DST
trace_check() {
	local desc=$1 dst=${*: -1} out hop1 hop2 last
	shift
	out=$(timeout 30 ip netns exec "$NSA" traceroute -n -q 2 -w 2 -m 6 "$@" 2>&1)
	hop1=$(awk '$1 == "1" { print $2 }' <<<"$out")
	hop2=$(awk '$1 == "2" { print $2 }' <<<"$out")
	last=$(awk '$1 ~ /^[0-9]+$/ { n = $1 } END { print n }' <<<"$out")
	if [ "$hop1" = "$RA_EXPECT" ] && [ "$hop2" = "$dst" ] && [ "$last" = 2 ]; then
		ok "$desc"
	else
		not_ok "$desc" "expected hop 1 $RA_EXPECT, hop 2 $dst and nothing after" "$out"
	fi
}
if command -v traceroute >/dev/null; then
	RA_EXPECT=$RA4 trace_check "traceroute -n A -> B: hop 1 is R ($RA4), hop 2 is B ($B4)" "$B4"
	RA_EXPECT=$RA6 trace_check "traceroute -6 -n A -> B: hop 1 is R ($RA6), hop 2 is B ($B6)" -6 "$B6"
else
	skip "traceroute through R" "traceroute is not installed (scripts/install-deps)"
fi

# ---- TCP through R, and MSS clamping towards B's 1280 MTU
status_field() { rr_ctl r show status --json | jq -er ".$1"; }

# iperf_run DESC SECONDS CLIENT-OPTS...: iperf3 server in B for one client, client in A.
iperf_run() {
	local desc=$1 secs=$2 srv_log=$RR_TMP/iperf-s.log out bps pid
	shift 2
	ip netns exec "$NSB" timeout $((secs + 20)) iperf3 -s -1 >"$srv_log" 2>&1 &
	pid=$!
	rr_track "$pid" "iperf3 server in B" "$srv_log"
	if ! wait_until 5 sh -c "ip netns exec '$NSB' ss -ltnH | grep -q ':5201 '"; then
		not_ok "$desc" "iperf3 server in B is not listening on 5201" "$(cat "$srv_log")"
		return 1
	fi
	out=$(ip netns exec "$NSA" timeout $((secs + 15)) iperf3 -c "$@" -t "$secs" --json 2>&1)
	bps=$(jq -er '.end.sum_received.bits_per_second' <<<"$out" 2>/dev/null)
	if [ -n "$bps" ] && awk -v b="$bps" 'BEGIN { exit !(b > 0) }'; then
		ok "$desc ($(awk -v b="$bps" 'BEGIN { printf "%.0f", b / 1e6 }') Mbit/s)"
	else
		not_ok "$desc" "$(jq -r '.error // empty' <<<"$out" 2>/dev/null)" "$(head -c 2000 <<<"$out")"
	fi
	wait "$pid" 2>/dev/null
}
if command -v iperf3 >/dev/null; then
	# A cached path MTU in A would shrink its SYN's MSS and hide the clamping: start clean.
	ip -n "$NSA" route flush cache 2>/dev/null
	ip -n "$NSA" -6 route flush cache 2>/dev/null
	clamped0=$(status_field mss_clamped 2>/dev/null || echo 0)
	iperf_run "TCP A -> B through R over IPv4: iperf3 3 s completes with nonzero throughput" 3 "$B4"
	clamped1=$(status_field mss_clamped 2>/dev/null || echo "?")
	if [ "$clamped1" != "?" ] && [ "$clamped1" -gt "$clamped0" ]; then
		ok "MSS of A's SYN (MTU 1420) clamped towards B (MTU 1280): mss_clamped $clamped0 -> $clamped1"
	else
		not_ok "MSS of A's SYN (MTU 1420) clamped towards B (MTU 1280)" \
			"mss_clamped before $clamped0, after $clamped1" "$(rr_ctl r show status --json 2>&1)"
	fi
	iperf_run "TCP A -> B through R over IPv6: iperf3 1 s completes with nonzero throughput" 1 "$B6"
	clamped2=$(status_field mss_clamped 2>/dev/null || echo "?")
	if [ "$clamped2" != "?" ] && [ "$clamped1" != "?" ] && [ "$clamped2" -gt "$clamped1" ]; then
		ok "IPv6 SYN clamped too: mss_clamped $clamped1 -> $clamped2"
	else
		not_ok "IPv6 SYN clamped too" "mss_clamped before $clamped1, after $clamped2"
	fi
else
	skip "TCP through R and MSS clamping" "iperf3 is not installed (scripts/install-deps)"
fi

# ---- ICMP errors the router sends, as ping shows them
# ping_says DESC PATTERN PING-ARGS...: ping from A prints a line matching PATTERN (grep -E).
ping_says() {
	local desc=$1 pat=$2 out
	shift 2
	out=$(timeout 15 ip netns exec "$NSA" ping -n "$@" 2>&1)
	if grep -Eq "$pat" <<<"$out"; then
		ok "$desc"
	else
		not_ok "$desc" "expected /$pat/ from: ping $*" "$out"
	fi
}

# Path MTU: R's wgb has MTU 1280; a 1328-byte DF packet gets "fragmentation needed" / "too big".
ping_says "DF ping -s 1300 A -> $B4 gets 'Frag needed' with mtu 1280 from R" \
	"From $RA4 .*Frag needed.*mtu = 1280" -c 2 -i 0.5 -W 2 -M "do" -s 1300 "$B4"
if out=$(ip -n "$NSA" route get "$B4" 2>&1) && grep -q 'mtu 1280' <<<"$out"; then
	ok "A learned path MTU 1280 for $B4 (ip route get)"
else
	not_ok "A learned path MTU 1280 for $B4 (ip route get)" "$out"
fi
ping_says "ping -6 -s 1300 A -> $B6 gets 'Packet too big' with mtu 1280 from R" \
	"From $RA6 .*Packet too big: mtu=1280" -6 -c 2 -i 0.5 -W 2 -M "do" -s 1300 "$B6"
if out=$(ip -n "$NSA" -6 route get "$B6" 2>&1) && grep -q 'mtu 1280' <<<"$out"; then
	ok "A learned path MTU 1280 for $B6 (ip -6 route get)"
else
	not_ok "A learned path MTU 1280 for $B6 (ip -6 route get)" "$out"
fi
rr_ping "after PMTU discovery, ping -s 1252 (1280 bytes) A -> B still works" "$NSA" \
	-c 2 -i 0.3 -w 10 -M "do" -s 1252 "$B4"

# No route, unreachable and prohibit routes.
ping_says "no route to 172.20.9.9: 'Destination Net Unreachable' from R" \
	"From $RA4 .*Destination Net Unreachable" -c 1 -W 3 172.20.9.9
ping_says "no route to fd42:9::9: 'No route' from R" \
	"From $RA6 .*Destination unreachable: No route" -6 -c 1 -W 3 fd42:9::9
ping_says "'route = 172.20.8.0/24 unreachable': 'Destination Host Unreachable'" \
	"From $RA4 .*Destination Host Unreachable" -c 1 -W 3 172.20.8.8
ping_says "'route = fd42:8::/48 unreachable': 'Address unreachable'" \
	"From $RA6 .*Destination unreachable: Address unreachable" -6 -c 1 -W 3 fd42:8::8
ping_says "'route = 172.20.7.0/24 prohibit': 'Packet filtered'" \
	"From $RA4 .*Packet filtered" -c 1 -W 3 172.20.7.7
ping_says "'route = fd42:7::/48 prohibit': 'Administratively prohibited'" \
	"From $RA6 .*Destination unreachable: Administratively prohibited" -6 -c 1 -W 3 fd42:7::7

# ---- what rrctl shows
rjson=$(rr_ctl r show routes --json 2>&1)
has_route() { jq -e --arg d "$1" --arg t "$2" --arg i "$3" \
	'.routes | any(.dst == $d and .type == $t and ((.dev // "") == $i))' <<<"$rjson" >/dev/null 2>&1; }
missing=()
for r in "172.20.1.0/24 unicast wga" "fd42:1::/48 unicast wga" "172.20.3.0/24 unicast wgb" \
	"fd42:3::/48 unicast wgb" "172.20.8.0/24 unreachable -" "fd42:8::/48 unreachable -" \
	"172.20.7.0/24 prohibit -" "fd42:7::/48 prohibit -"; do
	read -r d t i <<<"$r"
	[ "$i" = - ] && i=""
	has_route "$d" "$t" "$i" || missing+=("$r")
done
if [ ${#missing[@]} -eq 0 ]; then
	ok "rrctl show routes --json: AllowedIPs routes on wga/wgb, unreachable and prohibit routes"
else
	not_ok "rrctl show routes --json: AllowedIPs routes on wga/wgb, unreachable and prohibit routes" \
		"missing: ${missing[*]}" "$rjson"
fi

ijson=$(rr_ctl r show interfaces --json 2>&1)
if jq -e '[.interfaces[] | select((.name == "wga" and .mtu == 1420) or (.name == "wgb" and .mtu == 1280))
	| select(.rx_packets > 0 and .tx_packets > 0)] | length == 2' <<<"$ijson" >/dev/null 2>&1; then
	ok "rrctl show interfaces --json: wga (MTU 1420) and wgb (MTU 1280) both with rx and tx packets > 0"
else
	not_ok "rrctl show interfaces --json: wga (MTU 1420) and wgb (MTU 1280) both with rx and tx packets > 0" "$ijson"
fi

sjson=$(rr_ctl r show status --json 2>&1)
if jq -e '.forwarded > 0 and .icmp_errors_sent >= 8' <<<"$sjson" >/dev/null 2>&1; then
	ok "rrctl show status --json counts forwarded packets and ICMP errors sent"
else
	not_ok "rrctl show status --json counts forwarded packets and ICMP errors sent" "$sjson"
fi

rr_check_unpriv "rrouted still runs as uid 65534 with CapEff 0 after all that" "${RR_PID[r]}"
if rr_rrouted_stop r; then
	ok "rrouted stops cleanly on SIGTERM (exit 0 within 5 s)"
else
	not_ok "rrouted stops cleanly on SIGTERM (exit 0 within 5 s)" "$RR_STOP_WHY"
fi
rr_finish
