#!/usr/bin/env bash
# traceroute (and tracepath) from INSIDE the router: unmodified Debian traceroute under
# `rrctl exec`, unprivileged, with its default UDP method -- probes with rising TTL, ICMP
# errors read back through IP_RECVERR / MSG_ERRQUEUE (librrshim.so + the socket layer).
#
#  netns rrt-<pid>-a          netns rrt-<pid>-r (rrouted, uid 65534, no caps)    netns rrt-<pid>-b
#  +-------------------+      +--------------------------------------------+      +-------------------+
#  | rrta<pid> (tun)   |      | wga udp/51820          wgb udp/51821       |      | rrtb<pid> (tun)   |
#  |  172.20.1.1/24    |  WG  |  172.20.0.1/32          172.20.0.2/32      |  WG  |  172.20.3.1/24    |
#  |  fd42:1::1/48     |<====>|  fd42:0:1::1/64         fd42:0:2::1/64     |<====>|  fd42:3::1/48     |
#  |                   |      |  peer A:                peer B:            |      |  forwarding on    |
#  |                   |      |   172.20.1.0/24          172.20.3.0/24,    |      |  vc 172.20.4.1/24 |
#  |                   |      |   fd42:1::/48            172.20.4.0/24,    |      |     fd42:4::1/64  |
#  |                   |      |                          172.20.5.0/24,    |      |  172.20.5.0/24,   |
#  |                   |      |                          fd42:3::/48,      |      |  fd42:5::/48:     |
#  |                   |      |                          fd42:4::/48,      |      |   unreachable     |
#  |                   |      |                          fd42:5::/48       |      +---------|---------+
#  |                   |      |                                            |       netns rrt-<pid>-c
#  |                   |      | rrctl exec -- traceroute / tracepath       |      +---------|---------+
#  |                   |      |   (uid 65534, LD_PRELOAD shim)             |      | vcc 172.20.4.2/24 |
#  | va 192.0.2.2 -----+------+- ra 192.0.2.1           rb 198.51.100.1 ---+--+   |     fd42:4::2/64  |
#  +-------------------+      +--------------------------------------------+  |   | default via B     |
#                                                               vb 198.51.100.2   +-------------------+
#
# From inside R: B is one hop away (hop 1 = B, final); C is behind B (hop 1 = B's tunnel
# address from its time-exceeded, hop 2 = C, final). Both families. The kernel in R's namespace
# has no route into 172.20/fd42, so every answer went through rrouted.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
rr_require
SHIM_LIB=$RR_BUILD/librrshim.so
[ -f "$SHIM_LIB" ] || rr_skip_all "$SHIM_LIB is not built (make)"
command -v traceroute >/dev/null 2>&1 || rr_skip_all "traceroute is not installed (scripts/install-deps)"

A4=172.20.1.1 B4=172.20.3.1 B6=fd42:3::1 C4=172.20.4.2 C6=fd42:4::2

rr_setup_step "namespaces A, R, B, C, veths and wireguard-go hosts set up" \
	rr_arbc_setup --dev-prefix rrt

rr_setup_step "rrouted starts with wga and wgb" rr_rrouted_start r "$NSR"

# rr_exec CMD...: CMD inside the router (namespace of rrouted, uid 65534, shim preloaded),
# for at most 60 s.
rr_exec() { RR_EXEC_TIMEOUT=60 rr_exec_ns "$NSR" r "$@"; }

# Sessions up, and C reachable through B, before any trace (a lost handshake is not the subject).
rr_ping "ping A -> B through R (brings both sessions up)" "$NSA" -c 3 -i 0.3 -w 15 "$B4"
rr_ping "ping A -> C through R and B" "$NSA" -c 2 -i 0.3 -w 10 "$C4"
rr_ping "ping -6 A -> C through R and B" "$NSA" -6 -c 2 -i 0.3 -w 10 "$C6"

# B answers for 172.20.5.0/24 and fd42:5::/48 with "unreachable" routes: hop 1 is B with !H / !N,
# and the trace stops there (a hard error, ECONNREFUSED's siblings in the error queue). First of
# all traces, while B's route error budget (5 at once) is full.
trace_says() {   # DESC PATTERN TRACEROUTE-ARGS...: the output matches PATTERN and has one hop
	local desc=$1 pat=$2 out n
	shift 2
	out=$(rr_exec traceroute -n -q 2 -w 2 -m 4 -N 2 "$@" 2>&1)
	n=$(grep -cE '^ *[0-9]+ ' <<<"$out")
	if grep -qE "$pat" <<<"$out" && [ "$n" = 1 ]; then
		ok "$desc"
	else
		not_ok "$desc" "expected /$pat/ and one hop line" "$out"
	fi
}
trace_says "traceroute -n 172.20.5.5 (unreachable route at B): '1 $B4 ... !H', then stops" \
	"^ *1 +$B4 .*!H" 172.20.5.5
trace_says "traceroute -6 -n fd42:5::5 (unreachable route at B): '1 $B6 ... !N', then stops" \
	"^ *1 +$B6 .*!N" -6 fd42:5::5

# The same error queue through ping: an ICMP socket with IP_RECVERR; its recvmsg fails with
# EHOSTUNREACH, then it reads the error with MSG_ERRQUEUE.
cp "$(command -v ping)" "$RR_TMP/ping" && chmod 755 "$RR_TMP/ping"   # without file capabilities
out=$(rr_exec "$RR_TMP/ping" -n -c 1 -W 3 172.20.5.5 2>&1)
if grep -qE "From $B4 icmp_seq=1 Destination Host Unreachable" <<<"$out"; then
	ok "rrctl exec -- ping 172.20.5.5: 'From $B4 icmp_seq=1 Destination Host Unreachable'"
else
	not_ok "rrctl exec -- ping 172.20.5.5: 'From $B4 icmp_seq=1 Destination Host Unreachable'" "$out"
fi
out=$(rr_exec "$RR_TMP/ping" -6 -n -c 1 -W 3 fd42:5::5 2>&1)
if grep -qE "From $B6 icmp_seq=1 Destination unreachable: No route" <<<"$out"; then
	ok "rrctl exec -- ping -6 fd42:5::5: 'From $B6 icmp_seq=1 Destination unreachable: No route'"
else
	not_ok "rrctl exec -- ping -6 fd42:5::5: 'From $B6 ... Destination unreachable: No route'" "$out"
fi
# trace_check DESC "HOP1 [HOP2]" TRACEROUTE-ARGS... DST: run inside R; the hops must be exactly
# these, the last one final (no further hop lines).
trace_check() {
	local desc=$1 want=$2 out got
	shift 2
	out=$(rr_exec traceroute -n -q 2 -w 2 -m 6 -N 4 "$@" 2>&1)
	got=$(awk '$1 ~ /^[0-9]+$/ { printf "%s%s", sep, $2; sep = " " }' <<<"$out")
	if [ "$got" = "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc" "expected hops: $want" "got hops: $got" "$out"
	fi
}

trace_check "rrctl exec -- traceroute -n $B4: one hop, B itself (port unreachable ends it)" \
	"$B4" "$B4"
trace_check "rrctl exec -- traceroute -6 -n $B6: one hop, B itself" "$B6" -6 "$B6"
trace_check "rrctl exec -- traceroute -n $C4: hop 1 B ($B4, time exceeded), hop 2 C" \
	"$B4 $C4" "$C4"
trace_check "rrctl exec -- traceroute -6 -n $C6: hop 1 B ($B6), hop 2 C" "$B6 $C6" -6 "$C6"
trace_check "rrctl exec -- traceroute -n $A4 (the other tunnel): one hop, A" "$A4" "$A4"

# A connected UDP socket without IP_RECVERR: port unreachable -> ECONNREFUSED on the next recv.
if [ -n "$PY" ]; then
	cat >"$RR_TMP/udp_refused.py" <<-'EOF'
		import socket, sys
		fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
		s = socket.socket(fam, socket.SOCK_DGRAM)
		s.settimeout(5)
		s.connect((sys.argv[1], 9))
		s.send(b"anyone?")
		try:
		    s.recv(100)
		    print("no error")
		except ConnectionRefusedError:
		    s.send(b"again")   # reported once: the socket works on
		    print("refused")
		except socket.timeout:
		    print("timeout")
	EOF
	chmod 644 "$RR_TMP/udp_refused.py"
	for dst in "$C4" "$C6"; do
		out=$(rr_exec "$PY" "$RR_TMP/udp_refused.py" "$dst" 2>&1)
		if [ "$out" = refused ]; then
			ok "connected UDP to $dst port 9 (closed): recv raises ConnectionRefusedError"
		else
			not_ok "connected UDP to $dst port 9 (closed): recv raises ConnectionRefusedError" "$out"
		fi
	done
fi

# No route in R at all: connect() fails as on Linux, nothing hangs.
out=$(rr_exec traceroute -n -q 1 -w 1 -m 2 172.20.9.9 2>&1)
if grep -q 'connect: Network is unreachable' <<<"$out"; then
	ok "traceroute to an address R has no route for: 'connect: Network is unreachable' (as on Linux)"
else
	not_ok "traceroute to an address R has no route for: 'connect: Network is unreachable'" "$out"
fi

# tracepath (iputils-tracepath) is optional: it reads the same error queue, with recvmsg loops.
if command -v tracepath >/dev/null 2>&1; then
	out=$(rr_exec tracepath -n -m 4 "$C4" 2>&1)
	if grep -qE "^ *1[:?].* $B4 " <<<"$out" && grep -qE "reached" <<<"$out"; then
		ok "rrctl exec -- tracepath -n $C4: hop 1 is B, C reached"
	else
		not_ok "rrctl exec -- tracepath -n $C4: hop 1 is B, C reached" "$out"
	fi
else
	skip "rrctl exec -- tracepath" "iputils-tracepath is not installed"
fi

if rr_rrouted_stop r; then
	ok "rrouted stops cleanly on SIGTERM (exit 0 within 5 s)"
else
	not_ok "rrouted stops cleanly on SIGTERM (exit 0 within 5 s)" "$RR_STOP_WHY"
fi
rr_finish
