#!/usr/bin/env bash
# Faults and hostile neighbours (issue 13): the router keeps forwarding and serving its
# programs when one of them misbehaves, dies, or when the router itself is restarted.
#
#   netns $NSR (rrouted, uid 65534)                 netns $NSP (wireguard-go, root)
#   +--------------------------------------+        +---------------------------------+
#   | rrouted wg0 172.20.0.1  udp/51820    |  WG    | $PDEV 172.20.0.2   udp/51821    |
#   |  20000 blackhole routes (conf)       |<======>|  ping 172.20.0.1 (the loop      |
#   |  [exec] echo: UDP echo :7000         |        |   answers), UDP/TCP clients     |
#   |  rrctl exec: netlink flooder, a TCP  |        |                                 |
#   |   receiver and a UDP socket that     |        |                                 |
#   |   never read                         |        |                                 |
#   | veth vr 192.0.2.1/24 ----------------+--------+- veth vp 192.0.2.2/24           |
#   +--------------------------------------+        +---------------------------------+
#
# Checks, each as a user sees it (ping, the echo's answer, rrctl, /proc):
#   1. an [exec] program killed with SIGKILL is restarted and answers again;
#   2. a netlink client sending 1000 route dump requests and never reading does not grow
#      rrouted's memory (VmRSS) by more than 32 MiB, while ping and the echo keep working,
#      and `ip route show` (a reader of the 20000-route dump) gets every route;
#   3. a TCP receiver that never reads while the peer sends, and a UDP socket flooded and
#      never read, do not block the loop (ping, the echo, rrctl still answer);
#   4. rrouted killed and started again while wireguard-go keeps running: ping works again
#      within 10 s (rrouted has the endpoint and a keepalive, so it initiates at once);
#   5. rrouted's stderr a pipe nobody reads, with debug lines for every packet from outside
#      the peer's AllowedIPs: ping keeps working, and rrctl answers;
#   6. (run before 4.) a program closes a socket whose TCP connect nobody answers: `ss` inside
#      no longer lists the SYN-SENT socket (Linux drops it at close, not at the SYN timeout).
. "$(dirname "$0")/lib.sh"
rr_require
rr_require_shim
[ -n "$PY" ] || rr_skip_all "python3 is not installed"
N_ROUTES=20000

rr_exec() { rr_exec_ns "$NSR" r "$@"; }

cp "$(dirname "$0")/udp_echo.py" "$RR_TMP/udp_echo.py"
# udp_ask HOST PORT: one question, one answer within 1 s (three tries).
cat >"$RR_TMP/udp_ask.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
for i in range(3):
    s.sendto(b"q%d" % i, (sys.argv[1], int(sys.argv[2])))
    try:
        data, _ = s.recvfrom(100)
    except socket.timeout:
        continue
    if data == b"echo:q%d" % i:
        print("ok"); sys.exit(0)
sys.exit(1)
EOF
# nl_flood N READY: N RTM_GETROUTE dump requests on one netlink socket, never reading;
# writes how many the socket took to READY, then holds the socket open.
cat >"$RR_TMP/nl_flood.py" <<'EOF'
import socket, struct, sys, time
n, ready = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
s.setblocking(False)
sent, deadline = 0, time.time() + 8
for seq in range(1, n + 1):
    body = struct.pack("=BBBBBBBBI", socket.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0)
    msg = struct.pack("=IHHII", 16 + len(body), 26, 0x301, seq, 0) + body  # RTM_GETROUTE, REQUEST|DUMP
    while True:
        try:
            s.send(msg); sent += 1; break
        except BlockingIOError:
            if time.time() > deadline: break
            time.sleep(0.01)
    if time.time() > deadline: break
open(ready, "w").write("%d\n" % sent)
time.sleep(120)
EOF
# tcp_sink PORT READY: accepts one connection and never reads it.
cat >"$RR_TMP/tcp_sink.py" <<'EOF'
import socket, sys, time
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
l.bind(("172.20.0.1", int(sys.argv[1]))); l.listen(1)
open(sys.argv[2], "w").write("listening\n")
c, _ = l.accept()
time.sleep(120)
EOF
# udp_deaf PORT READY: a bound UDP socket nobody reads.
cat >"$RR_TMP/udp_deaf.py" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("172.20.0.1", int(sys.argv[1])))
open(sys.argv[2], "w").write("bound\n")
time.sleep(120)
EOF
# tcp_push HOST PORT SECONDS: sends as much as it can for SECONDS (the far end never reads).
cat >"$RR_TMP/tcp_push.py" <<'EOF'
import socket, sys, time
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
c.setblocking(False)
end, sent, buf = time.time() + float(sys.argv[3]), 0, b"x" * 65536
while time.time() < end:
    try:
        sent += c.send(buf)
    except BlockingIOError:
        time.sleep(0.01)
print(sent)
EOF
# udp_blast HOST PORT N: N datagrams of 1000 bytes as fast as possible.
cat >"$RR_TMP/udp_blast.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[3])):
    try:
        s.sendto(b"y" * 1000, (sys.argv[1], int(sys.argv[2])))
    except OSError:
        pass
EOF
# tcp_giveup HOST PORT READY: a non-blocking connect nobody answers, then close and exit
# when READY.go appears (a BGP daemon giving up on a peer that is down).
cat >"$RR_TMP/tcp_giveup.py" <<'EOF'
import os, socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setblocking(False)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
except BlockingIOError:
    pass
open(sys.argv[3], "w").write("connecting\n")
end = time.time() + 30
while not os.path.exists(sys.argv[3] + ".go") and time.time() < end:
    time.sleep(0.05)
s.close()
EOF
chmod 644 "$RR_TMP"/*.py
# where the hosted programs (uid 65534) say they are ready
W=$RR_TMP/w
mkdir -p "$W" && chown "$RR_UID:$RR_UID" "$W"

rr_setup_step "namespaces, veth and wireguard-go peer set up" \
	rr_pair_setup --rr-endpoint --rr-keepalive 25
# rr_write_router_conf ended the [router] section: the routes go on in it, then [exec].
{
	echo "route = 172.20.0.2/32 dev wg0"   # rr_pair_setup writes wg0 with Table = off
	for ((i = 0; i < N_ROUTES; i++)); do
		echo "route = 10.$((i / 65536 + 1)).$((i / 256 % 256)).$((i % 256))/32 blackhole"
	done
	echo
	echo "[exec]"
	echo "echo = $PY $RR_TMP/udp_echo.py 172.20.0.1 7000"
} >>"$RR_TMP/r/rrouted.conf"
rr_fix_owner r

if ! rr_rrouted_start r "$NSR"; then
	not_ok "rrouted starts with $N_ROUTES routes and an [exec] program"
	rr_finish
fi
RPID=${RR_PID[r]}

ping_ok() { ip netns exec "$NSP" ping -n -q -c 1 -W 1 172.20.0.1 >/dev/null 2>&1; }
echo_ok() { ip netns exec "$NSP" "$PY" "$RR_TMP/udp_ask.py" 172.20.0.1 7000 >/dev/null 2>&1; }
restarts() {
	rr_ctl r show metrics | awk '/^rr_exec_program_restarts_total\{program="echo"\}/ { print $2 }'
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

if wait_until 15 ping_ok; then
	ok "the peer reaches rrouted through the tunnel (ping 172.20.0.1)"
else
	not_ok "the peer reaches rrouted through the tunnel (ping 172.20.0.1)"
fi
check "the [exec] UDP echo answers the peer" wait_until 10 echo_ok

# ---- 1. a hosted program killed with SIGKILL is restarted and answers again
epid=$(pgrep -f "^$PY $RR_TMP/udp_echo.py" | head -n 1)
r0=$(restarts)
restarted() { [ "$(restarts)" -gt "${r0:-0}" ]; }
if [ -n "$epid" ]; then
	kill -KILL "$epid"
	if wait_until 10 restarted && wait_until 10 echo_ok; then
		ok "[exec] echo killed with SIGKILL is restarted (restarts $r0 -> $(restarts)) and answers again"
	else
		not_ok "[exec] echo killed with SIGKILL is restarted and answers again" \
			"restarts before $r0, now $(restarts)" "$(tail -n 5 "$RR_TMP/r.log")"
	fi
else
	not_ok "[exec] echo killed with SIGKILL is restarted and answers again" "no echo process found"
fi

# ---- 2. a netlink client that asks for 1000 dumps and never reads
rss0=$(rss_kb "$RPID")
rr_exec "$PY" "$RR_TMP/nl_flood.py" 1000 "$W/flood.ready" >"$RR_TMP/flood.log" 2>&1 &
rr_track $! "netlink flooder" "$RR_TMP/flood.log"
if wait_until 20 test -s "$W/flood.ready"; then
	diag "the flooder's socket took $(cat "$W/flood.ready") of 1000 dump requests"
	rss1=$(rss_kb "$RPID")
	if [ $((rss1 - rss0)) -lt 32768 ]; then
		ok "1000 unread route dumps ($N_ROUTES routes each): rrouted VmRSS $rss0 -> $rss1 kB (< 32 MiB more)"
	else
		not_ok "1000 unread route dumps: rrouted VmRSS stays bounded" "VmRSS $rss0 -> $rss1 kB"
	fi
else
	not_ok "the netlink flooder sent its requests" "$(cat "$RR_TMP/flood.log")"
fi
check "ping works while the flooder holds its dumps" wait_until 5 ping_ok
check "the [exec] echo answers while the flooder holds its dumps" wait_until 5 echo_ok
n=$(rr_exec ip -4 route show 2>"$RR_TMP/iproute.err" | grep -c '^blackhole 10\.')
if [ "$n" = "$N_ROUTES" ]; then
	ok "ip -4 route show (a reader of the big dump) lists all $N_ROUTES routes meanwhile"
else
	not_ok "ip -4 route show lists all $N_ROUTES routes" "got $n" "$(head -n 5 "$RR_TMP/iproute.err")"
fi

# ---- 3. sockets of hosted programs that stop reading
rr_exec "$PY" "$RR_TMP/tcp_sink.py" 7001 "$W/sink.ready" >"$RR_TMP/sink.log" 2>&1 &
rr_track $! "tcp sink" "$RR_TMP/sink.log"
rr_exec "$PY" "$RR_TMP/udp_deaf.py" 7002 "$W/deaf.ready" >"$RR_TMP/deaf.log" 2>&1 &
rr_track $! "udp deaf" "$RR_TMP/deaf.log"
if wait_until 10 test -s "$W/sink.ready" && wait_until 10 test -s "$W/deaf.ready"; then
	ip netns exec "$NSP" "$PY" "$RR_TMP/tcp_push.py" 172.20.0.1 7001 8 >"$RR_TMP/push.log" 2>&1 &
	rr_track $! "tcp push" "$RR_TMP/push.log"
	ip netns exec "$NSP" "$PY" "$RR_TMP/udp_blast.py" 172.20.0.1 7002 20000 >/dev/null 2>&1 &
	rr_track $! "udp blast"
	rounds=0
	# while both push: ping, echo and rrctl keep answering (sampled 4 times)
	for _ in 1 2 3 4; do
		wait_until 3 ping_ok && wait_until 3 echo_ok && rr_ctl r show interfaces >/dev/null &&
			rounds=$((rounds + 1))
	done
	if [ "$rounds" = 4 ]; then
		ok "a TCP receiver that never reads and a flooded UDP socket never block the loop (ping, echo, rrctl)"
	else
		not_ok "a TCP receiver that never reads and a flooded UDP socket never block the loop" \
			"$rounds of 4 rounds answered"
	fi
	wait_until 15 test -s "$RR_TMP/push.log"
	diag "the peer pushed $(cat "$RR_TMP/push.log") bytes into a socket nobody reads"
else
	not_ok "the hung programs started" "$(cat "$RR_TMP/sink.log" "$RR_TMP/deaf.log")"
fi

# ---- 6. a program gives up on a TCP connect nobody answers: the attempt goes with its socket
# (fd42:0:1::99 is on wg0's /64 but in no peer's AllowedIPs: the SYNs are dropped unanswered)
syn_sent() { rr_exec ss -Htn state syn-sent dst "[fd42:0:1::99]" 2>/dev/null | grep -c 'fd42:0:1::99'; }
rr_exec "$PY" "$RR_TMP/tcp_giveup.py" fd42:0:1::99 179 "$W/giveup" >"$RR_TMP/giveup.log" 2>&1 &
giveup=$!
rr_track $giveup "tcp giveup" "$RR_TMP/giveup.log"
if wait_until 10 test -s "$W/giveup" && wait_until 5 test "$(syn_sent)" = 1; then
	touch "$W/giveup.go"
	wait $giveup
	if wait_until 5 test "$(syn_sent)" = 0; then
		ok "ss: a TCP connect in progress (SYN-SENT) is gone as soon as its program closes the socket"
	else
		not_ok "ss: a TCP connect in progress is gone when its program closes the socket" \
			"$(rr_exec ss -tn state syn-sent 2>&1 | head -n 5)"
	fi
else
	not_ok "ss shows the program's TCP connect in progress (SYN-SENT)" \
		"$(cat "$RR_TMP/giveup.log"; rr_exec ss -tan 2>&1 | head -n 5)"
fi

# ---- 4. rrouted killed and started again while wireguard-go keeps running
rr_rrouted_stop r KILL
diag "rrouted killed ($RR_STOP_WHY)"
# stderr: a FIFO that this shell holds open and never reads (5.)
mkfifo "$RR_TMP/stderr.fifo" && chmod 666 "$RR_TMP/stderr.fifo"
exec 7<>"$RR_TMP/stderr.fifo"
rm -f "$RR_TMP/r/rr.sock"
ip netns exec "$NSR" "${RR_SETPRIV[@]}" "$RROUTED" -c "$RR_TMP/r/rrouted.conf" --log-level debug \
	2>"$RR_TMP/stderr.fifo" &
RPID=$!
rr_track "$RPID" "rrouted r (stderr a pipe nobody reads)"
RR_PID[r]=$RPID
t0=$(date +%s%N)
if wait_until 10 ping_ok; then
	ok "rrouted restarted while wireguard-go kept running: ping works again after $((($(date +%s%N) - t0) / 1000000)) ms (< 10 s)"
else
	not_ok "rrouted restarted while wireguard-go kept running: ping works again within 10 s"
fi

# ---- 5. its log is a pipe nobody reads: lines for packets from outside AllowedIPs fill it
ip -n "$NSP" addr add 172.20.9.9/32 dev "$PDEV"
ip netns exec "$NSP" ping -n -q -f -c 3000 -w 15 -I 172.20.9.9 172.20.0.1 >/dev/null 2>&1
drops=$(rr_drop r wg0 allowedips 2>/dev/null || echo "?")
diag "3000 packets from outside AllowedIPs sent ($drops dropped by rrouted), a debug line each into the pipe"
check "with stderr a full pipe nobody reads, ping keeps working" wait_until 5 ping_ok
check "with stderr a full pipe nobody reads, rrctl answers" rr_ctl r show interfaces
check "with stderr a full pipe nobody reads, the [exec] echo answers" wait_until 15 echo_ok
exec 7>&-
rr_finish
