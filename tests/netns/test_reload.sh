#!/usr/bin/env bash
# Live operation of a long-running node (issue 8): reload, hosted programs, endpoint names.
#
#  netns A (root)            netns R: rrouted + BIRD ([exec]), uid 65534, no caps    netns B (root)
#  AS 4242420001             AS 4242420002                                            AS 4242420003
#  +------------------+      +--------------------------------------------+         +------------------+
#  | rrla<pid> (tun)  |  WG  | wga udp/51820   wgb udp/51821              |   WG    | rrlb<pid> (tun)  |
#  |  fe80::1/64      |<====>|  fe80::2/64      fe80::2/64                |<=======>|  fe80::3/64      |
#  | lo 172.20.1.1/32 |      |  172.20.2.1/32 fd42:2::1/128 (own, on wga) |         | lo 172.20.3.1/32 |
#  | va 192.0.2.2 ----+------+- ra 192.0.2.1          rb 198.51.100.1 ----+---------+- vb 198.51.100.2 |
#  +------------------+      |  rc 203.0.113.1                            |         +------------------+
#                            +-----+--------------------------------------+
#                                  |  netns C (root), AS 4242420005: rrlc<pid> (tun) fe80::5/64,
#                                  +- vc 203.0.113.2   lo 172.20.5.1/32, BIRD; later also rrld<pid>
#                                                     (a second peer "D", no BIRD) for the DNS checks
#
# Every BGP session is multiprotocol over link-local IPv6 (RFC 8950 next hops for IPv4).
# Checks, in order:
#  1. A and B Established through R; a continuous ping A -> B.
#  2. Peer C added by dropping wgc.conf (with a PostUp) into R's interfaces directory + `rrctl reload`, then
#     `birdc configure` on R adds the session to C; C's routes reach A. The ping A -> B loses
#     nothing and the A/B sessions' "since" times do not change.
#  3. A reload with a broken file: file:line, non-zero exit, interfaces and routes unchanged.
#  4. [exec] changes start/stop/restart only the changed program (BIRD keeps its pid).
#  5. SIGHUP reloads and never stops rrouted.
#  6. kill -9 of rrouted leaves no hosted program: BIRD, an [exec] program, an `rrctl exec` one.
#  7. An endpoint name that does not resolve at start: rrouted runs, logs it, and the peer comes
#     up once the name resolves (/etc/netns/NS/hosts, which ip netns exec bind-mounts).
#  3b. C removed (file + reload) and added again the wg-quick way (`rrctl exec -- wg-quick up`,
#     unmodified), with the continuous ping and the since checks again; a reload then leaves
#     that runtime interface alone. Skipped, with the reason, if the build lacks the wg tool.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
rr_require
rr_require_bird
# shellcheck source=tests/netns/bird.sh
. "$(dirname "$0")/bird.sh"

A_AS=4242420001 R_AS=4242420002 B_AS=4242420003 C_AS=4242420005
A4=172.20.1.1 A6=fd42:1::1 R4=172.20.2.1 R6=fd42:2::1 B4=172.20.3.1 B6=fd42:3::1
C4=172.20.5.1 C6=fd42:5::1

# ---------------------------------------------------------------- BIRD helpers (and bird.sh)

# bird_since NAME PROTO: the "Since" column of PROTO in `birdc show protocols`.
bird_since() {
	birdc_n "$1" show protocols | awk -v p="$2" '$1 == p { s = ""; for (i = 5; i < NF; i++) s = s $i " "; print s }'
}

# since_same T1 T2: two "Since" values name the same moment. BIRD renders a monotonic timestamp
# through the current wall-clock offset, so the same moment may print 1-2 ms apart; a session
# that reset is seconds later.
since_same() {
	local a b
	a=$(awk -F'[:. ]' 'NF >= 4 { print ($1 * 3600 + $2 * 60 + $3) * 1000 + $4 }' <<<"$1")
	b=$(awk -F'[:. ]' 'NF >= 4 { print ($1 * 3600 + $2 * 60 + $3) * 1000 + $4 }' <<<"$2")
	[ -n "$a" ] && [ -n "$b" ] && [ $((a > b ? a - b : b - a)) -le 50 ]
}

# ab_sessions_kept DESC: R's sessions with A and B are Established, since SINCE_A and SINCE_B.
ab_sessions_kept() {
	if since_same "$(bird_since r a)" "$SINCE_A" && since_same "$(bird_since r b)" "$SINCE_B" &&
		bird_established r a b; then
		ok "$1"
	else
		not_ok "the A and B sessions never reset" "$(birdc_n r show protocols 2>&1)"
	fi
}

r_bird_pid() {
	local p
	p=$(cat "${BIRD_DIR[r]}/bird.pid" 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null &&
		echo "$p"
}

r_exec() { rr_exec_ns "$NSR" r "$@"; }

# The /etc/netns/NS directory of R (hosts, resolv.conf) is ours to remove at the end.
ETC_NETNS=
reload_cleanup() {
	local rc=$?
	[ -n "$ETC_NETNS" ] && rm -rf "$ETC_NETNS"
	(exit "$rc")
	rr_cleanup
}
trap reload_cleanup EXIT

# ---------------------------------------------------------------- setup

iface_file() {   # iface_file KEYFILE PORT PEER_PUB ENDPOINT [extra Interface lines...]
	local key=$1 port=$2 pub=$3 ep=$4
	shift 4
	echo "[Interface]"
	echo "PrivateKey = $(cat "$key")"
	echo "ListenPort = $port"
	echo "Address = fe80::2/64"
	echo "MTU = 1420"
	echo "Table = off"
	local l
	for l in "$@"; do echo "$l"; done
	echo
	echo "[Peer]"
	echo "PublicKey = $pub"
	echo "Endpoint = $ep"
	echo "AllowedIPs = $DN42_ALLOWED"
}

setup() {
	rr_arb_ns && rr_ns NSC c && rr_veth "$NSR" rc "$NSC" vc || return 1
	rr_addr "$NSR" rc 203.0.113.1/24 && rr_addr "$NSC" vc 203.0.113.2/24 || return 1
	rr_keys a b c d ra rb rc rd || return 1
	A_PUB=$(rr_pub a) B_PUB=$(rr_pub b) C_PUB=$(rr_pub c) D_PUB=$(rr_pub d)
	RA_PUB=$(rr_pub ra) RB_PUB=$(rr_pub rb) RC_PUB=$(rr_pub rc) RD_PUB=$(rr_pub rd)

	DEVA=rrla$$ DEVB=rrlb$$ DEVC=rrlc$$ DEVD=rrld$$
	bird_wggo_host "$NSA" "$DEVA" "$KEYS/a.key" 51822 "$RA_PUB" 192.0.2.1:51820 "0.0.0.0/0,::/0" &&
		rr_addr "$NSA" "$DEVA" fe80::1/64 && rr_addr "$NSA" lo "$A4/32" "$A6/128" || return 1
	bird_node a "$RR_TMP/bird-a" $A_AS $A4 $A6 172.20.1.0/24 fd42:1::/48 &&
		bird_peer a mp r fe80::2 $R_AS "$DEVA" || return 1
	bird_wggo_host "$NSB" "$DEVB" "$KEYS/b.key" 51823 "$RB_PUB" 198.51.100.1:51821 "0.0.0.0/0,::/0" &&
		rr_addr "$NSB" "$DEVB" fe80::3/64 && rr_addr "$NSB" lo "$B4/32" "$B6/128" || return 1
	bird_node b "$RR_TMP/bird-b" $B_AS $B4 $B6 172.20.3.0/24 fd42:3::/48 &&
		bird_peer b mp r fe80::2 $R_AS "$DEVB" || return 1
	# C waits for R (no keepalive: R's handshake after the reload brings it up).
	bird_wggo_host "$NSC" "$DEVC" "$KEYS/c.key" 51825 "$RC_PUB" 203.0.113.1:51824 "0.0.0.0/0,::/0" &&
		rr_addr "$NSC" "$DEVC" fe80::5/64 && rr_addr "$NSC" lo "$C4/32" "$C6/128" || return 1
	bird_node c "$RR_TMP/bird-c" $C_AS $C4 $C6 172.20.5.0/24 fd42:5::/48 &&
		bird_peer c mp r fe80::2 $R_AS "$DEVC" || return 1

	local dir
	dir=$(rr_instance r) && rr_write_router_conf r info || return 1
	iface_file "$KEYS/ra.key" 51820 "$A_PUB" 192.0.2.2:51822 "Address = $R4/32, $R6/128" \
		>"$dir/ifaces/wga.conf" || return 1
	iface_file "$KEYS/rb.key" 51821 "$B_PUB" 198.51.100.2:51823 >"$dir/ifaces/wgb.conf" || return 1
	bird_node r "$dir/bird" $R_AS $R4 $R6 172.20.2.0/27 fd42:2::/48 &&
		bird_peer r mp a fe80::1 $A_AS wga && bird_peer r mp b fe80::3 $B_AS wgb || return 1
	R_BIRD_CMD="exec $BIRD -f -c $dir/bird/bird.conf -s $dir/bird/bird.ctl -P $dir/bird/bird.pid 2>>$dir/bird/bird.log"
	printf '\n[exec]\nbird = %s\n' "$R_BIRD_CMD" >>"$dir/rrouted.conf" || return 1
	rr_fix_owner r
	chmod 700 "$dir/bird" "$dir/bird/peers"
	RDIR=$dir
}

rr_setup_step "namespaces A, R, B, C, wireguard-go peers and BIRD configs set up" setup

start_all() {
	bird_start_ns a "$NSA" && bird_start_ns b "$NSB" && bird_start_ns c "$NSC" || return 1
	rr_rrouted_start r "$NSR" || return 1
	rr_logs+=("${BIRD_DIR[r]}/bird.log")
	wait_until 15 test -S "${BIRD_DIR[r]}/bird.ctl" && wait_until 5 r_bird_pid ||
		{ echo "R's BIRD did not come up" >&2; return 1; }
}
rr_setup_step "BIRD on A, B, C and rrouted (with BIRD inside) on R start" start_all
rr_check_unpriv "rrouted runs as uid 65534 with no capabilities" "${RR_PID[r]}"

# ---------------------------------------------------------------- 1. A and B through R

if wait_until 45 bird_established r a b && wait_until 10 bird_established a r &&
	wait_until 10 bird_established b r; then
	ok "BGP A-R and R-B Established"
else
	not_ok "BGP A-R and R-B Established" "$(birdc_n r show protocols 2>&1)" \
		"$(birdc_n r show interfaces 2>&1)"
	rr_finish
fi
a_route_to() { ip -n "$NSA" route get "$1" >/dev/null 2>&1; }
wait_until 20 a_route_to "$B4"
rr_ping "ping A -> B ($A4 -> $B4) through R" "$NSA" -c 3 -i 0.2 -w 15 "$B4"
SINCE_A=$(bird_since r a) SINCE_B=$(bird_since r b)
diag "R's sessions: a since '$SINCE_A', b since '$SINCE_B'"

# A continuous ping A -> B in the background for COUNT x 0.1 s; result in FILE.
ping_start() {
	ip netns exec "$NSA" ping -n -q -i 0.1 -c "$1" -W 2 "$B4" >"$2" 2>&1 &
	PING_PID=$!
	rr_track "$PING_PID" "ping A -> B"
}
# ping_result DESC FILE: waits for the ping and checks it lost nothing.
ping_result() {
	local desc=$1 file=$2 sent recv
	wait "$PING_PID"
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$file")
	recv=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$file")
	if [ -n "$sent" ] && [ "$sent" -gt 0 ] && [ "$sent" = "$recv" ]; then
		ok "$desc: $recv/$sent replies, no loss"
	else
		not_ok "$desc: no packet lost" "$(cat "$file")"
	fi
}

# ---------------------------------------------------------------- 2. peer C by file + reload

ping_start 450 "$RR_TMP/ping1.out"
sleep 1
iface_file "$KEYS/rc.key" 51824 "$C_PUB" 203.0.113.2:51825 \
	"PostUp = ip addr add 172.20.2.30/32 dev %i" >"$RDIR/ifaces/wgc.conf"
rr_fix_owner r
if out=$(rr_ctl r reload 2>&1) && grep -q '^wgc: added' <<<"$out"; then
	ok "rrctl reload after dropping wgc.conf: '$(head -n1 <<<"$out")'"
else
	not_ok "rrctl reload after dropping wgc.conf adds wgc" "$out"
fi
check "R has interface wgc" rr_iface r wgc .name
wgc_has_hook_addr() { rr_iface r wgc '.addresses[]' | grep -q '^172\.20\.2\.30/32$'; }
if wait_until 10 wgc_has_hook_addr; then
	ok "the new interface's PostUp ran inside the router (ip addr add ... dev %i)"
else
	not_ok "the new interface's PostUp ran inside the router" "$(rr_ctl r show interfaces 2>&1)" \
		"$(grep -i 'postup\|wgc' "$RR_TMP/r.log" | tail -n 5)"
fi
bird_peer r mp c fe80::5 $C_AS wgc && rr_fix_owner r && chmod 700 "$RDIR/bird" "$RDIR/bird/peers"
if out=$(birdc_n r configure 2>&1) && grep -q 'Reconfigured' <<<"$out"; then
	ok "birdc configure on R adds the session to C"
else
	not_ok "birdc configure on R adds the session to C" "$out"
fi
if wait_until 60 bird_established r c && wait_until 10 bird_established c r; then
	ok "BGP R-C Established"
else
	not_ok "BGP R-C Established" "$(birdc_n r show protocols all c 2>&1)" \
		"$(birdc_n r show interfaces 2>&1)" "$(rr_ctl r show peers 2>&1)"
fi
path_is() { [ "$(bird_as_path "$1" "$2")" = "$3" ]; }
if wait_until 30 path_is a 172.20.5.0/24 "$R_AS $C_AS"; then
	ok "C's routes reach A: 172.20.5.0/24 with AS path $R_AS $C_AS"
else
	not_ok "C's routes reach A: 172.20.5.0/24 with AS path $R_AS $C_AS" \
		"$(birdc_n a show route 172.20.5.0/24 all 2>&1)"
fi
wait_until 20 a_route_to "$C4"
rr_ping "ping A -> C ($C4) through R" "$NSA" -c 3 -i 0.2 -w 15 "$C4"
ping_result "continuous ping A -> B while C was added" "$RR_TMP/ping1.out"
ab_sessions_kept "the A and B sessions never reset (since '$SINCE_A' / '$SINCE_B' unchanged)"

# ---------------------------------------------------------------- 3. broken file

IFACES_BEFORE=$(rr_ctl r show interfaces --json | jq -c '[.interfaces[] | {name, mtu, addresses}]')
ROUTES_BEFORE=$(rr_ctl r show routes)
printf '[Interface]\nPrivateKey = %s\nthis line is broken\n' "$(cat "$KEYS/rd.key")" \
	>"$RDIR/ifaces/wgd.conf"
sed -i 's/^MTU = 1420/MTU = 1400/' "$RDIR/ifaces/wgc.conf"   # a valid change in the same reload
rr_fix_owner r
out=$(rr_ctl r reload 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && grep -q "ifaces/wgd.conf:3: " <<<"$out"; then
	ok "reload with a broken file exits $rc and names it: $(grep -o 'wgd.conf:3: .*' <<<"$out" | head -n1)"
else
	not_ok "reload with a broken file exits non-zero with file:line" "exit $rc" "$out"
fi
IFACES_AFTER=$(rr_ctl r show interfaces --json | jq -c '[.interfaces[] | {name, mtu, addresses}]')
if [ "$IFACES_AFTER" = "$IFACES_BEFORE" ] && [ "$(rr_ctl r show routes)" = "$ROUTES_BEFORE" ]; then
	ok "after the failed reload: interfaces (wgc still MTU 1420, no wgd) and routes unchanged"
else
	not_ok "after the failed reload: interfaces and routes unchanged" "before: $IFACES_BEFORE" \
		"after:  $IFACES_AFTER"
fi
check "rrouted logged the error with file:line" grep -q "reload: .*ifaces/wgd.conf:3: " "$RR_TMP/r.log"
rm -f "$RDIR/ifaces/wgd.conf"
if out=$(rr_ctl r reload 2>&1) && grep -q '^wgc: changed:.*mtu 1400' <<<"$out" &&
	[ "$(rr_iface r wgc .mtu)" = 1400 ]; then
	ok "the fixed reload applies wgc's MTU change in place ($out)"
else
	not_ok "the fixed reload applies wgc's MTU change in place" "$out"
fi
check "the R-C session survived the MTU change" bird_established r c

# An address added to a file: applied in place and multicast at once (BIRD's own scan is 10 s).
bird_has_addr() { birdc_n r show interfaces | grep -q "$1"; }
# reload_seen DESC FAIL-DESC CHANGE CMD...: `rrctl reload` reports CHANGE (a grep pattern) and CMD
# holds within 3 s; @OUT@ in DESC stands for what the reload printed.
reload_seen() {
	local desc=$1 fail=$2 change=$3 out
	shift 3
	if out=$(rr_ctl r reload 2>&1) && grep -q "$change" <<<"$out" && wait_until 3 "$@"; then
		ok "${desc//@OUT@/"$out"}"
	else
		not_ok "$fail" "$out" "$(birdc_n r show interfaces 2>&1)"
	fi
}
sed -i 's|^\[Interface\]$|&\nAddress = 172.20.2.29/32|' "$RDIR/ifaces/wga.conf"
rr_fix_owner r
reload_seen "reload adds 172.20.2.29/32 to wga in place; R's BIRD sees it within 3 s (@OUT@)" \
	"reload adds 172.20.2.29/32 to wga; R's BIRD sees it within 3 s" '^wga: changed: addresses +1 -0' \
	bird_has_addr 172.20.2.29/32
rr_ping "ping A -> 172.20.2.29 (the new address, answered by R)" "$NSA" -c 2 -i 0.2 -w 10 172.20.2.29
sed -i '/^Address = 172.20.2.29\/32$/d' "$RDIR/ifaces/wga.conf"
bird_lacks_addr() { ! bird_has_addr "$1"; }
reload_seen "reload removes it again; R's BIRD sees that within 3 s" \
	"reload removes 172.20.2.29/32; R's BIRD sees that within 3 s" '^wga: changed: addresses +0 -1' \
	bird_lacks_addr 172.20.2.29/32

# ---------------------------------------------------------------- 3b. C again, the wg-quick way

# C goes (its file removed + reload, its BGP session removed), then comes back as an autopeer bot
# brings a peer up: `rrctl exec -- wg-quick up FILE`, an interface made at runtime that later
# reloads leave alone.
if ! command -v wg-quick >/dev/null 2>&1; then
	skip "peer C added with rrctl exec -- wg-quick up" "wg-quick is not installed (wireguard-tools)"
elif ! r_exec wg show >/dev/null 2>&1; then
	skip "peer C added with rrctl exec -- wg-quick up" "the wg tool does not work inside the router in this build"
else
	ping_start 600 "$RR_TMP/ping2.out"
	sleep 1
	rm -f "$RDIR/ifaces/wgc.conf" "$RDIR/bird/peers/c.conf"
	if out=$(rr_ctl r reload 2>&1) && grep -q '^wgc: removed' <<<"$out" &&
		! rr_iface r wgc .name >/dev/null 2>&1; then
		ok "wgc.conf removed + rrctl reload: wgc is gone ($out)"
	else
		not_ok "wgc.conf removed + rrctl reload: wgc is gone" "$out"
	fi
	birdc_n r configure >/dev/null 2>&1
	a_lacks_c() { [ -z "$(bird_as_path a 172.20.5.0/24)" ]; }
	if wait_until 30 a_lacks_c; then
		ok "A loses C's 172.20.5.0/24 once R's session to C is configured away"
	else
		not_ok "A loses C's 172.20.5.0/24" "$(birdc_n a show route 172.20.5.0/24 all 2>&1)"
	fi
	iface_file "$KEYS/rc.key" 51824 "$C_PUB" 203.0.113.2:51825 >"$RDIR/wgq.conf"
	bird_peer r mp cq fe80::5 $C_AS wgq
	rr_fix_owner r
	chmod 700 "$RDIR/bird" "$RDIR/bird/peers"
	if out=$(r_exec sh -c "cd '$RDIR' && wg-quick up ./wgq.conf" 2>&1); then
		ok "rrctl exec -- wg-quick up ./wgq.conf (unmodified wg-quick)"
	else
		not_ok "rrctl exec -- wg-quick up ./wgq.conf" "$out"
	fi
	if out=$(birdc_n r configure 2>&1) && grep -q 'Reconfigured' <<<"$out" &&
		wait_until 60 bird_established r cq && wait_until 10 bird_established c r; then
		ok "birdc configure adds the session to C over wgq: Established"
	else
		not_ok "birdc configure adds the session to C over wgq: Established" "$out" 			"$(birdc_n r show protocols all cq 2>&1)" "$(r_exec wg show wgq 2>&1)"
	fi
	if wait_until 30 path_is a 172.20.5.0/24 "$R_AS $C_AS"; then
		ok "C's routes reach A again: 172.20.5.0/24 with AS path $R_AS $C_AS"
	else
		not_ok "C's routes reach A again" "$(birdc_n a show route 172.20.5.0/24 all 2>&1)"
	fi
	wait_until 20 a_route_to "$C4"
	rr_ping "ping A -> C ($C4) through wgq" "$NSA" -c 3 -i 0.2 -w 15 "$C4"
	if out=$(rr_ctl r reload 2>&1) && [ "$out" = "no changes" ] && rr_iface r wgq .name >/dev/null; then
		ok "a reload leaves the runtime interface wgq alone (no changes)"
	else
		not_ok "a reload leaves the runtime interface wgq alone" "$out"
	fi
	ping_result "continuous ping A -> B while C went and came back by wg-quick" "$RR_TMP/ping2.out"
	ab_sessions_kept "the A and B sessions never reset (since times unchanged)"
fi

# ---------------------------------------------------------------- 4. [exec] changes

BIRD_PID_R=$(r_bird_pid)
printf 'sleeper = exec sleep 1000\n' >>"$RDIR/rrouted.conf"
rr_fix_owner r
sleeper_pid() { pgrep -u "$RR_UID" -f '^sleep 100[01]$' | head -n1; }
if out=$(rr_ctl r reload 2>&1) && grep -q '^\[exec\] sleeper: started' <<<"$out" &&
	wait_until 5 sleeper_pid; then
	ok "reload with a new [exec] line starts only it: $out"
else
	not_ok "reload with a new [exec] line starts it" "$out"
fi
S1=$(sleeper_pid)
sed -i 's/^sleeper = exec sleep 1000$/sleeper = exec sleep 1001/' "$RDIR/rrouted.conf"
new_sleeper() { local p; p=$(sleeper_pid) && [ "$p" != "$S1" ]; }
if out=$(rr_ctl r reload 2>&1) && grep -q '^\[exec\] sleeper: restarted' <<<"$out" &&
	wait_until 5 new_sleeper && ! kill -0 "$S1" 2>/dev/null; then
	ok "a changed [exec] line restarts that program (pid $S1 -> $(sleeper_pid))"
else
	not_ok "a changed [exec] line restarts that program" "$out" "old $S1 new $(sleeper_pid)"
fi
if [ "$(r_bird_pid)" = "$BIRD_PID_R" ] && since_same "$(bird_since r a)" "$SINCE_A"; then
	ok "R's BIRD kept running through the [exec] changes (pid $BIRD_PID_R)"
else
	not_ok "R's BIRD kept running through the [exec] changes" "pid $BIRD_PID_R -> $(r_bird_pid)"
fi

# [router] batch_hold_us: applied by a reload; traffic keeps flowing with the hold on.
sed -i 's/^\[router\]$/[router]\nbatch_hold_us = 1000/' "$RDIR/rrouted.conf"
rr_fix_owner r
ping_start 30 "$RR_TMP/ping-hold.out"
if out=$(rr_ctl r reload 2>&1) && [ "$out" = "batch_hold_us: 1000" ]; then
	ok "reload applies [router] batch_hold_us = 1000 ($out)"
else
	not_ok "reload applies [router] batch_hold_us = 1000" "$out"
fi
ping_result "continuous ping A -> B with batch_hold_us = 1000" "$RR_TMP/ping-hold.out"

# ---------------------------------------------------------------- 5. SIGHUP

kill -HUP "${RR_PID[r]}"
wait_until 10 grep -q 'received SIGHUP, reloading' "$RR_TMP/r.log"
if kill -0 "${RR_PID[r]}" 2>/dev/null && rr_ctl r ping >/dev/null 2>&1 &&
	grep -q 'received SIGHUP, reloading' "$RR_TMP/r.log"; then
	ok "SIGHUP reloads (logged) and rrouted keeps running"
else
	not_ok "SIGHUP reloads and rrouted keeps running" "$(tail -n 5 "$RR_TMP/r.log")"
fi
kill -HUP "${RR_PID[r]}"
kill -HUP "${RR_PID[r]}"
sleep 0.5
check "two more SIGHUPs in a row: rrouted still answers" rr_ctl r ping
check "the A and B sessions are still up after the SIGHUPs" bird_established r a b

# ---------------------------------------------------------------- 6. kill -9: no orphans

S2=$(sleeper_pid)
r_exec sleep 1002 </dev/null >/dev/null 2>&1 &
RRCTL_EXEC_PID=$!
rr_track "$RRCTL_EXEC_PID" "rrctl exec -- sleep 1002"
wait_until 5 pgrep -u "$RR_UID" -f '^sleep 1002$'
EXEC_SLEEP=$(pgrep -u "$RR_UID" -f '^sleep 1002$' | head -n1)
BIRD_PID_R=$(r_bird_pid)
diag "hosted: bird $BIRD_PID_R, [exec] sleeper $S2, rrctl exec $RRCTL_EXEC_PID -> sleep $EXEC_SLEEP"
kill -KILL "${RR_PID[r]}"
wait "${RR_PID[r]}" 2>/dev/null
unset "RR_PID[r]"
all_gone() {
	local p
	for p in "$@"; do kill -0 "$p" 2>/dev/null && return 1; done
	return 0
}
if [ -n "$BIRD_PID_R" ] && [ -n "$S2" ] && [ -n "$EXEC_SLEEP" ] &&
	wait_until 5 all_gone "$BIRD_PID_R" "$S2" "$EXEC_SLEEP" "$RRCTL_EXEC_PID"; then
	ok "kill -9 rrouted: BIRD, the [exec] program and the rrctl exec program are all gone"
else
	not_ok "kill -9 rrouted leaves no hosted program" \
		"$(ps -o pid,ppid,user,args -p "$BIRD_PID_R,$S2,$EXEC_SLEEP,$RRCTL_EXEC_PID" 2>&1)"
fi

# ---------------------------------------------------------------- 7. endpoint names

# R's resolver: a hosts file without the name yet, and no DNS server (127.0.0.1 refuses at once).
ETC_NETNS=/etc/netns/$NSR
mkdir -p "$ETC_NETNS"
printf '127.0.0.1 localhost\n' >"$ETC_NETNS/hosts"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$ETC_NETNS/resolv.conf"
chmod 644 "$ETC_NETNS/hosts" "$ETC_NETNS/resolv.conf"
DNAME=peer-d.rrtest.invalid
# D knows no endpoint for R: only R can start the handshake, so D comes up only through the name.
{ rr_wggo_start "$NSC" "$DEVD" && rr_wg "$NSC" set "$DEVD" private-key "$KEYS/d.key" \
	listen-port 51827 peer "$RD_PUB" allowed-ips 0.0.0.0/0,::/0; } ||
	diag "wireguard-go for D did not start"
rr_addr "$NSC" "$DEVD" fe80::7/64
iface_file "$KEYS/rd.key" 51826 "$D_PUB" "$DNAME:51827" "Address = 172.20.2.9/32" \
	>"$RDIR/ifaces/wgd.conf"
echo "PersistentKeepalive = 1" >>"$RDIR/ifaces/wgd.conf"
rr_fix_owner r
if rr_rrouted_start r "$NSR" 2>"$RR_TMP/restart.err"; then
	setup_ok "rrouted starts with an endpoint name that does not resolve ($DNAME)"
else
	not_ok "rrouted starts with an endpoint name that does not resolve" "$(cat "$RR_TMP/restart.err")"
fi
if wait_until 10 grep -q "wgd: peer .*: cannot resolve endpoint $DNAME" "$RR_TMP/r.log"; then
	ok "rrouted logs it: $(grep -o "wgd: peer .*: cannot resolve endpoint $DNAME.*" "$RR_TMP/r.log" | tail -n1)"
else
	not_ok "rrouted logs the unresolvable name" "$(tail -n 10 "$RR_TMP/r.log")"
fi
no_endpoint() { local e; e=$(rr_peer r wgd endpoint 2>/dev/null); [ -z "$e" ] || [ "$e" = null ]; }
check "wgd's peer has no endpoint yet" no_endpoint
sleep 2
check "rrouted keeps running meanwhile" rr_ctl r ping
echo "203.0.113.2 $DNAME" >>"$ETC_NETNS/hosts"
d_up() { rr_handshakes_ge r wgd 1; }
if wait_until 20 d_up; then
	ok "once $DNAME resolves, the peer comes up (handshake done; endpoint $(rr_peer r wgd endpoint))"
else
	not_ok "once $DNAME resolves, the peer comes up" "$(rr_ctl r show peers 2>&1)" \
		"$(grep wgd "$RR_TMP/r.log" | tail -n 5)"
fi
check "rrouted logged the resolution" grep -q "wgd: peer .*: endpoint $DNAME is 203.0.113.2:51827" "$RR_TMP/r.log"

if rr_rrouted_stop r; then
	ok "rrouted stops cleanly on SIGTERM"
else
	not_ok "rrouted stops cleanly on SIGTERM" "$RR_STOP_WHY"
fi
rr_finish
