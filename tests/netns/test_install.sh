#!/usr/bin/env bash
# `make install DESTDIR=… PREFIX=/usr`, then only the INSTALLED files: two rrouted from the
# DESTDIR tree (no $RRSHIM_LIB, no build/ in sight) joined by one WireGuard link, a BIRD in each
# started through the installed rrctl exec (so through the installed librrshim.so), BGP between
# them, ping across; the installed rrctl's sudo; `[router] metrics` scraped with curl against
# `rrctl show … --json`; `systemd-analyze verify` on the installed units; the three man pages
# rendered by man -l without warnings; rrouted --check and bird -p on the installed DN42
# example; `make demo`'s network on the installed programs; make uninstall.
#
#   netns rrt-<pid>-a (uid 65534, no caps)          netns rrt-<pid>-b (uid 65534, no caps)
#   +----------------------------------+            +----------------------------------+
#   | DESTDIR/usr/bin/rrouted          |     WG     | DESTDIR/usr/bin/rrouted          |
#   |  wg0 172.20.0.1/24 udp/51820     |<==========>|  wg0 172.20.0.2/24 udp/51820     |
#   |  BIRD AS4242420001 (rrctl exec)  |    BGP     |  BIRD AS4242420002 (rrctl exec)  |
#   |   learns 172.20.9.0/24           |            |   announces 172.20.9.0/24        |
#   |  metrics http://127.0.0.1:9142   |            |  lo 172.20.9.1/32                |
#   | veth va 192.0.2.1/24 ------------+------------+- veth vb 192.0.2.2/24            |
#   +----------------------------------+            +----------------------------------+
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
rr_require
for t in make bird birdc curl; do
	command -v "$t" >/dev/null 2>&1 || rr_skip_all "$t is not installed (scripts/install-deps)"
done
# The install relinks two programs from this build's objects; a sanitizer build would need
# its own flags at link time.
[ "$RR_BUILD" = "$RR_ROOT/build" ] || rr_skip_all "RR_BUILD=$RR_BUILD: this test installs from the plain build"
unset RRSHIM_LIB   # the installed programs must find their shim by themselves

# ---------------------------------------------------------------- make install
# From a copy of the build's objects: `make install PREFIX=/usr` rebuilds what holds the
# configured paths, and must not relink build/rrouted under the other tests' feet.
D=$RR_TMP/root B=$RR_TMP/build
copy_build() {
	local e
	mkdir -p "$B" || return 1
	for e in "$RR_BUILD"/*; do
		case ${e##*/} in tests | bench) continue ;; esac   # not installed, and large
		cp -a "$e" "$B/" || return 1
	done
}
copy_build || { not_ok "copy the build"; rr_finish; }
if out=$(env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C "$RR_ROOT" BUILD="$B" PREFIX=/usr \
	DESTDIR="$D" install 2>&1); then
	ok "make install DESTDIR=… PREFIX=/usr"
else
	not_ok "make install DESTDIR=… PREFIX=/usr" "$out"
	rr_finish
fi
want="usr/bin/rrctl usr/bin/rrouted usr/lib/rrouted/librrshim.so usr/lib/rrouted/rrctl-sudo/sudo
usr/lib/systemd/system/rrouted.service usr/lib/systemd/user/rrouted.service usr/lib/sysusers.d/rrouted.conf
usr/share/doc/rrouted/examples/dn42/rrouted.conf usr/share/man/man5/rrouted.conf.5
usr/share/man/man8/rrctl.8 usr/share/man/man8/rrouted.8"
missing=
for f in $want; do [ -e "$D/$f" ] || missing+="$f "; done
if [ -z "$missing" ] && [ "$(readlink -f "$D/usr/lib/rrouted/rrctl-sudo/sudo")" = "$D/usr/bin/rrctl" ]; then
	ok "installed: programs in /usr/bin, shim and rrctl's sudo in /usr/lib/rrouted, units, man pages, example"
else
	not_ok "installed: programs, shim, sudo link, units, man pages, example" "missing: $missing" \
		"$(cd "$D" && find . | sort)"
fi
# The fallback compiled in is the configured one (PREFIX=/usr), not the build's default.
if grep -qa '/usr/lib/rrouted' "$D/usr/bin/rrctl" && ! grep -qa '/usr/local/lib/rrouted' "$D/usr/bin/rrctl"; then
	ok "the installed rrctl was built for PKGLIBDIR=/usr/lib/rrouted"
else
	not_ok "the installed rrctl was built for PKGLIBDIR=/usr/lib/rrouted" "$(strings "$D/usr/bin/rrctl" | grep 'lib/rrouted')"
fi
chmod 755 "$RR_TMP"
RROUTED=$D/usr/bin/rrouted RRCTL=$D/usr/bin/rrctl
# A static program started by a hosted one goes to the seccomp path through the installed
# rrctl (found from the library by rrctl-sudo/sudo); with no rrctl near the library it is
# refused, never run on the host's sockets. (No rrouted here: reaching rrctl is the point.)
if busybox=$(command -v busybox) && dpkg -s busybox-static >/dev/null 2>&1; then
	out=$(RRSHIM_SOCKET=$RR_TMP/none.sock LD_PRELOAD=$D/usr/lib/rrouted/librrshim.so \
		sh -c "$busybox true" 2>&1)
	if grep -q "^rrctl exec: $busybox (seccomp): cannot reach rrouted's shim socket" <<<"$out"; then
		ok "installed shim: a static program goes through the installed rrctl's seccomp path"
	else
		not_ok "installed shim: a static program goes through the installed rrctl's seccomp path" "$out"
	fi
	mkdir -p "$RR_TMP/lonely" && cp "$D/usr/lib/rrouted/librrshim.so" "$RR_TMP/lonely/"
	out=$(RRSHIM_SOCKET=$RR_TMP/none.sock LD_PRELOAD=$RR_TMP/lonely/librrshim.so \
		sh -c "$busybox true" 2>&1)
	if grep -q "rrctl was not found next to librrshim.so: refused" <<<"$out" &&
		grep -q "Permission denied" <<<"$out"; then
		ok "a shim without rrctl refuses a static program (EACCES), never runs it on host sockets"
	else
		not_ok "a shim without rrctl refuses a static program" "$out"
	fi
else
	skip "seccomp hand-over from the installed shim" "busybox-static is not installed"
fi

# ---------------------------------------------------------------- the installed documents
if command -v systemd-analyze >/dev/null 2>&1; then
	# verify wants the ExecStart programs to exist: the same units, pointed into DESTDIR.
	U=$RR_TMP/units
	mkdir -p "$U/sys" "$U/user" "$RR_TMP/xdg" && chmod 700 "$RR_TMP/xdg"
	sed "s|/usr/bin/|$D/usr/bin/|g" "$D/usr/lib/systemd/system/rrouted.service" >"$U/sys/rrouted.service"
	sed "s|/usr/bin/|$D/usr/bin/|g" "$D/usr/lib/systemd/user/rrouted.service" >"$U/user/rrouted.service"
	if grep -q '^ExecStart=/usr/bin/rrouted -c /etc/rrouted/rrouted.conf$' "$D/usr/lib/systemd/system/rrouted.service" &&
		out=$(systemd-analyze verify --man=no "$U/sys/rrouted.service" 2>&1) && [ -z "$out" ]; then
		ok "systemd-analyze verify: the system unit (ExecStart=/usr/bin/rrouted), no warning"
	else
		not_ok "systemd-analyze verify: the system unit" "$out" "$(grep ^Exec "$D/usr/lib/systemd/system/rrouted.service")"
	fi
	if out=$(XDG_RUNTIME_DIR=$RR_TMP/xdg systemd-analyze --user verify --man=no "$U/user/rrouted.service" 2>&1) &&
		[ -z "$out" ]; then
		ok "systemd-analyze --user verify: the user unit, no warning"
	else
		not_ok "systemd-analyze --user verify: the user unit" "$out"
	fi
	u=$(grep -E '^(DynamicUser=yes|CapabilityBoundingSet=|AmbientCapabilities=|NoNewPrivileges=yes)$' \
		"$U/sys/rrouted.service" | sort | tr '\n' ' ')
	if [ "$u" = "AmbientCapabilities= CapabilityBoundingSet= DynamicUser=yes NoNewPrivileges=yes " ]; then
		ok "the system unit: DynamicUser, no capabilities, NoNewPrivileges"
	else
		not_ok "the system unit: DynamicUser, no capabilities, NoNewPrivileges" "$u"
	fi
else
	skip "systemd-analyze verify" "systemd is not installed (scripts/install-deps)"
fi
if command -v man >/dev/null 2>&1; then
	# One rendering per page (man is slow): warnings to one file, the text (hyphenated
	# line ends joined) to another.
	for p in man8/rrouted.8 man8/rrctl.8 man5/rrouted.conf.5; do
		f=$D/usr/share/man/$p name=$(basename "$p" | sed 's/\.[0-9]$//')
		MANWIDTH=80 man --warnings -l "$f" >"$RR_TMP/$name.txt" 2>"$RR_TMP/$name.warn"
		rc=$?
		sed -i -e ':a' -e 'N' -e '$!ba' -e 's/\xe2\x80\x90\n *//g' "$RR_TMP/$name.txt"
		if [ "$rc" = 0 ] && [ ! -s "$RR_TMP/$name.warn" ] && grep -q "^NAME" "$RR_TMP/$name.txt" &&
			grep -Eq "^ +$name +- " "$RR_TMP/$name.txt"; then
			ok "man -l $p renders without warnings"
		else
			not_ok "man -l $p renders without warnings" "status $rc" "$(cat "$RR_TMP/$name.warn")" "$(head -n 8 "$RR_TMP/$name.txt")"
		fi
	done
	# Every option of the programs and every configuration key is in the pages.
	miss=
	for o in --check --log-level --config --help; do grep -q -- "$o" "$RR_TMP/rrouted.txt" || miss+="rrouted $o "; done
	for o in genkey pubkey reload exec metrics interfaces peers routes status ping --json --socket RRSHIM_LIB; do
		grep -q -- "$o" "$RR_TMP/rrctl.txt" || miss+="rrctl $o "
	done
	for o in '\[router\]' '\[exec\]' '\[Interface\]' '\[Peer\]' interfaces control log_level metrics route PrivateKey \
		ListenPort Address MTU Table PreUp PostUp PreDown PostDown DNS FwMark SaveConfig PublicKey PresharedKey \
		Endpoint AllowedIPs PersistentKeepalive; do
		grep -q -- "$o" "$RR_TMP/rrouted.conf.txt" || miss+="rrouted.conf $o "
	done
	if [ -z "$miss" ]; then ok "the pages name every option, command, section and key"; else not_ok "the pages name every option, command, section and key" "missing: $miss"; fi
else
	skip "man -l renders the pages" "man-db is not installed (scripts/install-deps)"
fi
EX=$D/usr/share/doc/rrouted/examples/dn42
if out=$("$RROUTED" --check -c "$EX/rrouted.conf" 2>&1) && grep -q 'OK, 2 interface(s), 2 route(s)$' <<<"$out"; then
	ok "the installed rrouted --check accepts examples/dn42 ($out)"
else
	not_ok "the installed rrouted --check accepts examples/dn42" "$out"
fi
sed "s|/etc/rrouted/|$EX/|g" "$EX/bird.conf" >"$RR_TMP/dn42-bird.conf"
if out=$(bird -p -c "$RR_TMP/dn42-bird.conf" 2>&1); then
	ok "bird -p accepts the example's bird.conf"
else
	not_ok "bird -p accepts the example's bird.conf" "$out"
fi

# ---------------------------------------------------------------- two installed routers
rr_ns NSA a && rr_ns NSB b && rr_veth "$NSA" va "$NSB" vb &&
	rr_addr "$NSA" va 192.0.2.1/24 && rr_addr "$NSB" vb 192.0.2.2/24 || { not_ok "namespaces"; rr_finish; }
KEYS=$RR_TMP/keys
mkdir -p "$KEYS" && chmod 700 "$KEYS"
PUB_A=$(rr_genkey "$KEYS" a) && PUB_B=$(rr_genkey "$KEYS" b) || { not_ok "keys"; rr_finish; }
rr_instance a >/dev/null && rr_instance b >/dev/null && rr_write_router_conf a info && rr_write_router_conf b info &&
	echo "metrics = 127.0.0.1:9142" >>"$RR_TMP/a/rrouted.conf" &&
	rr_write_iface a wg0 "$KEYS/a.key" 51820 172.20.0.1/24 "$PUB_B" "" 192.0.2.2:51820 172.20.0.0/16 &&
	rr_write_iface b wg0 "$KEYS/b.key" 51820 172.20.0.2/24 "$PUB_A" "" 192.0.2.1:51820 172.20.0.0/16 ||
	{ not_ok "write the configurations"; rr_finish; }
# BIRD: b announces 172.20.9.0/24, a learns it over BGP and puts it in its router's FIB.
cat >"$RR_TMP/a/bird.conf" <<EOF
router id 172.20.0.1;
log "$RR_TMP/a/bird.log" all;
protocol device { scan time 5; }
protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; }
protocol bgp b {
	local 172.20.0.1 as 4242420001;
	neighbor 172.20.0.2 as 4242420002;
	direct;
	connect delay time 1; connect retry time 2; error wait time 1, 5;
	ipv4 { import all; export none; };
}
EOF
cat >"$RR_TMP/b/bird.conf" <<EOF
router id 172.20.0.2;
log "$RR_TMP/b/bird.log" all;
protocol device { scan time 5; }
protocol static { ipv4; route 172.20.9.0/24 unreachable; }
protocol bgp a {
	local 172.20.0.2 as 4242420002;
	neighbor 172.20.0.1 as 4242420001;
	direct;
	connect delay time 1; connect retry time 2; error wait time 1, 5;
	ipv4 { import none; export where source = RTS_STATIC; };
}
EOF
rr_fix_owner a && rr_fix_owner b
rr_rrouted_start a "$NSA" && rr_rrouted_start b "$NSB" || { not_ok "start the installed rrouted twice"; rr_finish; }
rr_check_unpriv "the installed rrouted runs as uid 65534 with no capabilities" "${RR_PID[a]}"
# rr_exec NAME CMD...: CMD inside router NAME through the installed rrctl exec (as uid 65534).
rr_exec() { local n=$1; shift; rr_ctl "$n" exec -- "$@"; }
if out=$(rr_exec a ping -n -c 3 -i 0.2 -w 8 172.20.0.2 2>&1); then
	ok "ping b's 172.20.0.2 from inside a (installed rrctl exec, installed shim, capless ping)"
else
	not_ok "ping b's 172.20.0.2 from inside a" "$out"
fi
if wait_until 5 rr_handshakes_ge a wg0 1; then
	ok "a and b completed a WireGuard handshake"
else
	not_ok "a and b completed a WireGuard handshake" "$(rr_ctl a show peers 2>&1)"
fi
if out=$(rr_exec b sh -c 'command -v sudo; sudo id -u' 2>&1) &&
	[ "$out" = "$D/usr/lib/rrouted/rrctl-sudo/sudo"$'\n'"0" ]; then
	ok "inside the installed rrctl exec, sudo is the installed rrctl's (root of the router's network)"
else
	not_ok "inside the installed rrctl exec, sudo is the installed rrctl's" "$out"
fi
if out=$(rr_exec b ip addr add 172.20.9.1/32 dev lo 2>&1); then
	ok "ip addr add 172.20.9.1/32 dev lo inside b"
else
	not_ok "ip addr add 172.20.9.1/32 dev lo inside b" "$out"
fi

# The BIRDs, each started by the installed rrctl exec and stopped with it.
for n in a b; do
	rr_unpriv "$RRCTL" -s "$RR_TMP/$n/rr.sock" exec -- bird -f -c "$RR_TMP/$n/bird.conf" \
		-s "$RR_TMP/$n/bird.ctl" >>"$RR_TMP/$n-bird.out" 2>&1 &
	rr_track $! "bird $n (rrctl exec)" "$RR_TMP/$n-bird.out"
	rr_logs+=("$RR_TMP/$n/bird.log")
done
established() { birdc -s "$RR_TMP/a/bird.ctl" show protocols b | grep -q Established; }
if wait_until 30 established; then
	ok "BGP between the two BIRDs is Established"
else
	not_ok "BGP between the two BIRDs is Established" "$(birdc -s "$RR_TMP/a/bird.ctl" show protocols all b 2>&1 | tail -n 20)"
fi
learned() { rr_ctl a show routes --json | jq -e '.. | objects | select(.dst? == "172.20.9.0/24" and .protocol? == "bird")' >/dev/null; }
if wait_until 15 learned; then
	ok "a's FIB has 172.20.9.0/24 from its BIRD (kernel protocol through the shim)"
else
	not_ok "a's FIB has 172.20.9.0/24 from its BIRD" "$(rr_ctl a show routes 2>&1)"
fi
if out=$(rr_exec a ping -n -c 3 -i 0.2 -w 8 172.20.9.1 2>&1); then
	ok "ping 172.20.9.1 (b's own address, a BGP route) from inside a"
else
	not_ok "ping 172.20.9.1 (b's own address, a BGP route) from inside a" "$out"
fi

# ---------------------------------------------------------------- metrics: curl vs --json
H=$RR_TMP/metrics.txt
# mval NAME LABELS: the value of the sample NAME{LABELS} in $H (LABELS exactly as printed).
mval() { awk -v want="$1{$2}" '$1 == want { print $2; n++ } END { exit n != 1 }' "$H"; }
compare() {
	local pj ij st m j k
	DIFF=
	ip netns exec "$NSA" curl -sS --max-time 5 -o "$H" http://127.0.0.1:9142/metrics &&
		pj=$(rr_ctl a show peers --json) && ij=$(rr_ctl a show interfaces --json) &&
		st=$(rr_ctl a show status --json) || { echo "curl or rrctl failed"; return 1; }
	for k in rx_bytes tx_bytes handshakes; do
		m=$(mval "rr_wireguard_peer_${k}_total" "interface=\"wg0\",public_key=\"$PUB_B\"") || m="(none)"
		j=$(jq -r '.interfaces[] | select(.name == "wg0") | .peers[0].'"$k" <<<"$pj")
		[ "$m" = "$j" ] || DIFF+="peer $k: curl $m, show peers $j; "
	done
	for k in rx_packets tx_packets; do
		m=$(mval "rr_interface_${k}_total" 'interface="wg0",kind="wireguard"') || m="(none)"
		j=$(jq -r '.interfaces[] | select(.name == "wg0") | .'"$k" <<<"$ij")
		[ "$m" = "$j" ] || DIFF+="wg0 $k: curl $m, show interfaces $j; "
	done
	m=$(mval rr_fib_routes 'family="ipv4"') || m="(none)"
	j=$(jq -r .routes_v4 <<<"$st")
	[ "$m" = "$j" ] || DIFF+="routes_v4: curl $m, show status $j; "
	[ -z "$DIFF" ] || { echo "$DIFF"; return 1; }
}
# BGP keepalives may land between the scrape and the JSON: compare a few times.
check_within 10 "curl of the metrics equals rrctl show peers/interfaces/status --json (bytes, packets, handshakes, routes)" \
	compare
rx=$(mval rr_interface_rx_packets_total 'interface="wg0",kind="wireguard"')
if [ "${rx:-0}" -ge 6 ]; then
	ok "the figures are real: wg0 received $rx packets (6 echo replies or more)"
else
	not_ok "the figures are real: wg0 received 6 packets or more" "${rx:-none}"
fi

for n in a b; do
	if rr_rrouted_stop "$n"; then ok "installed rrouted $n stops cleanly"; else not_ok "installed rrouted $n stops cleanly" "$RR_STOP_WHY"; fi
done

# ---------------------------------------------------------------- the demo, installed
# `make demo`'s network (three rrouted with BIRD, on loopback) run by the installed programs,
# as uid 65534 in a namespace of its own, from a copy of the script and its BIRD templates
# (the source tree may not be readable by that user).
mkdir -p "$RR_TMP/demo/scripts" "$RR_TMP/demo/tests/netns" &&
	cp "$RR_ROOT/scripts/demo.sh" "$RR_TMP/demo/scripts/" && cp -r "$RR_ROOT/tests/netns/bird" "$RR_TMP/demo/tests/netns/" &&
	chmod -R a+rX "$RR_TMP/demo" && rr_ns NSD demo || { not_ok "prepare the demo"; rr_finish; }
out=$(ip netns exec "$NSD" timeout 120 "${RR_SETPRIV[@]}" env HOME="$RR_TMP" RR_BIN="$D/usr/bin" DEMO_TIMEOUT=60 "$RR_TMP/demo/scripts/demo.sh" 2>&1)
rc=$?
if [ "$rc" = 0 ] && grep -q '^3 packets transmitted, 3 received' <<<"$out" &&
	[ "$(grep -c 'stopped cleanly' <<<"$out")" = 3 ]; then
	ok "the demo runs on the installed programs (BGP across three nodes, ping, clean stops)"
else
	not_ok "the demo runs on the installed programs" "status $rc" "$(tail -n 30 <<<"$out")"
fi

# ---------------------------------------------------------------- make uninstall
if out=$(env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C "$RR_ROOT" BUILD="$B" PREFIX=/usr \
	DESTDIR="$D" uninstall 2>&1) && left=$(cd "$D" && find . ! -type d) && [ -z "$left" ]; then
	ok "make uninstall removes every installed file"
else
	not_ok "make uninstall removes every installed file" "$out" "left: ${left:-}"
fi
rr_finish
