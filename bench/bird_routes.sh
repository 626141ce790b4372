#!/usr/bin/env bash
# How fast BIRD's routes reach rrouted's FIB through the rtnetlink emulation: one rrouted on
# loopback with BIRD inside it ([exec]); BIRD's static protocol "bench" holds N generated routes
# (10.X.Y.0/24 via 172.20.0.2, on wg0's connected 172.20.0.0/24) and starts disabled. Once BIRD
# has synced with the FIB, `birdc enable bench` starts the clock, which stops when
# `rrctl show status --json` .routes_v4 has grown by N.
#   bird_100k_routes_to_fib_seconds   enable -> all N routes in the FIB (name keeps "100k" for N=100000)
#   bird_routes_per_second            N / that time
#   bird_routes_withdraw_seconds      `birdc disable bench` -> all N routes gone again
#   rrouted_rss_kb_per_route          rrouted's VmRSS growth per route (kB), rss_kb before/after
# Environment: BIRD_ROUTES (default 100000), BIRD_ROUTE_TYPE via|unreachable (default via),
# BENCH_TIMEOUT (seconds, default 300), RR_BUILD (default build). No root needed; as root, it
# all runs as uid 65534 with no capabilities.
set -u
cd "$(dirname "$0")/.." || exit 1
# The harness of the netns tests: RROUTED, RRCTL, a temporary directory, cleanup on exit.
# shellcheck source=tests/netns/lib.sh
. tests/netns/lib.sh
N=${BIRD_ROUTES:-100000}
TYPE=${BIRD_ROUTE_TYPE:-via}
LIMIT=${BENCH_TIMEOUT:-300}
for t in "$RROUTED" "$RRCTL"; do
	[ -x "$t" ] || { echo "bird_routes.sh: $t is not built (make)" >&2; exit 1; }
done
for t in bird birdc jq; do
	command -v "$t" >/dev/null || { echo "bird_routes.sh: needs $t (scripts/install-deps)" >&2; exit 1; }
done
[ "$N" -ge 1 ] 2>/dev/null && [ "$N" -le 4000000 ] || { echo "bird_routes.sh: BIRD_ROUTES=$N out of 1..4000000" >&2; exit 1; }
# rrouted can host BIRD only with the rtnetlink emulation and [exec] linked in.
if ! syms=$(nm "$RROUTED" 2>/dev/null) || ! grep -q ' T rtnl_' <<<"$syms" ||
	! grep -q ' T supervisor_add_program$' <<<"$syms"; then
	echo "skip - bird_routes: $RROUTED cannot host BIRD yet (no rtnetlink emulation or [exec])"
	exit 0
fi
BIRD=$(command -v bird) BIRDC=$(command -v birdc)

tmp=$RR_TMP
# As root it all runs as uid 65534 with no capabilities; otherwise as the caller.
as_user=()
[ "$(id -u)" -eq 0 ] && as_user=("${RR_SETPRIV[@]}")
fail() {
	echo "bird_routes.sh: $*" >&2
	for f in "$tmp/rrouted.log" "$tmp/bird.log"; do
		[ -s "$f" ] && { echo "---- last lines of $f" >&2; tail -n 20 "$f" >&2; }
	done
	exit 1
}

key=$( (command -v wg >/dev/null && wg genkey) || "$RRCTL" genkey) || fail "no key"
peer=$( (command -v wg >/dev/null && wg genkey | wg pubkey) || "$RRCTL" genkey | "$RRCTL" pubkey) || fail "no key"
mkdir -p "$tmp/ifaces"
cat >"$tmp/ifaces/wg0.conf" <<EOF
[Interface]
PrivateKey = $key
Address = 172.20.0.1/24, fe80::1/64
Table = off

[Peer]
PublicKey = $peer
AllowedIPs = 10.0.0.0/7, 172.20.0.0/24
EOF
cat >"$tmp/rrouted.conf" <<EOF
[router]
interfaces = ifaces
control = $tmp/rr.sock
log_level = warn

[exec]
bird = exec $BIRD -f -c $tmp/bird.conf -s $tmp/bird.ctl -P $tmp/bird.pid 2>>$tmp/bird.log
EOF
case "$TYPE" in
via) target="via 172.20.0.2" ;;
unreachable) target="unreachable" ;;
*) fail "BIRD_ROUTE_TYPE=$TYPE (expected via|unreachable)" ;;
esac
{
	cat <<-EOF
		router id 172.20.0.1;
		log stderr { warning, error, fatal };
		protocol device { scan time 10; }
		protocol kernel {
			scan time 60;
			ipv4 { import none; export all; };
		}
		protocol static bench {
			disabled;
			ipv4;
	EOF
	# 10.X.Y.0/24 (65536 of them), then 10.X.Y.128/25, then 11.X.Y.Z/32: all distinct.
	awk -v n="$N" -v t="$target" 'BEGIN {
		for (i = 0; i < n; i++) {
			if (i < 65536) printf "\troute 10.%d.%d.0/24 %s;\n", int(i / 256), i % 256, t
			else if (i < 131072) printf "\troute 10.%d.%d.128/25 %s;\n", int((i - 65536) / 256), i % 256, t
			else { j = i - 131072; printf "\troute 11.%d.%d.%d/32 %s;\n", int(j / 65536) % 256, int(j / 256) % 256, j % 256, t }
		}
	}'
	echo "}"
} >"$tmp/bird.conf"
chmod -R a+rX "$tmp"
[ -n "${as_user[*]}" ] && chown -R 65534:65534 "$tmp"
"$BIRD" -p -c "$tmp/bird.conf" || fail "BIRD rejects the generated config"

"${as_user[@]}" "$RROUTED" -c "$tmp/rrouted.conf" >"$tmp/rrouted.log" 2>&1 &
rpid=$!
rr_track "$rpid" "rrouted"
ctl() { timeout 10 "${as_user[@]}" "$RRCTL" -s "$tmp/rr.sock" "$@"; }
bc() { timeout 60 "$BIRDC" -s "$tmp/bird.ctl" "$@"; }
v4() { ctl show status --json 2>/dev/null | jq -er '.routes_v4'; }
for _ in $(seq 1 100); do [ -S "$tmp/bird.ctl" ] && bc show status >/dev/null 2>&1 && break; sleep 0.1; done
bc show status >/dev/null 2>&1 || fail "BIRD did not come up inside rrouted"
# Wait for the kernel protocol's first scan to finish, so the clock measures only the export.
for _ in $(seq 1 100); do
	bc show protocols kernel1 2>/dev/null | grep -q ' up ' && break
	sleep 0.1
done
sleep 1
base=$(v4) || fail "rrctl show status --json has no routes_v4"
rss0=$(awk '/^VmRSS/ { print $2 }' "/proc/$rpid/status")
want=$((base + N))

# now_ns: nanoseconds (monotonic enough for this)
t0=$(date +%s%N)
bc enable bench >/dev/null || fail "birdc enable bench failed"
while :; do
	cur=$(v4) || fail "rrctl show status failed (rrouted exited?)"
	[ "$cur" -ge "$want" ] && break
	[ $((($(date +%s%N) - t0) / 1000000000)) -ge "$LIMIT" ] &&
		fail "only $((cur - base)) of $N routes in the FIB after $LIMIT s"
	sleep 0.05
done
t1=$(date +%s%N)
rss1=$(awk '/^VmRSS/ { print $2 }' "/proc/$rpid/status")
bc disable bench >/dev/null || fail "birdc disable bench failed"
while :; do
	cur=$(v4) || fail "rrctl show status failed (rrouted exited?)"
	[ "$cur" -le "$base" ] && break
	[ $((($(date +%s%N) - t1) / 1000000000)) -ge "$LIMIT" ] &&
		fail "$((cur - base)) routes still in the FIB $LIMIT s after disable"
	sleep 0.05
done
t2=$(date +%s%N)

awk -v n="$N" -v a="$t0" -v b="$t1" -v c="$t2" -v r0="$rss0" -v r1="$rss1" -v ty="$TYPE" 'BEGIN {
	s = (b - a) / 1e9; w = (c - b) / 1e9
	printf "# %d routes (%s), one static protocol, BIRD inside rrouted\n", n, ty
	printf "bird_routes_count %d\n", n
	printf "bird_100k_routes_to_fib_seconds %.3f\n", s
	printf "bird_routes_per_second %.0f\n", n / s
	printf "bird_routes_withdraw_seconds %.3f\n", w
	printf "rrouted_rss_kb_before %d\nrrouted_rss_kb_after %d\n", r0, r1
	printf "rrouted_rss_kb_per_route %.3f\n", (r1 - r0) / n
}'
