#!/usr/bin/env bash
# Programs inside the router's network through `rrctl exec` (librrshim.so), all unprivileged.
#
#   netns rrt-<pid>-r                                  netns rrt-<pid>-p ("B", wireguard-go)
#   +-------------------------------------+            +--------------------------------+
#   | rrouted wg0 (uid 65534)  udp/51820  |  WireGuard | rrp<pid> (tun)     udp/51821   |
#   |  172.20.0.1/32 fd42:0:1::1/64       |<==========>|  172.20.0.2/32 fd42:0:1::2/64  |
#   |  fe80::1/64                         |            |  fe80::2/64                    |
#   | rrctl exec -- ping|python3|curl|nc  |            |  python3 servers, nc, iperf3   |
#   |   (uid 65534, LD_PRELOAD shim)      |            |                                |
#   | veth vr 192.0.2.1/24 ---------------+------------+- veth vp 192.0.2.2/24          |
#   +-------------------------------------+            +--------------------------------+
#
# Hosted programs run in rrouted's namespace as uid 65534 with no capabilities; the kernel
# there has no route to 172.20/fd42 at all, so every success below went through rrouted.
# Environment: SHIM_BIG_MB (default 50) for the netem transfer, SHIM_CONNS (default 1000).
. "$(dirname "$0")/lib.sh"
rr_require
SHIM_LIB=$RR_BUILD/librrshim.so
[ -f "$SHIM_LIB" ] || rr_skip_all "$SHIM_LIB is not built (make)"
[ -n "$PY" ] || rr_skip_all "python3 is not installed"

# rr_exec CMD...: CMD inside the router (namespace of rrouted, uid 65534, shim preloaded).
rr_exec() {
	ip netns exec "$NSR" setpriv --reuid="$RR_UID" --regid="$RR_UID" --clear-groups \
		--inh-caps=-all --bounding-set=-all -- "$RRCTL" -s "$RR_TMP/r/rr.sock" exec -- "$@"
}

# Small python helpers, written once.
cat >"$RR_TMP/udp_echo.py" <<'EOF'
import socket, sys
fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    data, addr = s.recvfrom(65535)
    s.sendto(b"echo:" + data, addr)
EOF
cat >"$RR_TMP/udp_client.py" <<'EOF'
import socket, sys
host, port, connect = sys.argv[1], int(sys.argv[2]), len(sys.argv) > 3
# glibc resolves "%wg0" with the host's interfaces; if_nametoindex goes through the shim.
host, _, scope = host.partition('%')
info = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
if scope:
    info = (info[0], 0, 0, 0, (host, port, 0, socket.if_nametoindex(scope)))
s = socket.socket(info[0], socket.SOCK_DGRAM)
s.settimeout(3)
for i in range(3):
    msg = b"hello %d" % i
    if connect:
        s.connect(info[4]); s.send(msg); data = s.recv(1000); addr = s.getpeername()
    else:
        s.sendto(msg, info[4]); data, addr = s.recvfrom(1000)
    assert data == b"echo:" + msg, data
print("ok", s.getsockname()[0].split('%')[0], addr[0].split('%')[0])
EOF
chmod 644 "$RR_TMP"/*.py

if ! rr_pair_setup 2>"$RR_TMP/setup.err"; then
	not_ok "namespaces, veth and wireguard-go peer set up" "$(cat "$RR_TMP/setup.err")"
	rr_finish
fi
ok "namespaces, veth and wireguard-go peer set up"
# Table = off (DN42 style): B's addresses are reached by explicit routes, as BIRD would install.
cat >>"$RR_TMP/r/rrouted.conf" <<EOF
route = 172.20.0.2/32 dev wg0
route = fd42:0:1::2/128 dev wg0
EOF
rr_fix_owner r
# ping has file capabilities, which a process without a bounding set may not exec; a copy has none.
cp /usr/bin/ping "$RR_TMP/ping" && chmod 755 "$RR_TMP/ping"
PING=$RR_TMP/ping
if ! rr_rrouted_start r "$NSR" 2>"$RR_TMP/start.err"; then
	not_ok "rrouted starts" "$(cat "$RR_TMP/start.err")"
	rr_finish
fi
ok "rrouted starts"
rr_ping "tunnel up (peer pings 172.20.0.1)" "$NSP" -c 2 -i 0.3 -w 10 172.20.0.1

shim_path=$(rr_ctl r shim-path 2>&1)
if [ "$shim_path" = "$RR_TMP/r/rr-shim.sock" ] && [ -S "$shim_path" ]; then
	ok "rrctl shim-path names the shim socket ($shim_path)"
else
	not_ok "rrctl shim-path names the shim socket" "$shim_path"
fi

# ---- ICMP echo sockets (what ping opens unprivileged)
check "rrctl exec -- ping 172.20.0.2 (ICMP echo socket, IPv4)" rr_exec "$PING" -n -c 3 -i 0.3 -w 10 172.20.0.2
check "rrctl exec -- ping fd42:0:1::2 (ICMPv6 echo socket)" rr_exec "$PING" -n -6 -c 3 -i 0.3 -w 10 fd42:0:1::2
# (glibc parses "%wg0" with the host's interface list, which the shim cannot reach: -I or %1)
check "rrctl exec -- ping -I wg0 fe80::2 (link-local, SO_BINDTODEVICE + if_nametoindex)" \
	rr_exec "$PING" -n -6 -c 2 -i 0.3 -w 10 -I wg0 fe80::2
wgidx=$(rr_exec "$PY" -c 'import socket; print(socket.if_nametoindex("wg0"))' 2>&1)
check "rrctl exec -- ping fe80::2%$wgidx (link-local, numeric scope = wg0's index in the router)" \
	rr_exec "$PING" -n -6 -c 2 -i 0.3 -w 10 "fe80::2%$wgidx"

# ---- UDP
ip netns exec "$NSP" "$PY" "$RR_TMP/udp_echo.py" 0.0.0.0 7000 >"$RR_TMP/udp4.log" 2>&1 &
rr_track $! "udp echo v4" "$RR_TMP/udp4.log"
ip netns exec "$NSP" "$PY" "$RR_TMP/udp_echo.py" :: 7001 >"$RR_TMP/udp6.log" 2>&1 &
rr_track $! "udp echo v6" "$RR_TMP/udp6.log"
sleep 0.5
out=$(rr_exec "$PY" "$RR_TMP/udp_client.py" 172.20.0.2 7000 2>&1)
if [ "$out" = "ok 0.0.0.0 172.20.0.2" ]; then
	ok "UDP sendto/recvfrom to B 172.20.0.2 (unconnected: getsockname stays 0.0.0.0)"
else
	not_ok "UDP sendto/recvfrom to B 172.20.0.2" "$out"
fi
out=$(rr_exec "$PY" "$RR_TMP/udp_client.py" fd42:0:1::2 7001 connect 2>&1)
if [ "$out" = "ok fd42:0:1::1 fd42:0:1::2" ]; then
	ok "UDP connect/send/recv over IPv6 to fd42:0:1::2 (getsockname = router address)"
else
	not_ok "UDP connect/send/recv over IPv6 to fd42:0:1::2" "$out"
fi
out=$(rr_exec "$PY" "$RR_TMP/udp_client.py" "fe80::2%wg0" 7001 2>&1)
if [ "$out" = "ok :: fe80::2" ]; then
	ok "UDP to fe80::2%wg0 (link-local; scope from if_nametoindex through the shim)"
else
	not_ok "UDP to fe80::2%wg0 (link-local)" "$out"
fi
# a router socket survives execve: the new image finds it again by inode (SHIM_OP_LOOKUP)
out=$(rr_exec "$PY" -c '
import os, socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.connect(("fd42:0:1::2", 7001))
os.set_inheritable(s.fileno(), True)
os.execv(sys.executable, [sys.executable, "-c", """
import socket, sys
s = socket.socket(fileno=int(sys.argv[1])); s.settimeout(3)
s.send(b"after exec"); print(s.recv(100).decode(), s.getpeername()[0], s.type == socket.SOCK_DGRAM)
""", str(s.fileno())])' 2>&1)
check "a connected UDP socket keeps working after execve (fd table rebuilt by inode)" \
	test "$out" = "echo:after exec fd42:0:1::2 True"
# loopback passes through to the host untouched
out=$(rr_exec "$PY" -c '
import socket
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(("127.0.0.1", 0))
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.sendto(b"x", a.getsockname())
print(a.recvfrom(10)[0].decode(), a.getsockname()[0])' 2>&1)
check "UDP on 127.0.0.1 stays on the host's loopback" test "$out" = "x 127.0.0.1"

# ---- TCP (the engine behind the socketpairs)
mkdir -p "$RR_TMP/www" && head -c 200000 /dev/urandom >"$RR_TMP/www/blob" && chmod -R a+rX "$RR_TMP/www"
want=$(sha256sum <"$RR_TMP/www/blob" | cut -d' ' -f1)
(cd "$RR_TMP/www" && exec ip netns exec "$NSP" "$PY" -m http.server --bind :: 8080) \
	>"$RR_TMP/http.log" 2>&1 &
rr_track $! "http.server in B" "$RR_TMP/http.log"
wait_until 10 ip netns exec "$NSP" "$PY" -c 'import socket; socket.create_connection(("::1", 8080), 1)'
for url in "http://172.20.0.2:8080/blob" "http://[fd42:0:1::2]:8080/blob" "http://[fe80::2%25wg0]:8080/blob"; do
	got=$(rr_exec curl -sS --max-time 20 "$url" 2>"$RR_TMP/curl.err" | sha256sum | cut -d' ' -f1)
	if [ "$got" = "$want" ]; then
		ok "rrctl exec -- curl $url: 200 kB page from B intact (sha256)"
	else
		not_ok "rrctl exec -- curl $url: 200 kB page from B intact (sha256)" "$(cat "$RR_TMP/curl.err")"
	fi
done

# nc -l inside the router accepts a connection made from the peer's kernel stack.
rm -f "$RR_TMP/nc.out"
touch "$RR_TMP/nc.out" && chown "$RR_UID" "$RR_TMP/nc.out"
rr_exec sh -c "exec timeout 30 nc -l 172.20.0.1 9000 >$RR_TMP/nc.out" 2>"$RR_TMP/ncl.err" &
rr_track $! "nc -l in the router" "$RR_TMP/ncl.err"
sleep 0.5
echo "hello from B" | ip netns exec "$NSP" nc -N -w 5 172.20.0.1 9000 2>"$RR_TMP/ncc.err"
wait_until 5 grep -q "hello from B" "$RR_TMP/nc.out"
check "rrctl exec -- nc -l 172.20.0.1 9000 accepts a connection from B and reads its data" \
	grep -q "hello from B" "$RR_TMP/nc.out"

# 1000 sequential short connections: no fd or memory growth in rrouted.
cat >"$RR_TMP/tcp_echo.py" <<'EOF'
import socket, sys, threading
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", int(sys.argv[1]))); s.listen(128)
def serve(c):
    with c:
        while True:
            d = c.recv(65536)
            if not d: break
            c.sendall(d)
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
cat >"$RR_TMP/tcp_many.py" <<'EOF'
import socket, sys
n = int(sys.argv[3])
for i in range(n):
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
    c.sendall(b"x%d" % i); assert c.recv(100) == b"x%d" % i
    c.close()
print("done", n)
EOF
chmod 644 "$RR_TMP"/*.py
ip netns exec "$NSP" "$PY" "$RR_TMP/tcp_echo.py" 9200 >"$RR_TMP/echo.log" 2>&1 &
rr_track $! "tcp echo in B" "$RR_TMP/echo.log"
sleep 0.5
rpid=${RR_PID[r]}
rr_exec "$PY" "$RR_TMP/tcp_many.py" 172.20.0.2 9200 50 >/dev/null 2>&1   # warm-up: pools, TIME-WAIT
fd0=$(ls /proc/"$rpid"/fd | wc -l); rss0=$(awk '/VmRSS/ { print $2 }' /proc/"$rpid"/status)
conns=${SHIM_CONNS:-1000}
out=$(rr_exec "$PY" "$RR_TMP/tcp_many.py" 172.20.0.2 9200 "$conns" 2>&1)
sleep 1
fd1=$(ls /proc/"$rpid"/fd | wc -l); rss1=$(awk '/VmRSS/ { print $2 }' /proc/"$rpid"/status)
diag "rrouted before/after $conns connections: fds $fd0 -> $fd1, VmRSS $rss0 -> $rss1 kB"
if [ "$out" = "done $conns" ] && [ "$fd1" -le "$fd0" ] && [ "$rss1" -le $((rss0 + 4096)) ]; then
	ok "$conns sequential connections through the shim; no fd growth, RSS growth < 4 MB"
else
	not_ok "$conns sequential connections through the shim; no fd growth, RSS growth < 4 MB" "$out"
fi

# wait_or_kill PID SECS: waits for a setsid'ed sink; after SECS kills its whole process group.
wait_or_kill() {
	local i
	for ((i = 0; i < $2 * 5; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.2
	done
	kill -- -"$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# Bulk both ways over a bad underlay: 2% loss and 20 ms delay each way. tc netem when the kernel
# has it; else a userspace UDP relay in B's namespace carries the WireGuard packets and does the same.
cat >"$RR_TMP/lossy_relay.py" <<'EOF'
import heapq, random, select, socket, sys, time
front_ip, front_port, back_port, wg_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
loss, delay = float(sys.argv[5]), float(sys.argv[6]) / 1000
def sock(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.bind(addr); s.setblocking(False); return s
front, back = sock((front_ip, front_port)), sock(("127.0.0.1", back_port))
peer, q, seq = (sys.argv[7], int(sys.argv[8])), [], 0   # rrouted's underlay address
while True:
    wait = max(0.0, q[0][0] - time.monotonic()) if q else None
    ready, _, _ = select.select([front, back], [], [], wait)
    now = time.monotonic()
    for s in ready:
        for _ in range(256):
            try:
                data, addr = s.recvfrom(65535)
            except BlockingIOError:
                break
            if s is front:
                peer, out, to = addr, back, ("127.0.0.1", wg_port)
            else:
                out, to = front, peer
            if to is None or random.random() < loss:
                continue
            seq += 1
            heapq.heappush(q, (now + delay, seq, out, to, data))
    while q and q[0][0] <= time.monotonic():
        _, _, out, to, data = heapq.heappop(q)
        try:
            out.sendto(data, to)
        except OSError:
            pass
EOF
chmod 644 "$RR_TMP/lossy_relay.py"
mb=${SHIM_BIG_MB:-50}
head -c $((mb * 1024 * 1024)) /dev/urandom >"$RR_TMP/big" && chmod 644 "$RR_TMP/big"
bigsum=$(sha256sum <"$RR_TMP/big" | cut -d' ' -f1)
lossy=""
if tc -n "$NSR" qdisc add dev vr root netem loss 2% delay 20ms 2>/dev/null &&
	tc -n "$NSP" qdisc add dev vp root netem loss 2% delay 20ms 2>/dev/null; then
	lossy="tc netem"
else
	ip netns exec "$NSP" "$PY" "$RR_TMP/lossy_relay.py" 192.0.2.2 51822 51823 51821 0.02 20 192.0.2.1 51820 \
		>"$RR_TMP/relay.log" 2>&1 &
	rr_track $! "lossy UDP relay" "$RR_TMP/relay.log"
	sleep 0.5
	# B sends through the relay; rrouted roams to the relay's address on the first packet.
	rr_wg "$NSP" set "$PDEV" peer "$RR_PUB" endpoint 127.0.0.1:51823
	ip netns exec "$NSP" ping -c 3 -i 0.3 -w 10 172.20.0.1 >/dev/null 2>&1
	if [ "$(rr_peer r wg0 endpoint 2>/dev/null)" = "192.0.2.2:51822" ]; then
		lossy="userspace relay"
	fi
fi
if [ -n "$lossy" ]; then
	ok "underlay with 2% loss and 20 ms delay each way ($lossy)"
else
	not_ok "underlay with 2% loss and 20 ms delay each way" "no netem, and the relay did not take over" \
		"$(rr_ctl r show peers 2>&1)"
fi
setsid ip netns exec "$NSP" sh -c "timeout 900 nc -l 9300 | sha256sum" >"$RR_TMP/up.sum" 2>&1 &
sink=$!
sleep 0.5
t0=$(date +%s)
rr_exec sh -c "exec nc -N -w 30 172.20.0.2 9300 <$RR_TMP/big" >/dev/null 2>"$RR_TMP/up.err"
wait_or_kill "$sink" 60
t1=$(date +%s)
if [ "$(cut -d' ' -f1 "$RR_TMP/up.sum")" = "$bigsum" ]; then
	ok "$mb MB router -> B over 2% loss + 20 ms delay arrives intact ($((t1 - t0)) s)"
else
	not_ok "$mb MB router -> B over 2% loss + 20 ms delay arrives intact" "$(cat "$RR_TMP/up.err")"
fi
touch "$RR_TMP/down.sum" && chown "$RR_UID" "$RR_TMP/down.sum"
setsid ip netns exec "$NSR" setpriv --reuid="$RR_UID" --regid="$RR_UID" --clear-groups \
	--inh-caps=-all --bounding-set=-all -- "$RRCTL" -s "$RR_TMP/r/rr.sock" exec -- \
	sh -c "timeout 900 nc -l 172.20.0.1 9301 | sha256sum >$RR_TMP/down.sum" 2>"$RR_TMP/down.err" &
sink=$!
sleep 1
t0=$(date +%s)
ip netns exec "$NSP" nc -N -w 30 172.20.0.1 9301 <"$RR_TMP/big"
wait_or_kill "$sink" 60
t1=$(date +%s)
if [ "$(cut -d' ' -f1 "$RR_TMP/down.sum")" = "$bigsum" ]; then
	ok "$mb MB B -> router over 2% loss + 20 ms delay arrives intact ($((t1 - t0)) s)"
else
	not_ok "$mb MB B -> router over 2% loss + 20 ms delay arrives intact" "$(cat "$RR_TMP/down.err")"
fi
if [ "$lossy" = "tc netem" ]; then
	tc -n "$NSR" qdisc del dev vr root; tc -n "$NSP" qdisc del dev vp root
fi

rr_finish
