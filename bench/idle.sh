#!/usr/bin/env bash
# Idle cost of rrouted: instance A with 50 interfaces, each with one peer = the matching interface
# of instance B, all on 127.0.0.1, PersistentKeepalive = 25 on both sides. Once all 50 sessions
# are up, measure A for IDLE_SECONDS (default 60):
#   idle_cpu_percent       (utime + stime) / wall time, from /proc/PID/stat
#   idle_rss_kb            VmRSS at the end;  idle_hwm_kb: VmHWM (peak RSS)
#   idle_wakeups_per_sec   event-loop wakeups per second (`rrctl show status --json` .wakeups)
#   idle_ctxsw_per_sec     voluntary context switches per second (/proc/PID/status): every
#                          return from a blocking epoll_wait is one; a cross-check of the above
#   idle_keepalive_floor_per_sec  keepalives/s the protocol asks for: one per session per 25 s in
#                          either direction (any authenticated packet, sent or received,
#                          re-arms the persistent-keepalive timer, as in the kernel), i.e. N/25
#   idle_keepalives_per_sec  keepalives A sent + received meanwhile ((rx+tx bytes) / 32): shows
#                          the sessions stayed alive; timers may coalesce them into fewer wakeups
# No reference implementation runs here: wireguard-go needs TUN (root + namespaces), so this
# reports rrouted alone. No root needed; as root, the instances run as uid 65534.
# Environment: IDLE_SECONDS, IDLE_IFACES (default 50), RR_BUILD (default build).
set -u
cd "$(dirname "$0")/.." || exit 1
# The harness of the netns tests: RROUTED, RRCTL, a temporary directory, cleanup on exit.
# shellcheck source=tests/netns/lib.sh
. tests/netns/lib.sh
N=${IDLE_IFACES:-50}
SECS=${IDLE_SECONDS:-60}
KA=25
for t in "$RROUTED" "$RRCTL"; do
	[ -x "$t" ] || { echo "idle.sh: $t is not built (make)" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "idle.sh: needs jq (scripts/install-deps)" >&2; exit 1; }

tmp=$RR_TMP
# As root the instances run as uid 65534 with no capabilities; otherwise as the caller.
as_user=()
[ "$(id -u)" -eq 0 ] && as_user=("${RR_SETPRIV[@]}")

genkey() {   # genkey FILE -> FILE (private), prints the public key
	if command -v wg >/dev/null; then
		(umask 077 && wg genkey >"$1") && wg pubkey <"$1"
	else
		(umask 077 && "$RRCTL" genkey >"$1") && "$RRCTL" pubkey <"$1"
	fi
}

# A block of 2N consecutive UDP ports nobody uses (from /proc/net/udp{,6}).
used_ports() {
	local line hex
	cat /proc/net/udp /proc/net/udp6 2>/dev/null | while read -r _ line _; do
		hex=${line##*:}
		[[ $hex =~ ^[0-9A-F]{4}$ ]] && echo $((16#$hex))
	done | sort -n -u
}
base=""
for try in $(seq 20000 200 30000); do
	if ! used_ports | awk -v lo="$try" -v hi=$((try + 2 * N - 1)) '$1 >= lo && $1 <= hi { f = 1 } END { exit !f }'; then
		base=$try
		break
	fi
done
[ -n "$base" ] || { echo "idle.sh: no free block of $((2 * N)) UDP ports in 20000-30000" >&2; exit 1; }

for side in a b; do
	mkdir -p "$tmp/$side/ifaces"
	printf '[router]\ninterfaces = ifaces\ncontrol = %s\nlog_level = warn\n' "$tmp/$side/rr.sock" >"$tmp/$side/rrouted.conf"
done
for i in $(seq 0 $((N - 1))); do
	pa[i]=$(genkey "$tmp/a$i.key") && pb[i]=$(genkey "$tmp/b$i.key") || exit 1
done
for i in $(seq 0 $((N - 1))); do
	pa_port=$((base + i)) pb_port=$((base + N + i))
	x=$((i / 250)) y=$((i % 250 + 1))
	rr_wgquick "$tmp/a/ifaces/wg$i.conf" "$tmp/a$i.key" "$pa_port" "172.20.$x.$y/32, fe80::1/64" "" off \
		"${pb[i]}" "" "127.0.0.1:$pb_port" "172.21.$x.$y/32, fe80::/64" "$KA"
	rr_wgquick "$tmp/b/ifaces/wg$i.conf" "$tmp/b$i.key" "$pb_port" "172.21.$x.$y/32, fe80::2/64" "" off \
		"${pa[i]}" "" "127.0.0.1:$pa_port" "172.20.$x.$y/32, fe80::/64" "$KA"
done
rm -f "$tmp"/a*.key "$tmp"/b*.key
if [ ${#as_user[@]} -gt 0 ]; then chown -R 65534:65534 "$tmp/a" "$tmp/b"; fi

for side in a b; do
	"${as_user[@]}" "$RROUTED" -c "$tmp/$side/rrouted.conf" >"$tmp/$side.log" 2>&1 &
	rr_track $! "rrouted $side"
	[ "$side" = a ] && pid_a=$!
done
ctl_a() { timeout 10 "${as_user[@]}" "$RRCTL" -s "$tmp/a/rr.sock" "$@"; }
sessions_up() {
	ctl_a show peers --json 2>/dev/null | jq -e --argjson n "$N" \
		'[.interfaces[].peers[] | select(.latest_handshake > 0)] | length >= $n' >/dev/null
}
t0=$(date +%s)
until sessions_up; do
	if ! kill -0 "$pid_a" 2>/dev/null || [ $(($(date +%s) - t0)) -ge 120 ]; then
		echo "idle.sh: not all $N sessions came up within 120 s" >&2
		ctl_a show peers --json 2>&1 | jq -c '[.interfaces[].peers[].latest_handshake]' >&2
		tail -n 20 "$tmp/a.log" "$tmp/b.log" >&2
		exit 1
	fi
	sleep 0.5
done
echo "# $N sessions up after $(($(date +%s) - t0)) s; measuring instance A (pid $pid_a) for $SECS s" >&2

ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
vcsw() { awk '/^voluntary_ctxt_switches:/ { print $2 }' "/proc/$1/status"; }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)
loop_wakeups() { ctl_a show status --json 2>/dev/null | jq -er '.wakeups' 2>/dev/null; }
rxtx_bytes() { ctl_a show peers --json 2>/dev/null | jq -e '[.interfaces[].peers[] | .rx_bytes + .tx_bytes] | add' 2>/dev/null; }
l0=$(loop_wakeups) p0=$(rxtx_bytes)
c0=$(ticks "$pid_a") w0=$(vcsw "$pid_a") s0=$(date +%s%N)
sleep "$SECS"
c1=$(ticks "$pid_a") w1=$(vcsw "$pid_a") s1=$(date +%s%N)
l1=$(loop_wakeups) p1=$(rxtx_bytes)
kill -0 "$pid_a" 2>/dev/null || { echo "idle.sh: rrouted A died during the measurement" >&2; exit 1; }
awk -v c=$((c1 - c0)) -v hz="$hz" -v ns=$((s1 - s0)) 'BEGIN { printf "idle_cpu_percent %.3f\n", c / hz / (ns / 1e9) * 100 }'
echo "idle_rss_kb $(status_kb "$pid_a" VmRSS)"
echo "idle_hwm_kb $(status_kb "$pid_a" VmHWM)"
if [ -n "$l0" ] && [ -n "$l1" ]; then
	# minus the one wakeup our own status request caused
	awk -v w=$((l1 - l0 - 1)) -v ns=$((s1 - s0)) 'BEGIN { printf "idle_wakeups_per_sec %.2f\n", w / (ns / 1e9) }'
else
	echo "# idle_wakeups_per_sec skipped: rrctl show status --json has no .wakeups" >&2
fi
awk -v w=$((w1 - w0)) -v ns=$((s1 - s0)) 'BEGIN { printf "idle_ctxsw_per_sec %.2f\n", w / (ns / 1e9) }'
awk -v n="$N" -v ka="$KA" 'BEGIN { printf "idle_keepalive_floor_per_sec %.2f\n", n / ka }'
# What A actually received meanwhile (B's keepalives): proof the sessions were alive, not stalled.
if [ -n "$p0" ] && [ -n "$p1" ]; then
	# a keepalive is 32 bytes on the wire (16 header + 16 tag)
	awk -v p=$((p1 - p0)) -v ns=$((s1 - s0)) 'BEGIN { printf "idle_keepalives_per_sec %.2f\n", p / 32 / (ns / 1e9) }'
fi
up=$(ctl_a show peers --json 2>/dev/null | jq '[.interfaces[].peers[] | select(.latest_handshake > 0)] | length')
echo "# still up at the end: ${up:-?} of $N sessions; CPU ticks $((c1 - c0)) at $hz Hz" >&2
