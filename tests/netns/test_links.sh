#!/usr/bin/env bash
# Interfaces at runtime, the way a DN42 operator changes a running node: the node's own addresses
# on lo and on a dummy (`ip addr add ... dev lo`, `ip link add dn42 type dummy`) answered from a
# peer and used as the source of R's ICMP errors through BIRD's krt_prefsrc; `ip link set up/down`
# and `ip link del`, seen by BIRD's device protocol; `wg-quick up/down` of a new peer C, all
# under `rrctl exec` as uid 65534 without capabilities.
#
#  netns $NSP (peer A, wireguard-go)      netns $NSR (rrouted, uid 65534, no caps)     netns $NSC (C)
#  +------------------------------+       +---------------------------------------+    +---------------+
#  | $PDEV 172.20.0.2/32          |  WG   | wg0 172.20.0.1/32 (config file)       |    | $CDEV (tun)   |
#  |  routes to R's node addrs:   |<=====>| lo  + 172.20.0.53/32, fd42:53::1/128  |    | 172.20.7.2/32 |
#  |  172.20.0.53, 172.20.9.1,    |       | d0  (ip link add d0 type dummy)       | WG |               |
#  |  fd42:53::1, 172.20.99.0/24  |       |     + 172.20.9.1/32                   |<==>|               |
#  |                              |       | wgc (wg-quick up ./wgc.conf)          |    |               |
#  |                              |       |     172.20.7.1/32, peer C             |    |               |
#  |                              |       | BIRD ([exec]): device, static         |    |               |
#  |                              |       |   172.20.0.2/32 via "wg0" exported    |    |               |
#  |                              |       |   with krt_prefsrc = 172.20.0.53      |    |               |
#  | vp 192.0.2.2/24 -------------+-------+- vr 192.0.2.1    vc 203.0.113.1 ----+----+- vcc .2/24    |
#  +------------------------------+       +---------------------------------------+    +---------------+
#
# The kernel of R's namespace knows nothing of 172.20/fd42: every answer comes from rrouted.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
rr_require
SHIM_LIB=$RR_BUILD/librrshim.so
[ -f "$SHIM_LIB" ] || rr_skip_all "$SHIM_LIB is not built (make)"
BIRD=$(command -v bird || true) BIRDC=$(command -v birdc || true)
HAVE_TRACEROUTE=$(command -v traceroute || true)

LO4=172.20.0.53 LO6=fd42:53::1 D4=172.20.9.1

setup() {
	rr_pair_setup || return 1
	rr_ns NSC c && rr_veth "$NSR" vc "$NSC" vcc || return 1
	rr_addr "$NSR" vc 203.0.113.1/24 && rr_addr "$NSC" vcc 203.0.113.2/24 || return 1
	# A routes R's node addresses and a far prefix (for traceroute) into its tunnel.
	rr_wg "$NSP" set "$PDEV" peer "$RR_PUB" allowed-ips \
		"$RR_PAIR_ALLOWED_PEER,$LO4/32,$D4/32,$LO6/128,172.20.99.0/24" || return 1
	local p
	for p in $LO4/32 $D4/32 172.20.99.0/24; do ip -n "$NSP" route add "$p" dev "$PDEV" || return 1; done
	ip -n "$NSP" -6 route add "$LO6/128" dev "$PDEV" || return 1
	if [ -n "$BIRD" ] && [ -n "$BIRDC" ]; then
		local bd=$RR_TMP/r/bird
		mkdir -p "$bd" || return 1
		cat >"$bd/bird.conf" <<-EOF || return 1
			router id $LO4;
			protocol device { scan time 2; }
			protocol static s4 {
				ipv4;
				route 172.20.0.2/32 via "wg0";
			}
			protocol kernel k4 {
				scan time 2;
				ipv4 { export filter { krt_prefsrc = $LO4; accept; }; };
			}
		EOF
		printf '\n[exec]\nbird = exec %s -f -c %s/bird.conf -s %s/bird.ctl -P %s/bird.pid 2>>%s/bird.log\n' \
			"$BIRD" "$bd" "$bd" "$bd" "$bd" >>"$RR_TMP/r/rrouted.conf" || return 1
		rr_fix_owner r && chmod 700 "$bd" || return 1
	fi
}

rr_setup_step "namespaces A, R, C and the wireguard-go peer A set up" setup

rr_setup_step "rrouted starts with wg0" rr_rrouted_start r "$NSR"

# rr_exec CMD...: CMD inside the router (rrouted's namespace, uid 65534, no caps, shim), <= 60 s.
rr_exec() { RR_EXEC_TIMEOUT=60 rr_exec_ns "$NSR" r "$@"; }
# exec_ok DESC CMD...: ok when CMD succeeds inside the router; its output is the diagnostic.
exec_ok() {
	local desc=$1 out
	shift
	if out=$(rr_exec "$@" 2>&1); then ok "$desc"; else not_ok "$desc" "$*" "$out"; fi
}
# exec_says DESC PATTERN CMD...: CMD's output inside the router matches PATTERN (ERE).
exec_says() {
	local desc=$1 pat=$2 out
	shift 2
	out=$(rr_exec "$@" 2>&1)
	if grep -qE -- "$pat" <<<"$out"; then ok "$desc"; else not_ok "$desc" "$* (want /$pat/)" "$out"; fi
}
# no_ping DESC NS ARGS...: ok when ping gets no reply.
no_ping() {
	local desc=$1 ns=$2 out
	shift 2
	if out=$(ip netns exec "$ns" ping -n -q "$@" 2>&1); then not_ok "$desc" "ping $* got replies" "$out"; else ok "$desc"; fi
}

rr_ping "ping A -> R's wg0 address (brings the session up)" "$NSP" -c 2 -i 0.3 -w 15 172.20.0.1

# ---- the node's own addresses on lo
exec_ok "ip addr add $LO4/32 dev lo" ip addr add "$LO4/32" dev lo
exec_ok "ip -6 addr add $LO6/128 dev lo" ip -6 addr add "$LO6/128" dev lo
exec_says "ip addr show dev lo: 127.0.0.1/8 and $LO4/32 (scope global)" \
	"inet $LO4/32 scope global lo" ip addr show dev lo
exec_says "ip addr add 127.0.0.2/8 dev lo is refused (the host's loopback)" \
	"host|not supported" ip addr add 127.0.0.2/8 dev lo
rr_ping "ping A -> $LO4 (on R's lo)" "$NSP" -c 2 -i 0.3 -w 10 "$LO4"
rr_ping "ping -6 A -> $LO6 (on R's lo)" "$NSP" -6 -c 2 -i 0.3 -w 10 "$LO6"

# ---- a dummy: created down, answered once up
exec_ok "ip link add d0 type dummy" ip link add d0 type dummy
exec_says "ip link show d0: a dummy, DOWN" "d0: <BROADCAST,NOARP> .* state DOWN" ip -d link show d0
exec_says "ip -d link show d0 says dummy" "dummy" ip -d link show d0
exec_ok "ip addr add $D4/32 dev d0" ip addr add "$D4/32" dev d0
no_ping "ping A -> $D4 while d0 is down: no answer" "$NSP" -c 1 -W 1 "$D4"
exec_ok "ip link set d0 up" ip link set d0 up
exec_says "ip link show d0: UP" "d0: <BROADCAST,NOARP,UP,LOWER_UP>" ip link show d0
rr_ping "ping A -> $D4 (on R's dummy d0)" "$NSP" -c 2 -i 0.3 -w 10 "$D4"
exec_says "ip link set d0 mtu 9000: the new MTU shows" "mtu 9000" sh -c 'ip link set d0 mtu 9000 && ip link show d0'
exec_says "ip link add d0 type dummy again: File exists" "File exists" ip link add d0 type dummy
exec_says "ip link add type dummy (no name): dummy0, as the kernel names it" "dummy0:" \
	sh -c 'ip link add type dummy && ip link show dummy0 && ip link del dummy0'
exec_says "ip link del lo is refused" "not supported|Operation not supported" ip link del lo

# ---- BIRD: sees the links, installs a route with krt_prefsrc = the lo address
birdc_r() { timeout 10 "$BIRDC" -s "$RR_TMP/r/bird/bird.ctl" "$@"; }
bird_sees() { birdc_r show interfaces | grep -qE "^$1 up"; }
bird_lost() { ! birdc_r show interfaces | grep -qE "^$1 "; }
if [ -z "$BIRD" ] || [ -z "$BIRDC" ]; then
	skip "BIRD's device protocol sees d0 and krt_prefsrc" "bird2 is not installed (scripts/install-deps)"
	HAVE_BIRD=
else
	HAVE_BIRD=1
	if wait_until 15 bird_sees d0; then
		ok "birdc show interfaces: d0 up (BIRD's device protocol saw ip link add/up)"
	else
		not_ok "birdc show interfaces: d0 up" "$(birdc_r show interfaces 2>&1)" "$(tail -5 "$RR_TMP/r/bird/bird.log" 2>&1)"
	fi
	bird_route() { rr_exec ip route show 172.20.0.2 | grep -q "proto bird.*src $LO4"; }
	if wait_until 15 bird_route; then
		ok "ip route show 172.20.0.2: proto bird ... src $LO4 (krt_prefsrc on a lo address accepted)"
	else
		not_ok "ip route show 172.20.0.2: proto bird ... src $LO4" "$(rr_exec ip route show 2>&1)" "$(birdc_r show route 2>&1)"
	fi
fi

# ---- R's ICMP errors come from the route's preferred source: the node address on lo
if [ -z "$HAVE_TRACEROUTE" ]; then
	skip "traceroute from A shows $LO4 as R's hop" "traceroute is not installed (scripts/install-deps)"
elif [ -z "$HAVE_BIRD" ]; then
	skip "traceroute from A shows $LO4 as R's hop" "needs BIRD's krt_prefsrc route"
else
	out=$(ip netns exec "$NSP" traceroute -n -q 1 -w 2 -m 1 172.20.99.9 2>&1)
	if grep -qE "^ *1 +$LO4 " <<<"$out"; then
		ok "traceroute A -> 172.20.99.9: hop 1 is $LO4 (R's node address, not wg0's 172.20.0.1)"
	else
		not_ok "traceroute A -> 172.20.99.9: hop 1 is $LO4" "$out"
	fi
fi

# ---- ip link del: addresses and link withdrawn, BIRD notices
exec_ok "ip link del d0" ip link del d0
exec_says "ip link show d0: gone" "does not exist|Cannot find device" ip link show d0
no_ping "ping A -> $D4 after ip link del d0: no answer" "$NSP" -c 1 -W 1 "$D4"
if [ -n "$HAVE_BIRD" ]; then
	if wait_until 15 bird_lost d0; then
		ok "birdc show interfaces: d0 gone"
	else
		not_ok "birdc show interfaces: d0 gone" "$(birdc_r show interfaces 2>&1)"
	fi
fi
exec_ok "ip addr del $LO4/32 dev lo" ip addr del "$LO4/32" dev lo
no_ping "ping A -> $LO4 after ip addr del: no answer" "$NSP" -c 1 -W 1 "$LO4"

# ---- sudo inside rrctl exec: root of the router's network, nobody on the host
exec_says "rrctl exec -- sudo id -u: 0 (the router's root)" "^0$" sudo id -u
exec_says "rrctl exec -- sudo: still uid 65534 for the host (touch /root/x fails)" \
	"Permission denied" sudo touch /root/rr-links-$$

# ---- what wg-quick runs through ip, for a wireguard link made at runtime
exec_ok "ip link add wgx type wireguard" ip link add wgx type wireguard
exec_says "ip link show wgx: DOWN (new links start down, as on Linux)" "wgx: <POINTOPOINT,NOARP> .*state DOWN" ip link show wgx
exec_says "ip -d link show wgx: kind wireguard" "^ +wireguard " ip -d link show wgx
exec_ok "ip -4 address add 172.20.8.1/32 dev wgx" ip -4 address add 172.20.8.1/32 dev wgx
exec_ok "ip link set mtu 1380 up dev wgx" ip link set mtu 1380 up dev wgx
exec_says "ip link show dev wgx: UP, mtu 1380" "wgx: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu 1380" ip link show dev wgx
out=$(rr_exec ip -4 route show dev wgx match 172.20.8.2/32 2>&1)
if [ -z "$out" ]; then ok "ip -4 route show dev wgx match 172.20.8.2/32: empty before the route"; else not_ok "ip -4 route show dev wgx match 172.20.8.2/32: empty before the route" "$out"; fi
exec_ok "ip -4 route add 172.20.8.2/32 dev wgx" ip -4 route add 172.20.8.2/32 dev wgx
exec_says "ip -4 route show dev wgx match 172.20.8.2/32: the route" "^172.20.8.2 " ip -4 route show dev wgx match 172.20.8.2/32
exec_says "ip route get 172.20.8.2: dev wgx src 172.20.8.1" "172.20.8.2 dev wgx src 172.20.8.1" ip route get 172.20.8.2
exec_ok "ip link set wgx down" ip link set wgx down
out=$(rr_exec ip -4 route show dev wgx 2>&1)
if [ -z "$out" ]; then ok "ip link set wgx down: its routes are flushed (as Linux)"; else not_ok "ip link set wgx down: its routes are flushed (as Linux)" "$out"; fi
exec_ok "ip link delete dev wgx" ip link delete dev wgx
exec_says "ip link show wgx: gone" "does not exist|Cannot find device" ip link show wgx

# ---- wg-quick up / down of a new peer C
wgq_ready=
if ! command -v wg-quick >/dev/null 2>&1; then
	skip "wg-quick up/down" "wg-quick is not installed (wireguard-tools)"
elif ! rr_exec wg show wg0 >/dev/null 2>&1; then
	skip "wg-quick up/down" "the wg tool does not work inside the router yet (generic netlink: branch wgnl)"
else
	wgq_ready=1
fi
if [ -n "$wgq_ready" ]; then
	CDEV=rrc$$
	c_pub=$(rr_genkey "$KEYS" c) && rc_pub=$(rr_genkey "$KEYS" rc)
	cat >"$RR_TMP/r/wgc.conf" <<-EOF
		[Interface]
		PrivateKey = $(cat "$KEYS/rc.key")
		ListenPort = 51830
		Address = 172.20.7.1/32, fd42:7::1/128

		[Peer]
		PublicKey = $c_pub
		Endpoint = 203.0.113.2:51831
		AllowedIPs = 172.20.7.2/32, fd42:7::2/128
	EOF
	rr_fix_owner r
	if rr_wggo_peer "$NSC" "$CDEV" "$KEYS/c.key" 51831 "$rc_pub" "" 203.0.113.1:51830 \
		172.20.7.1/32,fd42:7::1/128 "" 172.20.7.2/32 fd42:7::2/128 2>"$RR_TMP/c.err"; then
		setup_ok "peer C (wireguard-go) set up"
	else
		not_ok "peer C (wireguard-go) set up" "$(cat "$RR_TMP/c.err")"
	fi
	exec_ok "rrctl exec -- wg-quick up ./wgc.conf (unmodified, through rrctl's sudo)" \
		sh -c "cd '$RR_TMP/r' && wg-quick up ./wgc.conf"
	exec_says "ip route show dev wgc: 172.20.7.2 (wg-quick's route)" "172.20.7.2" ip route show dev wgc
	# No MTU line: wg-quick asked ip route get / ip route show default and took 1500 - 80.
	exec_says "ip link show wgc: UP, mtu 1420 (wg-quick's own choice)" "wgc: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu 1420" ip link show wgc
	exec_says "rrctl exec -- wg-quick up ./wgc.conf again: already exists" "already exists" \
		sh -c "cd '$RR_TMP/r' && wg-quick up ./wgc.conf"
	if [ -n "$HAVE_BIRD" ]; then
		if wait_until 15 bird_sees wgc; then ok "birdc show interfaces: wgc up"; else not_ok "birdc show interfaces: wgc up" "$(birdc_r show interfaces 2>&1)"; fi
	fi
	exec_says "ip -6 route show dev wgc: fd42:7::2 (wg-quick's route)" "fd42:7::2" ip -6 route show dev wgc
	rr_ping "ping C -> 172.20.7.1 (R's wgc)" "$NSC" -c 2 -i 0.3 -w 15 172.20.7.1
	rr_ping "ping -6 C -> fd42:7::1 (R's wgc)" "$NSC" -6 -c 2 -i 0.3 -w 10 fd42:7::1
	exec_says "wg show wgc: C's handshake" "latest handshake" wg show wgc
	exec_ok "rrctl exec -- wg-quick down ./wgc.conf" sh -c "cd '$RR_TMP/r' && wg-quick down ./wgc.conf"
	exec_says "ip link show wgc: gone" "does not exist|Cannot find device" ip link show wgc
	if [ -n "$HAVE_BIRD" ]; then
		if wait_until 15 bird_lost wgc; then ok "birdc show interfaces: wgc gone"; else not_ok "birdc show interfaces: wgc gone" "$(birdc_r show interfaces 2>&1)"; fi
	fi
	no_ping "ping C -> 172.20.7.1 after wg-quick down: no answer" "$NSC" -c 1 -W 1 172.20.7.1
fi

# ---- a configured WireGuard link set down and up again (BIRD's route keeps its lo prefsrc)
exec_ok "ip addr add $LO4/32 dev lo (again, for BIRD's krt_prefsrc)" ip addr add "$LO4/32" dev lo
exec_ok "ip link set wg0 down" ip link set wg0 down
no_ping "ping A -> 172.20.0.1 while wg0 is down: no answer" "$NSP" -c 2 -i 0.3 -W 1 172.20.0.1
if [ -n "$HAVE_BIRD" ]; then
	bird_down() { birdc_r show interfaces | grep -qE "^wg0 down"; }
	if wait_until 15 bird_down; then ok "birdc show interfaces: wg0 down"; else not_ok "birdc show interfaces: wg0 down" "$(birdc_r show interfaces 2>&1)"; fi
fi
exec_ok "ip link set wg0 up" ip link set wg0 up
rr_ping "ping A -> R's wg0 address answers again" "$NSP" -c 1 -w 10 172.20.0.1
if [ -n "$HAVE_BIRD" ]; then
	if wait_until 15 bird_route; then ok "BIRD re-installed 172.20.0.2 via wg0 once it came back up"; else not_ok "BIRD re-installed 172.20.0.2 via wg0" "$(rr_exec ip route show 2>&1)" "$(birdc_r show interfaces 2>&1)" "$(birdc_r show route all 2>&1)" "$(tail -20 "$RR_TMP/r/bird/bird.log" 2>&1)"; fi
fi
if rr_rrouted_stop r; then ok "rrouted stops cleanly"; else not_ok "rrouted stops cleanly" "$RR_STOP_WHY"; fi
rr_finish
