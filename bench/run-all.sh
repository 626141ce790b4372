#!/usr/bin/env bash
# Runs every benchmark: the compiled build/bench/bench_* binaries (no arguments), then every
# bench/*.sh but this one. Each prints "name value" lines; this script says what it ran and
# exits non-zero if any of them failed. Environment: RR_BUILD (default build), passed on.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${RR_BUILD:-build}
ran=0 failed=()
for b in "$B"/bench/bench_*; do
	[ -f "$b" ] && [ -x "$b" ] || continue
	echo "== $b"
	ran=$((ran + 1))
	"$b" || failed+=("$b (exit $?)")
done
for s in bench/*.sh; do
	[ -f "$s" ] || continue
	[ "$(basename "$s")" = run-all.sh ] && continue
	echo "== $s"
	ran=$((ran + 1))
	bash "$s" || failed+=("$s (exit $?)")
done
echo "== ran $ran benchmark(s), ${#failed[@]} failed"
for f in "${failed[@]}"; do echo "failed: $f"; done
[ ${#failed[@]} -eq 0 ]
