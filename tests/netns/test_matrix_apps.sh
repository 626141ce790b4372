#!/usr/bin/env bash
# The program matrix, applications part (issue 9): real Debian programs run unmodified inside R
# with `rrctl exec` (uid 65534, empty capability bounding set) and are driven from the
# wireguard-go peer P, or reach servers on P:
#   nginx (v4/v6, a 10 MB file intact), iperf3 server and client, socat TCP and UDP both ways,
#   an ssh client to sshd on P, a Python asyncio server and client.
#
#   P (wireguard-go, root: curl, iperf3, socat, sshd, python)  ==wg==  R (rrouted + the programs)
#   172.20.0.2, fd42:0:1::2                                           172.20.0.1, fd42:0:1::1
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
rr_require
for t in nginx iperf3 socat ssh sshd ssh-keygen curl; do
	command -v "$t" >/dev/null 2>&1 || [ -x "/usr/sbin/$t" ] || rr_skip_all "$t is not installed (scripts/install-deps)"
done
[ -n "$PY" ] || rr_skip_all "python3 is not installed"
SHIM_LIB=${RRSHIM_LIB:-$RR_BUILD/librrshim.so}
[ -f "$SHIM_LIB" ] || rr_skip_all "$SHIM_LIB is not built (make)"
export RRSHIM_LIB=$SHIM_LIB

rr_setup_step "set up R and its wireguard-go peer P" rr_pair_setup
# Table = off in the pair (BGP's job in real life): the route to P is a route = line.
printf '%s\n' "route = 172.20.0.2/32 dev wg0" >>"$RR_TMP/r/rrouted.conf"
rr_fix_owner r
rr_setup_step "rrouted starts" rr_rrouted_start r "$NSR"
rr_ping "tunnel up (P pings R)" "$NSP" -c 2 -i 0.3 -w 10 172.20.0.1
# Echo requests bigger than the tunnel MTU: R reassembles them and answers in fragments.
rr_ping "P pings R with 3000-byte echoes (reassembled, answered in fragments)" "$NSP" -c 2 -i 0.3 -w 10 -s 3000 172.20.0.1
rr_ping "P pings R over IPv6 with 3000-byte echoes" "$NSP" -c 2 -i 0.3 -w 10 -s 3000 fd42:0:1::1

APPS=$RR_TMP/apps
mkdir -p "$APPS" && chown "$RR_UID:$RR_UID" "$APPS"
as_router() { ( cd "$APPS" && ip netns exec "$NSR" "${RR_SETPRIV[@]}" env HOME="$APPS" "$RRCTL" -s "$RR_TMP/r/rr.sock" exec -- "$@" ); }
on_peer() { ip netns exec "$NSP" "$@"; }
# router_listens PROTO PORT: ss inside R (NETLINK_SOCK_DIAG) shows a listener on PORT.
router_listens() { as_router ss -ln"$1" | grep -q ":$2 "; }
peer_listens() { on_peer ss -ln"$1" | grep -q ":$2 "; }
# bg_router DESC CMD...: a program inside R in the background, tracked for cleanup.
bg_router() {
	local what=$1 log=$APPS/$1.log
	shift
	as_router "$@" >"$log" 2>&1 &
	rr_track $! "$what (inside R)" "$log"
}

# ---- nginx: v4 and v6, a 10 MB file intact
mkdir -p "$APPS/www" "$APPS/nginx-tmp"
head -c 10485760 /dev/urandom >"$APPS/www/big.bin"
want=$(sha256sum <"$APPS/www/big.bin" | cut -d' ' -f1)
rr_nginx_conf "$APPS" "$APPS/nginx-tmp" "
	sendfile on;
	tcp_nopush on;
	server { listen 8080; listen [::]:8080; root $APPS/www; }" >"$APPS/nginx.conf"
chown -R "$RR_UID:$RR_UID" "$APPS"
bg_router nginx nginx -e "$APPS/nginx-error.log" -c "$APPS/nginx.conf"
wait_until 10 sh -c "ip netns exec $NSP curl -s -o /dev/null --max-time 2 http://172.20.0.1:8080/" || true
for url in "http://172.20.0.1:8080/big.bin" "http://[fd42:0:1::1]:8080/big.bin"; do
	got=$(on_peer curl -sS -g --max-time 30 "$url" 2>"$APPS/curl.err" | sha256sum | cut -d' ' -f1)
	if [ "$got" = "$want" ]; then
		ok "nginx inside R: P fetches $url, 10 MB intact (sha256)"
	else
		not_ok "nginx inside R: P fetches $url, 10 MB intact" "$(cat "$APPS/curl.err")" \
			"$(tail -5 "$APPS/nginx-error.log" 2>/dev/null)" "$(tail -5 "$APPS/nginx.log")"
	fi
done

# ---- iperf3: server inside R (P is the client), then client inside R (server on P)
bg_router iperf3-server iperf3 -s -1 -p 5201
wait_until 10 sh -c "grep -q 'Server listening' '$APPS/iperf3-server.log'" || true
# A fixed amount (-n 16M), not a time: on a loaded machine a rate says nothing about correctness.
# iperf3 stops when the sender has written it all, so what is still in flight (socket buffers,
# a few MiB at most) is not in sum_received: at least half must have arrived.
# half_received DESC SERVER-LOG IPERF3-JSON: at least 8 MiB of the 16 arrived.
half_received() {
	local desc=$1 log=$2 out=$3 bytes
	bytes=$(jq -r '.end.sum_received.bytes // 0' <<<"$out" 2>/dev/null)
	if [ "${bytes:-0}" -ge 8388608 ] 2>/dev/null; then
		ok "$desc, $bytes bytes received when the sender ended"
	else
		not_ok "$desc, at least half received" "received: ${bytes:-none}" \
			"$(jq -c '.error // .end.sum_received' <<<"$out" 2>/dev/null || head -c 600 <<<"$out")" \
			"$(tail -5 "$log")"
	fi
}
half_received "iperf3 server inside R: P sends 16 MiB" "$APPS/iperf3-server.log" \
	"$(on_peer timeout 120 iperf3 -c 172.20.0.1 -p 5201 -n 16M -J 2>&1)"
on_peer iperf3 -s -1 -p 5202 -B fd42:0:1::2 >"$APPS/iperf3-peer.log" 2>&1 &
rr_track $! "iperf3 server on P" "$APPS/iperf3-peer.log"
wait_until 10 sh -c "grep -q 'Server listening' '$APPS/iperf3-peer.log'" || true
half_received "iperf3 client inside R (IPv6): 16 MiB to P" "$APPS/iperf3-peer.log" \
	"$(as_router timeout 120 iperf3 -c fd42:0:1::2 -p 5202 -n 16M -J 2>&1)"

# ---- socat: TCP and UDP echo servers inside R, clients on P; then a client inside R
bg_router socat-tcp socat TCP6-LISTEN:7000,reuseaddr,fork,ipv6only=0 EXEC:cat
bg_router socat-udp socat UDP4-RECVFROM:7001,reuseaddr,fork EXEC:cat
wait_until 10 router_listens t 7000 && wait_until 10 router_listens u 7001 ||
	not_ok "socat listeners inside R show in ss" "$(as_router ss -tuln 2>&1)"
check "socat TCP echo inside R answers P over IPv4" \
	sh -c "ip netns exec $NSP sh -c 'echo tcp-hello | socat -T 5 - TCP4:172.20.0.1:7000' | grep -qx tcp-hello"
check "socat TCP echo inside R answers P over IPv6" \
	sh -c "ip netns exec $NSP sh -c 'echo tcp6-hello | socat -T 5 - TCP6:[fd42:0:1::1]:7000' | grep -qx tcp6-hello"
check "socat UDP echo inside R answers P" \
	sh -c "ip netns exec $NSP sh -c 'echo udp-hello | socat -T 3 - UDP4:172.20.0.1:7001' | grep -qx udp-hello"
on_peer socat UDP4-RECVFROM:7003,reuseaddr,fork EXEC:cat >/dev/null 2>&1 &
rr_track $! "socat UDP echo on P"
wait_until 5 peer_listens u 7003 || true
out=$(echo from-r | as_router socat -T 3 - UDP4:172.20.0.2:7003 2>&1)
if [ "$out" = from-r ]; then
	ok "socat UDP client inside R reaches an echo server on P"
else
	not_ok "socat UDP client inside R reaches an echo server on P" "$out"
fi

# ---- ssh: a client inside R logs in to sshd on P
SSHD=$RR_TMP/sshd
mkdir -p "$SSHD" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$SSHD/host_key" && ssh-keygen -q -t ed25519 -N '' -f "$APPS/id_ed25519"
cp "$APPS/id_ed25519.pub" "$SSHD/authorized_keys"
chown "$RR_UID:$RR_UID" "$APPS/id_ed25519" "$APPS/id_ed25519.pub"
cat >"$SSHD/sshd_config" <<EOF
Port 2222
ListenAddress 172.20.0.2
HostKey $SSHD/host_key
AuthorizedKeysFile $SSHD/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
StrictModes no
UsePAM no
PidFile $SSHD/sshd.pid
EOF
on_peer /usr/sbin/sshd -D -e -f "$SSHD/sshd_config" >"$SSHD/sshd.log" 2>&1 &
rr_track $! "sshd on P" "$SSHD/sshd.log"
wait_until 10 sh -c "ip netns exec $NSP ss -tln | grep -q ':2222'" || true
out=$(as_router ssh -F /dev/null -i "$APPS/id_ed25519" -o UserKnownHostsFile=/dev/null \
	-o StrictHostKeyChecking=no -o BatchMode=yes -o ConnectTimeout=10 -p 2222 root@172.20.0.2 \
	'echo ssh-ok-$((6*7))' 2>&1)
if grep -qx "ssh-ok-42" <<<"$out"; then
	ok "ssh client inside R runs a command on P's sshd"
else
	not_ok "ssh client inside R runs a command on P's sshd" "$out" "$(tail -5 "$SSHD/sshd.log")"
fi

# ---- Python asyncio: a server inside R (P connects), a client inside R (server on P)
cat >"$APPS/aio.py" <<'EOF'
import asyncio, sys
async def serve(host, port):
    async def handle(r, w):
        data = await r.readline()
        w.write(b"aio:" + data); await w.drain(); w.close()
    srv = await asyncio.start_server(handle, host, port)
    async with srv:
        await asyncio.sleep(30)
async def client(host, port):
    r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
    w.write(b"ping\n"); await w.drain()
    print((await asyncio.wait_for(r.readline(), 10)).decode().strip())
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
host = None if host == "*" else host   # every address: one IPv4 and one IPv6 (v6only) listener
asyncio.run(serve(host, port) if mode == "serve" else client(host, port))
EOF
chmod 644 "$APPS/aio.py"
bg_router aio-server "$PY" "$APPS/aio.py" serve '*' 7100
on_peer "$PY" "$APPS/aio.py" serve 172.20.0.2 7101 >/dev/null 2>&1 &
rr_track $! "asyncio server on P"
wait_until 10 router_listens t 7100 && wait_until 10 peer_listens t 7101 ||
	not_ok "asyncio listeners up" "$(as_router ss -tln 2>&1)"
check "Python asyncio server inside R answers P (IPv4)" \
	sh -c "ip netns exec $NSP '$PY' '$APPS/aio.py' client 172.20.0.1 7100 | grep -qx aio:ping"
check "Python asyncio server inside R answers P (IPv6)" \
	sh -c "ip netns exec $NSP '$PY' '$APPS/aio.py' client fd42:0:1::1 7100 | grep -qx aio:ping"
out=$(as_router "$PY" "$APPS/aio.py" client 172.20.0.2 7101 2>&1)
if [ "$out" = "aio:ping" ]; then
	ok "Python asyncio client inside R talks to a server on P"
else
	not_ok "Python asyncio client inside R talks to a server on P" "$out"
fi

rr_check_unpriv "rrouted still runs as uid 65534 with no capabilities" "${RR_PID[r]}"
if rr_rrouted_stop r; then ok "rrouted stops cleanly"; else not_ok "rrouted stops cleanly" "$RR_STOP_WHY"; fi
rr_finish
