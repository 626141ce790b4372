#!/usr/bin/env bash
# Runs the test suites and ends with the closing line "N passed, N failed, N skipped".
#   tests/run-all.sh            unit (plain + sanitized), fuzz smoke, netns
#   tests/run-all.sh unit|fuzz|netns
# Environment: RR_BUILD (default build), FUZZ_SECONDS (default 10 per harness),
# NETNS_FILTER (a grep pattern selecting netns scripts), NETNS_JOBS (netns scripts run at once).
set -u
cd "$(dirname "$0")/.."
what=${1:-all}
passed=0 failed=0 skipped=0
failures=()
log_dir=$(mktemp -d /tmp/rr-tests.XXXXXX)

run_cmocka_dir() {   # $1 = directory of cmocka binaries, $2 = label
	local dir=$1 label=$2 bin out p f
	[ -d "$dir" ] || { echo "skip - $label: $dir not built"; skipped=$((skipped + 1)); return; }
	for bin in "$dir"/test_*; do
		[ -x "$bin" ] || continue
		out="$log_dir/$label-$(basename "$bin").log"
		timeout 300 "$bin" >"$out" 2>&1
		local rc=$?
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n1)
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n1)
		p=${p:-0}; f=${f:-0}
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed or sanitizer abort
		passed=$((passed + p)); failed=$((failed + f))
		if [ "$f" -ne 0 ]; then
			failures+=("$label/$(basename "$bin") (log: $out)")
			echo "FAIL $label/$(basename "$bin"): $p passed, $f failed"
			tail -n 30 "$out" | sed 's/^/    /'
		else
			echo "ok   $label/$(basename "$bin"): $p passed"
		fi
	done
}

run_unit() {
	run_layers
	run_cmocka_dir "${RR_BUILD:-build}/tests" unit
	if [ -z "${RR_BUILD:-}" ]; then
		run_cmocka_dir build-asan/tests unit-asan
	fi
}

run_fuzz() {
	local secs=${FUZZ_SECONDS:-10} bin name corpus out
	if [ ! -d build-fuzz/fuzz ]; then
		echo "skip - fuzz: harnesses not built (make fuzz-build needs clang)"
		skipped=$((skipped + 1)); return
	fi
	for bin in build-fuzz/fuzz/fuzz_*; do
		[ -x "$bin" ] || continue
		name=$(basename "$bin")
		corpus=$(mktemp -d "$log_dir/corpus-$name.XXXX")
		[ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$corpus/"
		out="$log_dir/$name.log"
		if timeout $((secs + 60)) "$bin" -max_total_time="$secs" -rss_limit_mb=1024 \
			"$corpus" >"$out" 2>&1; then
			passed=$((passed + 1))
			echo "ok   fuzz/$name: $(grep -o 'Done [0-9]* runs' "$out" | tail -n1)"
		else
			failed=$((failed + 1)); failures+=("fuzz/$name (log: $out)")
			echo "FAIL fuzz/$name"; tail -n 40 "$out" | sed 's/^/    /'
		fi
	done
}

# docs/ARCHITECTURE.md's layer list against the #include lines (one check per module).
run_layers() {
	local out="$log_dir/layers.log" p f
	bash tests/tools/check_layers.sh >"$out" 2>&1
	p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$out")
	f=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$out")
	passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))
	if [ "${f:-1}" -ne 0 ]; then
		failures+=("layers (log: $out)")
		echo "FAIL layers:"; grep -v '^ok ' "$out" | sed 's/^/    /'
	else
		echo "ok   layers: ${p} passed"
	fi
}

# One netns script's result, from its log and exit status, into the totals.
report_netns() {   # $1 = script, $2 = log, $3 = exit status
	local t=$1 out=$2 rc=$3 n_ok n_fail n_skip
	echo "== $t"
	n_ok=$(grep -c '^ok ' "$out"); n_fail=$(grep -c '^not ok ' "$out"); n_skip=$(grep -c '^skip ' "$out")
	grep -E '^(ok|not ok|skip) ' "$out" | sed 's/^/    /'
	if [ "$rc" -ne 0 ] && [ "$n_fail" -eq 0 ]; then
		n_fail=1; echo "    not ok - $t exited with status $rc"
	fi
	passed=$((passed + n_ok)); failed=$((failed + n_fail)); skipped=$((skipped + n_skip))
	if [ "$n_fail" -ne 0 ]; then
		failures+=("$t (log: $out)")
		tail -n 40 "$out" | sed 's/^/    | /'
	fi
}

# NETNS_JOBS scripts at a time (default 2): each has its own namespaces, addresses and
# temporary directory, so they may overlap; results are reported in script order.
run_netns() {
	local t out jobs=${NETNS_JOBS:-2} scripts=()
	if [ "$(id -u)" -ne 0 ]; then
		echo "skip - netns: needs root to create namespaces (rrouted itself runs unprivileged inside)"
		skipped=$((skipped + 1)); return
	fi
	for t in tests/netns/test_*.sh; do
		[ -f "$t" ] || continue
		if [ -n "${NETNS_FILTER:-}" ] && ! echo "$t" | grep -q -- "$NETNS_FILTER"; then continue; fi
		scripts+=("$t")
	done
	for t in "${scripts[@]}"; do
		out="$log_dir/$(basename "$t" .sh).log"
		while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
		echo "-- started $t"
		( timeout 900 bash "$t" >"$out" 2>&1; echo $? >"$out.rc" ) &
	done
	wait
	for t in "${scripts[@]}"; do
		out="$log_dir/$(basename "$t" .sh).log"
		report_netns "$t" "$out" "$(cat "$out.rc" 2>/dev/null || echo 1)"
	done
}

case "$what" in
	all) run_unit; run_fuzz; run_netns ;;
	unit) run_unit ;;
	fuzz) run_fuzz ;;
	netns) run_netns ;;
	*) echo "usage: $0 [all|unit|fuzz|netns]" >&2; exit 2 ;;
esac

for f in "${failures[@]}"; do echo "failed: $f"; done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
