# shellcheck shell=bash
# The soak (issue 13; `make soak`, SOAK_MINUTES=30 by default): sourced by test_bird_dn42.sh
# once A, R (rrouted + BIRD) and B have their sessions, when SOAK_MINUTES is set. For that long:
#   - A's WireGuard packets to and from R cross a userspace UDP relay in A's namespace that drops
#     2 % and delays 20 ms each way (this kernel has no tc netem);
#   - ping A -> B through R (5/s) and B -> A (1/s) run the whole time;
#   - every 60 s `birdc configure` on R; every 30 s two `rrctl exec` programs (ip route, ping);
#   - B flaps: its tunnel device goes down for 15 s every 5 minutes (its session may reset);
#   - every 30 s a sample: rrouted's VmRSS and open fds, R's BGP states, the pings' counts.
# Checks at the end: A's sessions with R never reset (BIRD's "since" unchanged), rrouted's RSS
# and fd count flat (last vs the first sample after 2 minutes of warm-up: RSS within 2 MiB +
# 10 %, fds within 4), rrouted still running, and pings got through. The table goes to
# $SOAK_TABLE (default $RR_TMP/soak.txt) and into the test output.

# "since" of a BGP protocol on NAME's BIRD (time of its last state change).
soak_since() {
	birdc_n "$1" show protocols | awk -v p="$2" '$1 == p { print $4 " " $5 }'
}

soak_state() {
	birdc_n "$1" show protocols | awk -v p="$2" '$1 == p { print $NF }'
}

soak_run() {
	local minutes=${SOAK_MINUTES:-30} table=${SOAK_TABLE:-$RR_TMP/soak.txt}
	local rpid=${RR_PID[r]:-} end t0 now next_sample next_conf next_exec next_flap
	if [ "$R_MODE" != rrouted ] || [ -z "$rpid" ]; then
		skip "soak" "R is not rrouted"
		return
	fi
	ip netns exec "$NSA" "$PY" "$RR_ROOT/tests/netns/lossy_relay.py" 192.0.2.2 51832 51833 51822 0.02 20 \
		192.0.2.1 51820 >"$RR_TMP/soak_relay.log" 2>&1 &
	rr_track $! "soak relay" "$RR_TMP/soak_relay.log"
	wait_until 5 sh -c "ip netns exec '$NSA' ss -Hlun | grep -q '192.0.2.2:51832'"
	# Both ends send to the relay (rrouted through the unmodified wg tool inside it), so neither
	# roams back to the direct path: each sees the other's packets come from the relay.
	r_exec wg set wga peer "$A_PUB" endpoint 192.0.2.2:51832
	rr_wg "$NSA" set "$DEVA" peer "$RA_PUB" endpoint 127.0.0.1:51833
	ip netns exec "$NSA" ping -n -i 0.2 -W 2 "$B4" >"$RR_TMP/soak_ping_ab.log" 2>&1 &
	local ping_ab=$!
	rr_track "$ping_ab" "soak ping A->B"
	ip netns exec "$NSB" ping -n -i 1 -W 2 "$A4" >"$RR_TMP/soak_ping_ba.log" 2>&1 &
	local ping_ba=$!
	rr_track "$ping_ba" "soak ping B->A"
	soak_ep_is_relay() { [ "$(rr_peer r wga endpoint)" = 192.0.2.2:51832 ]; }
	wait_until 30 soak_ep_is_relay
	local ep
	ep=$(rr_peer r wga endpoint 2>/dev/null)
	if [ "$ep" = 192.0.2.2:51832 ]; then
		ok "soak: A's tunnel crosses the lossy relay (2 % loss, 20 ms each way; rrouted's endpoint for A is $ep)"
	else
		not_ok "soak: A's tunnel crosses the lossy relay" "rrouted's endpoint for A: $ep"
	fi
	local a4_since a6_since
	wait_until 60 all_established
	a4_since=$(soak_since r a_v4) a6_since=$(soak_since r a_v6)

	printf '%-8s %-9s %-5s %-6s %-6s %-11s %-8s %-8s %s\n' "t(s)" "rss(kB)" "fds" "a_v4" "a_v6" "b" \
		"pingAB" "pingBA" "events" >"$table"
	t0=$(date +%s)
	end=$((t0 + minutes * 60))
	next_sample=$t0 next_conf=$((t0 + 60)) next_exec=$((t0 + 30)) next_flap=$((t0 + 300))
	local events="" n_conf=0 n_exec=0 n_flap=0 n_exec_fail=0 n_conf_fail=0
	local rss fds first_rss="" first_fds="" last_rss last_fds
	while :; do
		now=$(date +%s)
		[ "$now" -ge "$end" ] && break
		kill -0 "$rpid" 2>/dev/null || break
		if [ "$now" -ge "$next_conf" ]; then
			if birdc_n r configure >/dev/null 2>&1; then n_conf=$((n_conf + 1)); else n_conf_fail=$((n_conf_fail + 1)); fi
			events+="conf "
			next_conf=$((now + 60))
		fi
		if [ "$now" -ge "$next_exec" ]; then
			if r_exec ip route show >/dev/null 2>&1 &&
				r_exec "$PING" -n -c 1 -w 5 "$A4" >/dev/null 2>&1; then
				n_exec=$((n_exec + 1))
			else
				n_exec_fail=$((n_exec_fail + 1))
			fi
			events+="exec "
			next_exec=$((now + 30))
		fi
		if [ "$now" -ge "$next_flap" ]; then
			ip -n "$NSB" link set "$DEVB" down
			sleep 15
			ip -n "$NSB" link set "$DEVB" up
			# Linux drops IPv6 addresses of a link that goes down (keep_addr_on_down=0)
			rr_addr "$NSB" "$DEVB" fe80::3/64
			n_flap=$((n_flap + 1))
			events+="flapB "
			next_flap=$((now + 300))
		fi
		if [ "$now" -ge "$next_sample" ]; then
			rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$rpid/status" 2>/dev/null)
			fds=$(ls "/proc/$rpid/fd" 2>/dev/null | wc -l)
			if [ -z "$first_rss" ] && [ $((now - t0)) -ge 120 ]; then
				first_rss=$rss first_fds=$fds
			fi
			last_rss=$rss last_fds=$fds
			printf '%-8s %-9s %-5s %-6s %-6s %-11s %-8s %-8s %s\n' $((now - t0)) "$rss" "$fds" \
				"$(soak_state r a_v4)" "$(soak_state r a_v6)" "$(soak_state r b)" \
				"$(grep -c 'bytes from' "$RR_TMP/soak_ping_ab.log")" \
				"$(grep -c 'bytes from' "$RR_TMP/soak_ping_ba.log")" "${events:--}" >>"$table"
			events=""
			next_sample=$((now + 30))
		fi
		sleep 1
	done
	diag "soak: $minutes min, $n_conf birdc configure ($n_conf_fail failed), $n_exec rrctl exec rounds ($n_exec_fail failed), $n_flap flaps of B"
	diag "$(cat "$table")"
	diag "$(tail -n 1 "$RR_TMP/soak_relay.log")"
	kill "$ping_ab" "$ping_ba" 2>/dev/null
	wait "$ping_ab" "$ping_ba" 2>/dev/null
	check "soak: rrouted still runs after $minutes min" kill -0 "$rpid"
	if grep -q __asan_init "$RROUTED" 2>/dev/null; then
		skip "soak: rrouted's RSS flat" "a sanitizer build keeps freed memory in ASan's quarantine (${first_rss:-?} kB at 2 min, ${last_rss:-?} kB at the end); the plain build's soak measures it"
	elif [ -n "$first_rss" ] && [ "$last_rss" -le $((first_rss + 2048 + first_rss / 10)) ]; then
		ok "soak: rrouted's RSS flat (${first_rss} kB at 2 min, ${last_rss} kB at the end)"
	else
		not_ok "soak: rrouted's RSS flat" "at 2 min: ${first_rss:-no sample} kB, at the end: ${last_rss:-?} kB"
	fi
	if [ -n "$first_fds" ] && [ "$last_fds" -le $((first_fds + 4)) ]; then
		ok "soak: rrouted's open fds flat ($first_fds at 2 min, $last_fds at the end)"
	else
		not_ok "soak: rrouted's open fds flat" "at 2 min: ${first_fds:-no sample}, at the end: ${last_fds:-?}"
	fi
	# A sanitizer build of rrouted (RR_BUILD=build-asan) reports into its log and, with
	# -fno-sanitize-recover, exits: the soak must have seen neither.
	if grep -q __asan_init "$RROUTED" 2>/dev/null; then
		if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$RR_TMP/r.log"; then
			not_ok "soak: no sanitizer report from rrouted" \
				"$(grep -m 3 -E 'Sanitizer|runtime error:' "$RR_TMP/r.log")"
		else
			ok "soak: no sanitizer report from rrouted (ASan and UBSan build, $minutes min)"
		fi
	fi
	local a4_now a6_now
	a4_now=$(soak_since r a_v4) a6_now=$(soak_since r a_v6)
	if [ -n "$a4_since" ] && [ "$a4_since" = "$a4_now" ] && [ "$a6_since" = "$a6_now" ] &&
		bird_established r a_v4 a_v6; then
		ok "soak: R's sessions with A never reset over the lossy path (up since $a4_since / $a6_since)"
	else
		not_ok "soak: R's sessions with A never reset" "a_v4 since '$a4_since' -> '$a4_now'" \
			"a_v6 since '$a6_since' -> '$a6_now'"
	fi
	check "soak: R's session with B (the flapping one) is back" wait_until 90 bird_established r b
	local sent got
	sent=$(grep -c 'icmp_seq' "$RR_TMP/soak_ping_ab.log")
	got=$(grep -c 'bytes from' "$RR_TMP/soak_ping_ab.log")
	diag "soak: ping A -> B: $got replies (the path loses ~4 % each round trip, and B flaps)"
	if [ "$got" -gt $((minutes * 60 * 5 / 2)) ]; then
		ok "soak: ping A -> B through R kept working ($got replies in $minutes min at 5/s)"
	else
		not_ok "soak: ping A -> B through R kept working" "$got replies ($sent lines)"
	fi
	n_exec_total=$((n_exec + n_exec_fail))
	if [ "$n_exec_fail" -le $((n_exec_total / 10)) ]; then
		ok "soak: rrctl exec programs ran ($n_exec of $n_exec_total rounds fully succeeded)"
	else
		not_ok "soak: rrctl exec programs ran" "$n_exec_fail of $n_exec_total rounds failed"
	fi
	# the direct path again for the checks after the soak
	r_exec wg set wga peer "$A_PUB" endpoint 192.0.2.2:51822
	rr_wg "$NSA" set "$DEVA" peer "$RA_PUB" endpoint 192.0.2.1:51820
}
