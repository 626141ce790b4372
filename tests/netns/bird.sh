# shellcheck shell=bash
# shellcheck disable=SC2034  # DN42_ALLOWED and BIRD_PID are for the sourcing tests
# BIRD nodes for the DN42 tests (test_bird_dn42.sh, test_reload.sh): sourced after lib.sh and
# rr_require_bird. Renders tests/netns/bird/*.in, starts reference BIRDs, asks them via birdc.

TPL=$RR_ROOT/tests/netns/bird
DN42_ALLOWED="172.20.0.0/14, fd00::/8, fe80::/64"
declare -A BIRD_DIR=() BIRD_PID=()

# bird_render TEMPLATE OUT VAR=VALUE...: the template with every @VAR@ replaced.
bird_render() {
	local in=$1 out=$2 kv args=()
	shift 2
	for kv in "$@"; do args+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
	sed "${args[@]}" "$in" >"$out" || return 1
	if grep -v '^[[:space:]]*#' "$out" | grep -q '@[A-Z0-9]*@'; then
		echo "bird_render: $out still has placeholders: $(grep -o '@[A-Z0-9]*@' "$out" | sort -u | tr '\n' ' ')" >&2
		return 1
	fi
}

# bird_node NAME DIR AS OWNIP OWNIPV6 OWNNET OWNNETV6: DIR/bird.conf, its ROA files, no peers yet.
bird_node() {
	local name=$1 dir=$2
	mkdir -p "$dir/peers" || return 1
	cp "$TPL/roa_dn42.conf" "$TPL/roa_dn42_v6.conf" "$dir/" || return 1
	: >"$dir/static4.conf" && : >"$dir/static6.conf" || return 1
	bird_render "$TPL/bird.conf.in" "$dir/bird.conf" OWNAS="$3" OWNIP="$4" OWNIPV6="$5" \
		OWNNET="$6" OWNNETV6="$7" ROA4="$dir/roa_dn42.conf" ROA6="$dir/roa_dn42_v6.conf" DIR="$dir" ||
		return 1
	BIRD_DIR[$name]=$dir
}

# bird_peer NAME KIND PROTO NEIGHBOR PEER_AS [IFACE]: KIND v4|v6|mp (peer-KIND.conf.in).
bird_peer() {
	bird_render "$TPL/peer-$2.conf.in" "${BIRD_DIR[$1]}/peers/$3.conf" NAME="$3" NEIGHBOR="$4" \
		PEERAS="$5" IFACE="${6:-}"
}

# bird_start_ns NAME NS: BIRD as root in NS (a reference node). Log: DIR/bird.log.
bird_start_ns() {
	local name=$1 dir=${BIRD_DIR[$1]}
	rm -f "$dir/bird.ctl"
	ip netns exec "$2" "$BIRD" -f -c "$dir/bird.conf" -s "$dir/bird.ctl" -P "$dir/bird.pid" \
		>>"$dir/bird.log" 2>&1 &
	BIRD_PID[$name]=$!
	rr_track "$!" "bird $name" "$dir/bird.log"
	wait_until 10 test -S "$dir/bird.ctl" || { echo "bird $name: no control socket" >&2; return 1; }
}

birdc_n() {   # birdc_n NAME COMMAND...
	local ctl=${BIRD_DIR[$1]}/bird.ctl
	shift
	timeout 10 "$BIRDC" -s "$ctl" "$@"
}

# bird_established NAME PROTO...: every PROTO is a BGP session in state Established.
bird_established() {
	local name=$1 out p
	shift
	out=$(birdc_n "$name" show protocols) || return 1
	for p in "$@"; do
		awk -v p="$p" '$1 == p && $2 == "BGP" && $NF == "Established" { f = 1 } END { exit !f }' \
			<<<"$out" || return 1
	done
}

# bird_as_path NAME PREFIX: the AS path of the best route for exactly PREFIX.
bird_as_path() {
	birdc_n "$1" show route "$2" all | sed -n 's/^[[:space:]]*BGP\.as_path:[[:space:]]*//p' | head -n1
}

# bird_wggo_host NS DEV KEY PORT PEER_PUB ENDPOINT ALLOWED [KEEPALIVE]: a wireguard-go device
# (MTU 1420) with one peer and no routes: BIRD installs them.
bird_wggo_host() {
	rr_wggo_start "$1" "$2" || return 1
	ip -n "$1" link set "$2" mtu 1420 || return 1
	rr_wg "$1" set "$2" private-key "$3" listen-port "$4" peer "$5" endpoint "$6" \
		allowed-ips "${7// /}" ${8:+persistent-keepalive "$8"}
}
