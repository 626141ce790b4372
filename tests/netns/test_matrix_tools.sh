#!/usr/bin/env bash
# The diagnostic tools an operator runs first, unmodified Debian binaries inside the router:
# `rrctl exec -- PROGRAM` as uid 65534 with an EMPTY capability bounding set (so ping and
# mtr-packet, which carry file capabilities, are run through their ELF interpreter), against
# real wireguard-go peers. One line per program, each checking what the program printed.
#
#  netns rrt-<pid>-a          netns rrt-<pid>-r (rrouted, uid 65534, no caps)    netns rrt-<pid>-b
#  +-------------------+      +--------------------------------------------+      +-------------------+
#  | rrta<pid> (tun)   |      | wga udp/51820          wgb udp/51821       |      | rrtb<pid> (tun)   |
#  |  172.20.1.1/24    |  WG  |  172.20.0.1/32          172.20.0.2/32      |  WG  |  172.20.3.1/24    |
#  |  fd42:1::1/48     |<====>|  fd42:0:1::1/64         fd42:0:2::1/64     |<====>|  fd42:3::1/48     |
#  |                   |      |                                            |      |  forwarding on    |
#  |  socat client ----+------+-> socat TCP listener :8080 (inside R)      |      |  vc 172.20.4.1/24 |
#  |                   |      |                                            |      |     fd42:4::1/64  |
#  |                   |      | rrctl exec -- ping, traceroute, tracepath, |      +---------|---------+
#  |                   |      |   mtr, ss (uid 65534, empty bounding set)  |       netns rrt-<pid>-c
#  | va 192.0.2.2 -----+------+- ra 192.0.2.1           rb 198.51.100.1 ---+--+   | vcc 172.20.4.2/24 |
#  +-------------------+      +--------------------------------------------+  |   |     fd42:4::2/64  |
#                                                               vb 198.51.100.2   +-------------------+
#
# From inside R: A and B are one hop away; C is behind B (hop 1 = B, hop 2 = C). The kernel in
# R's namespace has no route into 172.20/fd42, so every answer went through rrouted.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
rr_require
SHIM_LIB=$RR_BUILD/librrshim.so
[ -f "$SHIM_LIB" ] || rr_skip_all "$SHIM_LIB is not built (make)"

A4=172.20.1.1 A6=fd42:1::1 B4=172.20.3.1 B6=fd42:3::1 C4=172.20.4.2 C6=fd42:4::2

rr_setup_step "namespaces A, R, B, C, veths and wireguard-go hosts set up" \
	rr_arbc_setup --dev-prefix rrt

# An [exec] program of rrouted that is a capability binary: the supervisor runs it through
# /bin/sh with the shim, whose execve starts ping through its ELF interpreter.
printf '\n[exec]\npinger = exec ping -n -i 0.5 -w 300 %s >%s 2>&1\n' "$A4" "$RR_TMP/r/pinger.log" \
	>>"$RR_TMP/r/rrouted.conf" && rr_fix_owner r

rr_setup_step "rrouted starts with wga and wgb" rr_rrouted_start r "$NSR"

# rr_exec CMD...: CMD inside the router (namespace of rrouted, uid 65534, shim preloaded),
# for at most 60 s.
rr_exec() { RR_EXEC_TIMEOUT=60 rr_exec_ns "$NSR" r "$@"; }

# Sessions up, and C reachable through B, before any tool (a lost handshake is not the subject).
rr_ping "ping A -> B through R (brings both sessions up)" "$NSA" -c 3 -i 0.3 -w 15 "$B4"
rr_ping "ping A -> C through R and B" "$NSA" -c 2 -i 0.3 -w 10 "$C4"
rr_ping "ping -6 A -> C through R and B" "$NSA" -6 -c 2 -i 0.3 -w 10 "$C6"

# tool_says DESC CMD... -- PATTERN...: CMD runs inside R (rr_exec); its output (stdout and
# stderr) must match every extended regular expression PATTERN, and match none given as !PATTERN.
tool_says() {
	local desc=$1 out pat
	shift
	local cmd=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do cmd+=("$1"); shift; done
	shift
	out=$(rr_exec "${cmd[@]}" 2>&1)
	for pat in "$@"; do
		if [ "${pat:0:1}" = "!" ]; then
			if grep -qE -- "${pat:1}" <<<"$out"; then
				not_ok "$desc" "rrctl exec -- ${cmd[*]}" "unexpected /${pat:1}/" "$out"
				return
			fi
		elif ! grep -qE -- "$pat" <<<"$out"; then
			not_ok "$desc" "rrctl exec -- ${cmd[*]}" "expected /$pat/" "$out"
			return
		fi
	done
	ok "$desc"
}

if wait_until 15 grep -q "bytes from $A4: icmp_seq=" "$RR_TMP/r/pinger.log"; then
	ok "[exec] pinger = exec ping $A4: runs under rrouted's supervisor (ld.so through the shim's execve)"
else
	not_ok "[exec] pinger = exec ping $A4: runs under rrouted's supervisor" "$(cat "$RR_TMP/r/pinger.log")"
fi

# The precondition of the whole point: ping carries a file capability, so a plain exec of it with
# an empty bounding set is refused by the kernel. Without that, the checks below prove less.
ping_bin=$(readlink -f "$(command -v ping)")
if getcap "$ping_bin" 2>/dev/null | grep -q cap_net_raw; then
	out=$(rr_unpriv_ns "$NSR" "$ping_bin" -c 1 -W 1 127.0.0.1 2>&1)
	if grep -q "Operation not permitted" <<<"$out"; then
		ok "precondition: $ping_bin ($(getcap "$ping_bin" | sed 's/.* //')) exec'ed plainly with an empty bounding set fails: Operation not permitted"
	else
		not_ok "precondition: plain exec of $ping_bin with an empty bounding set fails" "$out"
	fi
else
	skip "precondition: plain ping is refused" "$ping_bin carries no file capability on this machine"
fi

tool_says "rrctl exec -- ping -c 3 $A4 (ping with file capabilities, empty bounding set; no warning)" \
	ping -n -c 3 -i 0.3 -w 10 "$A4" -- \
	"^64 bytes from $A4: icmp_seq=1 ttl=64" "3 packets transmitted, 3 received" \
	'!WARNING|rrshim'
tool_says "rrctl exec -- ping -6 -c 3 $A6 (no warning)" \
	ping -6 -n -c 3 -i 0.3 -w 10 "$A6" -- \
	"^64 bytes from $A6: icmp_seq=1 ttl=64" "3 packets transmitted, 3 received" \
	'!WARNING|rrshim'

tool_says "rrctl exec -- sh -c 'ping ...' (the shim's execve runs ping through ld.so)" \
	sh -c "ping -n -c 2 -i 0.3 -w 10 $C4" -- \
	"^64 bytes from $C4: icmp_seq=1 ttl=63" "2 packets transmitted, 2 received"

# trace_check DESC "HOP1 HOP2" TRACEROUTE-ARGS...: the hops are exactly these. -w 3,0,0: a probe
# waits its full 3 s (by default traceroute waits less once a later hop answered, which makes
# the result depend on the load of the machine).
trace_check() {
	local desc=$1 want=$2 out got
	shift 2
	out=$(rr_exec traceroute -n -q 2 -w 3,0,0 -m 6 -N 4 "$@" 2>&1)
	got=$(awk '$1 ~ /^[0-9]+$/ { printf "%s%s", sep, $2; sep = " " }' <<<"$out")
	if [ "$got" = "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc" "expected hops: $want" "got hops: $got" "$out"
	fi
}
trace_check "rrctl exec -- traceroute -n $C4: hop 1 B ($B4), hop 2 C" "$B4 $C4" "$C4"
trace_check "rrctl exec -- traceroute -I -n $C4 (raw ICMP socket): hop 1 B, hop 2 C" \
	"$B4 $C4" -I "$C4"
trace_check "rrctl exec -- traceroute -6 -I -n $C6 (raw ICMPv6 socket): hop 1 B, hop 2 C" \
	"$B6 $C6" -6 -I "$C6"

# Raw ICMP sockets as a program opens them (socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), ICMP_FILTER;
# AF_INET6 with ICMP6_FILTER): no privilege inside the router.

cp "$(dirname "$0")/raw_icmp.py" "$RR_TMP/raw_icmp.py"
chmod 644 "$RR_TMP/raw_icmp.py"
tool_says "raw ICMP socket (python, ICMP_FILTER): echo to $A4, reply read with its IP header" \
	"$PY" "$RR_TMP/raw_icmp.py" "$A4" -- "^reply from $A4 ttl=64 seq=1$"
tool_says "raw ICMPv6 socket (python, ICMP6_FILTER): echo to $A6, reply" \
	"$PY" "$RR_TMP/raw_icmp.py" "$A6" -- "^reply from $A6 ttl=-1 seq=1$"

# traceroute -I changes the hop limit between probes it has already sent; each must leave with
# the hop limit it was sent under (a later setsockopt must not overtake it).
cp "$(dirname "$0")/hoplimit_race.py" "$RR_TMP/hoplimit_race.py"
chmod 644 "$RR_TMP/hoplimit_race.py"
tool_says "raw ICMP socket: hop limit 1/64 alternated over 40 back-to-back probes to $C4, each leaves with its own" \
	"$PY" "$RR_TMP/hoplimit_race.py" "$C4" 40 -- "^hop-limit-1 probes answered: 0 of 40; hop-limit-64 probes answered: [1-9]"
tool_says "raw ICMPv6 socket: the same over 40 probes to $C6" \
	"$PY" "$RR_TMP/hoplimit_race.py" "$C6" 40 -- "^hop-limit-1 probes answered: 0 of 40; hop-limit-64 probes answered: [1-9]"

tool_says "rrctl exec -- tracepath -n $C4: hop 1 B, C reached, pmtu 1420" \
	tracepath -n -m 4 "$C4" -- "^ *1[:?].* $B4 " "reached" "pmtu 1420"
tool_says "rrctl exec -- tracepath -6 -n $C6: hop 1 B, C reached" \
	tracepath -6 -n -m 4 "$C6" -- "^ *1[:?].* $B6 " "reached"

tool_says "rrctl exec -- mtr -r -n -c 3 $C4 (mtr-packet, a capability binary, started by mtr): B then C" \
	mtr -r -n -c 3 "$C4" -- "^ +1\\.\\|-- $B4 +0\\.0%" "^ +2\\.\\|-- $C4 +0\\.0%"
tool_says "rrctl exec -- mtr -6 -r -n -c 3 $C6: B then C" \
	mtr -6 -r -n -c 3 "$C6" -- "^ +1\\.\\|-- $B6 +0\\.0%" "^ +2\\.\\|-- $C6 +0\\.0%"

# ss reads the router's own sockets (NETLINK_SOCK_DIAG): a socat listener inside R, and an
# established connection to it from A.
rr_exec socat TCP6-LISTEN:8080,ipv6only=0,fork,reuseaddr EXEC:cat >"$RR_TMP/socat-r.log" 2>&1 &
rr_track $! "socat listener in R" "$RR_TMP/socat-r.log"
rr_exec socat UDP4-RECVFROM:5353,fork EXEC:cat >"$RR_TMP/socat-ru.log" 2>&1 &
rr_track $! "socat UDP in R" "$RR_TMP/socat-ru.log"
wait_until 10 rr_exec sh -c "ss -tuln | grep -q ':8080 ' && ss -tuln | grep -q ':5353 '"
tool_says "rrctl exec -- ss -tuln: the TCP listener on [::]:8080 and UDP 0.0.0.0:5353" \
	ss -tuln -- "^tcp +LISTEN +0 +[0-9]+ +(\\[::\\]|\\*):8080 " "^udp +UNCONN +0 +0 +0\\.0\\.0\\.0:5353 "
tool_says "rrctl exec -- ss -uan: the UDP socket, unconnected" \
	ss -uan -- "^UNCONN +0 +0 +0\\.0\\.0\\.0:5353 "
tool_says "rrctl exec -- ss -tlnp: the listener and its process (socat)" \
	ss -tlnp -- "^LISTEN +0 +[0-9]+ +(\\[::\\]|\\*):8080 .*users:\\(\\(\"socat\",pid=[0-9]+"
(sleep 30 | ip netns exec "$NSA" socat - "TCP:172.20.0.1:8080" >/dev/null 2>&1) &
rr_track $! "socat client in A"
wait_until 5 rr_exec sh -c "ss -tn | grep -q ESTAB"
tool_says "rrctl exec -- ss -tn: the connection from A ($A4) to 172.20.0.1:8080" \
	ss -tn -- "^ESTAB +0 +0 +(\\[::ffff:)?172\\.20\\.0\\.1\\]?:8080 +(\\[::ffff:)?$A4\\]?:[0-9]+"

if rr_rrouted_stop r; then
	ok "rrouted stops cleanly on SIGTERM (exit 0 within 5 s)"
else
	not_ok "rrouted stops cleanly on SIGTERM (exit 0 within 5 s)" "$RR_STOP_WHY"
fi
rr_finish
