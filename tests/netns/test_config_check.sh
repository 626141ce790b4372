#!/usr/bin/env bash
# `rrouted --check -c FILE`: exit 0 for a good configuration; exit 1 with "file:line: message"
# for each kind of mistake, pointing at the right file and line. No namespaces, no root.
#
#   (no topology: only files)   $RR_TMP/cN/rrouted.conf + $RR_TMP/cN/ifaces/NAME.conf
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
[ -x "$RROUTED" ] || rr_skip_all "$RROUTED is not built (make)"
command -v wg >/dev/null 2>&1 || rr_skip_all "wg (wireguard-tools) is not installed"

K1=$(wg genkey) && K2=$(wg genkey) && P2=$(wg pubkey <<<"$K2") && PSK=$(wg genpsk) || exit 1

# mkconf: a fresh config dir with a good rrouted.conf and an empty ifaces/ -> prints the dir
mkconf() {
	local d
	d=$(mktemp -d "$RR_TMP/c.XXXX") && mkdir "$d/ifaces" || return 1
	printf '%s\n' "[router]" "interfaces = ifaces" "control = $d/rr.sock" "log_level = info" >"$d/rrouted.conf"
	printf '%s\n' "$d"
}

# good_iface: a valid wg-quick file, line numbers fixed (see the bad cases below)
good_iface() {
	cat <<-EOF
		[Interface]
		PrivateKey = $K1
		ListenPort = 51820
		Address = 172.20.0.1/32, fd42:0:1::1/64, fe80::1/64
		MTU = 1420
		Table = off

		[Peer]
		PublicKey = $P2
		PresharedKey = $PSK
		Endpoint = 192.0.2.2:51820
		AllowedIPs = 172.20.0.0/14, fd00::/8, fe80::/64
		PersistentKeepalive = 25
	EOF
}

# check_says DESC RC CONF PATTERN...: rrouted --check -c CONF exits RC and its output matches
# every extended regular expression PATTERN.
check_says() {
	local desc=$1 want=$2 conf=$3 out rc pat good=1
	shift 3
	out=$("$RROUTED" --check -c "$conf" 2>&1)
	rc=$?
	[ "$rc" -eq "$want" ] || good=
	for pat in "$@"; do
		grep -Eq -- "$pat" <<<"$out" || good=
	done
	if [ -n "$good" ]; then
		ok "$desc"
	else
		not_ok "$desc" "exit $rc" "$out"
	fi
}

# Good: the full file, plus a dial-out interface (no ListenPort) with an IPv6 endpoint.
d=$(mkconf)
good_iface >"$d/ifaces/wg0.conf"
cat >"$d/ifaces/dn42_x.conf" <<EOF
# comment lines and blank lines are fine

[Interface]
PrivateKey = $(wg genkey)
Address = 172.20.0.1/32
[Peer]
PublicKey = $(wg pubkey <<<"$(wg genkey)")
Endpoint = [2001:db8::2]:51820
AllowedIPs = 0.0.0.0/0, ::/0
EOF
check_says "--check accepts a good config (2 interfaces, one without ListenPort) with exit 0" 0 "$d/rrouted.conf"

# bad DESC FILE LINE: the config in $d must be rejected with exit 1 and "FILE:LINE: ...".
bad() {
	local desc=$1 file=$2 line=$3 out rc
	out=$("$RROUTED" --check -c "$d/rrouted.conf" 2>&1)
	rc=$?
	if [ "$rc" -eq 1 ] && grep -Eq "(^|[/ ])${file//./\\.}:$line: " <<<"$out"; then
		ok "rejects $desc: $(grep -Em1 "${file//./\\.}:$line: " <<<"$out" | sed "s|^.*$file:|$file:|" | cut -c1-90 | sed "s/ *$//")"
	else
		not_ok "rejects $desc: exit 1 and a '$file:$line: message' line" "exit $rc" "$out"
	fi
	if grep -qF -- "$K1" <<<"$out"; then
		not_ok "error output for $desc does not contain the private key" "$out"
	fi
}

# bad_iface DESC LINE SED-EXPR: good_iface edited by SED-EXPR must be rejected at wg0.conf:LINE.
bad_iface() {
	d=$(mkconf)
	good_iface | sed "$3" >"$d/ifaces/wg0.conf"
	bad "$1" wg0.conf "$2"
}

# bad_router DESC LINE SED-EXPR: the good rrouted.conf edited by SED-EXPR (with a good wg0.conf)
# must be rejected at rrouted.conf:LINE.
bad_router() {
	d=$(mkconf)
	good_iface >"$d/ifaces/wg0.conf"
	sed -i "$3" "$d/rrouted.conf"
	bad "$1" rrouted.conf "$2"
}

bad_iface "a PrivateKey that is not base64 of 32 bytes" 2 's/^PrivateKey = .*/PrivateKey = not-a-key/'
bad_iface "a PrivateKey of 31 bytes" 2 "s|^PrivateKey = .*|PrivateKey = $(head -c 31 /dev/zero | base64)|"
bad_iface "ListenPort = 70000" 3 's/^ListenPort = .*/ListenPort = 70000/'
bad_iface "ListenPort = abc" 3 's/^ListenPort = .*/ListenPort = abc/'
bad_iface "an Address of 172.20.0.300/32" 4 's|^Address = .*|Address = 172.20.0.300/32|'
bad_iface "an Address with prefix length /33" 4 's|^Address = .*|Address = 172.20.0.1/33|'
bad_iface "MTU = 500 (below the IPv6 minimum 1280)" 5 's/^MTU = .*/MTU = 500/'
bad_iface "an unknown key in [Interface]" 6 's/^Table = off/Tabel = off/'
bad_iface "a line without '='" 6 's/^Table = off/Table off/'
bad_iface "a PublicKey that is not a key" 9 's/^PublicKey = .*/PublicKey = AAAA/'
bad_iface "a PresharedKey that is not a key" 10 's/^PresharedKey = .*/PresharedKey = xyz/'
bad_iface "an Endpoint without port" 11 's/^Endpoint = .*/Endpoint = 192.0.2.2/'
bad_iface "an Endpoint with port 99999" 11 's/^Endpoint = .*/Endpoint = 192.0.2.2:99999/'
bad_iface "AllowedIPs with a /129" 12 's|^AllowedIPs = .*|AllowedIPs = 172.20.0.0/14, fd00::/129|'
bad_iface "AllowedIPs that is not an address" 12 's|^AllowedIPs = .*|AllowedIPs = banana|'
bad_iface "PersistentKeepalive = 70000" 13 's/^PersistentKeepalive = .*/PersistentKeepalive = 70000/'
bad_iface "a [Peer] without PublicKey" 8 '/^PublicKey = /d'
bad_iface "an unknown section" 8 's/^\[Peer\]/[Pear]/'

d=$(mkconf)
good_iface | sed '/^PrivateKey = /d' >"$d/ifaces/wg0.conf"
check_says "rejects an [Interface] without PrivateKey with a wg0.conf:N: message" 1 "$d/rrouted.conf" \
	'wg0\.conf:[0-9]+: '

bad_router "an interfaces dir that does not exist" 2 's/^interfaces = .*/interfaces = no-such-dir/'
bad_router "an unknown key in [router]" 5 '$a bogus = 1'
bad_router "log_level = loud" 4 's/^log_level = .*/log_level = loud/'

d=$(mkconf)
good_iface >"$d/ifaces/wg0.conf"
good_iface >"$d/ifaces/this-name-is-too-long.conf"
check_says "rejects an interface file whose name is longer than 15 characters" 1 "$d/rrouted.conf" \
	'this-name-is-too-long'

check_says "a missing config file: exit 1 and a message naming it" 1 "$RR_TMP/does-not-exist.conf" \
	'does-not-exist.conf'

# Several mistakes in one file: all of them reported, each with its own line.
d=$(mkconf)
good_iface | sed 's/^ListenPort = .*/ListenPort = 70000/; s/^MTU = .*/MTU = 500/' >"$d/ifaces/wg0.conf"
check_says "reports every mistake of a file (lines 3 and 5), not only the first" 1 "$d/rrouted.conf" \
	'wg0\.conf:3: ' 'wg0\.conf:5: '

# An endpoint name that does not resolve now: the daemon starts and retries it, so --check warns
# (with the file and the [Peer] line) and still says OK.
d=$(mkconf)
good_iface | sed 's/^Endpoint = .*/Endpoint = peer.rrtest.invalid:51820/' >"$d/ifaces/wg0.conf"
check_says "an endpoint name that does not resolve: a warning with file and line, exit 0" 0 \
	"$d/rrouted.conf" "wg0\.conf:8: warning: Endpoint: 'peer.rrtest.invalid' does not resolve" ': OK'
rr_finish
