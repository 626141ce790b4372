#!/usr/bin/env bash
# rrouted's CPU per forwarded packet with wireguard-go at both ends (the issue's own setup): UDP
# iperf3 A -> B through R at fixed offered rates, 1200-byte payloads, rrouted pinned on CPU 0,
# everything else on CPU 1.
#
#   netns A                          netns R (rrouted, uid 65534, CPU 0)              netns B
#   wireguard-go 172.20.1.1/24  <== WG, veth 192.0.2.0/24 ==> wga | wgb <== WG, 198.51.100.0/24 ==>
#   iperf3 -u -c 172.20.3.1                                                  wireguard-go 172.20.3.1/24
#
# Per offered rate (WGGO_LOADS, default "50 300" Mbit/s of iperf3 payload):
#   wggo_<load>_pps             packets/s rrouted forwarded A -> B (its tx counter on wgb)
#   wggo_<load>_ns_per_pkt      rrouted's CPU time (schedstat) / those packets
#   wggo_<load>_floor_ratio     the above / one seal + one open of the 1228-byte inner packet
#                               (wgload floor, CPU 0, same run)
# The wake-up floor (WGGO_RELAY=1, the default): right after each rrouted point the same iperf3
# run goes through bench/udprelay instead, a trivial UDP relay with rrouted's loop shape (epoll,
# one recvmmsg and one sendmmsg per wake-up, no crypto) in R's namespace, on CPU 0, same
# priority and user; A and B then are WireGuard peers of each other through it:
#   wggo_<load>_relay_ns_per_pkt      the relay's CPU time / datagrams it relayed A -> B
#   wggo_<load>_own_ns_per_pkt        rrouted - relay - crypto floor: rrouted's own work
#   wggo_<load>_relay_floor_ratio     rrouted / (relay + crypto floor)
# Environment: BENCH_SECONDS (default 10), WGGO_LOADS, WGGO_RELAY, RR_UDP_OFFLOAD=0 (rrouted
# without GRO/GSO), RR_POLL_US (passed to rrouted).
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/../tests/netns/lib.sh"
rr_bench_require wggo_udp.sh ip wg wireguard-go iperf3 jq setpriv taskset
[ "$(nproc)" -ge 2 ] || { echo "skip wggo_udp.sh: needs 2 CPUs; nothing measured"; exit 0; }
WGLOAD=$RR_BUILD/bench/wgload
RELAY=$RR_BUILD/bench/udprelay
for b in "$RROUTED" "$RRCTL" "$WGLOAD" "$RELAY"; do
	[ -x "$b" ] || { echo "wggo_udp.sh: $b is not built (make bench)" >&2; exit 1; }
done
SECS=${BENCH_SECONDS:-10}
LOADS=${WGGO_LOADS:-50 300}
rr_keys a b ra rb || exit 1

# host NS DEV KEY PORT R_PUB R_ENDPOINT ADDR: wireguard-go on CPU 1 whose only peer is rrouted.
host() {
	rr_wggo_start "$1" "$2" || return 1
	taskset -a -p -c 1 "${rr_pids[${#rr_pids[@]} - 1]}" >/dev/null || return 1
	rr_addr "$1" "$2" "$7" && ip -n "$1" route add 172.20.0.0/14 dev "$2" || return 1
	rr_wg "$1" set "$2" private-key "$KEYS/$3.key" listen-port "$4" peer "$5" endpoint "$6" \
		allowed-ips 0.0.0.0/0
}

setup() {
	rr_arb_ns || return 1
	host "$NSA" "rrua$$" a 51822 "$(rr_pub ra)" 192.0.2.1:51820 172.20.1.1/24 &&
		host "$NSB" "rrub$$" b 51823 "$(rr_pub rb)" 198.51.100.1:51821 172.20.3.1/24 || return 1
	rr_instance r >/dev/null && rr_write_router_conf r info || return 1
	rr_wgquick "$RR_TMP/r/ifaces/wga.conf" "$KEYS/ra.key" 51820 172.20.0.1/32 "" "" "$(rr_pub a)" "" \
		192.0.2.2:51822 172.20.1.0/24 &&
		rr_wgquick "$RR_TMP/r/ifaces/wgb.conf" "$KEYS/rb.key" 51821 172.20.0.2/32 "" "" "$(rr_pub b)" "" \
			198.51.100.2:51823 172.20.3.0/24 || return 1
	rr_fix_owner r && rr_rrouted_start r "$NSR" || return 1
	RPID=${RR_PID[r]}
	taskset -a -p -c 0 "$RPID" >/dev/null && renice -n -10 -p "$RPID" >/dev/null || return 1
	ip netns exec "$NSB" taskset -c 1 iperf3 -s >"$RR_TMP/iperf-s.log" 2>&1 &
	rr_track $! "iperf3 server" "$RR_TMP/iperf-s.log"
	wait_until 5 sh -c "ip netns exec '$NSB' ss -lnH | grep -q ':5201 '" || return 1
	ip netns exec "$NSA" ping -n -q -c 2 -i 0.3 -w 15 172.20.3.1 >/dev/null ||
		{ echo "no ping A -> B through rrouted" >&2; return 1; }
	[ "${WGGO_RELAY:-1}" = 1 ] || return 0
	ip netns exec "$NSR" "${RR_SETPRIV[@]}" "$RELAY" 192.0.2.1:51830 198.51.100.1:51831 198.51.100.2:51823 \
		>"$RR_TMP/relay.out" 2>&1 &
	RELAY_PID=$!
	rr_track "$RELAY_PID" "udprelay" "$RR_TMP/relay.out"
	wait_until 5 grep -q "udprelay ready" "$RR_TMP/relay.out" || return 1
	taskset -a -p -c 0 "$RELAY_PID" >/dev/null && renice -n -10 -p "$RELAY_PID" >/dev/null
}

# through relay|rrouted: A's and B's one peer is rrouted, or each other through the relay.
through() {
	local ia="rrua$$" ib="rrub$$"
	if [ "$1" = relay ]; then
		rr_wg "$NSA" set "$ia" peer "$(rr_pub ra)" remove &&
			rr_wg "$NSA" set "$ia" peer "$(rr_pub b)" endpoint 192.0.2.1:51830 allowed-ips 0.0.0.0/0 &&
			rr_wg "$NSB" set "$ib" peer "$(rr_pub rb)" remove &&
			rr_wg "$NSB" set "$ib" peer "$(rr_pub a)" endpoint 198.51.100.1:51831 allowed-ips 0.0.0.0/0
	else
		rr_wg "$NSA" set "$ia" peer "$(rr_pub b)" remove &&
			rr_wg "$NSA" set "$ia" peer "$(rr_pub ra)" endpoint 192.0.2.1:51820 allowed-ips 0.0.0.0/0 &&
			rr_wg "$NSB" set "$ib" peer "$(rr_pub a)" remove &&
			rr_wg "$NSB" set "$ib" peer "$(rr_pub rb)" endpoint 198.51.100.1:51821 allowed-ips 0.0.0.0/0
	fi || return 1
	# Both ends send at once, so each starts its own handshake: the other side (rrouted, or the
	# far end through the relay) may still hold a session with the peer entry just replaced,
	# and would otherwise wait out WireGuard's 15 s "sent but heard nothing" rule.
	ip netns exec "$NSB" ping -n -q -c 2 -i 0.3 -w 15 172.20.1.1 >/dev/null 2>&1 &
	local bping=$!
	ip netns exec "$NSA" ping -n -q -c 2 -i 0.3 -w 15 172.20.3.1 >/dev/null ||
		{ echo "wggo_udp.sh: no ping A -> B through $1" >&2; wait "$bping"; return 1; }
	wait "$bping" || { echo "wggo_udp.sh: no ping B -> A through $1" >&2; return 1; }
}

# relay_sent: datagrams the relay sent A -> B so far.
relay_sent() {
	local before
	before=$(grep -c '^relay_a_to_b' "$RR_TMP/relay.out")
	kill -USR1 "$RELAY_PID" || return 1
	wait_until 5 sh -c "[ \$(grep -c '^relay_a_to_b' '$RR_TMP/relay.out') -gt $before ]" || return 1
	awk '$1 == "relay_a_to_b" { n = $2 } END { print n }' "$RR_TMP/relay.out"
}
relay_cpu_ns() { cat /proc/"$RELAY_PID"/task/*/schedstat | awk '{ t += $1 } END { printf "%.0f\n", t }'; }

# iperf LOAD: the offered UDP stream A -> B; prints iperf3's loss in %.
iperf() {
	local out
	out=$(ip netns exec "$NSA" taskset -c 1 iperf3 -u -c 172.20.3.1 -b "${1}M" -l 1200 -t "$SECS" \
		--json 2>&1) || { echo "wggo_udp.sh: iperf3 failed: $(head -c 300 <<<"$out")" >&2; return 1; }
	jq -r '.end.sum.lost_percent' <<<"$out" | cut -c1-5
}

cpu_ns() { cat /proc/"$RPID"/task/*/schedstat | awk '{ t += $1 } END { printf "%.0f\n", t }'; }
wait_ns() { cat /proc/"$RPID"/task/*/schedstat | awk '{ t += $2 } END { printf "%.0f\n", t }'; }
fwd_packets() { rr_ctl r show interfaces --json | jq '.interfaces[] | select(.name == "wgb") | .tx_packets'; }

if ! setup 2>"$RR_TMP/setup.err"; then
	echo "wggo_udp.sh: setup failed: $(cat "$RR_TMP/setup.err")" >&2
	exit 1
fi
FLOOR=$(taskset -c 0 "$WGLOAD" floor --size 1228 | awk '$1 == "floor_ns" { print $2 }')
[ -n "$FLOOR" ] || { echo "wggo_udp.sh: floor measurement failed" >&2; exit 1; }
echo "# wggo_udp.sh: rrouted on CPU 0 (RR_UDP_OFFLOAD=${RR_UDP_OFFLOAD:-1}), wireguard-go and iperf3 on CPU 1," \
	"${SECS} s per rate; $(uname -r)"
echo "wggo_floor_1228_ns $FLOOR"
for load in $LOADS; do
	p0=$(fwd_packets) c0=$(cpu_ns) w0=$(wait_ns)
	loss=$(iperf "$load") || exit 1
	sleep 0.5
	p1=$(fwd_packets) c1=$(cpu_ns) w1=$(wait_ns)
	n=$((p1 - p0))
	[ "$n" -gt 0 ] || { echo "wggo_udp.sh: rrouted forwarded nothing at $load Mbit/s" >&2; exit 1; }
	echo "# $load Mbit/s: iperf3 lost $loss %; rrouted forwarded $n, on CPU $(((c1 - c0) / 1000000)) ms," \
		"waited for it $(((w1 - w0) / 1000000)) ms; load average $(cut -d' ' -f1-3 /proc/loadavg)"
	awk -v l="$load" -v n="$n" -v t="$SECS" -v c=$((c1 - c0)) -v f="$FLOOR" 'BEGIN {
		printf "wggo_%s_pps %.0f\nwggo_%s_ns_per_pkt %.0f\nwggo_%s_floor_ratio %.2f\n",
			l, n / t, l, c / n, l, c / n / f }'
	[ "${WGGO_RELAY:-1}" = 1 ] || continue
	through relay || exit 1
	q0=$(relay_sent) r0=$(relay_cpu_ns)
	rloss=$(iperf "$load") || exit 1
	sleep 0.5
	q1=$(relay_sent) r1=$(relay_cpu_ns)
	through rrouted || exit 1
	m=$((q1 - q0))
	[ "$m" -gt 0 ] || { echo "wggo_udp.sh: the relay relayed nothing at $load Mbit/s" >&2; exit 1; }
	echo "# $load Mbit/s through udprelay: iperf3 lost $rloss %; relayed $m, on CPU $(((r1 - r0) / 1000000)) ms"
	awk -v l="$load" -v n="$n" -v c=$((c1 - c0)) -v m="$m" -v r=$((r1 - r0)) -v f="$FLOOR" 'BEGIN {
		rr = c / n; rl = r / m
		printf "wggo_%s_relay_ns_per_pkt %.0f\nwggo_%s_own_ns_per_pkt %.0f\nwggo_%s_relay_floor_ratio %.2f\n",
			l, rl, l, rr - rl - f, l, rr / (rl + f) }'
done
exit 0
