#!/usr/bin/env bash
# TCP throughput of a program inside the router (rrctl exec, librrshim.so, rrouted's TCP) against
# the rootful alternative: the kernel's TCP behind a wireguard-go device in the same namespace.
#
#   netns R                                               netns B (wireguard-go, kernel TCP)
#   rrouted wg0 172.20.0.1 (uid 65534) <== WireGuard ==>  rrp<pid> 172.20.0.2    iperf3 -s
#     rrctl exec -- iperf3 -c 172.20.0.2                       |
#   wireguard-go rrr<pid> 172.20.9.1 (root) <== WG ==>    rrq<pid> 172.20.9.2
#     iperf3 -c 172.20.9.2   (reference)
#   both over veth vr 192.0.2.1 <-> vp 192.0.2.2
#
# Prints, median of BENCH_RUNS (default 3) runs of BENCH_SECONDS (default 10) each direction:
#   shim_{send,recv}_mbps, reference_{send,recv}_mbps, shim_{send,recv}_ratio (shim / reference)
# send = from R's program to B, recv = B to R's program (iperf3 -R).
# Environment: BENCH_SECONDS, BENCH_RUNS, RR_BUILD (default build). Needs root for namespaces.
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/../tests/netns/lib.sh"
rr_bench_require shim.sh ip wg wireguard-go iperf3 jq setpriv
[ -f "$RR_BUILD/librrshim.so" ] || { echo "shim.sh: $RR_BUILD/librrshim.so is not built (make)" >&2; exit 1; }
SECS=${BENCH_SECONDS:-10}
RUNS=${BENCH_RUNS:-3}

rr_bench_pair_up shim.sh

# The reference: a second WireGuard pair, kernel TCP on both ends.
rr_genkey "$KEYS" ref >/dev/null && rr_genkey "$KEYS" refb >/dev/null || exit 1
RDEV=rrr$$ QDEV=rrq$$
rr_wggo_peer "$NSR" "$RDEV" "$KEYS/ref.key" 51830 "$(cat "$KEYS/refb.pub")" "" 192.0.2.2:51831 \
	172.20.9.2/32 "" 172.20.9.1/32 >/dev/null || exit 1
rr_wggo_peer "$NSP" "$QDEV" "$KEYS/refb.key" 51831 "$(cat "$KEYS/ref.pub")" "" 192.0.2.1:51830 \
	172.20.9.1/32 "" 172.20.9.2/32 >/dev/null || exit 1
ip -n "$NSR" link set "$RDEV" mtu 1420 && ip -n "$NSP" link set "$QDEV" mtu 1420
ip netns exec "$NSR" ping -c 2 -w 10 172.20.9.2 >/dev/null || { echo "shim.sh: reference tunnel down" >&2; exit 1; }

ip netns exec "$NSP" iperf3 -s >"$RR_TMP/iperf3-s.log" 2>&1 &
rr_track $! "iperf3 -s in B" "$RR_TMP/iperf3-s.log"
sleep 1

rr_exec() { rr_exec_ns "$NSR" r "$@"; }

# run KIND DIR: one measurement in Mbit/s (received side), or "fail".
run() {
	local out rev=()
	[ "$2" = recv ] && rev=(-R)
	if [ "$1" = shim ]; then
		out=$(rr_exec iperf3 -c 172.20.0.2 -t "$SECS" -J "${rev[@]}" 2>/dev/null)
	else
		out=$(ip netns exec "$NSR" iperf3 -c 172.20.9.2 -t "$SECS" -J "${rev[@]}" 2>/dev/null)
	fi
	jq -er '.end.sum_received.bits_per_second / 1e6 | floor' <<<"$out" 2>/dev/null || echo fail
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "fail" }'; }

declare -A result
for kind in shim reference; do
	for dir in send recv; do
		vals=()
		for _ in $(seq 1 "$RUNS"); do
			v=$(run "$kind" "$dir")
			vals+=("$v")
		done
		echo "# ${kind}_${dir} runs: ${vals[*]}"
		result[${kind}_$dir]=$(printf '%s\n' "${vals[@]}" | grep -v fail | median)
	done
done
for dir in send recv; do
	echo "shim_${dir}_mbps ${result[shim_$dir]}"
	echo "reference_${dir}_mbps ${result[reference_$dir]}"
	if [[ ${result[shim_$dir]} =~ ^[0-9]+$ ]] && [[ ${result[reference_$dir]} =~ ^[0-9]+$ ]] &&
		[ "${result[reference_$dir]}" -gt 0 ]; then
		echo "shim_${dir}_ratio $(awk -v a="${result[shim_$dir]}" -v b="${result[reference_$dir]}" \
			'BEGIN { printf "%.2f", a / b }')"
	else
		echo "shim_${dir}_ratio fail"
	fi
done
