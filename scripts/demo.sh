#!/usr/bin/env bash
# `make demo`: two rrouted instances on loopback, each with one WireGuard interface to the other.
# No root, no namespaces. Waits (bounded) for the handshake, shows both sides, proves that
# encrypted packets flow (A's keepalives counted by B), then stops both cleanly.
#
#   rrouted A  wg0 172.20.0.1/32 fe80::1/64  udp 127.0.0.1:PA  <== WireGuard ==>
#   rrouted B  wg0 172.20.0.2/32 fe80::2/64  udp 127.0.0.1:PB
# Environment: RR_BUILD (default build), DEMO_TIMEOUT (seconds to wait for the handshake, 20).
set -u
cd "$(dirname "$0")/.." || exit 1
B=${RR_BUILD:-build}
RROUTED=$B/rrouted RRCTL=$B/rrctl
for t in "$RROUTED" "$RRCTL"; do
	[ -x "$t" ] || { echo "demo: $t is not built; run make" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/rr-demo.XXXXXX)
declare -A pid=()
cleanup() {
	local n
	for n in "${!pid[@]}"; do
		kill -TERM "${pid[$n]}" 2>/dev/null || continue
		for _ in $(seq 1 25); do kill -0 "${pid[$n]}" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "${pid[$n]}" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

genkey() {   # genkey NAME -> $tmp/NAME.key, prints the public key
	if command -v wg >/dev/null 2>&1; then
		(umask 077 && wg genkey >"$tmp/$1.key") && wg pubkey <"$tmp/$1.key"
	else
		(umask 077 && "$RRCTL" genkey >"$tmp/$1.key") && "$RRCTL" pubkey <"$tmp/$1.key"
	fi
}

# Two free UDP ports on 127.0.0.1: let the kernel pick them (python3 if present, else a range).
ports=$(python3 - 2>/dev/null <<'EOF'
import socket
s = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))
EOF
) || ports="$((40000 + RANDOM % 10000)) $((50000 + RANDOM % 10000))"
read -r PA PB <<<"$ports"

pub_a=$(genkey a) && pub_b=$(genkey b) || { echo "demo: key generation failed" >&2; exit 1; }
mkconf() {   # mkconf NAME MY_KEY PORT ADDR PEER_PUB PEER_PORT PEER_ALLOWED KEEPALIVE
	mkdir -p "$tmp/$1/ifaces"
	printf '[router]\ninterfaces = ifaces\ncontrol = %s\nlog_level = info\n' "$tmp/$1/rr.sock" >"$tmp/$1/rrouted.conf"
	cat >"$tmp/$1/ifaces/wg0.conf" <<-EOF
		[Interface]
		PrivateKey = $(cat "$tmp/$2.key")
		ListenPort = $3
		Address = $4
		Table = off

		[Peer]
		PublicKey = $5
		Endpoint = 127.0.0.1:$6
		AllowedIPs = $7
		PersistentKeepalive = $8
	EOF
}
# Only A keeps the session alive: any authenticated packet re-arms the receiver's own
# persistent-keepalive timer, so with both sides at 5 s only one side's would flow anyway.
mkconf A a "$PA" "172.20.0.1/32, fe80::1/64" "$pub_b" "$PB" "172.20.0.2/32, fe80::/64" 5
mkconf B b "$PB" "172.20.0.2/32, fe80::2/64" "$pub_a" "$PA" "172.20.0.1/32, fe80::/64" off

# B (the responder) first, so A's first initiation finds it listening.
for n in B A; do
	"$RROUTED" --check -c "$tmp/$n/rrouted.conf" || { echo "demo: config $n rejected" >&2; exit 1; }
	"$RROUTED" -c "$tmp/$n/rrouted.conf" 2>"$tmp/$n.log" &
	pid[$n]=$!
	[ "$n" = B ] && for _ in $(seq 1 50); do [ -S "$tmp/B/rr.sock" ] && break; sleep 0.1; done
done
ctl() { local n=$1; shift; timeout 10 "$RRCTL" -s "$tmp/$n/rr.sock" "$@"; }
both_up() {
	local n
	for n in A B; do
		ctl "$n" show peers --json 2>/dev/null | jq -e '.interfaces[0].peers[0].latest_handshake > 0' >/dev/null 2>&1 || return 1
	done
}
echo "demo: rrouted A (pid ${pid[A]}, udp $PA) and B (pid ${pid[B]}, udp $PB); waiting for the handshake"
limit=${DEMO_TIMEOUT:-20}
t0=$(date +%s)
until both_up; do
	if [ $(($(date +%s) - t0)) -ge "$limit" ]; then
		echo "demo: no handshake within $limit s; logs:" >&2
		tail -n 15 "$tmp/A.log" "$tmp/B.log" >&2
		exit 1
	fi
	for n in A B; do
		kill -0 "${pid[$n]}" 2>/dev/null || { echo "demo: rrouted $n exited" >&2; cat "$tmp/$n.log" >&2; exit 1; }
	done
	sleep 0.2
done
echo "demo: handshake done after $(($(date +%s) - t0)) s"
for n in A B; do
	echo
	echo "== rrctl show peers   (instance $n)"
	ctl "$n" show peers
done

# Proof that the data path works: a keepalive is an encrypted transport packet (32 bytes), so
# B's rx_bytes only grows if B authenticated and decrypted what A sent.
rx() { ctl "$1" show peers --json | jq '.interfaces[0].peers[0].rx_bytes'; }
rb=$(rx B)
echo
echo "demo: waiting up to 12 s for A's next keepalive (PersistentKeepalive = 5)..."
t0=$(date +%s)
until [ "$(rx B)" -gt "$rb" ]; do
	if [ $(($(date +%s) - t0)) -ge 12 ]; then
		echo "demo: no encrypted keepalive reached B within 12 s (B rx_bytes $rb -> $(rx B))" >&2
		exit 1
	fi
	sleep 0.5
done
echo "demo: B decrypted A's keepalive: B rx_bytes $rb -> $(rx B) after $(($(date +%s) - t0)) s"

status=0
for n in A B; do
	kill -TERM "${pid[$n]}"
	if wait "${pid[$n]}"; then
		echo "demo: rrouted $n stopped cleanly"
	else
		echo "demo: rrouted $n exited with status $?" >&2
		status=1
	fi
	unset "pid[$n]"
done
exit $status
