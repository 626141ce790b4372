#!/usr/bin/env bash
# BIRD inside: three DN42 autonomous systems, the middle one a rootless rrouted with BIRD 2
# inside it, checked as a DN42 operator would (birdc, ping, traceroute, ip route).
#
#  netns A (root)              netns R: rrouted + BIRD, uid 65534, no caps      netns B (root)
#  AS 4242420001               AS 4242420002                                    AS 4242420003
#  +--------------------+      +------------------------------------------+     +--------------------+
#  | rrda<pid> (tun)    |  WG  | wga udp/51820         wgb udp/51821      | WG  | rrdb<pid> (tun)    |
#  |  172.20.0.1/32     |<====>|  172.20.0.2/32 peer   fe80::2/64         |<===>|  fe80::3/64        |
#  |   peer 172.20.0.2  |      |   172.20.0.1 (PostUp)                    |     |                    |
#  |  fe80::1/64        |      |  fe80::2/64                              |     |                    |
#  |                    |      |  172.20.2.1/32 fd42:2::1/128 (own)       |     |                    |
#  | lo 172.20.1.1/32   |      |                                          |     | lo 172.20.3.1/32   |
#  |    fd42:1::1/128   |      | BIRD ([exec]): a_v4 172.20.0.1 (IPv4)    |     |    fd42:3::1/128   |
#  | BIRD: r_v4, r_v6   |      |   a_v6 fe80::1%wga (IPv6), b fe80::3%wgb |     | BIRD: r (MP-BGP,   |
#  |                    |      |   (MP-BGP, IPv4 by extended next hop)    |     |  ext. next hop)    |
#  | va 192.0.2.2 ------+------+- ra 192.0.2.1        rb 198.51.100.1 ----+-----+- vb 198.51.100.2  |
#  +--------------------+      +------------------------------------------+     +--------------------+
#
#  A announces 172.20.1.0/24 fd42:1::/48, R 172.20.2.0/27 fd42:2::/48, B 172.20.3.0/24 fd42:3::/48
#  and also 172.20.4.128/26, which the ROA file says belongs to AS 4242420049 (R must reject it).
#  Every BIRD uses tests/netns/bird/bird.conf.in (DN42 wiki style) and the ROA files there.
#
# Environment:
#   BIRD_DN42_R=rrouted|kernel|auto (default rrouted). "kernel" makes R a reference node: two
#     wireguard-go devices and BIRD (root) on the Linux stack with forwarding on, the same BIRD
#     configuration; it proves the configs and the checks. "auto" picks rrouted when the build
#     has the rtnetlink emulation and [exec] wired in, and says so.
#   BIRD_DN42_START=exec|rrctl (default exec): R's BIRD as an [exec] program of rrouted, or
#     started by the harness with `rrctl exec -- bird ...`.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
rr_require
rr_require_bird traceroute
# shellcheck source=tests/netns/bird.sh
. "$(dirname "$0")/bird.sh"

# Does this build let rrouted host BIRD? It needs the rtnetlink emulation (src/nl) and the
# [exec] supervisor linked into the daemon.
rr_can_host_bird() {
	local syms
	syms=$(nm "$RROUTED" 2>/dev/null) || return 1
	grep -q ' T rtnl_' <<<"$syms" && grep -q ' T supervisor_add_program$' <<<"$syms"
}
R_MODE=${BIRD_DN42_R:-rrouted}
if [ "$R_MODE" = auto ]; then
	if rr_can_host_bird; then
		R_MODE=rrouted
	else
		R_MODE=kernel
		skip "R is rrouted with BIRD inside" \
			"$RROUTED has no rtnetlink emulation or [exec] yet; R runs as a kernel reference node"
	fi
fi
case "$R_MODE" in rrouted | kernel) ;; *) rr_skip_all "BIRD_DN42_R=$R_MODE (expected rrouted|kernel|auto)" ;; esac
diag "R: $R_MODE"

A_AS=4242420001 R_AS=4242420002 B_AS=4242420003
A4=172.20.1.1 A6=fd42:1::1 R4=172.20.2.1 R6=fd42:2::1 B4=172.20.3.1 B6=fd42:3::1
R_TUN4=172.20.0.2   # R's end of the A-R tunnel

# ---------------------------------------------------------------- R's FIB, either kind

# r_fib_bird PREFIX: R's forwarding table has PREFIX, installed by BIRD.
r_fib_bird() {
	if [ "$R_MODE" = rrouted ]; then
		rr_ctl r show routes --json |
			jq -e --arg d "$1" '[.routes[] | select(.dst == $d and .protocol == "bird")] | length > 0'
	else
		local fam=-4
		case "$1" in *:*) fam=-6 ;; esac
		ip -n "$NSR" "$fam" route show exact "$1" proto bird | grep -q .
	fi
}

r_fib_text() {
	if [ "$R_MODE" = rrouted ]; then rr_ctl r show routes; else
		ip -n "$NSR" route show; ip -n "$NSR" -6 route show; fi
}

# Inside R's network: rrctl exec (unprivileged, shim), or plain ip netns exec for the reference.
r_exec() {
	if [ "$R_MODE" = rrouted ]; then
		rr_exec_ns "$NSR" r "$@"
	else
		ip netns exec "$NSR" "$@"
	fi
}

# ---------------------------------------------------------------- setup

setup_common() {
	rr_arb_ns && rr_keys a b ra rb || return 1
	A_PUB=$(rr_pub a) B_PUB=$(rr_pub b) RA_PUB=$(rr_pub ra) RB_PUB=$(rr_pub rb)

	# A: AS 4242420001, own addresses on lo, tunnel /32 with a peer address.
	DEVA=rrda$$ DEVB=rrdb$$
	bird_wggo_host "$NSA" "$DEVA" "$KEYS/a.key" 51822 "$RA_PUB" 192.0.2.1:51820 "0.0.0.0/0,::/0" ||
		return 1
	ip -n "$NSA" addr add 172.20.0.1/32 peer "$R_TUN4/32" dev "$DEVA" || return 1
	rr_addr "$NSA" "$DEVA" fe80::1/64 && rr_addr "$NSA" lo "$A4/32" "$A6/128" || return 1
	bird_node a "$RR_TMP/bird-a" $A_AS $A4 $A6 172.20.1.0/24 fd42:1::/48 || return 1
	bird_peer a v4 r_v4 "$R_TUN4" $R_AS && bird_peer a v6 r_v6 fe80::2 $R_AS "$DEVA" || return 1

	# B: AS 4242420003, one multiprotocol session over link-local; also an invalid announcement.
	bird_wggo_host "$NSB" "$DEVB" "$KEYS/b.key" 51823 "$RB_PUB" 198.51.100.1:51821 "0.0.0.0/0,::/0" ||
		return 1
	rr_addr "$NSB" "$DEVB" fe80::3/64 && rr_addr "$NSB" lo "$B4/32" "$B6/128" || return 1
	bird_node b "$RR_TMP/bird-b" $B_AS $B4 $B6 172.20.3.0/24 fd42:3::/48 || return 1
	echo "route 172.20.4.128/26 unreachable;   # the ROA says AS 4242420049" \
		>"${BIRD_DIR[b]}/static4.conf" || return 1
	bird_peer b mp r fe80::2 $R_AS "$DEVB"
}

# R as the reference node: wireguard-go x2 and BIRD (root) on the Linux stack.
setup_r_kernel() {
	RIFA=rrra$$ RIFB=rrrb$$
	bird_wggo_host "$NSR" "$RIFA" "$KEYS/ra.key" 51820 "$A_PUB" 192.0.2.2:51822 "$DN42_ALLOWED" &&
		bird_wggo_host "$NSR" "$RIFB" "$KEYS/rb.key" 51821 "$B_PUB" 198.51.100.2:51823 "$DN42_ALLOWED" ||
		return 1
	ip -n "$NSR" addr add "$R_TUN4/32" peer 172.20.0.1/32 dev "$RIFA" || return 1
	rr_addr "$NSR" "$RIFA" fe80::2/64 && rr_addr "$NSR" "$RIFB" fe80::2/64 || return 1
	rr_addr "$NSR" lo "$R4/32" "$R6/128" || return 1
	ip netns exec "$NSR" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 || return 1
	bird_node r "$RR_TMP/bird-r" $R_AS $R4 $R6 172.20.2.0/27 fd42:2::/48
}

# R as rrouted: wga/wgb from wg-quick files the DN42 way (Table = off, wide AllowedIPs, the
# IPv4 /32 peer address from a PostUp), BIRD as an [exec] program inside its network.
setup_r_rrouted() {
	RIFA=wga RIFB=wgb
	local dir
	dir=$(rr_instance r) && rr_write_router_conf r || return 1
	cat >"$dir/ifaces/wga.conf" <<-EOF || return 1
		[Interface]
		PrivateKey = $(cat "$KEYS/ra.key")
		ListenPort = 51820
		Address = fe80::2/64, $R4/32, $R6/128
		MTU = 1420
		Table = off
		PostUp = ip addr add $R_TUN4/32 peer 172.20.0.1/32 dev %i

		[Peer]
		PublicKey = $A_PUB
		Endpoint = 192.0.2.2:51822
		AllowedIPs = $DN42_ALLOWED
	EOF
	cat >"$dir/ifaces/wgb.conf" <<-EOF || return 1
		[Interface]
		PrivateKey = $(cat "$KEYS/rb.key")
		ListenPort = 51821
		Address = fe80::2/64
		MTU = 1420
		Table = off

		[Peer]
		PublicKey = $B_PUB
		Endpoint = 198.51.100.2:51823
		AllowedIPs = $DN42_ALLOWED
	EOF
	bird_node r "$dir/bird" $R_AS $R4 $R6 172.20.2.0/27 fd42:2::/48 || return 1
	R_BIRD_CMD="exec $BIRD -f -c $dir/bird/bird.conf -s $dir/bird/bird.ctl -P $dir/bird/bird.pid 2>>$dir/bird/bird.log"
	if [ "${BIRD_DN42_START:-exec}" = exec ]; then
		printf '\n[exec]\nbird = %s\n' "$R_BIRD_CMD" >>"$dir/rrouted.conf" || return 1
	fi
	rr_fix_owner r
	chmod 700 "$dir/bird" "$dir/bird/peers"
}

setup_r_peers() {
	bird_peer r v4 a_v4 172.20.0.1 $A_AS &&
		bird_peer r v6 a_v6 fe80::1 $A_AS "$RIFA" &&
		bird_peer r mp b fe80::3 $B_AS "$RIFB" || return 1
	[ "$R_MODE" = kernel ] || rr_fix_owner r
}

setup_all() { setup_common && "setup_r_$R_MODE" && setup_r_peers; }
rr_setup_step "namespaces A, R, B, wireguard-go peers and BIRD configs set up" setup_all

check "BIRD accepts the rendered configs of A, R and B (bird -p)" sh -c \
	"'$BIRD' -p -c '${BIRD_DIR[a]}/bird.conf' && '$BIRD' -p -c '${BIRD_DIR[r]}/bird.conf' && '$BIRD' -p -c '${BIRD_DIR[b]}/bird.conf'"

# ---------------------------------------------------------------- start everything

# rr_bird_pid: the pid of R's BIRD (from its pid file), if it runs.
r_bird_pid() {
	local p
	p=$(cat "${BIRD_DIR[r]}/bird.pid" 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null &&
		echo "$p"
}

start_r() {
	if [ "$R_MODE" = kernel ]; then
		bird_start_ns r "$NSR"
		return
	fi
	rr_rrouted_start r "$NSR" || return 1
	if [ "${BIRD_DN42_START:-exec}" != exec ]; then
		r_exec sh -c "$R_BIRD_CMD" &
		rr_track "$!" "rrctl exec -- bird (R)" "${BIRD_DIR[r]}/bird.log"
	fi
	rr_logs+=("${BIRD_DIR[r]}/bird.log")
	if ! wait_until 15 test -S "${BIRD_DIR[r]}/bird.ctl" || ! wait_until 5 r_bird_pid; then
		echo "R's BIRD did not come up (no ${BIRD_DIR[r]}/bird.ctl or pid after 15 s)" >&2
		return 1
	fi
}

start_all() { bird_start_ns b "$NSB" && start_r && bird_start_ns a "$NSA"; }
rr_setup_step "BIRD on A and B, and R ($R_MODE) start" start_all

if [ "$R_MODE" = rrouted ]; then
	rr_check_unpriv "rrouted runs as uid 65534 with no capabilities" "${RR_PID[r]}"
	# BIRD inside R: same user, no capabilities, and the shim preloaded (it lives in R's network).
	bpid=$(r_bird_pid)
	st=$(cat "/proc/$bpid/status" 2>/dev/null)
	if [ -n "$bpid" ] && grep -Eq "^Uid:\s+65534\s+65534\s+65534\s+65534$" <<<"$st" &&
		grep -q '^CapEff:[[:space:]]*0000000000000000$' <<<"$st" &&
		grep -q '^CapBnd:[[:space:]]*0000000000000000$' <<<"$st" &&
		tr '\0' '\n' <"/proc/$bpid/environ" | grep -q '^LD_PRELOAD=.*librrshim'; then
		ok "R's BIRD (pid $bpid) runs as uid 65534, no capabilities, with librrshim.so preloaded"
	else
		not_ok "R's BIRD runs as uid 65534, no capabilities, with librrshim.so preloaded" \
			"pid '${bpid:-none}'" "$(grep -E '^(Uid|CapEff|CapBnd):' <<<"$st")"
	fi
else
	skip "rrouted and its BIRD run unprivileged" "R is the kernel reference node"
fi

# ---------------------------------------------------------------- sessions

all_established() {
	bird_established a r_v4 r_v6 && bird_established r a_v4 a_v6 b && bird_established b r
}
t0=$(date +%s%N)
wait_until 45 all_established
diag "BGP: waited $((($(date +%s%N) - t0) / 1000000)) ms after the last BIRD started"
sessions_up=1
for spec in "a r_v4 r_v6" "r a_v4 a_v6 b" "b r"; do
	read -r n protos <<<"$spec"
	# shellcheck disable=SC2086
	if bird_established "$n" $protos; then
		ok "birdc show protocols on ${n^^}: $protos Established"
	else
		sessions_up=0
		not_ok "birdc show protocols on ${n^^}: $protos Established" "$(birdc_n "$n" show protocols 2>&1)"
	fi
done
# Without the sessions every check below would only time out: stop here, with the logs.
if [ "$sessions_up" = 0 ]; then
	[ "$R_MODE" = rrouted ] && diag "R's interfaces as BIRD sees them:" "$(birdc_n r show interfaces 2>&1)"
	rr_finish
fi

# ---------------------------------------------------------------- routes learned

# expect_path NODE PREFIX PATH: NODE's best route for PREFIX has exactly that AS path.
path_is() { [ "$(bird_as_path "$1" "$2")" = "$3" ]; }
expect_path() {
	local got
	wait_until 15 path_is "$@"
	got=$(bird_as_path "$1" "$2")
	if [ "$got" = "$3" ]; then
		ok "${1^^} learns $2 with AS path $3"
	else
		not_ok "${1^^} learns $2 with AS path $3" "got '${got}'" "$(birdc_n "$1" show route "$2" all 2>&1)"
	fi
}
expect_path a 172.20.3.0/24 "$R_AS $B_AS"
expect_path a fd42:3::/48 "$R_AS $B_AS"
expect_path b 172.20.1.0/24 "$R_AS $A_AS"
expect_path b fd42:1::/48 "$R_AS $A_AS"
expect_path a 172.20.2.0/27 "$R_AS"
expect_path b fd42:2::/48 "$R_AS"

# R's FIB: BIRD's kernel protocol installed what it learned; B's IPv4 prefix has B's link-local
# IPv6 address as its next hop (extended next hop).
for p in 172.20.1.0/24 fd42:1::/48 172.20.3.0/24 fd42:3::/48; do
	if wait_until 10 r_fib_bird "$p"; then
		ok "R's FIB has $p from BIRD"
	else
		not_ok "R's FIB has $p from BIRD" "$(r_fib_text 2>&1)"
	fi
done
if [ "$R_MODE" = rrouted ]; then
	out=$(rr_ctl r show routes --json 2>&1)
	if jq -e '.routes[] | select(.dst == "172.20.3.0/24" and .gateway == "fe80::3" and .dev == "wgb"
		and .prefsrc == "172.20.2.1")' <<<"$out" >/dev/null 2>&1; then
		ok "R's FIB: 172.20.3.0/24 via fe80::3 dev wgb src 172.20.2.1 (RFC 8950 next hop, krt_prefsrc)"
	else
		not_ok "R's FIB: 172.20.3.0/24 via fe80::3 dev wgb src 172.20.2.1" "$out"
	fi
	out=$(r_exec ip route 2>&1)
	if grep -Eq '^172\.20\.3\.0/24 .*proto bird' <<<"$out" && grep -Eq '^172\.20\.1\.0/24 .*proto bird' <<<"$out"; then
		ok "rrctl exec -- ip route on R shows BIRD's routes (proto bird)"
	else
		not_ok "rrctl exec -- ip route on R shows BIRD's routes (proto bird)" "$out"
	fi
	out=$(r_exec ip -6 route 2>&1)
	if grep -Eq '^fd42:3::/48 .*proto bird' <<<"$out"; then
		ok "rrctl exec -- ip -6 route on R shows BIRD's IPv6 routes (proto bird)"
	else
		not_ok "rrctl exec -- ip -6 route on R shows BIRD's IPv6 routes (proto bird)" "$out"
	fi
else
	out=$(ip -n "$NSR" route show exact 172.20.3.0/24 2>&1)
	if grep -q "via inet6 fe80::3 dev $RIFB proto bird .*src 172.20.2.1" <<<"$out"; then
		ok "R's FIB: 172.20.3.0/24 via inet6 fe80::3 src 172.20.2.1 (RFC 8950 next hop, krt_prefsrc)"
	else
		not_ok "R's FIB: 172.20.3.0/24 via inet6 fe80::3 src 172.20.2.1" "$out"
	fi
	skip "rrctl exec -- ip route on R shows BIRD's routes" "R is the kernel reference node"
fi

# ---------------------------------------------------------------- ROA

out=$(birdc_n r show route 172.20.4.128/26 filtered all 2>&1)
imported=$(birdc_n r show route 172.20.4.128/26 2>&1)
if grep -q "172.20.4.128/26" <<<"$out" && grep -q "BGP.as_path: $B_AS" <<<"$out" &&
	! grep -q "172.20.4.128/26" <<<"$imported"; then
	ok "R rejects B's 172.20.4.128/26 (ROA: AS 4242420049): in 'show route filtered', not imported"
else
	not_ok "R rejects B's 172.20.4.128/26 (ROA: AS 4242420049)" "filtered: $out" "imported: $imported"
fi
check "R's BIRD logs the ROA failure for 172.20.4.128/26" \
	grep -q "ROA check failed for 172.20.4.128/26 ASN $B_AS" "${BIRD_DIR[r]}/bird.log"
out=$(birdc_n a show route 172.20.4.128/26 all 2>&1)
if grep -q "172.20.4.128/26" <<<"$out"; then
	not_ok "A never hears of 172.20.4.128/26" "$out"
else
	ok "A never hears of 172.20.4.128/26"
fi
if r_fib_bird 172.20.4.128/26 >/dev/null 2>&1; then
	not_ok "R's FIB does not have 172.20.4.128/26" "$(r_fib_text 2>&1)"
else
	ok "R's FIB does not have 172.20.4.128/26"
fi

# ---------------------------------------------------------------- traffic through R

rr_ping "ping A -> B ($A4 -> $B4; A's source from krt_prefsrc)" "$NSA" -c 3 -i 0.3 -w 15 "$B4"
rr_ping "ping A -> B over IPv6 ($A6 -> $B6)" "$NSA" -6 -c 3 -i 0.3 -w 10 "$B6"
rr_ping "ping B -> A ($B4 -> $A4; IPv4 via B's IPv6 next hop)" "$NSB" -c 3 -i 0.3 -w 10 "$A4"
check "ping from A uses its own DN42 address ($A4) as source" \
	sh -c "ip -n '$NSA' route get '$B4' | grep -q 'src $A4'"

# Locally originated from R: the source is R's krt_prefsrc, which A and B route back.
if [ "$R_MODE" = rrouted ]; then
	# ping has file capabilities, which a process without a bounding set may not exec.
	cp /usr/bin/ping "$RR_TMP/ping" && chmod 755 "$RR_TMP/ping"
	PING=$RR_TMP/ping
else
	PING=ping
fi
check "ping from R itself to B ($B4; source $R4 from krt_prefsrc)" r_exec "$PING" -n -c 2 -i 0.3 -w 10 "$B4"
check "ping from R itself to A over IPv6 ($A6; source $R6)" r_exec "$PING" -n -6 -c 2 -i 0.3 -w 10 "$A6"

# trace_check DESC DST FAMILY-OPTS...: hop 1 is one of R's addresses, hop 2 is DST, nothing after.
trace_check() {
	local desc=$1 dst=$2 out hop1 hop2 last
	shift 2
	out=$(timeout 40 ip netns exec "$NSA" traceroute -n -q 2 -w 2 -m 6 "$@" "$dst" 2>&1)
	hop1=$(awk '$1 == "1" { print $2 }' <<<"$out")
	hop2=$(awk '$1 == "2" { print $2 }' <<<"$out")
	last=$(awk '$1 ~ /^[0-9]+$/ { n = $1 } END { print n }' <<<"$out")
	if [[ " $R_ADDRS " == *" $hop1 "* ]] && [ "$hop2" = "$dst" ] && [ "$last" = 2 ]; then
		ok "$desc (hop 1: $hop1)"
	else
		not_ok "$desc" "expected hop 1 in {$R_ADDRS}, hop 2 $dst and nothing after" "$out"
	fi
}
R_ADDRS="$R4 $R_TUN4" trace_check "traceroute A -> $B4 passes through R" "$B4"
R_ADDRS="$R6" trace_check "traceroute -6 A -> $B6 passes through R" "$B6" -6

# ---------------------------------------------------------------- soak (make soak)

if [ -n "${SOAK_MINUTES:-}" ]; then
	# shellcheck source=tests/netns/soak.sh
	. "$RR_ROOT/tests/netns/soak.sh"
	soak_run
fi

# ---------------------------------------------------------------- B goes away and comes back

# Stopping B's BIRD (SIGTERM) closes its session with a Cease; R must withdraw B's routes from
# its FIB and from A.
r_fib_lacks() { ! r_fib_bird "$1" >/dev/null 2>&1; }
t0=$(date +%s%N)
rr_stop_pid "${BIRD_PID[b]}"
for p in 172.20.3.0/24 fd42:3::/48; do
	if wait_until 15 r_fib_lacks "$p"; then
		ok "B's BIRD stopped: R's FIB drops $p within $((($(date +%s%N) - t0) / 1000000)) ms"
	else
		not_ok "B's BIRD stopped: R's FIB drops $p within 15 s" "$(r_fib_text 2>&1)"
	fi
done
a_no_route() { ! ip -n "$NSA" route get "$1" >/dev/null 2>&1; }
wait_until 10 a_no_route "$B4"
if ! out=$(ip netns exec "$NSA" ping -n -c 2 -i 0.3 -W 1 "$B4" 2>&1) && grep -Eq 'Network is unreachable|Destination Net Unreachable|No route' <<<"$out"; then
	ok "A: $B4 unreachable after the withdrawal ($(grep -Eo 'Network is unreachable|Destination Net Unreachable|No route' <<<"$out" | head -n1))"
else
	not_ok "A: $B4 unreachable after the withdrawal" "$out" "$(ip -n "$NSA" route 2>&1)"
fi

bird_start_ns b "$NSB" 2>"$RR_TMP/restart.err" || diag "$(cat "$RR_TMP/restart.err")"
t0=$(date +%s)
if wait_until 40 bird_established b r && wait_until 10 bird_established r b; then
	ok "B's BIRD restarted: session R-B Established again after $(($(date +%s) - t0)) s"
else
	not_ok "B's BIRD restarted: session R-B Established again" "$(birdc_n r show protocols all b 2>&1)"
fi
if wait_until 15 r_fib_bird 172.20.3.0/24; then
	ok "R's FIB has 172.20.3.0/24 again"
else
	not_ok "R's FIB has 172.20.3.0/24 again" "$(r_fib_text 2>&1)"
fi
wait_until 15 ip -n "$NSA" route get "$B4"
rr_ping "traffic flows again: ping A -> B ($B4)" "$NSA" -c 3 -i 0.3 -w 15 "$B4"
rr_ping "traffic flows again: ping A -> B over IPv6 ($B6)" "$NSA" -6 -c 3 -i 0.3 -w 15 "$B6"

# ---------------------------------------------------------------- still healthy

if [ "$R_MODE" = rrouted ]; then
	check "rrouted is still running" kill -0 "${RR_PID[r]}"
	check "R's BIRD is still running" r_bird_pid
	if rr_rrouted_stop r; then
		ok "rrouted stops cleanly on SIGTERM (and its BIRD with it)"
	else
		not_ok "rrouted stops cleanly on SIGTERM" "$RR_STOP_WHY"
	fi
	if wait_until 5 sh -c "! kill -0 $bpid 2>/dev/null"; then
		ok "R's BIRD is gone after rrouted stopped"
	else
		not_ok "R's BIRD is gone after rrouted stopped" "pid $bpid still runs"
	fi
else
	check "R's BIRD is still running" kill -0 "${BIRD_PID[r]}"
fi

rr_finish
