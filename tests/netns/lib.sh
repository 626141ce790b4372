# shellcheck shell=bash
# shellcheck disable=SC2034  # PY, RR_STOP_WHY, RR_EXIT_STATUS, NSR... are for the sourcing tests
# Shared harness for the network-namespace tests: sourced by tests/netns/test_*.sh.
#
# What it gives a test:
#   TAP-like output     ok DESC | not_ok DESC [DIAG...] | skip DESC REASON | check DESC CMD...
#                       diag TEXT (lines prefixed "# "), rr_finish (exit status from the counts),
#                       rr_require (skip the whole test without root/tools/binaries),
#                       rr_require_shim, rr_require_bird, rr_bench_require (a benchmark's skip),
#                       rr_setup_step DESC CMD... (a step the test needs; ends the test if it fails),
#                       rr_check_or_finish (the same, counted), check_within SECS DESC CMD...
#   bounded waits       wait_until SECONDS CMD...   (polls every 0.2 s)
#   namespaces          rr_ns VAR SHORT  -> creates "rrt-<pid>-SHORT", stores the name in VAR
#                       rr_veth NS1 IF1 NS2 IF2, rr_addr NS DEV ADDR/LEN... (IPv6 without DAD),
#                       rr_ns_pair (two namespaces and a veth), rr_udp_rcvbuf_errors NS
#   WireGuard peers     rr_genkey DIR NAME (DIR/NAME.key, DIR/NAME.pub; echo the public key)
#                       rr_wggo_start NS DEV, rr_wggo_peer (wireguard-go + addresses + one peer),
#                       rr_wg NS wg-args..., rr_wg_handshake / rr_wg_has_handshake / rr_wg_endpoint
#   the router          rr_instance NAME (-> $RR_TMP/NAME, owned by uid 65534),
#                       rr_write_router_conf NAME, rr_write_iface NAME IFACE ... (one wg-quick file)
#                       rr_rrouted_start NAME [NS], rr_rrouted_stop NAME [SIG], rr_ctl NAME args...
#                       rr_peer NAME IFACE FIELD, rr_iface NAME IFACE JQ, rr_drop NAME IFACE COUNTER,
#                       rr_handshakes_ge NAME IFACE N, rr_check_unpriv DESC PID, rr_ping DESC NS ARGS
#                       "${RR_SETPRIV[@]}" CMD, rr_unpriv_ns NS CMD..., rr_exec_ns NS NAME CMD...
#                       (as the router's user; the last inside the router), rr_listen_check
#   keys and files      rr_keys NAME... (KEYS=$RR_TMP/keys), rr_pub NAME, rr_wgquick FILE ... (any
#                       one-peer wg-quick file), rr_nginx_conf DIR TMPDIR SERVERS
#   a standard pair     rr_pair_setup [options]: rrouted's namespace + a wireguard-go peer (below),
#                       rr_bench_pair_up NAME (the same for a benchmark, rrouted started)
#   a router between    rr_arb_ns, rr_wggo_host, rr_arb_setup [options]: hosts A and B, each a
#   two hosts           wireguard-go peer of the router R in the middle (below)
# Everything started or created here is torn down by an EXIT trap, also on failure and Ctrl-C;
# on any failure the tails of every daemon log are printed as diagnostics.
#
# The router always runs as uid 65534 with no capabilities (DESIGN.md: "a test runs the whole
# system as a user with no capabilities at all"); only the harness and the reference peers are root.

set -u

RR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RR_BUILD=${RR_BUILD:-build}
case "$RR_BUILD" in /*) ;; *) RR_BUILD=$RR_ROOT/$RR_BUILD ;; esac
RROUTED=$RR_BUILD/rrouted
RRCTL=$RR_BUILD/rrctl
RR_UID=65534
RR_RUN=rrt-$$
RR_WG_RUNDIR=/var/run/wireguard
PY=$(command -v /usr/bin/python3 || command -v python3 || true)

rr_n_ok=0 rr_n_fail=0 rr_n_skip=0
rr_pids=()          # every background process we started (pids)
rr_pid_what=()      # matching descriptions
rr_namespaces=()
rr_wgdevs=()
rr_logs=()
declare -A RR_PID=()   # rrouted instance name -> pid

RR_TMP=$(mktemp -d "/tmp/$RR_RUN.XXXXXX")
chmod 755 "$RR_TMP"

# ---------------------------------------------------------------- TAP-like output

# A set-up step that worked: said, not counted (a failed one is a not_ok, and counts).
setup_ok() { printf '# setup: %s\n' "$1"; }
diag() {
	local line
	while IFS= read -r line; do printf '# %s\n' "$line"; done <<<"$*"
}

ok() { printf 'ok - %s\n' "$1"; rr_n_ok=$((rr_n_ok + 1)); }

not_ok() {
	printf 'not ok - %s\n' "$1"
	rr_n_fail=$((rr_n_fail + 1))
	shift
	local d
	for d in "$@"; do diag "$d"; done
}

skip() { printf 'skip - %s: %s\n' "$1" "$2"; rr_n_skip=$((rr_n_skip + 1)); }

# check DESC CMD... : ok when CMD succeeds; its output becomes the diagnostic otherwise.
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$desc"
	else
		not_ok "$desc" "command: $*" "$out"
	fi
}

# rr_setup_step DESC CMD...: a set-up step the rest of the test depends on. CMD runs in this
# shell (it may set variables); its success is said, not counted; its failure is a not_ok with
# CMD's stderr, and the test ends there.
rr_setup_step() { rr_step_or_finish setup_ok "$@"; }

# rr_check_or_finish DESC CMD...: the same, but a success is a check that counts (ok).
rr_check_or_finish() { rr_step_or_finish ok "$@"; }

rr_step_or_finish() {
	local rr_step_report=$1 rr_step_desc=$2
	shift 2
	if ! "$@" 2>"$RR_TMP/step.err"; then
		not_ok "$rr_step_desc" "$(cat "$RR_TMP/step.err")"
		rr_finish
	fi
	"$rr_step_report" "$rr_step_desc"
}

# check_within SECS DESC CMD...: ok as soon as CMD succeeds (polled for up to SECS seconds);
# otherwise a not_ok with what one more run of CMD printed.
check_within() {
	local secs=$1 desc=$2
	shift 2
	if wait_until "$secs" "$@"; then
		ok "$desc"
	else
		not_ok "$desc" "$("$@" 2>&1)"
	fi
}

# Ends the test: its exit status says whether anything failed.
rr_finish() {
	printf '%d passed, %d failed, %d skipped\n' "$rr_n_ok" "$rr_n_fail" "$rr_n_skip"
	[ "$rr_n_fail" -eq 0 ] && exit 0
	exit 1
}

# A whole test is skipped (not failed) when the machine cannot run it at all.
rr_skip_all() {
	skip "$(basename "$0" .sh)" "$1"
	exit 0
}

rr_require() {
	[ "$(id -u)" -eq 0 ] || rr_skip_all "needs root to create namespaces"
	local tool
	for tool in ip wg wireguard-go setpriv jq ping; do
		command -v "$tool" >/dev/null 2>&1 || rr_skip_all "$tool is not installed (scripts/install-deps)"
	done
	[ -x "$RROUTED" ] || rr_skip_all "$RROUTED is not built (make)"
	[ -x "$RRCTL" ] || rr_skip_all "$RRCTL is not built (make)"
}

# rr_require_shim: SHIM_LIB is the built librrshim.so (exported as RRSHIM_LIB: rrctl exec and
# rrouted's hooks both read it), or the whole test is skipped. RRSHIM_LIB from the caller wins.
rr_require_shim() {
	SHIM_LIB=${RRSHIM_LIB:-$RR_BUILD/librrshim.so}
	[ -f "$SHIM_LIB" ] || [ -n "${RRSHIM_LIB:-}" ] || SHIM_LIB=$RR_ROOT/build/librrshim.so
	[ -f "$SHIM_LIB" ] || rr_skip_all "$SHIM_LIB is not built (make)"
	export RRSHIM_LIB=$SHIM_LIB
}

# rr_require_bird [TOOL...]: BIRD and BIRDC are the installed bird and birdc, or the test is
# skipped (likewise without any other TOOL named).
rr_require_bird() {
	local t
	for t in bird birdc "$@"; do
		command -v "$t" >/dev/null 2>&1 || rr_skip_all "$t is not installed (scripts/install-deps)"
	done
	BIRD=$(command -v bird) BIRDC=$(command -v birdc)
}

# rr_bench_require NAME TOOL...: a benchmark that cannot run here (not root, a tool missing)
# says why and exits 0 with nothing measured; a benchmark is not a test, so no skip count.
rr_bench_require() {
	local name=$1 tool
	shift
	if [ "$(id -u)" -ne 0 ]; then
		echo "skip $name: needs root to create network namespaces; nothing measured"
		exit 0
	fi
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 || {
			echo "skip $name: $tool is not installed (scripts/install-deps); nothing measured"
			exit 0
		}
	done
}

# rr_bench_pair_up NAME: for a benchmark, rr_pair_setup with a route to the peer's 172.20.0.2
# (the pair's wg0 has Table = off) and rrouted started, and the tunnel up (the peer pings
# 172.20.0.1); on any failure it says why and exits 1.
rr_bench_pair_up() {
	rr_pair_setup 2>"$RR_TMP/setup.err" || { cat "$RR_TMP/setup.err" >&2; exit 1; }
	echo "route = 172.20.0.2/32 dev wg0" >>"$RR_TMP/r/rrouted.conf"
	rr_fix_owner r
	rr_rrouted_start r "$NSR" || exit 1
	ip netns exec "$NSP" ping -c 2 -w 10 172.20.0.1 >/dev/null || { echo "$1: tunnel down" >&2; exit 1; }
}

# ---------------------------------------------------------------- bounded waits

# wait_until SECONDS CMD... : 0 as soon as CMD succeeds, 1 after SECONDS.
wait_until() {
	local secs=$1 end
	shift
	end=$(($(date +%s%N) + secs * 1000000000))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(date +%s%N)" -ge "$end" ] && return 1
		sleep 0.2
	done
}

# ---------------------------------------------------------------- cleanup

rr_log_tails() {
	local f
	for f in $(printf '%s\n' "${rr_logs[@]}" | sort -u); do
		[ -s "$f" ] || continue
		diag "---- last lines of $f"
		diag "$(tail -n "${RR_LOG_TAIL:-25}" "$f")"
	done
}

# rr_stop_pid PID [SIG]: SIG (default TERM), up to 5 s, then KILL (and return 1).
# Leaves the exit status of a child in RR_EXIT_STATUS.
rr_stop_pid() {
	local pid=$1 i
	RR_EXIT_STATUS=
	if kill -"${2:-TERM}" "$pid" 2>/dev/null; then
		for i in $(seq 1 25); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			RR_EXIT_STATUS=killed
			return 1
		fi
	fi
	wait "$pid" 2>/dev/null
	RR_EXIT_STATUS=$?
	return 0
}

rr_cleanup() {
	local rc=$? i ns dev
	trap - EXIT INT TERM
	trap '' PIPE   # a closed stdout (| head) must not stop the cleanup half-way
	if [ "$rr_n_fail" -ne 0 ] || [ "$rc" -ne 0 ]; then
		rr_log_tails
	fi
	for ((i = ${#rr_pids[@]} - 1; i >= 0; i--)); do
		rr_stop_pid "${rr_pids[i]}" || diag "had to SIGKILL ${rr_pid_what[i]} (pid ${rr_pids[i]})"
	done
	# A program started through a wrapper (a function run with &, setpriv, env) is not the pid
	# tracked; whatever still names this test's directory is this test's, and goes too.
	if [ -n "${RR_TMP:-}" ] && pgrep -f -- "$RR_TMP/" >/dev/null 2>&1; then
		diag "left running, killed: $(pgrep -a -f -- "$RR_TMP/" | head -n 5 | tr '\n' ';')"
		pkill -KILL -f -- "$RR_TMP/" 2>/dev/null
	fi
	for ns in "${rr_namespaces[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	for dev in "${rr_wgdevs[@]}"; do
		rm -f "$RR_WG_RUNDIR/$dev.sock" "$RR_WG_RUNDIR/$dev.name"
	done
	if [ -n "${RR_KEEP_TMP:-}" ]; then
		diag "kept $RR_TMP"
	else
		rm -rf "$RR_TMP"
	fi
	if [ "$rc" -eq 0 ] && [ "$rr_n_fail" -ne 0 ]; then rc=1; fi
	exit "$rc"
}
trap rr_cleanup EXIT
trap 'echo "# interrupted"; exit 130' INT TERM
trap 'exit 141' PIPE

rr_track() {   # pid description [logfile]
	rr_pids+=("$1")
	rr_pid_what+=("$2")
	[ -n "${3:-}" ] && rr_logs+=("$3")
	return 0
}

# ---------------------------------------------------------------- namespaces and links

# rr_ns VAR SHORT: creates namespace rrt-<pid>-SHORT with lo up, stores its name in VAR.
rr_ns() {
	local name=$RR_RUN-$2
	ip netns add "$name" || return 1
	rr_namespaces+=("$name")
	ip -n "$name" link set lo up || return 1
	printf -v "$1" '%s' "$name"
}

# rr_veth NS1 IF1 NS2 IF2: a veth pair straight into two namespaces, both ends up.
rr_veth() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" || return 1
	ip -n "$1" link set "$2" up && ip -n "$3" link set "$4" up
}

# rr_ns_pair VAR1 SHORT1 IF1 "ADDR..." VAR2 SHORT2 IF2 "ADDR...": two namespaces (rr_ns) joined
# by a veth pair IF1 <-> IF2, each end with its addresses.
rr_ns_pair() {
	rr_ns "$1" "$2" && rr_ns "$5" "$6" || return 1
	rr_veth "${!1}" "$3" "${!5}" "$7" || return 1
	# shellcheck disable=SC2086  # the address lists split on purpose
	rr_addr "${!1}" "$3" $4 && rr_addr "${!5}" "$7" $8
}

# rr_addr NS DEV ADDR/LEN...: addresses without IPv6 duplicate address detection (no 2 s wait).
rr_addr() {
	local ns=$1 dev=$2 a
	shift 2
	for a in "$@"; do
		case "$a" in
		*:*) ip -n "$ns" addr add "$a" dev "$dev" nodad || return 1 ;;
		*) ip -n "$ns" addr add "$a" dev "$dev" || return 1 ;;
		esac
	done
}

# ---------------------------------------------------------------- WireGuard reference peer

# rr_genkey DIR NAME: writes DIR/NAME.key and DIR/NAME.pub, prints the public key.
rr_genkey() {
	(umask 077 && wg genkey >"$1/$2.key") || return 1
	wg pubkey <"$1/$2.key" >"$1/$2.pub" || return 1
	cat "$1/$2.pub"
}

# rr_keys NAME...: KEYS=$RR_TMP/keys (mode 700), with a key pair for each NAME in it (one made
# before is kept, so that a second topology of the same run has the same keys).
rr_keys() {
	local k
	KEYS=$RR_TMP/keys
	mkdir -p "$KEYS" && chmod 700 "$KEYS" || return 1
	for k in "$@"; do
		[ -f "$KEYS/$k.pub" ] || rr_genkey "$KEYS" "$k" >/dev/null || return 1
	done
}

# rr_pub NAME: the public key of NAME made by rr_keys.
rr_pub() { cat "$KEYS/$1.pub"; }

# rr_wggo_start NS DEV: wireguard-go in the foreground inside NS, log in $RR_TMP/wggo-DEV.log.
rr_wggo_start() {
	local ns=$1 dev=$2 log=$RR_TMP/wggo-$2.log
	[ ${#dev} -le 15 ] || { echo "interface name $dev is longer than 15 characters" >&2; return 1; }
	rr_wgdevs+=("$dev")
	LOG_LEVEL=verbose ip netns exec "$ns" wireguard-go -f "$dev" >"$log" 2>&1 &
	rr_track $! "wireguard-go $dev" "$log"
	if ! wait_until 10 test -S "$RR_WG_RUNDIR/$dev.sock" || ! wait_until 5 ip -n "$ns" link show "$dev"; then
		echo "wireguard-go $dev did not come up; log:" >&2
		tail -n 20 "$log" >&2
		return 1
	fi
	ip -n "$ns" link set "$dev" up
}

rr_wg() { local ns=$1; shift; ip netns exec "$ns" wg "$@"; }

# rr_wg_handshake NS DEV: the first peer's latest handshake (unix seconds, 0 = never).
rr_wg_handshake() {
	rr_wg "$1" show "$2" latest-handshakes | awk 'NR == 1 { print $2 }'
}

# rr_wg_has_handshake NS DEV: the first peer has completed a handshake.
rr_wg_has_handshake() {
	local h
	h=$(rr_wg_handshake "$1" "$2") && [ "${h:-0}" -gt 0 ]
}

# rr_wg_endpoint NS DEV: the first peer's endpoint as wireguard sees it ("(none)" if none).
rr_wg_endpoint() {
	rr_wg "$1" show "$2" endpoints | awk 'NR == 1 { print $2 }'
}

# ---------------------------------------------------------------- the router under test

# rr_instance NAME: $RR_TMP/NAME with ifaces/, owned by the unprivileged user; prints the path.
rr_instance() {
	local dir=$RR_TMP/$1
	mkdir -p "$dir/ifaces" || return 1
	chown -R "$RR_UID:$RR_UID" "$dir" && chmod 700 "$dir"
	printf '%s\n' "$dir"
}

# rr_write_router_conf NAME [log_level]: the [router] file of an instance.
rr_write_router_conf() {
	local dir=$RR_TMP/$1
	cat >"$dir/rrouted.conf" <<-EOF
		[router]
		interfaces = ifaces
		control = $dir/rr.sock
		log_level = ${2:-debug}
	EOF
	rr_fix_owner "$1"
}

# After writing files into an instance as root: give them to the router's user.
rr_fix_owner() {
	chown -R "$RR_UID:$RR_UID" "$RR_TMP/$1" && find "$RR_TMP/$1" -type f -exec chmod 600 {} +
}

# "${RR_SETPRIV[@]}" CMD...: CMD as the router's user with no capabilities. An array, not a
# function, so that `... CMD &` leaves CMD's own pid in $! (setpriv execs it).
RR_SETPRIV=(setpriv --reuid="$RR_UID" --regid="$RR_UID" --clear-groups --inh-caps=-all --bounding-set=-all --)
rr_unpriv() { "${RR_SETPRIV[@]}" "$@"; }

# rr_unpriv_ns NS CMD...: CMD in namespace NS as the router's user, with no capabilities;
# for at most RR_EXEC_TIMEOUT seconds if that is set.
rr_unpriv_ns() {
	local ns=$1 limit=()
	shift
	[ -n "${RR_EXEC_TIMEOUT:-}" ] && limit=(timeout "$RR_EXEC_TIMEOUT")
	"${limit[@]}" ip netns exec "$ns" "${RR_SETPRIV[@]}" "$@"
}

# rr_exec_ns NS NAME CMD...: CMD inside instance NAME's router in NS (`rrctl exec`: its
# sockets are rrouted's), as the router's user with no capabilities.
rr_exec_ns() {
	local ns=$1 name=$2
	shift 2
	rr_unpriv_ns "$ns" "$RRCTL" -s "$RR_TMP/$name/rr.sock" exec -- "$@"
}

# rr_rrouted_start NAME [NS]: runs rrouted for $RR_TMP/NAME (in NS if given) as uid 65534 with
# no capabilities; waits for its control socket. Log: $RR_TMP/NAME.log (appended).
rr_rrouted_start() {
	local name=$1 ns=${2:-} dir=$RR_TMP/$1 log=$RR_TMP/$1.log pid
	rm -f "$dir/rr.sock"
	echo "==== rrouted start $(date +%T)" >>"$log"
	if [ -n "$ns" ]; then
		ip netns exec "$ns" "${RR_SETPRIV[@]}" "$RROUTED" -c "$dir/rrouted.conf" >>"$log" 2>&1 &
	else
		"${RR_SETPRIV[@]}" "$RROUTED" -c "$dir/rrouted.conf" >>"$log" 2>&1 &
	fi
	pid=$!
	rr_track "$pid" "rrouted $name" "$log"
	RR_PID[$name]=$pid
	if ! wait_until 10 test -S "$dir/rr.sock"; then
		echo "rrouted $name: no control socket $dir/rr.sock after 10 s" >&2
		kill -0 "$pid" 2>/dev/null || echo "rrouted $name exited" >&2
		tail -n 20 "$log" >&2
		return 1
	fi
	kill -0 "$pid" 2>/dev/null
}

# rr_rrouted_stop NAME [SIG]: SIGTERM (or SIG) and a bounded wait; 0 only if it exited by
# itself with status 0 (a clean stop), otherwise 1 with the reason in RR_STOP_WHY.
rr_rrouted_stop() {
	local pid=${RR_PID[$1]:-}
	RR_STOP_WHY=
	[ -n "$pid" ] || { RR_STOP_WHY="rrouted $1 was not started"; return 1; }
	echo "==== rrouted stop (SIG${2:-TERM}) $(date +%T)" >>"$RR_TMP/$1.log"
	unset "RR_PID[$1]"
	if ! rr_stop_pid "$pid" "${2:-TERM}"; then
		RR_STOP_WHY="rrouted $1 did not exit within 5 s of SIG${2:-TERM}; killed"
		return 1
	fi
	if [ "$RR_EXIT_STATUS" != 0 ]; then
		RR_STOP_WHY="rrouted $1 exited with status $RR_EXIT_STATUS"
		return 1
	fi
}

rr_ctl() {
	local name=$1
	shift
	timeout 10 "${RR_SETPRIV[@]}" "$RRCTL" -s "$RR_TMP/$name/rr.sock" "$@"
}

# rr_peer NAME IFACE FIELD [N]: a field of peer N (default 0) of IFACE from `show peers --json`.
rr_peer() {
	rr_ctl "$1" show peers --json |
		jq -er --arg i "$2" --argjson n "${4:-0}" ".interfaces[] | select(.name == \$i) | .peers[\$n].$3"
}

# rr_iface NAME IFACE JQ-PATH: from `show interfaces --json`, e.g. rr_iface r wg0 .drops.replayed
rr_iface() {
	rr_ctl "$1" show interfaces --json | jq -er --arg i "$2" ".interfaces[] | select(.name == \$i) | $3"
}

rr_drop() { rr_iface "$1" "$2" ".drops.$3"; }

# Succeeds when peer 0 of IFACE has completed at least N handshakes.
rr_handshakes_ge() {
	local n
	n=$(rr_peer "$1" "$2" handshakes) || return 1
	[ "$n" -ge "$3" ]
}

# rr_check_unpriv DESC PID: the process runs as uid/gid 65534 with no capabilities at all.
rr_check_unpriv() {
	local desc=$1 pid=$2 st uid gid capeff capprm capbnd
	if ! st=$(cat "/proc/$pid/status" 2>/dev/null); then
		not_ok "$desc" "process $pid is gone"
		return
	fi
	uid=$(awk '/^Uid:/ { print $2 " " $3 " " $4 " " $5 }' <<<"$st")
	gid=$(awk '/^Gid:/ { print $2 " " $3 " " $4 " " $5 }' <<<"$st")
	capeff=$(awk '/^CapEff:/ { print $2 }' <<<"$st")
	capprm=$(awk '/^CapPrm:/ { print $2 }' <<<"$st")
	capbnd=$(awk '/^CapBnd:/ { print $2 }' <<<"$st")
	if [ "$uid" = "65534 65534 65534 65534" ] && [ "$gid" = "65534 65534 65534 65534" ] &&
		[ "$capeff" = 0000000000000000 ] && [ "$capprm" = 0000000000000000 ] &&
		[ "$capbnd" = 0000000000000000 ] && [ "$(readlink "/proc/$pid/exe")" = "$(readlink -f "$RROUTED")" ]; then
		ok "$desc"
	else
		not_ok "$desc" "exe $(readlink "/proc/$pid/exe")" "Uid: $uid Gid: $gid" \
			"CapEff: $capeff CapPrm: $capprm CapBnd: $capbnd"
	fi
}

# rr_listen_check DESC NS OUT CLIENT_ADDR PORT DATAFILE LISTENER...: LISTENER (run in the
# background, e.g. an `nc -l` inside the router, for at most 30 s) writes what it receives to
# OUT; a client in NS (the kernel's nc) connects to CLIENT_ADDR PORT and sends DATAFILE,
# retrying until the listener is up; OUT must equal DATAFILE.
rr_listen_check() {
	local desc=$1 ns=$2 out=$3 caddr=$4 port=$5 data=$6 lpid
	shift 6
	rm -f "$out" && touch "$out" && chown "$RR_UID" "$out"
	"$@" 2>"$out.err" &
	lpid=$!
	rr_track "$lpid" "listener in the router ($desc)" "$out.err"
	if ! wait_until 10 sh -c "ip netns exec $ns nc -N -w 5 $caddr $port <$data"; then
		not_ok "$desc" "the client in $ns could not connect to $caddr port $port within 10 s" \
			"$(cat "$out.err")"
		return
	fi
	for _ in $(seq 1 50); do   # the listener exits at EOF: up to 10 s
		kill -0 "$lpid" 2>/dev/null || break
		sleep 0.2
	done
	if cmp -s "$data" "$out"; then
		ok "$desc"
	else
		not_ok "$desc" "sent $(wc -c <"$data") bytes, the listener wrote $(wc -c <"$out")" \
			"$(head -c 200 "$out")" "$(cat "$out.err")"
	fi
}

# rr_ping DESC NS ARGS...: ok when ping in NS gets replies; its output is the diagnostic.
rr_ping() {
	local desc=$1 ns=$2 out
	shift 2
	if out=$(ip netns exec "$ns" ping -n -q "$@" 2>&1); then
		ok "$desc"
	else
		not_ok "$desc" "ping $*" "$out"
	fi
}

# rr_udp_rcvbuf_errors NS: datagrams the kernel dropped in NS for a full socket receive buffer
# (UDP RcvbufErrors in /proc/net/snmp).
rr_udp_rcvbuf_errors() {
	# shellcheck disable=SC2016  # awk fields, not shell
	ip netns exec "$1" awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ { n += $6 } END { print n + 0 }' /proc/net/snmp
}

# ---------------------------------------------------------------- configuration writers

# rr_nginx_conf DIR TMPDIR HTTP-LINES: an nginx.conf (on stdout) for nginx as an ordinary user:
# in the foreground with no master, pid and error log in DIR, temp files under TMPDIR, no
# access log; HTTP-LINES (the servers) go into http { }.
rr_nginx_conf() {
	cat <<-EOF
		daemon off;
		master_process off;
		worker_processes 1;
		pid $1/nginx.pid;
		error_log $1/nginx-error.log;
		events { worker_connections 64; }
		http {
		access_log off;
		client_body_temp_path $2/body;
		proxy_temp_path $2/proxy;
		fastcgi_temp_path $2/fastcgi;
		scgi_temp_path $2/scgi;
		uwsgi_temp_path $2/uwsgi;
		$3
		}
	EOF
}

# rr_wgquick FILE KEYFILE LISTEN_PORT ADDRESSES MTU TABLE PEER_PUB PSKFILE ENDPOINT ALLOWED [KEEPALIVE]
# One wg-quick file with one peer. An empty LISTEN_PORT, MTU, TABLE, PSKFILE, ENDPOINT or
# KEEPALIVE leaves that line out (an empty TABLE: AllowedIPs become routes, as with wg-quick).
rr_wgquick() {
	local f=$1 keyfile=$2 port=$3 addrs=$4 mtu=$5 table=$6 ppub=$7 pskfile=$8 ep=$9 allowed=${10}
	local ka=${11:-}
	{
		echo "[Interface]"
		echo "PrivateKey = $(cat "$keyfile")"
		[ -n "$port" ] && echo "ListenPort = $port"
		echo "Address = $addrs"
		[ -n "$mtu" ] && echo "MTU = $mtu"
		[ -n "$table" ] && echo "Table = $table"
		echo
		echo "[Peer]"
		echo "PublicKey = $ppub"
		[ -n "$pskfile" ] && echo "PresharedKey = $(cat "$pskfile")"
		[ -n "$ep" ] && echo "Endpoint = $ep"
		echo "AllowedIPs = $allowed"
		[ -n "$ka" ] && echo "PersistentKeepalive = $ka"
		:
	} >"$f"
}

# rr_write_iface NAME IFACE KEYFILE LISTEN_PORT ADDRESSES PEER_PUB PSKFILE ENDPOINT ALLOWED KEEPALIVE
# Instance NAME's $RR_TMP/NAME/ifaces/IFACE.conf with one peer, MTU 1420 and Table = off (routes
# come from rrouted.conf). Empty LISTEN_PORT, PSKFILE, ENDPOINT or KEEPALIVE leave that line out.
rr_write_iface() {
	rr_wgquick "$RR_TMP/$1/ifaces/$2.conf" "$3" "$4" "$5" 1420 off "$6" "$7" "$8" "$9" "${10:-}" ||
		return 1
	rr_fix_owner "$1"
}

# rr_wggo_peer NS DEV KEYFILE LISTEN_PORT PEER_PUB PSKFILE ENDPOINT ALLOWED KEEPALIVE ADDR...
# Starts wireguard-go DEV in NS, gives it ADDRs and a route for each AllowedIPs entry, and one
# peer. Empty PSKFILE, ENDPOINT, KEEPALIVE leave that setting out.
rr_wggo_peer() {
	local ns=$1 dev=$2 keyfile=$3 port=$4 ppub=$5 pskfile=$6 ep=$7 allowed=$8 ka=$9 a
	shift 9
	rr_wggo_start "$ns" "$dev" || return 1
	rr_addr "$ns" "$dev" "$@" || return 1
	for a in ${allowed//,/ }; do
		ip -n "$ns" route replace "$a" dev "$dev" || return 1
	done
	local args=(set "$dev" private-key "$keyfile" listen-port "$port" peer "$ppub" allowed-ips "$allowed")
	[ -n "$pskfile" ] && args+=(preshared-key "$pskfile")
	[ -n "$ep" ] && args+=(endpoint "$ep")
	[ -n "$ka" ] && args+=(persistent-keepalive "$ka")
	rr_wg "$ns" "${args[@]}"
}

# ---------------------------------------------------------------- the common two-namespace pair
#
#   netns $NSR (rrouted as uid 65534)            netns $NSP (wireguard-go, root)
#   +--------------------------------+           +--------------------------------+
#   | rrouted iface wg0  udp/51820   |           | $PDEV (tun)        udp/51821   |
#   |  172.20.0.1/32 fd42:0:1::1/64  |           |  172.20.0.2/32 fd42:0:1::2/64  |
#   |  fe80::1/64                    |           |  fe80::2/64                    |
#   | veth vr 192.0.2.1/24 ----------+-----------+- veth vp 192.0.2.2/24          |
#   |         2001:db8:1::1/64       |           |         2001:db8:1::2/64       |
#   +--------------------------------+           +--------------------------------+
#
# rr_peer_a_setup: after rr_pair_setup, a second peer A (namespace NSA, veth 198.51.100.0/24,
# wireguard-go ADEV with 172.20.1.2, fd42:0:2::2, fe80::2) and rrouted's interface wga to it
# (172.20.1.1/32, fd42:0:2::1/64, fe80::1/64, UDP 51830), and Table = off routes (DN42 style,
# as BIRD would install them) to both peers in r's rrouted.conf. Sets NSA ADEV RRA_PUB A_PUB.
rr_peer_a_setup() {
	rr_ns NSA a || return 1
	rr_veth "$NSR" vra "$NSA" va || return 1
	rr_addr "$NSR" vra 198.51.100.1/24 && rr_addr "$NSA" va 198.51.100.2/24 || return 1
	RRA_PUB=$(rr_genkey "$KEYS" rra) && A_PUB=$(rr_genkey "$KEYS" peera) || return 1
	rr_write_iface r wga "$KEYS/rra.key" 51830 "172.20.1.1/32, fd42:0:2::1/64, fe80::1/64" \
		"$A_PUB" "" "" "172.20.1.2/32, fd42:0:2::2/128, fe80::/64" "" || return 1
	ADEV=rra$$
	rr_wggo_peer "$NSA" "$ADEV" "$KEYS/peera.key" 51831 "$RRA_PUB" "" 198.51.100.1:51830 \
		"172.20.1.1/32,fd42:0:2::1/128,fe80::/64" "" 172.20.1.2/32 fd42:0:2::2/64 fe80::2/64 ||
		return 1
	printf 'route = %s\n' "172.20.0.2/32 dev wg0" "fd42:0:1::2/128 dev wg0" \
		"172.20.1.2/32 dev wga" "fd42:0:2::2/128 dev wga" >>"$RR_TMP/r/rrouted.conf"
}

# rr_pair_setup [--rr-endpoint] [--rr-keepalive N] [--no-peer-endpoint] [--peer-keepalive N]
#   --rr-endpoint       rrouted's peer has Endpoint = 192.0.2.2:51821
#   --no-peer-endpoint  wireguard-go has no endpoint for rrouted (only rrouted can initiate)
# Sets NSR NSP PDEV RR_PUB PEER_PUB KEYS; instance name "r"; does not start rrouted.
RR_PAIR_ALLOWED_RR="172.20.0.2/32, fd42:0:1::2/128, fe80::/64"
RR_PAIR_ALLOWED_PEER="172.20.0.1/32,fd42:0:1::1/128,fe80::/64"
# shellcheck disable=SC2120  # the tests pass the options; rr_bench_pair_up needs none
rr_pair_setup() {
	local rr_ep="" rr_ka="" peer_ep="192.0.2.1:51820" peer_ka=""
	while [ $# -gt 0 ]; do
		case "$1" in
		--rr-endpoint) rr_ep="192.0.2.2:51821" ;;
		--rr-keepalive) rr_ka=$2; shift ;;
		--no-peer-endpoint) peer_ep="" ;;
		--peer-keepalive) peer_ka=$2; shift ;;
		*) echo "rr_pair_setup: unknown option $1" >&2; return 1 ;;
		esac
		shift
	done
	rr_ns_pair NSR r vr "192.0.2.1/24 2001:db8:1::1/64" NSP p vp "192.0.2.2/24 2001:db8:1::2/64" &&
		rr_keys rr peer || return 1
	RR_PUB=$(rr_pub rr) PEER_PUB=$(rr_pub peer)
	(umask 077 && wg genpsk >"$KEYS/psk") || return 1
	rr_instance r >/dev/null && rr_write_router_conf r || return 1
	rr_write_iface r wg0 "$KEYS/rr.key" 51820 "172.20.0.1/32, fd42:0:1::1/64, fe80::1/64" \
		"$PEER_PUB" "$KEYS/psk" "$rr_ep" "$RR_PAIR_ALLOWED_RR" "$rr_ka" || return 1
	PDEV=rrp$$
	rr_wggo_peer "$NSP" "$PDEV" "$KEYS/peer.key" 51821 "$RR_PUB" "$KEYS/psk" "$peer_ep" \
		"$RR_PAIR_ALLOWED_PEER" "$peer_ka" 172.20.0.2/32 fd42:0:1::2/64 fe80::2/64
}

# ---------------------------------------------------------------- a router between two hosts
#
#  netns $NSA                  netns $NSR (the router R)                      netns $NSB
#  $DEVA (wireguard-go)        wga udp/51820 (key ra)    wgb udp/51821 (key rb)  $DEVB (wireguard-go)
#   172.20.1.1/24 fd42:1::1/48  172.20.0.1/32            172.20.0.2/32           172.20.3.1/24 fd42:3::1/48
#   key a, udp/51822            fd42:0:1::1/64 fe80::1/64 fd42:0:2::1/64 fe80::1/64  key b, udp/51823
#  va 192.0.2.2/24 ----------- ra 192.0.2.1/24         rb 198.51.100.1/24 --------- vb 198.51.100.2/24

# rr_arb_ns [SUFFIX]: namespaces NSA, NSR, NSB (short names aSUFFIX, rSUFFIX, bSUFFIX) and the
# two veth links with their underlay addresses, as drawn above.
rr_arb_ns() {
	local s=${1:-}
	rr_ns NSA "a$s" && rr_ns NSR "r$s" && rr_ns NSB "b$s" || return 1
	rr_veth "$NSA" va "$NSR" ra && rr_veth "$NSR" rb "$NSB" vb || return 1
	rr_addr "$NSA" va 192.0.2.2/24 && rr_addr "$NSR" ra 192.0.2.1/24 || return 1
	rr_addr "$NSR" rb 198.51.100.1/24 && rr_addr "$NSB" vb 198.51.100.2/24
}

# rr_wggo_host NS DEV KEYFILE PORT R_PUB R_ENDPOINT MTU ADDR4 ADDR6: a wireguard-go host whose
# only peer is the router (allowed-ips 0.0.0.0/0,::/0); the DN42 ranges go into the tunnel.
rr_wggo_host() {
	local ns=$1 dev=$2
	rr_wggo_start "$ns" "$dev" || return 1
	ip -n "$ns" link set "$dev" mtu "$7" || return 1
	rr_addr "$ns" "$dev" "$8" "$9" || return 1
	ip -n "$ns" route add 172.20.0.0/14 dev "$dev" &&
		ip -n "$ns" -6 route add fd42::/16 dev "$dev" || return 1
	rr_wg "$ns" set "$dev" private-key "$3" listen-port "$4" \
		peer "$5" endpoint "$6" allowed-ips 0.0.0.0/0,::/0
}

# rr_arb_setup [--suffix S] [--dev-prefix P] [--mtu-b N] [--b-allowed LIST] [--log-level L]
#              [--no-router]
# The whole picture above: rr_arb_ns, keys a b ra rb (rr_keys), wireguard-go DEVA=PaS<pid> on A
# (MTU 1420) and DEVB=PbS<pid> on B (MTU N, default 1420), each with R's address as endpoint;
# and, unless --no-router, instance r (log level L, default debug) with wga and wgb: MTU 1420
# and N, Endpoints A and B, AllowedIPs "172.20.1.0/24, fd42:1::/48" and LIST (default
# "172.20.3.0/24, fd42:3::/48"), Table left at its default (AllowedIPs become FIB routes, as
# wg-quick does). Does not start rrouted.
rr_arb_setup() {
	local s="" prefix=rrx mtu_b=1420 b_allowed="172.20.3.0/24, fd42:3::/48" level=debug router=1
	while [ $# -gt 0 ]; do
		case "$1" in
		--suffix) s=$2; shift ;;
		--dev-prefix) prefix=$2; shift ;;
		--mtu-b) mtu_b=$2; shift ;;
		--b-allowed) b_allowed=$2; shift ;;
		--log-level) level=$2; shift ;;
		--no-router) router="" ;;
		*) echo "rr_arb_setup: unknown option $1" >&2; return 1 ;;
		esac
		shift
	done
	rr_arb_ns "$s" && rr_keys a b ra rb || return 1
	DEVA=${prefix}a$s$$ DEVB=${prefix}b$s$$
	rr_wggo_host "$NSA" "$DEVA" "$KEYS/a.key" 51822 "$(rr_pub ra)" 192.0.2.1:51820 1420 \
		172.20.1.1/24 fd42:1::1/48 &&
		rr_wggo_host "$NSB" "$DEVB" "$KEYS/b.key" 51823 "$(rr_pub rb)" 198.51.100.1:51821 "$mtu_b" \
			172.20.3.1/24 fd42:3::1/48 || return 1
	[ -n "$router" ] || return 0
	rr_instance r >/dev/null && rr_write_router_conf r "$level" || return 1
	rr_wgquick "$RR_TMP/r/ifaces/wga.conf" "$KEYS/ra.key" 51820 \
		"172.20.0.1/32, fd42:0:1::1/64, fe80::1/64" 1420 "" "$(rr_pub a)" "" 192.0.2.2:51822 \
		"172.20.1.0/24, fd42:1::/48" &&
		rr_wgquick "$RR_TMP/r/ifaces/wgb.conf" "$KEYS/rb.key" 51821 \
			"172.20.0.2/32, fd42:0:2::1/64, fe80::1/64" "$mtu_b" "" "$(rr_pub b)" "" \
			198.51.100.2:51823 "$b_allowed" || return 1
	rr_fix_owner r
}

# rr_arbc_setup [rr_arb_setup options]: the picture above, plus a host C behind B: netns NSC,
# vcc 172.20.4.2/24 fd42:4::2/64, default routes via B's vc (172.20.4.1/24 fd42:4::1/64); B
# forwards, and has "unreachable" routes for 172.20.5.0/24 and fd42:5::/48; wgb's AllowedIPs
# cover B's, C's and those ranges.
rr_arbc_setup() {
	rr_arb_setup "$@" \
		--b-allowed "172.20.3.0/24, 172.20.4.0/24, 172.20.5.0/24, fd42:3::/48, fd42:4::/48, fd42:5::/48" ||
		return 1
	rr_ns NSC c && rr_veth "$NSB" vc "$NSC" vcc || return 1
	rr_addr "$NSB" vc 172.20.4.1/24 fd42:4::1/64 && rr_addr "$NSC" vcc 172.20.4.2/24 fd42:4::2/64 ||
		return 1
	ip -n "$NSC" route add default via 172.20.4.1 &&
		ip -n "$NSC" -6 route add default via fd42:4::1 || return 1
	ip netns exec "$NSB" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 ||
		return 1
	# B and C answer every probe: no per-destination ICMP rate limit (it is per namespace). B's
	# "unreachable" route keeps its own (net.ipv4.route.error_burst, global: 5 at once, then 1/s).
	local ns
	for ns in "$NSB" "$NSC"; do
		ip netns exec "$ns" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 ||
			return 1
	done
	ip -n "$NSB" route add unreachable 172.20.5.0/24 &&
		ip -n "$NSB" -6 route add unreachable fd42:5::/48
}
