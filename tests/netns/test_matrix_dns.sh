#!/usr/bin/env bash
# DNS servers inside the router, unmodified (issue 9): unbound and dnsmasq run under
# `rrctl exec` as uid 65534 with no capabilities and answer dig on the peer over the tunnel,
# UDP and TCP, IPv4 and IPv6, including an EDNS answer larger than the tunnel MTU (which the
# router's stack must fragment; dig's reassembly proves it arrived whole).
#
#   netns rrt-<pid>-r                                   netns rrt-<pid>-p ("B")
#   +---------------------------------------------+     +------------------------------+
#   | rrouted (uid 65534)  wg0 udp/51820          | WG  | rrp<pid> (wireguard-go)      |
#   |   172.20.0.1/32 fd42:0:1::1/64 fe80::1/64   |<===>|   172.20.0.2/32 fd42:0:1::2  |
#   | rrctl exec -- unbound  (port 53, wildcard   |     |   dig @172.20.0.1 ...        |
#   |                  sockets, IP_PKTINFO)       |     |   dig @fd42:0:1::1 ...       |
#   | rrctl exec -- dnsmasq  (port 5353)          |     |                              |
#   | vr 192.0.2.1/24 ----------------------------+-----+- vp 192.0.2.2/24             |
#   +---------------------------------------------+     +------------------------------+
#
# Every success below went through rrouted: the kernel in rrouted's namespace has no address
# or route in 172.20/fd42, and the programs are preloaded with librrshim.so.
# One "ok" line per program, transport, family and check.
. "$(dirname "$0")/lib.sh"
rr_require
rr_require_shim
for tool in unbound unbound-checkconf dnsmasq dig; do
	command -v "$tool" >/dev/null 2>&1 || rr_skip_all "$tool is not installed (scripts/install-deps)"
done

# rr_exec_bg NAME CMD...: CMD inside the router in the background; log $RR_TMP/NAME.log.
rr_exec_bg() {
	local name=$1 log=$RR_TMP/$1.log
	shift
	ip netns exec "$NSR" "${RR_SETPRIV[@]}" "$RRCTL" -s "$RR_TMP/r/rr.sock" exec -- "$@" \
		>>"$log" 2>&1 &
	LAST_PID=$!
	rr_track "$LAST_PID" "$name" "$log"
}

rr_setup_step "namespaces, veth and wireguard-go peer set up" rr_pair_setup
cat >>"$RR_TMP/r/rrouted.conf" <<EOF
route = 172.20.0.2/32 dev wg0
route = fd42:0:1::2/128 dev wg0
EOF
rr_fix_owner r
rr_setup_step "rrouted starts" rr_rrouted_start r "$NSR"
rr_ping "tunnel up (B pings 172.20.0.1)" "$NSP" -c 2 -i 0.3 -w 10 172.20.0.1

# The zone both servers answer: a.test (A and AAAA) and big.test, 24 TXT strings of 200 bytes
# (about 4.9 KB on the wire: more than the 1420-byte tunnel MTU, within EDNS's 8192).
DNS=$RR_TMP/dns
mkdir -p "$DNS"
big_strings=()
for i in $(seq -w 1 24); do
	big_strings+=("$(printf 'txt%s-%0195d' "$i" 0)")
done
{
	cat <<EOF
server:
	username: ""
	chroot: ""
	directory: "$DNS"
	pidfile: ""
	use-syslog: no
	logfile: ""
	verbosity: 1
	do-daemonize: no
	interface: 0.0.0.0
	interface: ::
	interface-automatic: yes
	port: 53
	do-ip4: yes
	do-ip6: yes
	do-udp: yes
	do-tcp: yes
	access-control: 0.0.0.0/0 allow
	access-control: ::/0 allow
	edns-buffer-size: 8192
	max-udp-size: 8192
	num-threads: 1
	so-reuseport: yes
	local-zone: "test." static
	local-data: "a.test. 300 IN A 192.0.2.53"
	local-data: "a.test. 300 IN AAAA 2001:db8::53"
EOF
	for s in "${big_strings[@]}"; do
		printf "\tlocal-data: 'big.test. 300 IN TXT \"%s\"'\n" "$s"
	done
	printf 'remote-control:\n\tcontrol-enable: no\n'
} >"$DNS/unbound.conf"
for s in "${big_strings[@]}"; do
	printf 'txt-record=big.test,"%s"\n' "$s"   # one line per string: dnsmasq's lines are short
done >"$DNS/dnsmasq-big.conf"
chown -R "$RR_UID:$RR_UID" "$DNS"

check "unbound-checkconf accepts the configuration" unbound-checkconf "$DNS/unbound.conf"

rr_exec_bg unbound unbound -d -c "$DNS/unbound.conf"
UNBOUND_PID=$LAST_PID
rr_exec_bg dnsmasq dnsmasq -k --conf-file="$DNS/dnsmasq-big.conf" --port=5353 --no-resolv \
	--no-hosts --pid-file= --user= --log-facility=- --edns-packet-max=8192 \
	--host-record=a.test,192.0.2.53,2001:db8::53 --local=/test/
DNSMASQ_PID=$LAST_PID

# dig_in_b SERVER PORT ARGS...: dig from peer B, bounded (3 tries of 2 s).
dig_in_b() {
	local server=$1 port=$2
	shift 2
	ip netns exec "$NSP" timeout 20 dig +time=2 +tries=3 -p "$port" "@$server" "$@"
}

# dns_checks PROGRAM PORT PID
dns_checks() {
	local prog=$1 port=$2 pid=$3 server out tp fam tflag n size
	wait_until 10 dig_in_b 172.20.0.1 "$port" +short +time=1 +tries=1 a.test A
	if kill -0 "$pid" 2>/dev/null; then
		ok "$prog starts inside the router and keeps running"
	else
		not_ok "$prog starts inside the router and keeps running" "$(tail -n 15 "$RR_TMP/$prog.log")"
		return
	fi
	for fam in 4 6; do
		server=172.20.0.1
		[ "$fam" = 6 ] && server=fd42:0:1::1
		for tp in udp tcp; do
			tflag=+notcp
			[ "$tp" = tcp ] && tflag=+tcp
			out=$(dig_in_b "$server" "$port" "$tflag" +short a.test A 2>&1)
			if [ "$out" = 192.0.2.53 ]; then
				ok "$prog: A over $tp/IPv$fam from $server"
			else
				not_ok "$prog: A over $tp/IPv$fam from $server" "got: $out"
			fi
			out=$(dig_in_b "$server" "$port" "$tflag" +short a.test AAAA 2>&1)
			if [ "$out" = 2001:db8::53 ]; then
				ok "$prog: AAAA over $tp/IPv$fam from $server"
			else
				not_ok "$prog: AAAA over $tp/IPv$fam from $server" "got: $out"
			fi
		done
		# A >1500-byte answer over UDP: without fragmentation it is lost or truncated
		# (+ignore: dig shows the TC bit instead of retrying over TCP).
		out=$(dig_in_b "$server" "$port" +notcp +ignore +bufsize=8192 big.test TXT 2>&1)
		n=$(grep -c 'IN[[:space:]]*TXT[[:space:]]*"txt' <<<"$out")
		size=$(sed -n 's/.*MSG SIZE  rcvd: \([0-9]*\).*/\1/p' <<<"$out")
		if [ "$n" = 24 ] && [ "${size:-0}" -gt 1500 ] && ! grep -q 'flags:[^;]* tc' <<<"$out"; then
			ok "$prog: $size-byte EDNS answer over udp/IPv$fam, 24 TXT strings, not truncated"
		else
			not_ok "$prog: >1500-byte EDNS answer over udp/IPv$fam" \
				"TXT strings: $n, size: ${size:-none}" "$out"
		fi
	done
}

dns_checks unbound 53 "$UNBOUND_PID"

# A query larger than the tunnel MTU (a 3000-byte EDNS option unbound ignores): B's kernel
# fragments it and rrouted must reassemble it before unbound sees it.
big_opt=$(head -c 3000 /dev/zero | od -An -v -tx1 | tr -d ' \n')
for server in 172.20.0.1 fd42:0:1::1; do
	out=$(dig_in_b "$server" 53 +notcp +ignore "+ednsopt=65001:$big_opt" +short a.test A 2>&1)
	if [ "$out" = 192.0.2.53 ]; then
		ok "unbound: a 3 KB query over udp to $server (fragmented by B, reassembled by rrouted)"
	else
		not_ok "unbound: a 3 KB query over udp to $server (reassembled by rrouted)" "got: $out"
	fi
done
dns_checks dnsmasq 5353 "$DNSMASQ_PID"

# A wildcard socket answers from the address the query went to (IP_PKTINFO / IPV6_PKTINFO):
# dig drops a reply from another address ("reply from unexpected source").
for server in 172.20.0.1 fd42:0:1::1; do
	out=$(dig_in_b "$server" 53 a.test A 2>&1)
	if grep -q "SERVER: $server#53" <<<"$out" && ! grep -qi unexpected <<<"$out"; then
		ok "unbound (wildcard socket) answers from $server, the address asked"
	else
		not_ok "unbound (wildcard socket) answers from $server, the address asked" "$out"
	fi
done

for p in "$UNBOUND_PID" "$DNSMASQ_PID"; do
	kill -0 "$p" 2>/dev/null || not_ok "server (pid $p) is still running at the end"
done
rr_finish
