#!/usr/bin/env bash
# The unmodified `wg` tool inside the router (rrctl exec), against a wireguard-go peer:
# generic netlink (nlctrl + the "wireguard" family) behind the shim.
#
#   netns rrt-<pid>-r (rrouted, uid 65534, no caps)   netns rrt-<pid>-p (wireguard-go)
#   +--------------------------------+                +--------------------------------+
#   | rrouted wg0        udp/51820   |   WireGuard    | rrp<pid> (tun)     udp/51821   |
#   |  172.20.0.1/32 fd42:0:1::1/64  |<==============>|  172.20.0.2/32 fd42:0:1::2/64  |
#   |  `rrctl exec -- wg ...`        |                |  `wg ...` (UAPI of wireguard-go)|
#   | veth vr 192.0.2.1/24 ----------+----------------+- veth vp 192.0.2.2/24          |
#   +--------------------------------+                +--------------------------------+
#
# 1. wg show / show all dump / showconf read what rrouted has; transfer and latest
#    handshake agree with wireguard-go's view of the same session.
# 2. wg set (peer remove, listen-port, private-key), wg addconf, wg syncconf (the
#    session of an unchanged peer survives), wg showconf | wg setconf round-trips.
# 3. A device with 300 peers and a peer with 400 AllowedIPs: the dump is split over
#    several messages and `wg` reassembles all of it.
# 4. Bad requests get the kernel's errors (No such device, Operation not supported,
#    Address already in use).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
rr_require

rr_setup_step "namespaces, veth and wireguard-go peer set up" rr_pair_setup
rr_setup_step "rrouted starts" rr_rrouted_start r "$NSR"

# wg inside the router (stdout only: stderr may name other hosts' wireguard-go sockets in
# /var/run/wireguard, which `wg show all` lists exactly as it would in a real netns).
rwg() { rr_ctl r exec -- wg "$@"; }
DIR=$RR_TMP/r

rr_ping "ping 172.20.0.1 from the peer (handshake)" "$NSP" -c 3 -i 0.2 -w 15 172.20.0.1

# ---- 1. reading
out=$(rwg show wg0 2>&1)
if grep -q "^interface: wg0" <<<"$out" && grep -q "public key: $RR_PUB" <<<"$out" &&
	grep -q "listening port: 51820" <<<"$out" && grep -q "^peer: $PEER_PUB" <<<"$out" &&
	grep -q "endpoint: 192.0.2.2:51821" <<<"$out" &&
	grep -q "allowed ips: 172.20.0.2/32, fd42:0:1::2/128, fe80::/64" <<<"$out" &&
	grep -q "latest handshake: " <<<"$out" && grep -q "transfer: " <<<"$out"; then
	ok "rrctl exec -- wg show wg0: key, port, peer, endpoint, allowed ips, handshake, transfer"
else
	not_ok "rrctl exec -- wg show wg0: key, port, peer, endpoint, allowed ips, handshake, transfer" "$out"
fi

out=$(rwg show all dump 2>/dev/null)
iface_line=$(awk -F'\t' '$1 == "wg0" && NF == 5' <<<"$out")
peer_line=$(awk -F'\t' -v k="$PEER_PUB" '$1 == "wg0" && $2 == k' <<<"$out")
if [ "$(cut -f2 <<<"$iface_line")" = "$(cat "$KEYS/rr.key")" ] && [ "$(cut -f3 <<<"$iface_line")" = "$RR_PUB" ] &&
	[ "$(cut -f4 <<<"$iface_line")" = 51820 ] && [ "$(cut -f3 <<<"$peer_line")" = "$(cat "$KEYS/psk")" ] &&
	[ "$(cut -f4 <<<"$peer_line")" = 192.0.2.2:51821 ]; then
	ok "wg show all dump: private key, public key, port, preshared key, endpoint"
else
	not_ok "wg show all dump: private key, public key, port, preshared key, endpoint" "$out"
fi

# Counters: R's received = the peer's sent and the other way round, once nothing is in flight.
counters_agree() {
	local r p
	r=$(rwg show wg0 transfer 2>/dev/null | awk -v k="$PEER_PUB" '$1 == k { print $2 " " $3 }')
	p=$(rr_wg "$NSP" show "$PDEV" transfer | awk -v k="$RR_PUB" '$1 == k { print $3 " " $2 }')
	COUNTERS="rrouted rx/tx: $r; wireguard-go tx/rx: $p"
	[ -n "$r" ] && [ "$r" = "$p" ]
}
ip netns exec "$NSP" ping -c 20 -i 0.05 -s 1000 -w 10 172.20.0.1 >/dev/null 2>&1
if wait_until 5 counters_agree; then
	ok "wg show transfer agrees with wireguard-go byte for byte ($COUNTERS)"
else
	not_ok "wg show transfer agrees with wireguard-go byte for byte" "$COUNTERS"
fi
hr=$(rwg show wg0 latest-handshakes 2>/dev/null | awk '{ print $2 }')
hp=$(rr_wg_handshake "$NSP" "$PDEV")
if [ "${hr:-0}" -gt 0 ] && [ "${hp:-0}" -gt 0 ] && [ $((hr - hp)) -le 2 ] && [ $((hp - hr)) -le 2 ]; then
	ok "wg show latest-handshakes agrees with wireguard-go within 2 s ($hr vs $hp)"
else
	not_ok "wg show latest-handshakes agrees with wireguard-go within 2 s" "rrouted: $hr" "wireguard-go: $hp"
fi

# ---- 2. changing
conf1=$(rwg showconf wg0 2>&1)
printf '%s\n' "$conf1" >"$DIR/wg0.showconf"
rr_fix_owner r
if rwg setconf wg0 "$DIR/wg0.showconf" >/dev/null 2>&1 && [ "$(rwg showconf wg0 2>&1)" = "$conf1" ]; then
	ok "wg showconf | wg setconf round-trips (same showconf after)"
else
	not_ok "wg showconf | wg setconf round-trips (same showconf after)" "before: $conf1" "after: $(rwg showconf wg0 2>&1)"
fi
# setconf replaced the peer, so its sessions are gone (as in the kernel) while wireguard-go still
# sends on the old one: a packet from inside the router starts the new handshake at once.
cp "$(command -v ping)" "$RR_TMP/ping" && chmod 755 "$RR_TMP/ping"   # without file capabilities
out=$(rr_ctl r exec -- "$RR_TMP/ping" -6 -n -c 3 -i 0.3 -w 10 fd42:0:1::2 2>&1)
if grep -q "bytes from fd42:0:1::2" <<<"$out"; then
	ok "ping from inside the router after setconf (new handshake to the replaced peer)"
else
	not_ok "ping from inside the router after setconf (new handshake to the replaced peer)" "$out"
fi

hs_before=$(rwg show wg0 latest-handshakes 2>/dev/null | awk '{ print $2 }')
rx_before=$(rwg show wg0 transfer 2>/dev/null | awk '{ print $2 }')
sed 's/^AllowedIPs = .*/AllowedIPs = 172.20.0.2\/32, fd42:0:1::2\/128, fe80::\/64, 10.99.0.0\/16/' \
	"$DIR/wg0.showconf" >"$DIR/wg0.sync"
rr_fix_owner r
if rwg syncconf wg0 "$DIR/wg0.sync" 2>"$RR_TMP/sync.err" &&
	rwg show wg0 allowed-ips 2>/dev/null | grep -q "10.99.0.0/16"; then
	ok "wg syncconf adds an AllowedIPs prefix to the running peer"
else
	not_ok "wg syncconf adds an AllowedIPs prefix to the running peer" "$(cat "$RR_TMP/sync.err")" \
		"$(rwg show wg0 2>&1)"
fi
hs_after=$(rwg show wg0 latest-handshakes 2>/dev/null | awk '{ print $2 }')
rx_after=$(rwg show wg0 transfer 2>/dev/null | awk '{ print $2 }')
if [ -n "$hs_before" ] && [ "$hs_after" = "$hs_before" ] && [ "${rx_after:-0}" -ge "${rx_before:-1}" ]; then
	ok "wg syncconf keeps the peer's session and counters (handshake $hs_after, rx $rx_before -> $rx_after)"
else
	not_ok "wg syncconf keeps the peer's session and counters" "handshake $hs_before -> $hs_after" \
		"rx $rx_before -> $rx_after"
fi
rr_ping "ping right after syncconf (same session)" "$NSP" -c 2 -i 0.2 -w 5 172.20.0.1

if rwg set wg0 peer "$PEER_PUB" remove 2>&1 && [ -z "$(rwg show wg0 peers 2>/dev/null)" ]; then
	ok "wg set wg0 peer KEY remove: no peer left"
else
	not_ok "wg set wg0 peer KEY remove: no peer left" "$(rwg show wg0 2>&1)"
fi
if ! ip netns exec "$NSP" ping -c 1 -w 2 172.20.0.1 >/dev/null 2>&1; then
	ok "no ping without the peer"
else
	not_ok "no ping without the peer" "172.20.0.1 answered"
fi
grep -v '^\(PrivateKey\|ListenPort\)' "$DIR/wg0.showconf" | sed 's/^\[Interface\]//' >"$DIR/peer.add"
rr_fix_owner r
if rwg addconf wg0 "$DIR/peer.add" 2>&1 && rwg show wg0 peers 2>/dev/null | grep -qx "$PEER_PUB"; then
	ok "wg addconf brings the peer back"
else
	not_ok "wg addconf brings the peer back" "$(cat "$DIR/peer.add")" "$(rwg show wg0 2>&1)"
fi
rr_ping "ping after addconf" "$NSP" -c 2 -i 0.2 -w 15 172.20.0.1

# listen-port: the peer follows the new port once rrouted talks to it from there.
if rwg set wg0 listen-port 51830 2>&1 && [ "$(rwg show wg0 listen-port 2>/dev/null)" = 51830 ] &&
	[ -n "$(ip netns exec "$NSR" ss -Hunl 'sport = :51830')" ] && [ -z "$(ip netns exec "$NSR" ss -Hunl 'sport = :51820')" ]; then
	ok "wg set wg0 listen-port 51830: rebound (ss shows 51830, not 51820)"
else
	not_ok "wg set wg0 listen-port 51830: rebound (ss shows 51830, not 51820)" "$(ip netns exec "$NSR" ss -unl 2>&1)"
fi

# A new private key: the public key changes and the peer no longer completes handshakes.
newkey=$(wg genkey)
printf '%s\n' "$newkey" >"$DIR/new.key"
rr_fix_owner r
if rwg set wg0 private-key "$DIR/new.key" 2>&1 &&
	[ "$(rwg show wg0 public-key 2>/dev/null)" = "$(wg pubkey <<<"$newkey")" ]; then
	ok "wg set wg0 private-key: public key follows"
else
	not_ok "wg set wg0 private-key: public key follows" "$(rwg show wg0 2>&1)"
fi
# No private key at all (wg reads /dev/null as "remove it"): the device stays, shows no key,
# answers no handshake, and rrouted keeps running.
out=$(rwg set wg0 private-key /dev/null 2>&1; rwg show wg0 2>/dev/null)
if ! grep -q "public key:" <<<"$out" && grep -q "^peer: $PEER_PUB" <<<"$out" && kill -0 "${RR_PID[r]}" 2>/dev/null &&
	! ip netns exec "$NSP" ping -c 2 -i 0.3 -w 3 172.20.0.1 >/dev/null 2>&1 && kill -0 "${RR_PID[r]}" 2>/dev/null; then
	ok "wg set wg0 private-key /dev/null: no key shown, no handshake answered, rrouted alive"
else
	not_ok "wg set wg0 private-key /dev/null: no key shown, no handshake answered, rrouted alive" "$out"
fi
cp "$KEYS/rr.key" "$DIR/rr.key"
rr_fix_owner r
if rwg set wg0 private-key "$DIR/rr.key" listen-port 51820 2>&1 &&
	[ "$(rwg show wg0 public-key 2>/dev/null)" = "$RR_PUB" ]; then
	ok "wg set wg0 private-key (the old one) listen-port 51820: back as before"
else
	not_ok "wg set wg0 private-key (the old one) listen-port 51820: back as before" "$(rwg show wg0 2>&1)"
fi

# ---- 3. big peer lists: the dump is cut into messages as the kernel's
big=$DIR/big.conf
{
	for i in $(seq 1 300); do
		echo "[Peer]"
		echo "PublicKey = $(wg genkey | wg pubkey)"
		echo "AllowedIPs = 10.$((i / 250)).$((i % 250)).0/24, fd99:$i::/64"
	done
	echo "[Peer]"
	echo "PublicKey = $(wg genkey | wg pubkey)"
	printf 'AllowedIPs = '
	for i in $(seq 0 399); do printf '10.200.%d.%d/32, ' $((i / 200)) $((i % 200)); done
	echo "10.201.0.0/24"
} >"$big"
rr_fix_owner r
if rwg addconf wg0 "$big" 2>"$RR_TMP/big.err"; then
	ok "wg addconf with 301 peers (one with 401 AllowedIPs)"
else
	not_ok "wg addconf with 301 peers (one with 401 AllowedIPs)" "$(head -5 "$RR_TMP/big.err")"
fi
npeers=$(rwg show wg0 peers 2>/dev/null | wc -l)
nallowed=$(rwg show wg0 allowed-ips 2>/dev/null | awk '{ print NF - 1 }' | sort -n | tail -1)
dump_bytes=$(rwg show wg0 dump 2>/dev/null | wc -c)
if [ "$npeers" = 302 ] && [ "$nallowed" = 401 ]; then
	ok "wg show reads all 302 peers and the 401 AllowedIPs of one ($dump_bytes bytes of dump, many messages)"
else
	not_ok "wg show reads all 302 peers and the 401 AllowedIPs of one" "peers: $npeers" "largest allowed-ips: $nallowed"
fi
rwg showconf wg0 >"$DIR/big.showconf" 2>/dev/null
rr_fix_owner r
if rwg setconf wg0 "$DIR/big.showconf" 2>&1 && rwg showconf wg0 2>/dev/null | cmp -s - "$DIR/big.showconf"; then
	ok "wg showconf | wg setconf round-trips the big configuration"
else
	not_ok "wg showconf | wg setconf round-trips the big configuration" \
		"$(rwg showconf wg0 2>&1 | diff - "$DIR/big.showconf" | head -10)"
fi

# ---- 4. errors as the kernel's
out=$(rwg show nosuch0 2>&1)
if [ $? -ne 0 ] && grep -q "No such device" <<<"$out"; then
	ok "wg show nosuch0: No such device"
else
	not_ok "wg show nosuch0: No such device" "$out"
fi
out=$(rwg show lo 2>&1)
if [ $? -ne 0 ] && grep -q "Operation not supported" <<<"$out"; then
	ok "wg show lo: Operation not supported (not a WireGuard interface)"
else
	not_ok "wg show lo: Operation not supported (not a WireGuard interface)" "$out"
fi
# A UDP port someone else holds inside the router's namespace.
ip netns exec "$NSR" "$PY" -c 'import socket,time; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("0.0.0.0",51999)); time.sleep(30)' &
rr_track $! "UDP 51999 holder"
wait_until 5 sh -c "ip netns exec $NSR ss -Hunl 'sport = :51999' | grep -q ."
out=$(rwg set wg0 listen-port 51999 2>&1)
if [ $? -ne 0 ] && grep -q "Address already in use" <<<"$out" && [ "$(rwg show wg0 listen-port 2>/dev/null)" = 51820 ]; then
	ok "wg set listen-port of a taken port: Address already in use, port unchanged"
else
	not_ok "wg set listen-port of a taken port: Address already in use, port unchanged" "$out" \
		"port: $(rwg show wg0 listen-port 2>&1)"
fi

if rr_rrouted_stop r; then
	ok "rrouted stops cleanly"
else
	not_ok "rrouted stops cleanly" "$RR_STOP_WHY"
fi
rr_finish
