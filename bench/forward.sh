#!/usr/bin/env bash
# Forwarding throughput: TCP A -> B through a router R in the middle, twice in one run:
#   rrouted    R = rrouted as uid 65534 with no capabilities (interfaces wga, wgb)
#   reference  R = two wireguard-go devices (wgra, wgrb) + kernel IP forwarding in R's namespace,
#              the rootful setup a user would otherwise run
#
#   netns A                       netns R                                   netns B
#   wireguard-go  172.20.1.1/24   wga|wgra MTU 1420     wgb|wgrb MTU 1280   wireguard-go 172.20.3.1/24
#   MTU 1420      <== WG over veth 192.0.2.0/24 ==>  <== WG over veth 198.51.100.0/24 ==>  MTU 1280
#
# One iperf3 TCP stream A -> B for BENCH_SECONDS (default 10) per measurement, BENCH_RUNS (default
# 3) measurements per router; prints the median (and every run as a comment):
#   forward_rrouted_mbps, forward_reference_mbps, forward_ratio (rrouted / reference),
#   forward_{rrouted,reference}_retransmits   TCP retransmits of the median run (iperf3 --json)
#   forward_{rrouted,reference}_router_cpu_percent  CPU of the router's userspace process(es) in R
#                                             over the measurements (100 = one core); the reference's
#                                             kernel forwarding work is not in its number
# Needs root (network namespaces); the router under test itself runs unprivileged.
# Environment: BENCH_SECONDS, BENCH_RUNS, RR_BUILD (default build).
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/../tests/netns/lib.sh"
rr_bench_require forward.sh ip wg wireguard-go iperf3 jq setpriv ping
if [ ! -x "$RROUTED" ] || [ ! -x "$RRCTL" ]; then
	echo "forward.sh: $RROUTED or $RRCTL is not built (make)" >&2
	exit 1
fi

SECS=${BENCH_SECONDS:-10}
RUNS=${BENCH_RUNS:-3}

# Topology 1: rrouted (wga, wgb) in R; info, not debug: a per-packet log line would measure the
# logger.
setup_rrouted() {
	rr_arb_setup --suffix 1 --dev-prefix rrb --mtu-b 1280 --log-level info || return 1
	rr_rrouted_start r "$NSR" || return 1
	ROUTER_PIDS=("${RR_PID[r]}")
}

setup_reference() {
	# Topology 2: only the hosts; R is the reference, wga/wgra on 192.0.2.1:51820 and wgb/wgrb on
	# 198.51.100.1:51821 with the same keys.
	rr_arb_setup --suffix 2 --dev-prefix rrb --mtu-b 1280 --no-router || return 1
	ip netns exec "$NSR" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 || return 1
	local ra=wgra$$ rb=wgrb$$ i
	rr_wggo_start "$NSR" "$ra" && rr_wggo_start "$NSR" "$rb" || return 1
	ip -n "$NSR" link set "$rb" mtu 1280 || return 1
	rr_addr "$NSR" "$ra" 172.20.0.1/32 fd42:0:1::1/64 && rr_addr "$NSR" "$rb" 172.20.0.2/32 fd42:0:2::1/64 || return 1
	ip -n "$NSR" route add 172.20.1.0/24 dev "$ra" && ip -n "$NSR" -6 route add fd42:1::/48 dev "$ra" &&
		ip -n "$NSR" route add 172.20.3.0/24 dev "$rb" && ip -n "$NSR" -6 route add fd42:3::/48 dev "$rb" || return 1
	rr_wg "$NSR" set "$ra" private-key "$KEYS/ra.key" listen-port 51820 peer "$(rr_pub a)" \
		endpoint 192.0.2.2:51822 allowed-ips 172.20.1.0/24,fd42:1::/48 &&
		rr_wg "$NSR" set "$rb" private-key "$KEYS/rb.key" listen-port 51821 peer "$(rr_pub b)" \
			endpoint 198.51.100.2:51823 allowed-ips 172.20.3.0/24,fd42:3::/48 || return 1
	# The wireguard-go processes of R: the last two the harness started.
	i=${#rr_pids[@]}
	ROUTER_PIDS=("${rr_pids[i - 2]}" "${rr_pids[i - 1]}")
}

cpu_ticks() {   # total utime + stime of ROUTER_PIDS (and of their threads) in clock ticks
	local p t=0
	for p in "${ROUTER_PIDS[@]}"; do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}

# iperf_once: one measurement A -> B; prints "MBPS RETRANSMITS".
iperf_once() {
	local log=$RR_TMP/iperf-s.log out pid res
	ip netns exec "$NSB" timeout $((SECS + 30)) iperf3 -s -1 >"$log" 2>&1 &
	pid=$!
	rr_track "$pid" "iperf3 server" "$log"
	wait_until 5 sh -c "ip netns exec '$NSB' ss -ltnH | grep -q ':5201 '" ||
		{ echo "iperf3 server in $NSB did not start: $(cat "$log")" >&2; return 1; }
	out=$(ip netns exec "$NSA" timeout $((SECS + 20)) iperf3 -c 172.20.3.1 -t "$SECS" --json 2>&1)
	wait "$pid" 2>/dev/null
	res=$(jq -er '"\(.end.sum_received.bits_per_second / 1e6) \(.end.sum_sent.retransmits)"' <<<"$out" 2>/dev/null) ||
		{ echo "iperf3 failed: $(jq -r '.error // empty' <<<"$out" 2>/dev/null) $(head -c 500 <<<"$out")" >&2; return 1; }
	echo "$res"
}

# measure NAME: warms up the sessions, runs iperf_once RUNS times, prints the result lines.
measure() {
	local name=$1 i r runs=() t0 t1 w0 w1 med
	if ! ip netns exec "$NSA" ping -n -q -c 2 -i 0.3 -w 15 172.20.3.1 >/dev/null 2>&1; then
		echo "forward.sh: $name: no ping A -> B through R; cannot measure" >&2
		return 1
	fi
	t0=$(cpu_ticks) w0=$(date +%s%N)
	for i in $(seq 1 "$RUNS"); do
		r=$(iperf_once) || return 1
		runs+=("$r")
	done
	t1=$(cpu_ticks) w1=$(date +%s%N)
	echo "# $name runs (Mbit/s retransmits): $(printf '[%s] ' "${runs[@]}")"
	DROPS_R=$(rr_udp_rcvbuf_errors "$NSR") DROPS_B=$(rr_udp_rcvbuf_errors "$NSB")
	echo "# $name UDP receive-buffer drops (underlay, all runs): A $(rr_udp_rcvbuf_errors "$NSA")," \
		"R $DROPS_R, B $DROPS_B"
	[ "$name" = rrouted ] && echo "# rrouted drops: $(rr_ctl r show interfaces --json |
		jq -c '[.interfaces[] | {(.name): (.drops | with_entries(select(.value > 0)))}] | add')"
	# The median by throughput, with that run's retransmits.
	med=$(printf '%s\n' "${runs[@]}" | sort -n -k1,1 | sed -n "$(((RUNS + 1) / 2))p")
	read -r MBPS RETR <<<"$med"
	printf 'forward_%s_mbps %.0f\n' "$name" "$MBPS"
	printf 'forward_%s_retransmits %s\n' "$name" "$RETR"
	awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v ns=$((w1 - w0)) -v n="$name" \
		'BEGIN { printf "forward_%s_router_cpu_percent %.0f\n", n, 100 * t / hz / (ns / 1e9) }'
}

echo "# forward.sh: iperf3 TCP, 1 stream, ${SECS} s x $RUNS runs per router (median);" \
	"this machine has $(nproc) cores shared by A, R, B, wireguard-go and iperf3"
if ! setup_rrouted 2>"$RR_TMP/setup.err"; then
	echo "forward.sh: rrouted topology setup failed: $(cat "$RR_TMP/setup.err")" >&2
	exit 1
fi
measure rrouted || exit 1
X=$MBPS
if [ "$DROPS_R" -eq 0 ] && [ "$DROPS_B" -gt 0 ]; then
	echo "# note: in the rrouted run only B's wireguard-go overflowed its socket buffer: the receiving" \
		"peer, not rrouted, set the pace, so forward_rrouted_mbps is a lower bound of rrouted's capacity"
fi
rr_rrouted_stop r || echo "# rrouted did not stop cleanly: $RR_STOP_WHY"
if ! setup_reference 2>"$RR_TMP/setup.err"; then
	echo "forward.sh: reference topology setup failed: $(cat "$RR_TMP/setup.err")" >&2
	exit 1
fi
measure reference || exit 1
Y=$MBPS
awk -v x="$X" -v y="$Y" 'BEGIN { printf "forward_ratio %.2f\n", (y > 0 ? x / y : 0) }'
exit 0
