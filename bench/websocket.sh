#!/usr/bin/env bash
# WireGuard over WebSocket against WireGuard over UDP, on the same path in one run:
#
#   netns A: rrouted "a" (uid 65534)            netns B: rrouted "b" (uid 65534)
#   wg0 172.21.0.1, ListenPort 51820,           wg0 172.21.0.2, peer a at
#       ListenWebSocket 8080                        udp: Endpoint = 10.77.0.1:51820
#   iperf3 -s (rrctl exec)                          ws:  Endpoint = ws://10.77.0.1:8080/wg
#   va 10.77.0.1/24 ---------- veth ---------- vb 10.77.0.2/24      iperf3 -c (rrctl exec)
#
# One iperf3 TCP stream B -> A inside the routers for BENCH_SECONDS (default 5), BENCH_RUNS
# (default 3) per transport; prints the medians and the ratio:
#   websocket_udp_mbps, websocket_ws_mbps, websocket_ratio (ws / udp)
# Needs root (namespaces); the routers run unprivileged. Environment: BENCH_SECONDS, BENCH_RUNS.
set -u
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/../tests/netns/lib.sh"
rr_bench_require websocket.sh ip wg iperf3 jq setpriv
[ -x "$RROUTED" ] && [ -x "$RRCTL" ] || { echo "websocket.sh: $RROUTED or $RRCTL is not built (make)" >&2; exit 1; }
export RRSHIM_LIB=${RRSHIM_LIB:-$RR_BUILD/librrshim.so}
SECS=${BENCH_SECONDS:-5}
RUNS=${BENCH_RUNS:-3}

rr_ns_pair NSA wsa va 10.77.0.1/24 NSB wsb vb 10.77.0.2/24 || exit 1
rr_instance a >/dev/null && rr_instance b >/dev/null || exit 1
A_PUB=$(rr_genkey "$RR_TMP" a) && B_PUB=$(rr_genkey "$RR_TMP" b) || exit 1
rr_write_router_conf a warn && rr_write_router_conf b warn
echo "route = 172.21.0.2/32 dev wg0" >>"$RR_TMP/a/rrouted.conf"
echo "route = 172.21.0.1/32 dev wg0" >>"$RR_TMP/b/rrouted.conf"
cat >"$RR_TMP/a/ifaces/wg0.conf" <<EOF
[Interface]
PrivateKey = $(cat "$RR_TMP/a.key")
ListenPort = 51820
ListenWebSocket = 8080
Address = 172.21.0.1/32
Table = off

[Peer]
PublicKey = $B_PUB
AllowedIPs = 172.21.0.2/32
EOF
rr_fix_owner a
write_b() {   # ENDPOINT
	rr_wgquick "$RR_TMP/b/ifaces/wg0.conf" "$RR_TMP/b.key" "" 172.21.0.2/32 "" off "$A_PUB" "" "$1" \
		172.21.0.1/32 25 && rr_fix_owner b
}
APPS=$RR_TMP/apps
mkdir -p "$APPS" && chown "$RR_UID:$RR_UID" "$APPS"
as_node() { local n=$1 ns=$2; shift 2; ( cd "$APPS" && ip netns exec "$ns" setpriv --reuid="$RR_UID" --regid="$RR_UID" \
	--clear-groups --inh-caps=-all --bounding-set=-all -- env HOME="$APPS" "$RRCTL" -s "$RR_TMP/$n/rr.sock" exec -- "$@" ); }

rr_rrouted_start a "$NSA" || exit 1

# measure TRANSPORT ENDPOINT: prints the median Mbit/s of RUNS iperf3 runs over that endpoint.
measure() {
	local what=$1 ep=$2 i out mbps all=()
	write_b "$ep"
	rr_rrouted_start b "$NSB" >&2 || return 1
	wait_until 20 rr_handshakes_ge b wg0 1 || { echo "websocket.sh: no handshake over $what" >&2; return 1; }
	for i in $(seq "$RUNS"); do
		as_node a "$NSA" iperf3 -s -1 -p 5201 >"$APPS/iperf3-s-$what-$i.log" 2>&1 &
		rr_track $! "iperf3 server (inside a)" "$APPS/iperf3-s-$what-$i.log"
		wait_until 10 grep -q "Server listening" "$APPS/iperf3-s-$what-$i.log" || true
		out=$(as_node b "$NSB" timeout $((SECS + 20)) iperf3 -c 172.21.0.1 -p 5201 -t "$SECS" --json 2>&1)
		mbps=$(jq -r '.end.sum_received.bits_per_second / 1e6' <<<"$out" 2>/dev/null)
		[ -n "$mbps" ] && [ "$mbps" != null ] || { echo "websocket.sh: iperf3 over $what: $(head -c 300 <<<"$out")" >&2; return 1; }
		all+=("$mbps")
		echo "# websocket.sh: $what run $i: $mbps Mbit/s" >&2
	done
	rr_rrouted_stop b >&2 || true
	printf '%s\n' "${all[@]}" | sort -g | awk '{ v[NR] = $1 } END { printf "%.1f\n", v[int((NR + 1) / 2)] }'
}
udp=$(measure udp 10.77.0.1:51820) || exit 1
ws=$(measure ws ws://10.77.0.1:8080/wg) || exit 1
echo "# websocket.sh: iperf3 TCP, 1 stream inside both routers, ${SECS} s x $RUNS runs per transport (median);" \
	"$(nproc) cores shared by both routers and iperf3"
echo "websocket_udp_mbps $udp"
echo "websocket_ws_mbps $ws"
awk -v w="$ws" -v u="$udp" 'BEGIN { printf "websocket_ratio %.2f\n", (u > 0 ? w / u : 0) }'
