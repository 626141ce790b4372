#!/usr/bin/env bash
# `rrctl show metrics` and `[router] metrics = 127.0.0.1:9142` (Prometheus text format 0.0.4) against what the other views of the same
# router say: `show interfaces/peers/status --json`, wireguard-go's own counters, the kernel's
# view of rrouted's memory, and the [exec] programs' real behaviour.
#
#   netns rrt-<pid>-r (rrouted as uid 65534)     netns rrt-<pid>-p (wireguard-go, root)
#   +--------------------------------+           +--------------------------------+
#   | rrouted iface wg0  udp/51820   |           | rrp<pid> (tun)     udp/51821   |
#   |  172.20.0.1/32 fd42:0:1::1/64  |    WG     |  172.20.0.2/32 fd42:0:1::2/64  |
#   |  [exec] steady: sleep 600      |<=========>|                                |
#   |         flaky:  exits at once  |           |                                |
#   |         holder: python3, one   |           |                                |
#   |                 UDP socket     |           |                                |
#   | metrics http://127.0.0.1:9142  |           |                                |
#   | veth vr 192.0.2.1/24 ----------+-----------+- veth vp 192.0.2.2/24          |
#   +--------------------------------+           +--------------------------------+
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
rr_require
[ -n "$PY" ] || rr_skip_all "python3 is not installed (scripts/install-deps)"

# A strict reader of the exposition format: every line is "# HELP name text", "# TYPE name
# counter|gauge" or a sample "name{k="v",...} value" of the family last declared (HELP then
# TYPE, each family once); label values only use the escapes \\ \" \n.
#   metrics.py FILE                  checks FILE, prints the number of samples
#   metrics.py FILE NAME [k=v ...]   also prints the value of the one sample NAME with those
#                                    labels (exit 1 if there is none or more than one)
MPY=$RR_TMP/metrics.py
cat >"$MPY" <<'EOF'
import re, sys
NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE = re.compile(r'(' + NAME + r')(?:\{(' + LABEL + r'(?:,' + LABEL + r')*)\})? (\S+)$')
def unescape(v):
    return re.sub(r'\\(.)', lambda m: '\n' if m.group(1) == 'n' else m.group(1), v)
def parse(text):
    if not text.endswith('\n'):
        sys.exit('the exposition does not end with a newline')
    families, samples, help_for, current = set(), [], None, None
    for n, line in enumerate(text.split('\n')[:-1], 1):
        m = re.fullmatch(r'# HELP (' + NAME + r') (.*)', line)
        if m:
            help_for = m.group(1)
            continue
        m = re.fullmatch(r'# TYPE (' + NAME + r') (counter|gauge)', line)
        if m:
            if m.group(1) != help_for:
                sys.exit('line %d: TYPE of %s not right after its HELP' % (n, m.group(1)))
            if m.group(1) in families:
                sys.exit('line %d: family %s declared twice' % (n, m.group(1)))
            families.add(m.group(1))
            current = m.group(1)
            continue
        m = SAMPLE.fullmatch(line)
        if not m:
            sys.exit('line %d does not parse: %r' % (n, line))
        if m.group(1) != current:
            sys.exit('line %d: sample of %s outside its family (%s)' % (n, m.group(1), current))
        labels = {}
        if m.group(2):
            for k, v in re.findall(LABEL, m.group(2)):
                if k in labels:
                    sys.exit('line %d: label %s twice' % (n, k))
                labels[k] = unescape(v)
        value = m.group(len(m.groups()))
        if not re.fullmatch(r'[0-9]+(\.[0-9]+)?', value):
            sys.exit('line %d: value %r is not a number' % (n, value))
        samples.append((m.group(1), labels, value))
    return samples
samples = parse(open(sys.argv[1]).read())
if len(sys.argv) == 2:
    print(len(samples))
    sys.exit(0)
want = dict(a.split('=', 1) for a in sys.argv[3:])
hits = [v for name, labels, v in samples if name == sys.argv[2] and labels == want]
if len(hits) != 1:
    sys.exit('%d samples of %s with labels %s' % (len(hits), sys.argv[2], want))
print(hits[0])
EOF

M=$RR_TMP/metrics.txt
snap() { rr_ctl r show metrics >"$M"; }
metric() { "$PY" "$MPY" "$M" "$@"; }

rr_pair_setup || { not_ok "set up rrouted and a wireguard-go peer"; rr_finish; }
cat >>"$RR_TMP/r/rrouted.conf" <<EOF
metrics = 127.0.0.1:9142

[exec]
steady = exec sleep 600
flaky = exit 3
holder = exec $PY -c 'import socket, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 5353)); time.sleep(600)'
EOF
rr_fix_owner r
rr_rrouted_start r "$NSR" || { not_ok "start rrouted"; rr_finish; }
PID=${RR_PID[r]}

rr_ping "ping 172.20.0.1 from the peer" "$NSP" -c 5 -i 0.2 -w 15 172.20.0.1
rr_ping "ping fd42:0:1::1 (IPv6) from the peer" "$NSP" -6 -c 3 -i 0.2 -w 10 fd42:0:1::1

# --- the format
if snap && n=$(metric 2>&1); then
	ok "rrctl show metrics parses strictly as text format 0.0.4 ($n samples)"
else
	not_ok "rrctl show metrics parses strictly as text format 0.0.4" "$n" "$(head -n 40 "$M")"
fi

# --- per interface and per peer, against the JSON views. Nothing sends once the pings are
# over (no keepalive configured), but a snapshot pair may straddle a late packet: compare a few
# times before calling it a mismatch.
# compare_views: fails, saying what differs, when the metrics and the JSON of about the same
# moment do not agree.
compare_views() {
	local ifj pj st key m j
	DIFF=
	if ! { snap && ifj=$(rr_ctl r show interfaces --json) && pj=$(rr_ctl r show peers --json) &&
		st=$(rr_ctl r show status --json); }; then
		echo "rrctl failed"
		return 1
	fi
	for key in rx_packets rx_bytes tx_packets tx_bytes; do
		m=$(metric "rr_interface_${key}_total" interface=wg0 kind=wireguard) || m="($m)"
		j=$(jq -r '.interfaces[] | select(.name == "wg0") | .'"$key" <<<"$ifj")
		[ "$m" = "$j" ] || DIFF+="wg0 $key: metrics $m, show interfaces $j; "
	done
	for key in no_route replayed decrypt_failed allowedips; do
		m=$(metric rr_interface_drops_total interface=wg0 kind=wireguard reason=$key) || m="($m)"
		j=$(jq -r '.interfaces[] | select(.name == "wg0") | .drops.'"$key" <<<"$ifj")
		[ "$m" = "$j" ] || DIFF+="wg0 drops $key: metrics $m, show interfaces $j; "
	done
	for key in rx_bytes tx_bytes handshakes; do
		m=$(metric "rr_wireguard_peer_${key}_total" interface=wg0 public_key="$PEER_PUB") || m="($m)"
		j=$(jq -r '.interfaces[0].peers[0].'"$key" <<<"$pj")
		[ "$m" = "$j" ] || DIFF+="peer $key: metrics $m, show peers $j; "
	done
	for key in forwarded local_delivered icmp_errors_sent icmp_errors_ratelimited; do
		m=$(metric "rr_${key}$( [ "${key#icmp}" = "$key" ] && echo _packets)_total") || m="($m)"
		j=$(jq -r ".$key" <<<"$st")
		[ "$m" = "$j" ] || DIFF+="$key: metrics $m, show status $j; "
	done
	m=$(metric rr_fib_routes family=ipv4) || m="($m)"
	j=$(jq -r .routes_v4 <<<"$st")
	[ "$m" = "$j" ] || DIFF+="routes_v4: metrics $m, show status $j; "
	m=$(metric rr_fib_routes family=ipv6) || m="($m)"
	j=$(jq -r .routes_v6 <<<"$st")
	[ "$m" = "$j" ] || DIFF+="routes_v6: metrics $m, show status $j; "
	[ -z "$DIFF" ] || { echo "$DIFF"; return 1; }
}
check_within 5 "interface, peer, FIB and router counters equal show interfaces/peers/status --json" \
	compare_views

# The figures are real ones, not just the same wrong ones in two places.
rx=$(metric rr_interface_rx_packets_total interface=wg0 kind=wireguard)
if [ "${rx:-0}" -ge 8 ]; then
	ok "wg0 received at least the 8 echo requests ($rx packets)"
else
	not_ok "wg0 received at least the 8 echo requests" "rr_interface_rx_packets_total: ${rx:-none}"
fi
hs=$(metric rr_wireguard_peer_handshakes_total interface=wg0 public_key="$PEER_PUB")
if [ "${hs:-0}" -ge 1 ]; then ok "one handshake or more counted ($hs)"; else not_ok "a handshake counted" "${hs:-none}"; fi
# wireguard-go counts the same UDP payload bytes from its side: what rrouted sent, it received.
peer_vs_wggo() {
	snap || return 1
	WGGO=$(rr_wg "$NSP" show "$PDEV" transfer | awk '{ print $2 " " $3 }')
	MINE="$(metric rr_wireguard_peer_tx_bytes_total interface=wg0 public_key="$PEER_PUB") $(metric rr_wireguard_peer_rx_bytes_total interface=wg0 public_key="$PEER_PUB")"
	# wg show transfer: "<pub> <rx> <tx>" on the peer = rrouted's tx, rx
	[ "$WGGO" = "$MINE" ]
}
if wait_until 5 peer_vs_wggo; then
	ok "peer tx/rx bytes equal wireguard-go's rx/tx for rrouted ($MINE)"
else
	not_ok "peer tx/rx bytes equal wireguard-go's rx/tx for rrouted" \
		"metrics (tx rx): $MINE" "wg show $PDEV transfer (rx tx): $WGGO"
fi
# The age was read at some moment between before and after: latest + age lies in between
# (a second either way for the rounding of both figures), however slow the machine.
before=$(date +%s)
age=$(metric rr_wireguard_peer_last_handshake_age_seconds interface=wg0 public_key="$PEER_PUB")
latest=$(rr_peer r wg0 latest_handshake)
after=$(date +%s)
if [ -n "$age" ] && [ -n "$latest" ] && [ $((latest + age)) -ge $((before - 1)) ] &&
	[ $((latest + age)) -le $((after + 1)) ] && [ "$age" -lt 120 ]; then
	ok "last handshake age ${age}s matches latest_handshake ($latest, read between $before and $after)"
else
	not_ok "last handshake age matches latest_handshake" \
		"age ${age:-none}, latest ${latest:-none}, read between $before and $after"
fi
if out=$(metric rr_wireguard_peer_endpoint_info interface=wg0 public_key="$PEER_PUB" \
	endpoint=192.0.2.2:51821 2>&1) && [ "$out" = 1 ]; then
	ok "endpoint info names the peer's address 192.0.2.2:51821"
else
	not_ok "endpoint info names the peer's address 192.0.2.2:51821" "$out" "$(grep endpoint_info "$M")"
fi
if out=$(metric rr_interface_up interface=lo kind=loopback 2>&1) && [ "$out" = 1 ]; then
	ok "lo is listed, kind loopback, up"
else
	not_ok "lo is listed, kind loopback, up" "$out"
fi

# --- [exec] programs: flaky exits at once and is restarted with backoff (1 s, 2 s, ...).
flaky_restarted() { snap && [ "$(metric rr_exec_program_restarts_total program=flaky)" -ge 2 ]; }
if wait_until 10 flaky_restarted; then
	ok "flaky's restarts are counted ($(metric rr_exec_program_restarts_total program=flaky))"
else
	not_ok "flaky's restarts are counted" "$(grep 'program=' "$M")" "$(grep -i flaky "$RR_TMP/r.log" | tail -n 5)"
fi
if [ "$(metric rr_exec_program_restarts_total program=steady)" = 0 ] &&
	[ "$(metric rr_exec_program_running program=steady)" = 1 ]; then
	ok "steady runs and was never restarted"
else
	not_ok "steady runs and was never restarted" "$(grep 'program=' "$M")"
fi

# --- shim: holder binds a UDP socket through the shim.
holder_bound() {
	snap && [ "$(metric rr_shim_sockets)" -ge 1 ] && [ "$(metric rr_shim_clients)" -ge 1 ]
}
if wait_until 10 holder_bound; then
	ok "shim sockets ($(metric rr_shim_sockets)) and clients ($(metric rr_shim_clients)) count holder's socket"
else
	not_ok "shim sockets and clients count holder's socket" "$(grep rr_shim "$M")" "$(grep -i holder "$RR_TMP/r.log" | tail -n 5)"
fi

# --- process: resident memory as the kernel reports it for rrouted (VmRSS), within 25 %.
rss=$(metric process_resident_memory_bytes)
vmrss=$(awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$PID/status")
if [ -n "$rss" ] && [ -n "$vmrss" ] && [ "$rss" -gt 0 ] &&
	[ $((rss * 4)) -ge $((vmrss * 3)) ] && [ $((rss * 3)) -le $((vmrss * 4)) ]; then
	ok "resident memory $rss bytes is the kernel's VmRSS ($vmrss)"
else
	not_ok "resident memory matches VmRSS" "metrics ${rss:-none}, VmRSS ${vmrss:-none}"
fi
up=$(metric rr_uptime_seconds)
if [ -n "$up" ] && [ "$up" -ge 1 ] && [ "$up" -lt 120 ]; then
	ok "uptime ${up}s"
else
	not_ok "uptime is plausible" "${up:-none}"
fi

# --- the HTTP listener: curl (as a Prometheus scrape would) gets the same exposition.
H=$RR_TMP/http.txt HH=$RR_TMP/http.head
scrape() { ip netns exec "$NSR" curl -sS --max-time 5 -D "$HH" -o "$H" "$@"; }
if scrape http://127.0.0.1:9142/metrics && head -n 1 "$HH" | grep -q '^HTTP/1.1 200' &&
	grep -qi '^Content-Type: text/plain; version=0.0.4' "$HH" && n=$("$PY" "$MPY" "$H" 2>&1); then
	ok "curl http://127.0.0.1:9142/metrics: 200, text format 0.0.4, parses ($n samples)"
else
	not_ok "curl http://127.0.0.1:9142/metrics: 200, text format 0.0.4, parses" "$(cat "$HH" 2>/dev/null)" "${n:-}" "$(head -n 20 "$H" 2>/dev/null)"
fi
http_same() {
	scrape http://127.0.0.1:9142/metrics && snap || return 1
	local k
	for k in rr_wireguard_peer_rx_bytes_total rr_wireguard_peer_tx_bytes_total rr_wireguard_peer_handshakes_total; do
		HV=$("$PY" "$MPY" "$H" "$k" interface=wg0 public_key="$PEER_PUB") || return 1
		CV=$(metric "$k" interface=wg0 public_key="$PEER_PUB") || return 1
		[ "$HV" = "$CV" ] || return 1
	done
	[ "$("$PY" "$MPY" "$H" rr_fib_routes family=ipv4)" = "$(metric rr_fib_routes family=ipv4)" ]
}
if wait_until 5 http_same; then
	ok "the HTTP figures equal rrctl show metrics (peer bytes, handshakes, routes)"
else
	not_ok "the HTTP figures equal rrctl show metrics" "$(grep -E 'peer_(rx|tx)_bytes|handshakes_total|fib_routes' "$H")" \
		"$(grep -E 'peer_(rx|tx)_bytes|handshakes_total|fib_routes' "$M")"
fi
code=$(ip netns exec "$NSR" curl -s --max-time 5 -o /dev/null -w '%{http_code}' http://127.0.0.1:9142/)
if [ "$code" = 404 ]; then ok "another path is 404"; else not_ok "another path is 404" "got ${code:-nothing}"; fi
code=$(ip netns exec "$NSR" curl -s --max-time 5 -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:9142/metrics)
if [ "$code" = 405 ]; then ok "POST is 405"; else not_ok "POST is 405" "got ${code:-nothing}"; fi

# Eight silent clients take every slot: a ninth is told 503 at once, the silent ones are closed
# after the 5 s deadline, and a scrape works again; the control socket answers all along.
out=$(ip netns exec "$NSR" timeout 30 "$PY" - <<'EOF' 2>&1
import socket, time
idle = [socket.create_connection(("127.0.0.1", 9142), timeout=15) for _ in range(8)]
time.sleep(0.3)
s = socket.create_connection(("127.0.0.1", 9142), timeout=3)
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
print("ninth:", s.recv(64).split(b"\r\n")[0].decode())
t0 = time.monotonic()
closed = sum(1 for c in idle if c.recv(1) == b"")
print("closed %d idle after %.1f s" % (closed, time.monotonic() - t0))
s = socket.create_connection(("127.0.0.1", 9142), timeout=3)
s.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
print("then:", s.recv(64).split(b"\r\n")[0].decode())
EOF
)
if grep -q '^ninth: HTTP/1.1 503' <<<"$out" && grep -Eq '^closed 8 idle after [0-7]\.' <<<"$out" &&
	grep -q '^then: HTTP/1.1 200' <<<"$out"; then
	ok "the listener is bounded: 503 when full, idle clients closed, then served again"
else
	not_ok "the listener is bounded: 503 when full, idle clients closed, then served again" "$out"
fi
if out=$(rr_ctl r ping 2>&1) && [ "$out" = pong ]; then ok "the control socket still answers"; else not_ok "the control socket still answers" "$out"; fi

rr_check_unpriv "rrouted still runs as uid 65534 with no capabilities" "$PID"
if rr_rrouted_stop r; then ok "rrouted stops cleanly"; else not_ok "rrouted stops cleanly" "$RR_STOP_WHY"; fi
rr_finish
