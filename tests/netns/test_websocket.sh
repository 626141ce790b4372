#!/usr/bin/env bash
# WireGuard over WebSocket (issue 12): two rrouted nodes with NO UDP path between them (nftables
# drops every UDP datagram in both namespaces) peer over a WebSocket, first ws:// straight to
# the accepting node, then wss:// through nginx as a TLS-terminating reverse proxy with a test CA.
#
#  netns A: rrouted "a" (uid 65534)                 netns B: rrouted "b" (uid 65534)
#  wg0 172.21.0.1 peer .2, ListenWebSocket = $PORT  wg0 172.21.0.2 peer .1, Endpoint = ws://10.77.0.1:8080/wg
#  nginx (root) :8443 TLS -> 127.0.0.1:8080          (phase 2: wss://10.77.0.1:8443/wg, SSL_CERT_FILE)
#  peer c: wireguard-go (b's namespace) via `rrctl bridge 127.0.0.1:51999 ws://10.77.0.1:8080/wg`
#  peer d: wireguard-go (a's namespace) that a dials via `rrctl bridge --listen 127.0.0.1:9090 127.0.0.1:51840`
#  va 10.77.0.1/24 -------------------------------- vb 10.77.0.2/24       (udp dropped both ways)
#
# Checked: BGP between two BIRDs inside the nodes ([exec]) over ws:// and again over wss://,
# the status page (curl: node, interface, peer and its handshake, routes), ping through
# the tunnel (rrctl exec ping inside B), a 50 MB transfer intact (sha256; socat inside both nodes)
# during which the TCP connection under the tunnel is killed (ss -K) and the transfer still
# completes, the same through nginx with TLS (connection killed by restarting nginx), and a
# wrong EndpointPin refused; a wireguard-go peer reaches a's listener through `rrctl bridge`.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
rr_require
for t in nft socat curl openssl ss; do
	command -v "$t" >/dev/null 2>&1 || rr_skip_all "$t is not installed (scripts/install-deps)"
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
SHIM_LIB=${RRSHIM_LIB:-$RR_BUILD/librrshim.so}
[ -f "$SHIM_LIB" ] || rr_skip_all "$SHIM_LIB is not built (make)"
export RRSHIM_LIB=$SHIM_LIB

rr_ns_pair NSA a va 10.77.0.1/24 NSB b vb 10.77.0.2/24 || { not_ok "namespaces"; rr_finish; }
for ns in "$NSA" "$NSB"; do
	ip netns exec "$ns" nft -f - <<-'EOF' || rr_skip_all "nftables does not work here"
		table inet noudp {
			chain in { type filter hook input priority 0; iif lo accept; meta l4proto udp counter drop; }
			chain out { type filter hook output priority 0; oif lo accept; meta l4proto udp counter drop; }
		}
	EOF
done
udp_dropped() { ip netns exec "$1" nft list chain inet noudp out | grep -o 'packets [0-9]*' | awk '{ print $2 }'; }
# The premise: no UDP gets from b to a (a datagram is counted as dropped by b's own rule).
echo probe | ip netns exec "$NSB" socat -u - UDP4:10.77.0.1:51820 2>/dev/null
check "no UDP path between the namespaces (nftables dropped b's probe: $(udp_dropped "$NSB"))" \
	test "$(udp_dropped "$NSB")" -ge 1

rr_instance a >/dev/null && rr_instance b >/dev/null
A_PUB=$(rr_genkey "$RR_TMP" a) && B_PUB=$(rr_genkey "$RR_TMP" b) && C_PUB=$(rr_genkey "$RR_TMP" c) || { not_ok "keys"; rr_finish; }
rr_write_router_conf a info
rr_write_router_conf b info
printf '%s\n' "route = 172.21.0.2/32 dev wg0" "route = 172.21.0.3/32 dev wg0" >>"$RR_TMP/a/rrouted.conf"
echo "route = 172.21.0.1/32 dev wg0" >>"$RR_TMP/b/rrouted.conf"
# ws_interface NODE SELF PEER [LINE]: the [Interface] section of NODE's wg0 (key $RR_TMP/NODE.key):
# fe80::SELF, and 172.21.0.SELF/32 towards 172.21.0.PEER added by PostUp; Table = off; LINE.
ws_interface() {
	echo "[Interface]"
	echo "PrivateKey = $(cat "$RR_TMP/$1.key")"
	echo "Address = fe80::$2/64"
	echo "PostUp = ip addr add 172.21.0.$2/32 peer 172.21.0.$3/32 dev %i"
	[ -n "${4:-}" ] && echo "$4"
	echo "Table = off"
	echo
}
write_a() {
	{
		ws_interface a 1 2 "ListenWebSocket = \${PORT}"
		cat <<-EOF
			[Peer]
			PublicKey = $B_PUB
			AllowedIPs = 172.21.0.2/32

			[Peer]
			PublicKey = $C_PUB
			AllowedIPs = 172.21.0.3/32

			${1:-}
		EOF
	} >"$RR_TMP/a/ifaces/wg0.conf"
	rr_fix_owner a
}
# write_b ENDPOINT [EXTRA-PEER-LINE]
write_b() {
	{
		ws_interface b 2 1
		cat <<-EOF
			[Peer]
			PublicKey = $A_PUB
			Endpoint = $1
			AllowedIPs = 172.21.0.1/32
			PersistentKeepalive = 25
			${2:-}
		EOF
	} >"$RR_TMP/b/ifaces/wg0.conf"
	rr_fix_owner b
}
# BIRD inside both nodes ([exec]): one BGP session over the tunnel, each announces a /24.
HAVE_BIRD=
if command -v bird >/dev/null 2>&1 && command -v birdc >/dev/null 2>&1; then
	HAVE_BIRD=1
	# bird_conf NODE ROUTER-ID LOCAL-AS PEER PEER-AS PREFIX
	bird_conf() {
		local d=$RR_TMP/$1/bird
		mkdir -p "$d"
		cat >"$d/bird.conf" <<-EOF
			router id $2;
			log stderr all;
			protocol device { }
			protocol static own { ipv4; route $6 blackhole; }
			protocol bgp peer {
				local $2 as $3;
				neighbor $4 as $5;
				hold time 9;
				ipv4 { import all; export where source = RTS_STATIC; };
			}
		EOF
		printf '\n[exec]\nbird = exec %s -f -c %s -s %s 2>>%s\n' "$(command -v bird)" "$d/bird.conf" \
			"$d/bird.ctl" "$d/bird.log" >>"$RR_TMP/$1/rrouted.conf"
		rr_fix_owner "$1"
		chmod 700 "$d"
	}
	bird_conf a 172.21.0.1 65001 172.21.0.2 65002 10.100.1.0/24
	bird_conf b 172.21.0.2 65002 172.21.0.1 65001 10.100.2.0/24
fi
birdc_on() { local n=$1; shift; birdc -s "$RR_TMP/$n/bird/bird.ctl" "$@"; }
write_a
write_b ws://10.77.0.1:8080/wg
export PORT=8080   # ListenWebSocket = ${PORT}, as a PaaS sets it
rr_setup_step "rrouted a starts" rr_rrouted_start a "$NSA"
rr_setup_step "rrouted b starts" rr_rrouted_start b "$NSB"

if wait_until 60 rr_handshakes_ge b wg0 1 && wait_until 30 rr_handshakes_ge a wg0 1; then
	ok "ws://: handshake over the WebSocket (no UDP path)"
else
	not_ok "ws://: handshake over the WebSocket" "$(tail -n 20 "$RR_TMP/b.log")" "$(tail -n 20 "$RR_TMP/a.log")"
fi
as_node() { local n=$1 ns=$2; shift 2; ( cd "$APPS" && ip netns exec "$ns" setpriv --reuid="$RR_UID" --regid="$RR_UID" \
	--clear-groups --inh-caps=-all --bounding-set=-all -- env HOME="$APPS" "$RRCTL" -s "$RR_TMP/$n/rr.sock" exec -- "$@" ); }
APPS=$RR_TMP/apps
mkdir -p "$APPS" && chown "$RR_UID:$RR_UID" "$APPS"
check "ws://: ping through the tunnel (inside b to a)" as_node b "$NSB" ping -n -c 3 -i 0.3 -w 10 172.21.0.1
if [ -n "$HAVE_BIRD" ]; then
	if wait_until 60 sh -c "birdc -s '$RR_TMP/a/bird/bird.ctl' show protocols peer | grep -q Established"; then
		ok "BGP between the two BIRDs over the WebSocket: Established"
	else
		not_ok "BGP over the WebSocket: Established" "$(birdc_on a show protocols all peer 2>&1 | tail -n 15)" \
			"$(tail -n 5 "$RR_TMP/a/bird/bird.log")"
	fi
	if wait_until 30 sh -c "birdc -s '$RR_TMP/a/bird/bird.ctl' show route 10.100.2.0/24 | grep -q 'via 172.21.0.2 on wg0'" &&
		wait_until 30 sh -c "birdc -s '$RR_TMP/b/bird/bird.ctl' show route 10.100.1.0/24 | grep -q 'via 172.21.0.1 on wg0'"; then
		ok "BGP: each BIRD learned the other's prefix via the tunnel"
	else
		not_ok "BGP: routes learned" "$(birdc_on a show route 2>&1)" "$(birdc_on b show route 2>&1)"
	fi
else
	skip "BGP between two BIRDs over the WebSocket" "bird/birdc are not installed"
fi

# The status page on the WebSocket port: node, interface, peer with its handshake, routes.
page=$(ip netns exec "$NSB" curl -sS --max-time 5 http://10.77.0.1:8080/ 2>&1)
if grep -q "^rrouted on " <<<"$page" && grep -q "interface wg0: public key $A_PUB" <<<"$page" &&
	grep -q "peer $B_PUB: latest handshake [0-9]* s ago, over WebSocket" <<<"$page" &&
	grep -q "^routes: [1-9][0-9]* IPv4" <<<"$page" && ! grep -q "$(cat "$RR_TMP/a.key")" <<<"$page"; then
	ok "status page: curl gets node, wg0, the peer's handshake and the routes (no private key)"
else
	not_ok "status page" "$page"
fi
# Its route counts are the FIB's, as `rrctl show routes --json` lists them (BGP may still be
# adding routes: both are read again until they agree, for at most 10 s).
page_routes_match() {
	local json v4 v6
	json=$(rr_ctl a show routes --json) || return 1
	v4=$(jq '[.routes[] | select(.dst | contains(":") | not)] | length' <<<"$json") || return 1
	v6=$(jq '[.routes[] | select(.dst | contains(":"))] | length' <<<"$json") || return 1
	ip netns exec "$NSB" curl -sS --max-time 5 http://10.77.0.1:8080/ | grep -qx "routes: $v4 IPv4, $v6 IPv6"
}
if wait_until 10 page_routes_match; then
	ok "status page: its route counts equal rrctl show routes --json"
else
	not_ok "status page: its route counts equal rrctl show routes --json" \
		"$(ip netns exec "$NSB" curl -sS --max-time 5 http://10.77.0.1:8080/ | grep '^routes')" \
		"$(rr_ctl a show routes --json 2>&1 | head -c 600)"
fi
# Garbage at the listener (random bytes, a TLS hello to a plain port, a head that never ends) is
# answered or cut off, and the router goes on serving.
head -c 200000 /dev/urandom | ip netns exec "$NSB" timeout 5 socat -u - TCP4:10.77.0.1:8080 2>/dev/null
printf 'GET / HTTP/1.1\r\nX-Slow: ' | ip netns exec "$NSB" timeout 3 socat -u - TCP4:10.77.0.1:8080,shut-none 2>/dev/null
check "after garbage at the listener a still runs and serves the page" sh -c \
	"ip netns exec $NSB curl -sS --max-time 5 http://10.77.0.1:8080/ | grep -q 'interface wg0' && kill -0 ${RR_PID[a]}"
code=$(ip netns exec "$NSB" curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST http://10.77.0.1:8080/ 2>&1)
check "status page: POST is refused with 405 (got $code)" test "$code" = 405

# transfer NAME PORT KILLCMD: 50 MB from b to a through the tunnel (socat inside both), with
# KILLCMD run once 5 MB have arrived; ok when a's copy has b's sha256.
head -c 52428800 /dev/urandom >"$APPS/big.bin"
chown "$RR_UID:$RR_UID" "$APPS/big.bin"
WANT=$(sha256sum <"$APPS/big.bin" | cut -d' ' -f1)
transfer() {
	local what=$1 port=$2 kill=$3 out=$APPS/recv-$2.bin
	rm -f "$out"
	as_node a "$NSA" socat -u "TCP4-LISTEN:$port,reuseaddr" "CREATE:$out" >"$APPS/socat-a-$port.log" 2>&1 &
	local rpid=$!
	rr_track $rpid "socat receiver $port (inside a)" "$APPS/socat-a-$port.log"
	wait_until 30 sh -c "$(declare -f as_node); APPS=$APPS RR_UID=$RR_UID RRCTL=$RRCTL RR_TMP=$RR_TMP as_node a $NSA ss -ltnH | grep -q ':$port '" || true
	as_node b "$NSB" socat -u "OPEN:$APPS/big.bin" "TCP4:172.21.0.1:$port" >"$APPS/socat-b-$port.log" 2>&1 &
	local spid=$!
	rr_track $spid "socat sender $port (inside b)" "$APPS/socat-b-$port.log"
	if wait_until 120 sh -c "[ \$(stat -c %s '$out' 2>/dev/null || echo 0) -ge 5242880 ]"; then
		eval "$kill"
		diag "$what: connection killed at $(stat -c %s "$out") bytes"
	else
		diag "$what: 5 MB did not arrive in 120 s ($(stat -c %s "$out" 2>/dev/null) bytes)"
	fi
	wait_until 300 sh -c "! kill -0 $spid 2>/dev/null" || true
	wait_until 60 sh -c "! kill -0 $rpid 2>/dev/null" || true
	local got
	got=$(sha256sum <"$out" 2>/dev/null | cut -d' ' -f1)
	if [ "$got" = "$WANT" ]; then
		ok "$what: 50 MB intact through the tunnel although the TCP connection under it was killed"
	else
		not_ok "$what: 50 MB intact" "received $(stat -c %s "$out" 2>/dev/null) bytes" \
			"$(cat "$APPS/socat-b-$port.log")" "$(grep -i 'ws\|websocket' "$RR_TMP/b.log" | tail -n 8)"
	fi
}
transfer "ws://" 7001 "ip netns exec $NSA ss -K state established '( sport = :8080 )' >/dev/null 2>&1"
check "ws://: b reconnected after the kill (log)" grep -q "WebSocket open" "$RR_TMP/b.log"
n=$(grep -c "WebSocket open" "$RR_TMP/b.log")
check "ws://: b opened the WebSocket more than once ($n)" test "$n" -ge 2

# ---- wss:// through nginx (TLS with a test CA) in front of a's listener
TLS=$RR_TMP/tls
mkdir -p "$TLS"
if ! (cd "$TLS" &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=rr test CA" &&
	openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj "/CN=10.77.0.1" &&
	printf 'subjectAltName=IP:10.77.0.1\n' >ext.cnf &&
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile ext.cnf &&
	printf 'subjectAltName=IP:10.77.0.9\n' >other.cnf &&
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out other.pem -days 2 -extfile other.cnf
) >"$TLS/openssl.log" 2>&1; then
	not_ok "test CA and server certificate" "$(tail -n 5 "$TLS/openssl.log")"
	rr_finish
fi
chmod 644 "$TLS/ca.pem"
PIN=$(openssl x509 -in "$TLS/srv.pem" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
mkdir -p "$TLS/tmp"
rr_nginx_conf "$TLS" "$TLS/tmp" "
	server {
		listen 10.77.0.1:8443 ssl;
		ssl_certificate $TLS/srv.pem;
		ssl_certificate_key $TLS/srv.key;
		location / {
			proxy_pass http://127.0.0.1:8080;
			proxy_http_version 1.1;
			proxy_set_header Upgrade \$http_upgrade;
			proxy_set_header Connection \"upgrade\";
			proxy_read_timeout 60s;
		}
	}
	server {
		listen 10.77.0.1:8444 ssl;   # a certificate for another address (10.77.0.9)
		ssl_certificate $TLS/other.pem;
		ssl_certificate_key $TLS/srv.key;
		location / { return 404; }
	}" >"$TLS/nginx.conf"
NGINX_PID=
nginx_start() {
	ip netns exec "$NSA" "$NGINX" -c "$TLS/nginx.conf" >>"$TLS/nginx.log" 2>&1 &
	NGINX_PID=$!
	rr_track "$NGINX_PID" "nginx (proxy in a)" "$TLS/nginx-error.log"
	wait_until 10 sh -c "ip netns exec $NSA ss -ltnH | grep -q '10.77.0.1:8443 '"
}
nginx_start || { not_ok "nginx starts" "$(tail -n 5 "$TLS/nginx-error.log")"; rr_finish; }

code=$(ip netns exec "$NSB" curl -sS -o "$TLS/page" -w '%{http_code}' --cacert "$TLS/ca.pem" --max-time 5 https://10.77.0.1:8443/ 2>&1)
check "status page through nginx over TLS: 200 with the node's page (got $code)" \
	sh -c "[ '$code' = 200 ] && grep -q 'interface wg0' '$TLS/page'"

rr_rrouted_stop b || diag "$RR_STOP_WHY"
# Without the test CA the certificate cannot be verified: no connection.
write_b wss://10.77.0.1:8443/wg
rr_setup_step "rrouted b restarts" rr_rrouted_start b "$NSB"
if wait_until 40 grep -q "TLS: certificate: unable to get local issuer certificate" "$RR_TMP/b.log"; then
	ok "wss:// without the test CA in SSL_CERT_FILE: certificate refused"
else
	not_ok "wss:// without the CA: certificate refused" "$(grep -i 'ws\|tls' "$RR_TMP/b.log" | tail -n 5)"
fi
rr_rrouted_stop b || diag "$RR_STOP_WHY"
# With it, but a pin that is not the server's key: refused too.
export SSL_CERT_FILE=$TLS/ca.pem
write_b wss://10.77.0.1:8443/wg "EndpointPin = sha256/$(head -c 32 /dev/zero | base64)"
rr_setup_step "rrouted b restarts" rr_rrouted_start b "$NSB"
if wait_until 40 grep -q "does not match EndpointPin" "$RR_TMP/b.log"; then
	ok "wss:// with a wrong EndpointPin: refused"
else
	not_ok "wss:// with a wrong EndpointPin: refused" "$(grep -i 'ws\|tls' "$RR_TMP/b.log" | tail -n 5)"
fi
# A certificate from the right CA for another address: refused by the host name check.
write_b wss://10.77.0.1:8444/wg
kill -HUP "${RR_PID[b]}"
if wait_until 40 grep -q "TLS: certificate: IP address mismatch" "$RR_TMP/b.log"; then
	ok "wss:// to a server whose certificate names another address: refused"
else
	not_ok "wss:// certificate for another address: refused" "$(grep -i 'ws\|tls' "$RR_TMP/b.log" | tail -n 5)"
fi
hs=
for _ in 1 2 3; do hs=$(rr_peer b wg0 handshakes 2>/dev/null) && break; done
check "no handshake while the pin is wrong (handshakes: $hs)" test "${hs:-x}" = 0
# The right pin, by a reload (SIGHUP): the dialer is replaced and connects.
write_b wss://10.77.0.1:8443/wg "EndpointPin = sha256/$PIN"
kill -HUP "${RR_PID[b]}"
if wait_until 60 rr_handshakes_ge b wg0 1; then
	ok "wss:// through nginx (test CA, right pin, after a reload): handshake"
else
	not_ok "wss:// through nginx: handshake" "$(grep -i 'ws\|tls\|reload' "$RR_TMP/b.log" | tail -n 10)" \
		"$(tail -n 5 "$TLS/nginx-error.log")"
fi
check "wss://: ping through the tunnel" as_node b "$NSB" ping -n -c 3 -i 0.3 -w 10 172.21.0.1
if [ -n "$HAVE_BIRD" ]; then
	# b's BIRD restarted with b: a drops the old session when its hold timer (9 s) runs out.
	if wait_until 60 sh -c "birdc -s '$RR_TMP/b/bird/bird.ctl' show route 10.100.1.0/24 | grep -q 'via 172.21.0.1 on wg0'"; then
		ok "wss:// through nginx: BGP Established again, b learned a's prefix"
	else
		not_ok "wss:// through nginx: BGP" "$(birdc_on b show protocols all peer 2>&1 | tail -n 15)"
	fi
fi
opens_before=$(grep -c "WebSocket open" "$RR_TMP/b.log")
transfer "wss:// via nginx" 7002 "kill $NGINX_PID; wait_until 5 sh -c '! kill -0 $NGINX_PID 2>/dev/null'; nginx_start"
n=$(grep -c "WebSocket open" "$RR_TMP/b.log")
check "wss://: b reconnected through the restarted nginx ($opens_before -> $n opens)" test "$n" -gt "$opens_before"


# ---- a wireguard-go peer (in b's namespace, root) reaches a's WebSocket listener through
# `rrctl bridge` (uid 65534): UDP on 127.0.0.1:51999 <-> ws://10.77.0.1:8080/wg
GODEV=rrwc$$
ip netns exec "$NSB" "${RR_SETPRIV[@]}" "$RRCTL" bridge 127.0.0.1:51999 ws://10.77.0.1:8080/wg >"$RR_TMP/bridge.log" 2>&1 &
rr_track $! "rrctl bridge (b's namespace)" "$RR_TMP/bridge.log"
if ! rr_wggo_peer "$NSB" "$GODEV" "$RR_TMP/c.key" 51830 "$A_PUB" "" 127.0.0.1:51999 172.21.0.1/32 5 \
	172.21.0.3/32 2>"$RR_TMP/wggo.err"; then
	not_ok "wireguard-go peer set up" "$(cat "$RR_TMP/wggo.err")"
elif wait_until 40 rr_wg_has_handshake "$NSB" "$GODEV"; then
	ok "wireguard-go through rrctl bridge: handshake with a over the WebSocket"
	rr_ping "wireguard-go through the bridge: ping a's tunnel address" "$NSB" -c 3 -i 0.3 -w 10 -I 172.21.0.3 172.21.0.1
	check "a sees the wireguard-go peer on a WebSocket path" sh -c \
		"ip netns exec $NSB curl -sS --max-time 5 http://10.77.0.1:8080/ | grep -q 'peer $C_PUB: latest handshake [0-9]* s ago, over WebSocket'"
else
	not_ok "wireguard-go through rrctl bridge: handshake" "$(tail -n 5 "$RR_TMP/bridge.log")" \
		"$(tail -n 5 "$RR_TMP/wggo-$GODEV.log")"
fi

# ---- the other direction: a dials ws://127.0.0.1:9090/wg, where `rrctl bridge --listen` relays
# to a wireguard-go peer d on UDP 127.0.0.1:51840 (same namespace as a); peer d added by a reload.
DDEV=rrwd$$
D_PUB=$(rr_genkey "$RR_TMP" d)
ip netns exec "$NSA" "${RR_SETPRIV[@]}" "$RRCTL" bridge --listen 127.0.0.1:9090 127.0.0.1:51840 >"$RR_TMP/bridge-l.log" 2>&1 &
rr_track $! "rrctl bridge --listen (a's namespace)" "$RR_TMP/bridge-l.log"
if ! rr_wggo_peer "$NSA" "$DDEV" "$RR_TMP/d.key" 51840 "$A_PUB" "" "" 172.21.0.1/32 "" \
	172.21.0.4/32 2>"$RR_TMP/wggo-d.err"; then
	not_ok "wireguard-go peer d set up" "$(cat "$RR_TMP/wggo-d.err")"
else
	write_a "[Peer]
PublicKey = $D_PUB
Endpoint = ws://127.0.0.1:9090/wg
AllowedIPs = 172.21.0.4/32"
	echo "route = 172.21.0.4/32 dev wg0" >>"$RR_TMP/a/rrouted.conf"
	rr_fix_owner a
	kill -HUP "${RR_PID[a]}"
	if wait_until 40 rr_wg_has_handshake "$NSA" "$DDEV"; then
		ok "a dials through rrctl bridge --listen to wireguard-go: handshake"
		rr_ping "wireguard-go d pings a through the bridge" "$NSA" -c 3 -i 0.3 -w 10 -I 172.21.0.4 172.21.0.1
	else
		not_ok "a dials through rrctl bridge --listen: handshake" "$(tail -n 5 "$RR_TMP/bridge-l.log")" \
			"$(grep -i 'ws\|reload' "$RR_TMP/a.log" | tail -n 8)"
	fi
fi
dropped=$(udp_dropped "$NSB")
diag "UDP datagrams dropped by nftables in b: ${dropped:-?}"

rr_finish
