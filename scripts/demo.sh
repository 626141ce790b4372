#!/usr/bin/env bash
# `make demo`: a three-node DN42 network on loopback, every node a rootless rrouted with
# BIRD 2 inside it (an [exec] program). No root, no namespaces: each rrouted has its own
# control and shim sockets and its own UDP ports on 127.0.0.1; the BGP sessions run over the
# WireGuard tunnels.
#
#   node 1 (AS 4242420001)          node 2 (AS 4242420002)               node 3 (AS 4242420003)
#   wg2 172.20.0.1/32 peer .0.2 <==> wg1 172.20.0.2/32 peer .0.1
#       fe80::1/64                       fe80::2/64
#                                    wg3 fe80::2/64                 <==> wg2 fe80::3/64
#   own 172.20.1.1 fd42:1::1         own 172.20.2.1 fd42:2::1             own 172.20.3.1 fd42:3::1
#   BGP: n2_v4 (IPv4), n2_v6         BGP: n1_v4, n1_v6, n3 (MP-BGP over   BGP: n2 (MP-BGP, IPv4 by
#        (IPv6 link-local)                link-local, extended next hop)       extended next hop)
#
# Shows the BGP sessions of each BIRD, each router's FIB, and a traceroute from node 1 to
# node 3 through node 2. BIRD configs: tests/netns/bird/ (the DN42 wiki's, trimmed).
# Environment: RR_BUILD (default build), RR_BIN (run the programs installed in that directory),
# DEMO_TIMEOUT (seconds to wait for BGP, default 60),
# DEMO_KEEP=1 keeps the temporary directory.
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
B=${RR_BUILD:-build}
RROUTED=$B/rrouted RRCTL=$B/rrctl SHIM=$B/librrshim.so
# RR_BIN=DIR: the programs installed there (make install) instead; they find their own shim.
if [ -n "${RR_BIN:-}" ]; then
	RROUTED=$RR_BIN/rrouted RRCTL=$RR_BIN/rrctl SHIM=
fi
TPL=$ROOT/tests/netns/bird
for t in "$RROUTED" "$RRCTL" ${SHIM:+"$SHIM"}; do
	[ -x "$t" ] || [ -f "$t" ] || { echo "demo: $t is not built; run make" >&2; exit 1; }
done
for t in bird birdc jq; do
	command -v "$t" >/dev/null 2>&1 || { echo "demo: $t is not installed (scripts/install-deps)" >&2; exit 1; }
done
BIRD=$(command -v bird) BIRDC=$(command -v birdc)
case "$RROUTED" in /*) ;; *) RROUTED=$ROOT/$RROUTED RRCTL=$ROOT/$RRCTL ;; esac

tmp=$(mktemp -d /tmp/rr-demo.XXXXXX)
chmod 700 "$tmp"
declare -A pid=()
cleanup() {
	local n
	trap - EXIT
	for n in "${!pid[@]}"; do
		kill -TERM "${pid[$n]}" 2>/dev/null || continue
		for _ in $(seq 1 25); do kill -0 "${pid[$n]}" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "${pid[$n]}" 2>/dev/null
	done
	if [ -n "${DEMO_KEEP:-}" ]; then echo "demo: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	local n
	echo "demo: $*" >&2
	for n in 1 2 3; do
		for f in "$tmp/n$n.log" "$tmp/n$n/bird/bird.log"; do
			[ -s "$f" ] && { echo "---- last lines of $f" >&2; tail -n 15 "$f" >&2; }
		done
	done
	exit 1
}

genkey() {   # genkey NAME -> $tmp/NAME.key, prints the public key
	if command -v wg >/dev/null 2>&1; then
		(umask 077 && wg genkey >"$tmp/$1.key") && wg pubkey <"$tmp/$1.key"
	else
		(umask 077 && "$RRCTL" genkey >"$tmp/$1.key") && "$RRCTL" pubkey <"$tmp/$1.key"
	fi
}

# Four free UDP ports on 127.0.0.1, picked by the kernel.
ports=$(python3 - 2>/dev/null <<'EOF'
import socket
s = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(4)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))
EOF
) || ports="$((40000 + RANDOM % 5000)) $((45000 + RANDOM % 5000)) $((50000 + RANDOM % 5000)) $((55000 + RANDOM % 5000))"
read -r P1 P2A P2B P3 <<<"$ports"

pub1=$(genkey n1) && pub2a=$(genkey n2a) && pub2b=$(genkey n2b) && pub3=$(genkey n3) ||
	die "key generation failed"
ALLOWED="172.20.0.0/14, fd00::/8, fe80::/64"

# iface NODE NAME KEY PORT ADDRESSES PEER_PUB PEER_PORT [POSTUP]
iface() {
	mkdir -p "$tmp/n$1/ifaces"
	{
		echo "[Interface]"
		echo "PrivateKey = $(cat "$tmp/$3.key")"
		echo "ListenPort = $4"
		echo "Address = $5"
		echo "MTU = 1420"
		echo "Table = off"
		[ -n "${8:-}" ] && echo "PostUp = $8"
		echo
		echo "[Peer]"
		echo "PublicKey = $6"
		echo "Endpoint = 127.0.0.1:$7"
		echo "AllowedIPs = $ALLOWED"
		echo "PersistentKeepalive = 25"
	} >"$tmp/n$1/ifaces/$2.conf"
}
iface 1 wg2 n1 "$P1" "fe80::1/64, 172.20.1.1/32, fd42:1::1/128" "$pub2a" "$P2A" \
	"ip addr add 172.20.0.1/32 peer 172.20.0.2/32 dev %i"
iface 2 wg1 n2a "$P2A" "fe80::2/64, 172.20.2.1/32, fd42:2::1/128" "$pub1" "$P1" \
	"ip addr add 172.20.0.2/32 peer 172.20.0.1/32 dev %i"
iface 2 wg3 n2b "$P2B" "fe80::2/64" "$pub3" "$P3"
iface 3 wg2 n3 "$P3" "fe80::3/64, 172.20.3.1/32, fd42:3::1/128" "$pub2b" "$P2B"

# render TEMPLATE OUT VAR=VALUE...
render() {
	local in=$1 out=$2 kv args=()
	shift 2
	for kv in "$@"; do args+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
	sed "${args[@]}" "$in" >"$out"
}
# bird_node N AS NET4: node N's BIRD config (own NET4 and fd42:N::/48) and rrouted.conf.
bird_node() {
	local d=$tmp/n$1/bird
	mkdir -p "$d/peers" && cp "$TPL/roa_dn42.conf" "$TPL/roa_dn42_v6.conf" "$d/" &&
		: >"$d/static4.conf" && : >"$d/static6.conf" || die "cannot write $d"
	render "$TPL/bird.conf.in" "$d/bird.conf" OWNAS="$2" OWNIP="172.20.$1.1" OWNIPV6="fd42:$1::1" \
		OWNNET="$3" OWNNETV6="fd42:$1::/48" ROA4="$d/roa_dn42.conf" \
		ROA6="$d/roa_dn42_v6.conf" DIR="$d"
	cat >"$tmp/n$1/rrouted.conf" <<-EOF
		[router]
		interfaces = ifaces
		control = $tmp/n$1/rr.sock
		log_level = info

		[exec]
		bird = exec $BIRD -f -c $d/bird.conf -s $d/bird.ctl -P $d/bird.pid 2>>$d/bird.log
	EOF
}
peer() {   # peer N KIND NAME NEIGHBOR AS [IFACE]
	render "$TPL/peer-$2.conf.in" "$tmp/n$1/bird/peers/$3.conf" NAME="$3" NEIGHBOR="$4" PEERAS="$5" \
		IFACE="${6:-}"
}
bird_node 1 4242420001 172.20.1.0/24
bird_node 2 4242420002 172.20.2.0/27
bird_node 3 4242420003 172.20.3.0/24
peer 1 v4 n2_v4 172.20.0.2 4242420002
peer 1 v6 n2_v6 fe80::2 4242420002 wg2
peer 2 v4 n1_v4 172.20.0.1 4242420001
peer 2 v6 n1_v6 fe80::1 4242420001 wg1
peer 2 mp n3 fe80::3 4242420003 wg3
peer 3 mp n2 fe80::2 4242420002 wg2
for n in 1 2 3; do
	"$BIRD" -p -c "$tmp/n$n/bird/bird.conf" || die "BIRD rejects node $n's config"
	"$RROUTED" --check -c "$tmp/n$n/rrouted.conf" >/dev/null || die "rrouted rejects node $n's config"
done

for n in 3 2 1; do
	"$RROUTED" -c "$tmp/n$n/rrouted.conf" >>"$tmp/n$n.log" 2>&1 &
	pid[$n]=$!
done
ctl() { local n=$1; shift; timeout 10 "$RRCTL" -s "$tmp/n$n/rr.sock" "$@"; }
bc() { local n=$1; shift; timeout 10 "$BIRDC" -s "$tmp/n$n/bird/bird.ctl" "$@"; }
established() {   # established N PROTO...
	local n=$1 out p
	shift
	out=$(bc "$n" show protocols 2>/dev/null) || return 1
	for p in "$@"; do
		awk -v p="$p" '$1 == p && $NF == "Established" { f = 1 } END { exit !f }' <<<"$out" || return 1
	done
}
echo "demo: three rrouted (pids ${pid[1]} ${pid[2]} ${pid[3]}, udp $P1 | $P2A $P2B | $P3), each with BIRD inside"
t0=$(date +%s)
for n in 1 2 3; do
	until [ -S "$tmp/n$n/bird/bird.ctl" ]; do
		[ $(($(date +%s) - t0)) -ge 15 ] &&
			die "node $n: BIRD did not start inside rrouted within 15 s (no $tmp/n$n/bird/bird.ctl; does this rrouted run [exec] programs?)"
		kill -0 "${pid[$n]}" 2>/dev/null || die "rrouted of node $n exited"
		sleep 0.2
	done
done
echo "demo: BIRD runs inside each router; waiting for the BGP sessions..."
limit=${DEMO_TIMEOUT:-60}
t0=$(date +%s)
until established 1 n2_v4 n2_v6 && established 2 n1_v4 n1_v6 n3 && established 3 n2; do
	[ $(($(date +%s) - t0)) -ge "$limit" ] && {
		for n in 1 2 3; do echo "== node $n"; bc "$n" show protocols 2>&1; done
		die "BGP sessions not all Established within $limit s"
	}
	for n in 1 2 3; do
		kill -0 "${pid[$n]}" 2>/dev/null || die "rrouted of node $n exited"
	done
	sleep 0.5
done
echo "demo: all BGP sessions Established after $(($(date +%s) - t0)) s"
# ... and routes reach each FIB
has_route() { ctl "$1" show routes --json 2>/dev/null | jq -e --arg d "$2" 'any(.routes[]; .dst == $d)' >/dev/null; }
t0=$(date +%s)
until has_route 1 172.20.3.0/24 && has_route 3 172.20.1.0/24 && has_route 1 fd42:3::/48; do
	[ $(($(date +%s) - t0)) -ge 20 ] && die "routes did not reach the FIBs within 20 s"
	sleep 0.5
done

for n in 1 2 3; do
	echo
	echo "== node $n: birdc show protocols"
	bc "$n" show protocols
done
for n in 1 2 3; do
	echo
	echo "== node $n: rrctl show routes"
	ctl "$n" show routes
done
echo
echo "== node 1: birdc show route 172.20.3.0/24 all"
bc 1 show route 172.20.3.0/24 all

# ping carries file capabilities, and a program with them ignores LD_PRELOAD: use a plain copy.
cp "$(command -v ping)" "$tmp/ping" && chmod 755 "$tmp/ping"
status=0
echo
echo "== node 1: rrctl exec -- ping -c 3 172.20.3.1"
ctl 1 exec -- "$tmp/ping" -n -c 3 -i 0.3 -w 10 172.20.3.1 || status=1
echo
# trace DST [OPTS]: a traceroute from node 1; says so when no hop answered at all.
trace() {
	local out
	echo
	echo "== node 1: rrctl exec -- traceroute -n $*"
	out=$(ctl 1 exec -- timeout 30 traceroute -n -q 1 -w 2 -m 5 "$@" 2>&1)
	echo "$out"
	if ! grep -Eq '^ *[0-9]+ +[0-9a-f.:]+ ' <<<"$out"; then
		echo "demo: no hop answered"
	fi
}
trace 172.20.3.1
trace -6 fd42:3::1

for n in 1 2 3; do
	kill -TERM "${pid[$n]}"
	if wait "${pid[$n]}"; then
		echo "demo: rrouted of node $n stopped cleanly (and its BIRD with it)"
	else
		echo "demo: rrouted of node $n exited with status $?" >&2
		status=1
	fi
	unset "pid[$n]"
done
exit $status
