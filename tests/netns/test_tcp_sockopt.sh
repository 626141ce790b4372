#!/usr/bin/env bash
# TCP socket options of a program inside the router (rrctl exec, uid 65534, no capabilities):
# TCP_INFO from rrouted's TCP engine, TCP_USER_TIMEOUT ending a connection whose peer went
# silent, TCP_CONGESTION, TCP_MAXSEG, TCP_CORK, and an unsupported option failing with ENOPROTOOPT and
# one log line naming the program and the option. The peer is a Python echo server on the
# kernel's TCP, behind a wireguard-go peer.
#
#   netns R (rrouted as uid 65534)               netns P (wireguard-go, root)
#   +--------------------------------+           +--------------------------------+
#   | rrouted wg0 fd42:0:1::1/64     |    WG     | $PDEV fd42:0:1::2/64           |
#   | python3 (rrctl exec): client   |<=========>| python3 echo server :7007      |
#   | veth vr 192.0.2.1/24 ----------+-----------+- veth vp 192.0.2.2/24          |
#   +--------------------------------+           +--------------------------------+
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
rr_require
[ -n "$PY" ] || rr_skip_all "python3 is not installed"

pair_up() { rr_pair_setup --rr-endpoint && rr_rrouted_start r "$NSR"; }
rr_setup_step "rrouted and a wireguard-go peer set up" pair_up

cat >"$RR_TMP/echo.py" <<'EOF'
import socket, threading
srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("fd42:0:1::2", 7007))
srv.listen(8)
def serve(c):
    with c:
        while True:
            b = c.recv(65536)
            if not b:
                return
            c.sendall(b)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
ip netns exec "$NSP" "$PY" "$RR_TMP/echo.py" >"$RR_TMP/echo.log" 2>&1 &
rr_track "$!" "python echo server (P)" "$RR_TMP/echo.log"

cat >"$RR_TMP/client.py" <<'EOF'
import errno, os, socket, struct, sys, time
T = socket.IPPROTO_TCP
out = []
def say(k, v):
    print(f"{k}={v}", flush=True)

s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(T, socket.TCP_USER_TIMEOUT, 7000)   # before connect (it bounds the SYN too)
say("user_timeout", s.getsockopt(T, socket.TCP_USER_TIMEOUT))
s.setsockopt(T, socket.TCP_CONGESTION, b"cubic")
say("congestion", s.getsockopt(T, socket.TCP_CONGESTION, 16).rstrip(b"\0").decode())
try:
    s.setsockopt(T, socket.TCP_CONGESTION, b"reno")
    say("reno", "accepted")
except OSError as e:
    say("reno", errno.errorcode[e.errno])
try:
    s.setsockopt(T, socket.TCP_WINDOW_CLAMP, 4096)
    say("window_clamp", "accepted")
except OSError as e:
    say("window_clamp", errno.errorcode[e.errno])
s.setsockopt(T, socket.TCP_MAXSEG, 1200)
say("maxseg_before", s.getsockopt(T, socket.TCP_MAXSEG))
s.settimeout(20)
s.connect(("fd42:0:1::2", 7007))
say("maxseg_after", s.getsockopt(T, socket.TCP_MAXSEG))
s.setsockopt(T, socket.TCP_USER_TIMEOUT, 2000)   # and on a live connection
# corked: the pieces go out as full segments once uncorked
s.setsockopt(T, socket.TCP_CORK, 1)
say("cork", s.getsockopt(T, socket.TCP_CORK))
data = os.urandom(300000)
s.sendall(data[:100])
s.setsockopt(T, socket.TCP_CORK, 0)
s.sendall(data[100:])
got = b""
while len(got) < len(data):
    b = s.recv(65536)
    if not b:
        break
    got += b
say("echo_intact", got == data)
ti = s.getsockopt(T, socket.TCP_INFO, 256)
state = ti[0]
rto, ato, snd_mss, rcv_mss = struct.unpack_from("IIII", ti, 8)
rtt, rttvar = struct.unpack_from("II", ti, 8 + 4 * 15)
total_retrans, = struct.unpack_from("I", ti, 8 + 4 * 23)
bytes_acked, bytes_received = struct.unpack_from("QQ", ti, 120)
segs_out, segs_in = struct.unpack_from("II", ti, 136)
say("info_state", state)
say("info_rtt_us", rtt)
say("info_snd_mss", snd_mss)
say("info_bytes_acked", bytes_acked)
say("info_bytes_received", bytes_received)
say("info_segs_out", segs_out)
say("info_total_retrans", total_retrans)
# the peer goes silent (the harness takes its tunnel down on this line): unacknowledged data
# must end the connection after the user timeout (2 s), not after ~15 minutes of retries
say("ready_for_silence", 1)
sys.stdin.readline()
t0 = time.monotonic()
s.settimeout(60)
try:
    s.sendall(b"x" * 1000)
    r = s.recv(1)
    end = "eof" if not r else "data"
except OSError as e:
    end = errno.errorcode.get(e.errno, str(e))
say("silent_end", end)
say("silent_after_ms", int((time.monotonic() - t0) * 1000))
EOF
chmod 644 "$RR_TMP/client.py" "$RR_TMP/echo.py"
wait_until 10 sh -c "ip netns exec '$NSP' ss -tln | grep -q ':7007 '"

# The client talks on a pipe: when it says ready_for_silence, P's tunnel goes down.
coproc CLIENT { ip netns exec "$NSR" "${RR_SETPRIV[@]}" "$RRCTL" -s "$RR_TMP/r/rr.sock" exec -- \
	"$PY" "$RR_TMP/client.py" 2>"$RR_TMP/client.err"; }
rr_track "$CLIENT_PID" "python client (R)" "$RR_TMP/client.err"
declare -A R=()
while IFS= read -r -t 90 line <&"${CLIENT[0]}"; do
	R[${line%%=*}]=${line#*=}
	if [ "${line%%=*}" = ready_for_silence ]; then
		ip -n "$NSP" link set "$PDEV" down
		echo go >&"${CLIENT[1]}"
	fi
done
diag "client: $(for k in "${!R[@]}"; do printf '%s=%s ' "$k" "${R[$k]}"; done)"

expect() {   # expect DESC KEY VALUE
	if [ "${R[$2]:-}" = "$3" ]; then ok "$1"; else
		not_ok "$1" "$2 is '${R[$2]:-unset}', expected '$3'" "$(tail -n 5 "$RR_TMP/client.err")"; fi
}
expect "TCP_USER_TIMEOUT reads back what was set" user_timeout 7000
expect "TCP_CONGESTION is cubic, the engine's algorithm" congestion cubic
expect "TCP_CONGESTION reno fails with ENOENT (an algorithm the engine does not have)" reno ENOENT
expect "TCP_WINDOW_CLAMP fails with ENOPROTOOPT" window_clamp ENOPROTOOPT
if grep -q 'python3[^:]*: setsockopt(IPPROTO_TCP, TCP_WINDOW_CLAMP (10)) is not supported' \
	"$RR_TMP/client.err"; then
	ok "the shim logs the program and the unsupported option"
else
	not_ok "the shim logs the program and the unsupported option" "$(cat "$RR_TMP/client.err")"
fi
expect "TCP_MAXSEG reads back 1200 before connect" maxseg_before 1200
expect "TCP_MAXSEG 1200 bounds the connection's MSS" maxseg_after 1200
expect "TCP_CORK reads back 1 while corked" cork 1
expect "300 kB echoed intact after corking and uncorking" echo_intact True
expect "TCP_INFO state is ESTABLISHED (1)" info_state 1
expect "TCP_INFO bytes_acked counts what was sent" info_bytes_acked 300000
expect "TCP_INFO bytes_received counts what came back" info_bytes_received 300000
if [ "${R[info_rtt_us]:-0}" -gt 0 ] 2>/dev/null && [ "${R[info_segs_out]:-0}" -gt 100 ] 2>/dev/null &&
	[ "${R[info_snd_mss]:-0}" = 1200 ]; then
	ok "TCP_INFO has an RTT (${R[info_rtt_us]} us), an MSS (${R[info_snd_mss]}) and segment counts (${R[info_segs_out]} out)"
else
	not_ok "TCP_INFO has an RTT, an MSS and segment counts" \
		"rtt ${R[info_rtt_us]:-unset} mss ${R[info_snd_mss]:-unset} segs_out ${R[info_segs_out]:-unset}"
fi
ms=${R[silent_after_ms]:-}
# Wide bounds: the point is 2 s instead of ~15 minutes of retransmissions, not precision.
if [ -n "$ms" ] && [ "$ms" -ge 1500 ] && [ "$ms" -le 20000 ]; then
	ok "TCP_USER_TIMEOUT 2 s ends a connection to a silent peer after $ms ms (${R[silent_end]})"
else
	not_ok "TCP_USER_TIMEOUT 2 s ends a connection to a silent peer within 1.5-20 s" \
		"ended after '${ms:-never}' ms: ${R[silent_end]:-no result}" "$(tail -n 5 "$RR_TMP/client.err")"
fi

rr_finish
