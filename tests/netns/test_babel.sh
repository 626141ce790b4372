#!/usr/bin/env bash
# BIRD Babel between two rrouted nodes over a WireGuard link (issue 9): the mesh between an
# operator's own nodes. Babel speaks link-local multicast (ff02::1:6, UDP 6696) and unicast
# between fe80:: addresses; each rrouted hosts an unmodified BIRD (`rrctl exec`, uid 65534, no
# capabilities) and carries the multicast to its peer because the peer's AllowedIPs admit it.
#
#   netns rrt-<pid>-n1                             netns rrt-<pid>-n2
#   +-----------------------------------+          +-----------------------------------+
#   | rrouted n1 (uid 65534)            |    WG    | rrouted n2 (uid 65534)            |
#   |  wg0 udp/51820  fe80::1/64        |<========>|  wg0 udp/51820  fe80::2/64        |
#   |       fd42:10::1/128              |          |       fd42:20::1/128              |
#   |  AllowedIPs fe80::/64,            |          |  AllowedIPs fe80::/64,            |
#   |    ff02::1:6/128, fd42:20::/48    |          |    ff02::1:6/128, fd42:10::/48    |
#   |  rrctl exec -- bird (babel wg0)   |          |  rrctl exec -- bird (babel wg0)   |
#   | v1 192.0.2.1/24 ------------------+----------+- v2 192.0.2.2/24                  |
#   +-----------------------------------+          +-----------------------------------+
#
# Each BIRD announces its wg0 global address by Babel; the other learns it and installs it
# in its rrouted (kernel protocol -> rtnetlink emulation), and then ping across works with
# no static route anywhere.
. "$(dirname "$0")/lib.sh"
rr_require
rr_require_shim
rr_require_bird
declare -A NS=()

# in_node N CMD...: CMD inside node N's router (its namespace, uid 65534, shim preloaded).
in_node() {
	rr_exec_ns "${NS[$1]}" "$@"
}

birdc_n() {
	timeout 10 "$BIRDC" -s "$RR_TMP/$1/bird.ctl" "${@:2}"
}

setup() {
	rr_ns_pair N1 n1 v1 192.0.2.1/24 N2 n2 v2 192.0.2.2/24 && rr_keys n1 n2 || return 1
	NS[n1]=$N1 NS[n2]=$N2
	PUB1=$(rr_pub n1) PUB2=$(rr_pub n2)
	rr_instance n1 >/dev/null && rr_write_router_conf n1 || return 1
	rr_instance n2 >/dev/null && rr_write_router_conf n2 || return 1
	rr_write_iface n1 wg0 "$KEYS/n1.key" 51820 "fe80::1/64, fd42:10::1/128" "$PUB2" "" \
		192.0.2.2:51820 "fe80::/64, ff02::1:6/128, fd42:20::/48" 5 || return 1
	rr_write_iface n2 wg0 "$KEYS/n2.key" 51820 "fe80::2/64, fd42:20::1/128" "$PUB1" "" \
		192.0.2.1:51820 "fe80::/64, ff02::1:6/128, fd42:10::/48" 5 || return 1
	local n id
	for n in n1 n2; do
		id=${n#n}
		cat >"$RR_TMP/$n/bird.conf" <<-EOF
			log "$RR_TMP/$n/bird.log" all;
			router id 10.0.0.$id;
			protocol device { scan time 5; }
			protocol direct { ipv6; interface "wg0"; }
			protocol kernel {
				ipv6 { import none; export where source = RTS_BABEL; };
			}
			protocol babel {
				interface "wg0" { type wired; hello interval 1 s; update interval 2 s; };
				ipv6 { import all; export where source = RTS_DEVICE && net ~ fd42::/16; };
			}
		EOF
		rr_fix_owner "$n"
	done
}

rr_check_or_finish "two namespaces, veth, keys and configurations" setup
for n in n1 n2; do
	rr_setup_step "rrouted $n starts" rr_rrouted_start "$n" "${NS[$n]}"
done
# ping carries a file capability, which a process without a bounding set may not exec.
cp /usr/bin/ping "$RR_TMP/ping" && chmod 755 "$RR_TMP/ping"
check "WireGuard link up: n2 pings fe80::1 on wg0 from inside its router" \
	in_node n2 "$RR_TMP/ping" -n -c 2 -i 0.3 -w 10 -I wg0 fe80::1

for n in n1 n2; do
	in_node "$n" "$BIRD" -f -c "$RR_TMP/$n/bird.conf" -s "$RR_TMP/$n/bird.ctl" \
		-P "$RR_TMP/$n/bird.pid" >>"$RR_TMP/$n/bird.out" 2>&1 &
	rr_track "$!" "bird $n" "$RR_TMP/$n/bird.log"
	rr_logs+=("$RR_TMP/$n/bird.out")
done
for n in n1 n2; do
	if wait_until 15 test -S "$RR_TMP/$n/bird.ctl"; then
		ok "BIRD starts inside $n (rrctl exec, uid 65534, no capabilities)"
	else
		not_ok "BIRD starts inside $n" "$(tail -n 20 "$RR_TMP/$n/bird.out" "$RR_TMP/$n/bird.log" 2>&1)"
		rr_finish
	fi
done

# babel_neighbor N ADDR: N's Babel lists ADDR as a neighbor on wg0 with a finite cost.
babel_neighbor() {
	birdc_n "$1" show babel neighbors | awk -v a="$2" '$1 == a && $2 == "wg0" { f = 1 } END { exit !f }'
}
for pair in "n1 fe80::2" "n2 fe80::1"; do
	set -- $pair
	if wait_until 30 babel_neighbor "$1" "$2"; then
		ok "$1's Babel hears $2 on wg0 (hellos over ff02::1:6 through WireGuard)"
	else
		not_ok "$1's Babel hears $2 on wg0" "$(birdc_n "$1" show babel neighbors 2>&1)" \
			"$(birdc_n "$1" show babel interfaces 2>&1)"
	fi
done

# learned_via N PREFIX NEXTHOP: rrouted N has PREFIX via NEXTHOP dev wg0 (what BIRD installed).
learned_via() {
	in_node "$1" ip -6 route show "$2" | grep -q "via $3 dev wg0"
}
for t in "n1 fd42:20::1 fe80::2" "n2 fd42:10::1 fe80::1"; do
	set -- $t
	if wait_until 30 learned_via "$1" "$2" "$3"; then
		ok "$1 learned $2 by Babel: rrctl exec -- ip -6 route shows it via $3 dev wg0"
	else
		not_ok "$1 learned $2 by Babel via $3" "$(in_node "$1" ip -6 route 2>&1)" \
			"$(birdc_n "$1" show route 2>&1)"
	fi
done
check "n1 pings fd42:20::1 (n2's address) from fd42:10::1 over the Babel route" \
	in_node n1 "$RR_TMP/ping" -n -c 3 -i 0.3 -w 10 -I fd42:10::1 fd42:20::1
rr_finish
