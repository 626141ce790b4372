#!/usr/bin/env bash
# Static and Go programs inside the router's network: `rrctl exec` on the seccomp path (issue 11).
#
#   netns rrt-<pid>-a ("A")        netns rrt-<pid>-r                        netns rrt-<pid>-p ("B")
#   +------------------------+     +--------------------------------+     +------------------------+
#   | rra<pid> (wireguard-go)|     | rrouted (uid 65534)            |     | rrp<pid> (wireguard-go)|
#   |  172.20.1.2/32         | WG  |  wga 172.20.1.1   wg0 172.20.0.1|<===>|  172.20.0.2/32         |
#   |  fd42:0:2::2/64        |<===>|  fd42:0:2::1/64   fd42:0:1::1/64|     |  fd42:0:1::2/64        |
#   |  fe80::2/64            |     |  fe80::1/64       fe80::1/64    |     |  fe80::2/64            |
#   |  curl, nc (kernel)     |     | rrctl exec -- busybox | gohttp  |     |  http.server (kernel)  |
#   +------------------------+     +--------------------------------+     +------------------------+
#
# busybox (busybox-static: no PT_INTERP) and a Go program built here with CGO_ENABLED=0 make
# their own system calls, so LD_PRELOAD cannot reach them: rrctl exec installs a seccomp filter
# and answers their socket calls itself (exec/seccomp_sup.h). The kernel of rrouted's namespace
# has no route to 172.20/fd42 at all, so every success below went through rrouted; the
# precondition checks show the same programs fail without rrctl exec.
# Environment: RR_GOCACHE (Go build cache kept between runs, default /tmp/rr-test-gocache: the
# first build of the standard library takes about a minute on a loaded 2-core machine).
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
rr_require
rr_require_shim
[ -n "$PY" ] || rr_skip_all "python3 is not installed"
BUSYBOX=$(command -v busybox || true)
[ -n "$BUSYBOX" ] || rr_skip_all "busybox is not installed (busybox-static)"
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
	rr_skip_all "$BUSYBOX is not the static busybox (apt-get install busybox-static)"

# rr_exec CMD...: CMD inside the router (namespace of rrouted, uid 65534, no capabilities).
rr_exec() { rr_unpriv_ns "$NSR" "$RRCTL" -s "$RR_TMP/r/rr.sock" exec "$@"; }
# rr_plain CMD...: the same user and namespace without rrctl exec (the preconditions).
rr_plain() { rr_unpriv_ns "$NSR" "$@"; }

# ---- the Go program (static), built now
GOHTTP=$RR_TMP/gohttp
if command -v go >/dev/null; then
	gocache=${RR_GOCACHE:-/tmp/rr-test-gocache}
	mkdir -p "$gocache" "$RR_TMP/gopath"
	if (cd "$RR_ROOT/tests/netns/gohttp" && CGO_ENABLED=0 GOCACHE=$gocache GOPATH=$RR_TMP/gopath \
		GOFLAGS=-mod=mod timeout 300 go build -trimpath -o "$GOHTTP" .) >"$RR_TMP/gobuild.log" 2>&1 &&
		file "$GOHTTP" | grep -q 'statically linked'; then
		chmod 755 "$GOHTTP"
		ok "gohttp built with CGO_ENABLED=0 (a static Go binary)"
	else
		not_ok "gohttp built with CGO_ENABLED=0" "$(tail -5 "$RR_TMP/gobuild.log")"
		GOHTTP=
	fi
else
	GOHTTP=
fi

rr_setup_step "namespaces, veth and wireguard-go peer set up" rr_pair_setup

rr_setup_step "peer A: namespace, veth, wireguard-go and rrouted interface wga" rr_peer_a_setup
# An [exec] program that is static: rrouted runs it through /bin/sh (shim path), and the shim
# hands busybox to rrctl's seccomp path.
mkdir -p "$RR_TMP/wwwE" && head -c 200000 /dev/urandom >"$RR_TMP/wwwE/blob" && chmod -R a+rX "$RR_TMP/wwwE"
wantE=$(sha256sum <"$RR_TMP/wwwE/blob" | cut -d' ' -f1)
printf '\n[exec]\nbbhttpd = %s httpd -f -p 172.20.1.1:9300 -h %s\n' "$BUSYBOX" "$RR_TMP/wwwE" \
	>>"$RR_TMP/r/rrouted.conf"
rr_fix_owner r
rr_setup_step "rrouted starts" rr_rrouted_start r "$NSR"
rr_ping "tunnel to B up (B pings 172.20.0.1)" "$NSP" -c 2 -i 0.3 -w 10 172.20.0.1
rr_ping "tunnel to A up (A pings 172.20.1.1)" "$NSA" -c 2 -i 0.3 -w 10 172.20.1.1

# B serves a 300 kB page (kernel stack behind wireguard-go); its sha256 proves the bytes.
mkdir -p "$RR_TMP/wwwB" && head -c 300000 /dev/urandom >"$RR_TMP/wwwB/blob" && chmod -R a+rX "$RR_TMP/wwwB"
wantB=$(sha256sum <"$RR_TMP/wwwB/blob" | cut -d' ' -f1)
(cd "$RR_TMP/wwwB" && exec ip netns exec "$NSP" "$PY" -m http.server --bind :: 8080) \
	>"$RR_TMP/http.log" 2>&1 &
rr_track $! "http.server in B" "$RR_TMP/http.log"
wait_until 10 ip netns exec "$NSP" "$PY" -c 'import socket; socket.create_connection(("::1", 8080), 1)'

# ---- [exec] bbhttpd: busybox httpd (static) started by rrouted serves A on 172.20.1.1
wait_until 15 ip netns exec "$NSA" curl -s -o /dev/null --max-time 2 http://172.20.1.1:9300/blob
got=$(ip netns exec "$NSA" curl -sS --max-time 20 http://172.20.1.1:9300/blob 2>"$RR_TMP/curl-e.err" |
	sha256sum | cut -d' ' -f1)
if [ "$got" = "$wantE" ]; then
	ok "[exec] busybox httpd (static, via /bin/sh and the shim's hand-over) serves A on 172.20.1.1"
else
	not_ok "[exec] busybox httpd (static, via /bin/sh and the shim's hand-over) serves A on 172.20.1.1" \
		"$(cat "$RR_TMP/curl-e.err")" "$(tail -5 "$RR_TMP/r.log")"
fi

# ---- preconditions: without rrctl exec the same programs cannot reach B
if rr_plain timeout 5 "$BUSYBOX" wget -q -O /dev/null "http://172.20.0.2:8080/blob" 2>/dev/null; then
	not_ok "precondition: busybox wget without rrctl exec cannot reach B (host has no route)"
else
	ok "precondition: busybox wget without rrctl exec cannot reach B (host has no route)"
fi

# ---- which path: --verbose says so
out=$(rr_exec --verbose -- "$BUSYBOX" true 2>&1)
check "rrctl exec --verbose: busybox (static) takes the seccomp path" \
	grep -q "seccomp path (static binary" <<<"$out"
out=$(rr_exec --verbose -- /bin/true 2>&1)
check "rrctl exec --verbose: /bin/true (dynamic) takes the shim path" \
	grep -q "shim path" <<<"$out"

# ---- busybox wget (client) to B, IPv4 and IPv6
# page_b_intact DESC OK-DETAIL ERRFILE CMD...: CMD prints B's 300 kB page, intact (sha256).
page_b_intact() {
	local desc=$1 detail=$2 err=$3 got
	shift 3
	got=$("$@" 2>"$err" | sha256sum | cut -d' ' -f1)
	if [ "$got" = "$wantB" ]; then
		ok "$desc$detail"
	else
		not_ok "$desc" "$(cat "$err")"
	fi
}
for url in "http://172.20.0.2:8080/blob" "http://[fd42:0:1::2]:8080/blob"; do
	page_b_intact "rrctl exec -- busybox wget $url: 300 kB page from B intact" " (sha256)" \
		"$RR_TMP/bbwget.err" rr_exec -- "$BUSYBOX" timeout 20 "$BUSYBOX" wget -q -O - "$url"
done

# a refused connection: the parked blocking connect gets rrouted's error (no hang, no success)
out=$(rr_exec -- "$BUSYBOX" timeout 15 "$BUSYBOX" wget -q -O /dev/null http://172.20.0.2:8099/ 2>&1)
check "rrctl exec -- busybox wget to a closed port of B: Connection refused (blocking connect)" \
	grep -q "Connection refused" <<<"$out"

# ---- a dynamic shell (shim path) starting the static busybox: the shim hands it to rrctl's
# seccomp path (LD_PRELOAD cannot follow a static program)
page_b_intact "rrctl exec -- sh -c 'busybox wget ...': the shim starts busybox on the seccomp path" \
	", page intact" "$RR_TMP/shwget.err" \
	rr_exec -- sh -c "exec $BUSYBOX wget -q -O - http://172.20.0.2:8080/blob"

# ---- busybox nc -l (server) inside R, A connects and sends 1 MB
# bb_listen_check DESC OUT ADDR PORT DATA LISTEN_ARGS...: nc -l in R writes what it receives to OUT;
# A's kernel nc connects to ADDR PORT (retrying until the listener is up) and sends DATA.
bb_listen_check() {
	# busybox's own sh and timeout: a dynamic sh would take the shim path, and LD_PRELOAD
	# does not follow it into the static nc
	rr_listen_check "$1" "$NSA" "${@:2:4}" \
		rr_exec -- "$BUSYBOX" sh -c "exec $BUSYBOX timeout 30 $BUSYBOX nc ${*:6} >$2"
}
head -c 1000000 /dev/urandom >"$RR_TMP/blob-a" && chmod 644 "$RR_TMP/blob-a"
bb_listen_check "rrctl exec -- busybox nc -l -p 9100: A connects to 172.20.1.1, 1 MB intact" \
	"$RR_TMP/bbnc4.out" 172.20.1.1 9100 "$RR_TMP/blob-a" -l -p 9100
bb_listen_check "rrctl exec -- busybox nc -l -p 9101: A connects to fd42:0:2::1, 1 MB intact" \
	"$RR_TMP/bbnc6.out" fd42:0:2::1 9101 "$RR_TMP/blob-a" -l -p 9101

# ---- a static program cannot reach the host's network by accident
# 198.51.100.2 (A's underlay) is reachable from R's kernel, but not from the router.
ip netns exec "$NSA" "$PY" -m http.server --bind 198.51.100.2 8081 >"$RR_TMP/http-under.log" 2>&1 &
rr_track $! "http.server on A's underlay" "$RR_TMP/http-under.log"
wait_until 10 ip netns exec "$NSA" "$PY" -c 'import socket; socket.create_connection(("198.51.100.2", 8081), 1)'
if rr_plain timeout 5 "$BUSYBOX" wget -q -O /dev/null "http://198.51.100.2:8081/" 2>/dev/null; then
	ok "precondition: busybox wget without rrctl exec reaches the host address 198.51.100.2"
else
	not_ok "precondition: busybox wget without rrctl exec reaches the host address 198.51.100.2"
fi
if rr_exec -- "$BUSYBOX" timeout 5 "$BUSYBOX" wget -q -O /dev/null "http://198.51.100.2:8081/" 2>/dev/null; then
	not_ok "rrctl exec -- busybox wget cannot reach the host address 198.51.100.2 (it is in the router)"
else
	ok "rrctl exec -- busybox wget cannot reach the host address 198.51.100.2 (it is in the router)"
fi
out=$(rr_exec -- "$BUSYBOX" nslookup example.net 198.51.100.2 2>&1)
check "rrctl exec -- busybox nslookup (UDP) to a host address is refused, and rrctl says why" \
	grep -q "UDP and ICMP: loopback only" <<<"$out"

# ---- Go (static): HTTP client to B and server in R, IPv4, IPv6, link-local
if [ -n "$GOHTTP" ]; then
	out=$(rr_exec --verbose -- "$GOHTTP" get http://0.0.0.0:1/ 2>&1)
	check "rrctl exec --verbose: gohttp takes the seccomp path (Go binary)" \
		grep -q "seccomp path (Go binary" <<<"$out"
	# Go resolves a zone name with the host's interfaces (netlink stays the host's on this
	# path): the router's index of wg0 it is, asked through the shim
	wgidx=$(rr_exec -- "$PY" -c 'import socket; print(socket.if_nametoindex("wg0"))' 2>&1)
	for url in "http://172.20.0.2:8080/blob" "http://[fd42:0:1::2]:8080/blob" \
		"http://[fe80::2%25$wgidx]:8080/blob"; do
		got=$(rr_exec -- "$GOHTTP" get "$url" 2>"$RR_TMP/goget.err" | sha256sum | cut -d' ' -f1)
		if [ "$got" = "$wantB" ]; then
			ok "rrctl exec -- gohttp get $url: page from B intact (sha256)"
		else
			not_ok "rrctl exec -- gohttp get $url: page from B intact" "$(cat "$RR_TMP/goget.err")"
		fi
	done
	mkdir -p "$RR_TMP/wwwR" && head -c 300000 /dev/urandom >"$RR_TMP/wwwR/blob" &&
		chmod -R a+rX "$RR_TMP/wwwR"
	wantR=$(sha256sum <"$RR_TMP/wwwR/blob" | cut -d' ' -f1)
	rr_exec -- "$GOHTTP" serve :8090 "$RR_TMP/wwwR" >"$RR_TMP/goserve.log" 2>&1 &
	rr_track $! "gohttp serve in the router" "$RR_TMP/goserve.log"
	for url in "http://172.20.1.1:8090/blob" "http://[fd42:0:2::1]:8090/blob" \
		"http://[fe80::1%$ADEV]:8090/blob"; do
		wait_until 10 ip netns exec "$NSA" curl -s -o /dev/null --max-time 2 "$url"
		got=$(ip netns exec "$NSA" curl -sS --max-time 20 -g "$url" 2>"$RR_TMP/curl.err" |
			sha256sum | cut -d' ' -f1)
		if [ "$got" = "$wantR" ]; then
			ok "A fetches $url from gohttp serve in the router: intact (sha256)"
		else
			not_ok "A fetches $url from gohttp serve in the router" "$(cat "$RR_TMP/curl.err")" \
				"$(cat "$RR_TMP/goserve.log")"
		fi
	done
	out=$(rr_exec -- "$BUSYBOX" timeout 15 "$GOHTTP" get "http://[fd42:0:1::2]:8099/" 2>&1)
	check "rrctl exec -- gohttp get to a closed port of B: connection refused (non-blocking connect, SO_ERROR)" \
		grep -q "connection refused" <<<"$out"
	if rr_exec -- "$GOHTTP" get "http://198.51.100.2:8081/" >/dev/null 2>&1; then
		not_ok "rrctl exec -- gohttp get cannot reach the host address 198.51.100.2"
	else
		ok "rrctl exec -- gohttp get cannot reach the host address 198.51.100.2"
	fi
else
	skip "Go HTTP client and server in the router" "go (golang-go) is not installed or the build failed"
fi

# ---- DN42 services written in Go (Debian's, dynamically linked: the Go section decides)
BIRD=$(command -v bird || true) BIRDC=$(command -v birdc || true)
# bird_within SECS DESC COND CTL PROTO LOG: ok once COND holds (within SECS); otherwise not_ok
# with BIRD's view of PROTO (through control socket CTL) and the tail of the program's LOG.
bird_within() {
	if wait_until "$1" "$3"; then
		ok "$2"
	else
		not_ok "$2" "$(timeout 5 "$BIRDC" -s "$4" show protocols all "$5" 2>&1 | head -20)" \
			"$(tail -5 "$6")"
	fi
}

if [ -n "$BIRD" ] && [ -n "$BIRDC" ] && command -v stayrtr >/dev/null; then
	# stayrtr in R serves RTR on R's DN42 address; BIRD on A (kernel) fills its ROA tables.
	mkdir -p "$RR_TMP/rtr" "$RR_TMP/abird"
	cat >"$RR_TMP/rtr/vrps.json" <<-JSON
	{"metadata": {"buildtime": "2026-01-01T00:00:00Z"},
	 "roas": [{"prefix": "172.20.0.0/14", "maxLength": 28, "asn": "AS4242420000"},
	          {"prefix": "fd00::/8", "maxLength": 64, "asn": "AS4242420001"}]}
	JSON
	chmod -R a+rX "$RR_TMP/rtr"
	rr_exec --verbose -- "$(command -v stayrtr)" -bind 172.20.1.1:8282 \
		-cache "$RR_TMP/rtr/vrps.json" -checktime=false -metrics.addr 127.0.0.1:0 \
		>"$RR_TMP/stayrtr.log" 2>&1 &
	rr_track $! "stayrtr in the router" "$RR_TMP/stayrtr.log"
	cat >"$RR_TMP/abird/bird.conf" <<-CONF
	router id 172.20.1.2;
	roa4 table r4;
	roa6 table r6;
	protocol device {}
	protocol rpki rtr {
		roa4 { table r4; };
		roa6 { table r6; };
		remote 172.20.1.1 port 8282;
		retry keep 2;
		refresh keep 30;
		expire keep 600;
	}
	CONF
	ip netns exec "$NSA" "$BIRD" -f -c "$RR_TMP/abird/bird.conf" -s "$RR_TMP/abird/bird.ctl" \
		>"$RR_TMP/abird/bird.log" 2>&1 &
	rr_track $! "bird on A (RPKI client)" "$RR_TMP/abird/bird.log"
	roa_filled() {
		timeout 5 "$BIRDC" -s "$RR_TMP/abird/bird.ctl" show route table r4 2>/dev/null |
			grep -q '172.20.0.0/14-28 AS4242420000' &&
		timeout 5 "$BIRDC" -s "$RR_TMP/abird/bird.ctl" show route table r6 2>/dev/null |
			grep -q 'fd00::/8-64 AS4242420001'
	}
	bird_within 30 "stayrtr (Go) in the router serves RTR on 172.20.1.1: BIRD on A fills roa4 and roa6" \
		roa_filled "$RR_TMP/abird/bird.ctl" rtr "$RR_TMP/stayrtr.log"
	check "rrctl exec --verbose: stayrtr (dynamically linked Go) took the seccomp path" \
		grep -q "seccomp path (Go binary" "$RR_TMP/stayrtr.log"
else
	skip "stayrtr in the router serving BIRD on A" "bird2 or stayrtr is not installed"
fi

if [ -n "$BIRD" ] && [ -n "$BIRDC" ] && command -v gobgpd >/dev/null; then
	# gobgpd in R (AS 65001) peers with BIRD on B (kernel, AS 65002) over the tunnel.
	mkdir -p "$RR_TMP/gobgp" "$RR_TMP/pbird"
	cat >"$RR_TMP/gobgp/gobgpd.toml" <<-TOML
	[global.config]
	  as = 65001
	  router-id = "172.20.0.1"
	  port = 179
	  local-address-list = ["172.20.0.1"]
	[[neighbors]]
	  [neighbors.config]
	    neighbor-address = "172.20.0.2"
	    peer-as = 65002
	TOML
	chmod -R a+rX "$RR_TMP/gobgp"
	rr_exec -- "$(command -v gobgpd)" -f "$RR_TMP/gobgp/gobgpd.toml" -p --pprof-disable \
		--api-hosts=127.0.0.1:0 >"$RR_TMP/gobgpd.log" 2>&1 &
	rr_track $! "gobgpd in the router" "$RR_TMP/gobgpd.log"
	cat >"$RR_TMP/pbird/bird.conf" <<-CONF
	router id 172.20.0.2;
	protocol device {}
	protocol static s4 { ipv4; route 10.99.0.0/24 blackhole; }
	protocol bgp gobgp {
		local 172.20.0.2 as 65002;
		neighbor 172.20.0.1 as 65001;
		multihop 2;
		connect retry time 2;
		ipv4 { import all; export all; };
	}
	CONF
	ip netns exec "$NSP" "$BIRD" -f -c "$RR_TMP/pbird/bird.conf" -s "$RR_TMP/pbird/bird.ctl" \
		>"$RR_TMP/pbird/bird.log" 2>&1 &
	rr_track $! "bird on B (BGP with gobgpd)" "$RR_TMP/pbird/bird.log"
	bgp_up() {
		timeout 5 "$BIRDC" -s "$RR_TMP/pbird/bird.ctl" show protocols gobgp 2>/dev/null |
			grep -q Established
	}
	bird_within 40 "gobgpd (Go) in the router establishes BGP with BIRD on B over the tunnel" \
		bgp_up "$RR_TMP/pbird/bird.ctl" gobgp "$RR_TMP/gobgpd.log"
else
	skip "gobgpd in the router peering with BIRD on B" "bird2 or gobgpd is not installed"
fi

rr_finish
