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
# Environment: BENCH_SECONDS (default 10), WGGO_LOADS, RR_UDP_OFFLOAD=0 (rrouted without GRO/GSO).
set -u
if [ "$(id -u)" -ne 0 ]; then
	echo "skip wggo_udp.sh: needs root to create network namespaces; nothing measured"
	exit 0
fi
for tool in ip wg wireguard-go iperf3 jq setpriv taskset; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "skip wggo_udp.sh: $tool is not installed (scripts/install-deps); nothing measured"
		exit 0
	}
done
[ "$(nproc)" -ge 2 ] || { echo "skip wggo_udp.sh: needs 2 CPUs; nothing measured"; exit 0; }
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/../tests/netns/lib.sh"
WGLOAD=$RR_BUILD/bench/wgload
for b in "$RROUTED" "$RRCTL" "$WGLOAD"; do
	[ -x "$b" ] || { echo "wggo_udp.sh: $b is not built (make bench)" >&2; exit 1; }
done
SECS=${BENCH_SECONDS:-10}
LOADS=${WGGO_LOADS:-50 300}
KEYS=$RR_TMP/keys
mkdir -p "$KEYS" && chmod 700 "$KEYS" || exit 1
for k in a b ra rb; do
	rr_genkey "$KEYS" "$k" >/dev/null || exit 1
done
pub() { cat "$KEYS/$1.pub"; }

# host NS DEV KEY PORT R_PUB R_ENDPOINT ADDR: wireguard-go on CPU 1 whose only peer is rrouted.
host() {
	rr_wggo_start "$1" "$2" || return 1
	taskset -a -p -c 1 "${rr_pids[${#rr_pids[@]} - 1]}" >/dev/null || return 1
	rr_addr "$1" "$2" "$7" && ip -n "$1" route add 172.20.0.0/14 dev "$2" || return 1
	rr_wg "$1" set "$2" private-key "$KEYS/$3.key" listen-port "$4" peer "$5" endpoint "$6" \
		allowed-ips 0.0.0.0/0
}

rr_iface_conf() {   # IFACE KEY PORT ADDR PEER_PUB ENDPOINT ALLOWED
	cat >"$RR_TMP/r/ifaces/$1.conf" <<-EOF
		[Interface]
		PrivateKey = $(cat "$KEYS/$2.key")
		ListenPort = $3
		Address = $4

		[Peer]
		PublicKey = $5
		Endpoint = $6
		AllowedIPs = $7
	EOF
}

setup() {
	rr_ns NSA a && rr_ns NSR r && rr_ns NSB b || return 1
	rr_veth "$NSA" va "$NSR" ra && rr_veth "$NSR" rb "$NSB" vb || return 1
	rr_addr "$NSA" va 192.0.2.2/24 && rr_addr "$NSR" ra 192.0.2.1/24 || return 1
	rr_addr "$NSR" rb 198.51.100.1/24 && rr_addr "$NSB" vb 198.51.100.2/24 || return 1
	host "$NSA" "rrua$$" a 51822 "$(pub ra)" 192.0.2.1:51820 172.20.1.1/24 &&
		host "$NSB" "rrub$$" b 51823 "$(pub rb)" 198.51.100.1:51821 172.20.3.1/24 || return 1
	rr_instance r >/dev/null && rr_write_router_conf r info || return 1
	rr_iface_conf wga ra 51820 172.20.0.1/32 "$(pub a)" 192.0.2.2:51822 172.20.1.0/24 &&
		rr_iface_conf wgb rb 51821 172.20.0.2/32 "$(pub b)" 198.51.100.2:51823 172.20.3.0/24 || return 1
	rr_fix_owner r && rr_rrouted_start r "$NSR" || return 1
	RPID=${RR_PID[r]}
	taskset -a -p -c 0 "$RPID" >/dev/null && renice -n -10 -p "$RPID" >/dev/null || return 1
	ip netns exec "$NSB" taskset -c 1 iperf3 -s >"$RR_TMP/iperf-s.log" 2>&1 &
	rr_track $! "iperf3 server" "$RR_TMP/iperf-s.log"
	wait_until 5 sh -c "ip netns exec '$NSB' ss -lnH | grep -q ':5201 '" || return 1
	ip netns exec "$NSA" ping -n -q -c 2 -i 0.3 -w 15 172.20.3.1 >/dev/null ||
		{ echo "no ping A -> B through rrouted" >&2; return 1; }
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
	out=$(ip netns exec "$NSA" taskset -c 1 iperf3 -u -c 172.20.3.1 -b "${load}M" -l 1200 -t "$SECS" \
		--json 2>&1) || { echo "wggo_udp.sh: iperf3 failed: $(head -c 300 <<<"$out")" >&2; exit 1; }
	sleep 0.5
	p1=$(fwd_packets) c1=$(cpu_ns) w1=$(wait_ns)
	n=$((p1 - p0))
	[ "$n" -gt 0 ] || { echo "wggo_udp.sh: rrouted forwarded nothing at $load Mbit/s" >&2; exit 1; }
	echo "# $load Mbit/s: iperf3 lost $(jq -r '.end.sum.lost_percent' <<<"$out" | cut -c1-5) %;" \
		"rrouted forwarded $n, on CPU $(((c1 - c0) / 1000000)) ms, waited for it $(((w1 - w0) / 1000000)) ms"
	awk -v l="$load" -v n="$n" -v t="$SECS" -v c=$((c1 - c0)) -v f="$FLOOR" 'BEGIN {
		printf "wggo_%s_pps %.0f\nwggo_%s_ns_per_pkt %.0f\nwggo_%s_floor_ratio %.2f\n",
			l, n / t, l, c / n, l, c / n / f }'
done
exit 0
