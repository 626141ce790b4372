#!/usr/bin/env bash
# The seccomp path of rrctl exec against the shim path, for the same dynamically linked programs
# (issue 11): RR_EXEC_MODE=seccomp forces the path a static or Go binary takes.
#
#   netns R: rrouted wg0 172.20.0.1 (uid 65534)  <== WireGuard ==>  netns B: wireguard-go 172.20.0.2
#     rrctl exec -- iperf3 -c / python3 connect loop                  iperf3 -s, python accept loop
#
# Prints, median of BENCH_RUNS (default 3) runs:
#   {shim,seccomp}_send_mbps   iperf3 -c for BENCH_SECONDS (default 5) from R to B
#   {shim,seccomp}_conn_per_s  BENCH_CONNS (default 300) sequential connect+close to B
#   seccomp_send_ratio, seccomp_conn_ratio   (seccomp / shim: 1.0 = no overhead)
# Environment: BENCH_SECONDS, BENCH_RUNS, BENCH_CONNS, RR_BUILD. Needs root for namespaces.
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/../tests/netns/lib.sh"
rr_bench_require seccomp.sh ip wg wireguard-go iperf3 jq setpriv python3
[ -f "$RR_BUILD/librrshim.so" ] || { echo "seccomp.sh: $RR_BUILD/librrshim.so is not built (make)" >&2; exit 1; }
SECS=${BENCH_SECONDS:-5}
RUNS=${BENCH_RUNS:-3}
CONNS=${BENCH_CONNS:-300}

rr_bench_pair_up seccomp.sh

ip netns exec "$NSP" iperf3 -s -p 5201 >"$RR_TMP/iperf3-s.log" 2>&1 &
rr_track $! "iperf3 -s in B" "$RR_TMP/iperf3-s.log"
cat >"$RR_TMP/accept.py" <<'EOF'
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7777)); s.listen(128)
while True:
    c, _ = s.accept(); c.close()
EOF
cat >"$RR_TMP/connect.py" <<'EOF'
import socket, sys, time
n = int(sys.argv[1]); t = time.monotonic()
for _ in range(n):
    socket.create_connection(("172.20.0.2", 7777), 5).close()
print("%.1f" % (n / (time.monotonic() - t)))
EOF
chmod 644 "$RR_TMP"/*.py
ip netns exec "$NSP" python3 "$RR_TMP/accept.py" >"$RR_TMP/accept.log" 2>&1 &
rr_track $! "accept loop in B" "$RR_TMP/accept.log"
wait_until 10 ip netns exec "$NSP" python3 -c 'import socket; socket.create_connection(("127.0.0.1", 7777), 1)'
wait_until 10 ip netns exec "$NSP" python3 -c 'import socket; socket.create_connection(("127.0.0.1", 5201), 1)'

in_router() {   # MODE CMD...
	local mode=$1
	shift
	rr_unpriv_ns "$NSR" env RR_EXEC_MODE="$mode" "$RRCTL" -s "$RR_TMP/r/rr.sock" exec -- "$@"
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print 0 }'; }

declare -A send conn
for mode in shim seccomp; do
	s=() c=()
	for _ in $(seq 1 "$RUNS"); do
		s+=("$(in_router "$mode" iperf3 -c 172.20.0.2 -p 5201 -t "$SECS" -J 2>/dev/null |
			jq '.end.sum_sent.bits_per_second / 1e6 | floor' 2>/dev/null || echo 0)")
		c+=("$(in_router "$mode" python3 "$RR_TMP/connect.py" "$CONNS" 2>/dev/null || echo 0)")
	done
	echo "# $mode runs: send_mbps ${s[*]}, conn_per_s ${c[*]}"
	send[$mode]=$(printf '%s\n' "${s[@]}" | median)
	conn[$mode]=$(printf '%s\n' "${c[@]}" | median)
	echo "${mode}_send_mbps ${send[$mode]}"
	echo "${mode}_conn_per_s ${conn[$mode]}"
done
awk -v a="${send[seccomp]}" -v b="${send[shim]}" 'BEGIN { printf "seccomp_send_ratio %.2f\n", (b > 0 ? a / b : 0) }'
awk -v a="${conn[seccomp]}" -v b="${conn[shim]}" 'BEGIN { printf "seccomp_conn_ratio %.2f\n", (b > 0 ? a / b : 0) }'
exit 0
