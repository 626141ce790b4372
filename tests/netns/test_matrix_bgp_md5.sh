#!/usr/bin/env bash
# BGP passwords (TCP MD5 signatures, RFC 2385): BIRD inside rrouted (rrctl exec, uid 65534, no
# capabilities) against BIRD on the Linux kernel's TCP, which does real TCP-MD5, over WireGuard.
#
#  netns R: rrouted (uid 65534, no caps)             netns P (root)
#  +-------------------------------------------+     +-------------------------------------------+
#  | wg0 udp/51820  172.20.0.1/30 fe80::1/64   | WG  | rrp<pid> (wireguard-go) udp/51821         |
#  |       fd42:0:1::1/64 fd42:0:1::11/64      |<===>|   172.20.0.2/30 fe80::2/64                |
#  |                                           |     |   fd42:0:1::2/64 fd42:0:1::12/64          |
#  | BIRD (rrctl exec) AS 65001                |     | BIRD on the kernel stack, AS 65002        |
#  |   p_v4  172.20.0.1 -> 172.20.0.2  "v4-…"  |     |   r_v4  (same password)                   |
#  |   p_v6  fd42:0:1::1 -> ::2        "v6-…"  |     |   r_v6  (same password)                   |
#  |   p_ll  fe80::1%wg0 -> fe80::2    "ll-…"  |     |   r_ll  (same password)                   |
#  |   p_bad fd42:0:1::11 -> ::12      "right" |     |   r_bad (password "WRONG")                |
#  |   static 10.98.0.0/24 fd98::/48           |     |   static 10.99.0.0/24 fd99::/48           |
#  | veth vr 192.0.2.1/24 ---------------------+-----+- veth vp 192.0.2.2/24                     |
#  +-------------------------------------------+     +-------------------------------------------+
#
# p_v4 and p_bad bind their local address before connecting and p_v6 / p_ll do not (the key is
# then set on a socket rrouted has not seen yet); p_ll is link-local, as DN42 peerings are;
# BIRD's listening socket is dual-stack and gets the keys after listen(). Checked as an operator would: birdc show protocols / show route on both sides,
# and rrouted's log naming the segments it dropped for the wrong password.
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
rr_require
rr_require_bird

PDEV=rrp$$
V4_PW="v4-secret-$$" V6_PW="v6 secret with spaces $$" LL_PW="link-local-$$"

# ---------------------------------------------------------------- set-up

# md5_bird_conf ROUTER_ID AS IFACE NET4 NET6 SESSIONS: one side's bird.conf: its static NET4
# and NET6 (exported by the sessions), short BGP timers, and SESSIONS (md5_session blocks).
md5_bird_conf() {
	cat <<-EOF
		router id $1;
		log stderr all;
		protocol device { scan time 2; }
		protocol direct { ipv4; ipv6; interface "$3"; }
		protocol static s4 { ipv4; route $4 blackhole; }
		protocol static s6 { ipv6; route $5 blackhole; }
		template bgp peer {
			local as $2;
			hold time 9;
			keepalive time 3;
			connect retry time 2;
			error wait time 1, 4;
		}
		$6
	EOF
}

# md5_session NAME CHANNEL EXPORT PASSWORD LINE...: a `protocol bgp NAME from peer` block with
# the LINEs (neighbor, local, interface), the TCP-MD5 PASSWORD, and CHANNEL importing all.
md5_session() {
	local name=$1 channel=$2 export=$3 pw=$4 line
	shift 4
	echo "protocol bgp $name from peer {"
	for line in "$@"; do echo "	$line;"; done
	echo "	password \"$pw\";"
	echo "	$channel { import all; export $export; };"
	echo "}"
}

setup() {
	rr_ns_pair NSR r vr 192.0.2.1/24 NSP p vp 192.0.2.2/24 && rr_keys rr peer || return 1
	RR_PUB=$(rr_pub rr) PEER_PUB=$(rr_pub peer)
	rr_instance r >/dev/null && rr_write_router_conf r || return 1
	rr_write_iface r wg0 "$KEYS/rr.key" 51820 \
		"172.20.0.1/30, fd42:0:1::1/64, fd42:0:1::11/64, fe80::1/64" "$PEER_PUB" "" \
		"192.0.2.2:51821" "172.20.0.2/32, fd42:0:1::2/128, fd42:0:1::12/128, fe80::/64" "" || return 1
	rr_wggo_start "$NSP" "$PDEV" || return 1
	rr_addr "$NSP" "$PDEV" 172.20.0.2/30 fd42:0:1::2/64 fd42:0:1::12/64 fe80::2/64 || return 1
	rr_wg "$NSP" set "$PDEV" private-key "$KEYS/peer.key" listen-port 51821 peer "$RR_PUB" \
		allowed-ips "172.20.0.1/32,fd42:0:1::1/128,fd42:0:1::11/128,fe80::/64" \
		endpoint 192.0.2.1:51820 || return 1

	RDIR=$RR_TMP/r/bird PDIR=$RR_TMP/pbird
	mkdir -p "$RDIR" "$PDIR" || return 1
	md5_bird_conf 172.20.0.1 65001 wg0 10.98.0.0/24 fd98::/48 "$(
		md5_session p_v4 ipv4 'where proto = "s4"' "$V4_PW" "local 172.20.0.1 as 65001" \
			"neighbor 172.20.0.2 as 65002"
		md5_session p_v6 ipv6 'where proto = "s6"' "$V6_PW" "neighbor fd42:0:1::2 as 65002"
		md5_session p_ll ipv6 'where proto = "s6"' "$LL_PW" "neighbor fe80::2%wg0 as 65002" \
			'interface "wg0"'
		md5_session p_bad ipv6 none the-right-password "local fd42:0:1::11 as 65001" \
			"neighbor fd42:0:1::12 as 65002"
	)" >"$RDIR/bird.conf" || return 1
	md5_bird_conf 172.20.0.2 65002 "$PDEV" 10.99.0.0/24 fd99::/48 "$(
		md5_session r_v4 ipv4 'where proto = "s4"' "$V4_PW" "neighbor 172.20.0.1 as 65001"
		md5_session r_v6 ipv6 'where proto = "s6"' "$V6_PW" "neighbor fd42:0:1::1 as 65001"
		md5_session r_ll ipv6 'where proto = "s6"' "$LL_PW" "neighbor fe80::1%$PDEV as 65001" \
			"interface \"$PDEV\""
		md5_session r_bad ipv6 none WRONG-password "local fd42:0:1::12 as 65002" \
			"neighbor fd42:0:1::11 as 65001"
	)" >"$PDIR/bird.conf" || return 1
	chown -R "$RR_UID:$RR_UID" "$RDIR"
}

rr_setup_step "namespaces, WireGuard and BIRD configurations set up" setup
check "both BIRD configurations parse (bird -p)" sh -c \
	"'$BIRD' -p -c '$RDIR/bird.conf' && '$BIRD' -p -c '$PDIR/bird.conf'"

birdc_r() { timeout 10 "$BIRDC" -s "$RDIR/bird.ctl" "$@"; }
birdc_p() { timeout 10 "$BIRDC" -s "$PDIR/bird.ctl" "$@"; }

# established WHICH PROTO: birdc show protocols on side WHICH (r|p) says PROTO is Established.
established() {
	local out
	out=$("birdc_$1" show protocols) || return 1
	awk -v p="$2" '$1 == p && $2 == "BGP" && $NF == "Established" { f = 1 } END { exit !f }' <<<"$out"
}

# learned WHICH PREFIX: the best route for PREFIX on side WHICH came by BGP.
learned() {
	"birdc_$1" show route "$2" all 2>/dev/null | grep -q 'BGP.as_path'
}

start() {
	rr_rrouted_start r "$NSR" || return 1
	rm -f "$RDIR/bird.ctl"
	ip netns exec "$NSR" "${RR_SETPRIV[@]}" "$RRCTL" -s "$RR_TMP/r/rr.sock" exec -- \
		"$BIRD" -f -c "$RDIR/bird.conf" -s "$RDIR/bird.ctl" -P "$RDIR/bird.pid" \
		>>"$RDIR/bird.log" 2>&1 &
	rr_track "$!" "rrctl exec -- bird (R)" "$RDIR/bird.log"
	ip netns exec "$NSP" "$BIRD" -f -c "$PDIR/bird.conf" -s "$PDIR/bird.ctl" -P "$PDIR/bird.pid" \
		>>"$PDIR/bird.log" 2>&1 &
	rr_track "$!" "bird (P, kernel)" "$PDIR/bird.log"
	wait_until 15 test -S "$RDIR/bird.ctl" || { echo "R's BIRD: no control socket after 15 s" >&2; return 1; }
	wait_until 15 test -S "$PDIR/bird.ctl" || { echo "P's BIRD: no control socket after 15 s" >&2; return 1; }
}

rr_setup_step "rrouted, BIRD inside it and BIRD on the kernel start" start
rr_check_unpriv "rrouted runs as uid 65534 with no capabilities" "${RR_PID[r]}"
bpid=$(cat "$RDIR/bird.pid" 2>/dev/null)
st=$(cat "/proc/${bpid:-0}/status" 2>/dev/null)
if [ -n "$bpid" ] && grep -Eq "^Uid:\s+65534\s+65534\s+65534\s+65534$" <<<"$st" &&
	grep -q '^CapBnd:[[:space:]]*0000000000000000$' <<<"$st"; then
	ok "R's BIRD (pid $bpid) runs as uid 65534 with an empty capability bounding set"
else
	not_ok "R's BIRD runs as uid 65534 with no capabilities" "pid '${bpid:-none}'" \
		"$(grep -E '^(Uid|CapEff|CapBnd):' <<<"$st")"
fi

# ---------------------------------------------------------------- the sessions with a password

both_up() {
	established r p_v4 && established r p_v6 && established r p_ll &&
		established p r_v4 && established p r_v6 && established p r_ll
}
t0=$(date +%s%N)
wait_until 40 both_up
diag "BGP with passwords: waited $((($(date +%s%N) - t0) / 1000000)) ms"
for s in "r p_v4" "r p_v6" "r p_ll" "p r_v4" "p r_v6" "p r_ll"; do
	set -- $s
	side=R
	[ "$1" = p ] && side="P (kernel)"
	if established "$1" "$2"; then
		ok "birdc show protocols on $side: $2 (password) Established"
	else
		not_ok "birdc show protocols on $side: $2 (password) Established" \
			"$("birdc_$1" show protocols all "$2" 2>&1 | head -n 20)"
	fi
done

for s in "r 10.99.0.0/24" "r fd99::/48" "p 10.98.0.0/24" "p fd98::/48"; do
	set -- $s
	side=R
	[ "$1" = p ] && side="P (kernel)"
	if wait_until 15 learned "$1" "$2"; then
		ok "$side learns $2 over the signed session"
	else
		not_ok "$side learns $2 over the signed session" "$("birdc_$1" show route all 2>&1 | head -n 30)"
	fi
done

# The kernel says the connection is signed (ss shows md5 on the kernel's side).
out=$(ip netns exec "$NSP" ss -tni state established '( sport = :179 or dport = :179 )' 2>&1)
if grep -q 'md5' <<<"$out"; then
	ok "P's kernel reports its BGP connections as TCP-MD5 signed (ss -ti: md5)"
else
	skip "P's kernel reports TCP-MD5 on its BGP connections" "this ss does not print md5: $(head -c 300 <<<"$out")"
fi

# ---------------------------------------------------------------- the wrong password

# Both sides have had >= 10 s of connect retries (2 s each) by now for p_bad / r_bad.
sleep 6
if established r p_bad || established p r_bad; then
	not_ok "a session with mismatched passwords does not come up" \
		"$(birdc_r show protocols all p_bad 2>&1 | head -n 12)" "$(birdc_p show protocols all r_bad 2>&1 | head -n 12)"
else
	ok "a session with mismatched passwords does not come up (R: $(birdc_r show protocols p_bad |
		awk '$1 == "p_bad" { print $NF }'), P: $(birdc_p show protocols r_bad | awk '$1 == "r_bad" { print $NF }'))"
fi
if grep -Eq 'from fd42:0:1::12 port [0-9]+ to fd42:0:1::11? port [0-9]+: TCP MD5 \(RFC 2385\) signature does not match' \
	"$RR_TMP/r.log"; then
	ok "rrouted logs the segments from P it dropped for a wrong signature"
else
	not_ok "rrouted logs the segments from P it dropped for a wrong signature" \
		"$(grep -i 'md5' "$RR_TMP/r.log" | tail -n 5)"
fi
# The good sessions are not disturbed by the bad one.
if both_up; then
	ok "the signed sessions are still Established"
else
	not_ok "the signed sessions are still Established" "$(birdc_r show protocols 2>&1)"
fi

rr_finish
