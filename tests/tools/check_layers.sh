#!/usr/bin/env bash
# Checks docs/ARCHITECTURE.md's layer list against the code: for every module (a folder of src/),
# the modules its #include "module/…" lines name must be exactly the ones the list gives it, and
# the list must have no cycle. Prints one "ok"/"not ok" line per module and the closing count.
set -u
cd "$(dirname "$0")/../.."
doc=docs/ARCHITECTURE.md
passed=0 failed=0
declare -A allowed

# The list is the fenced block after the line "<!-- layers -->": "module -> dep dep …".
while read -r mod arrow deps; do
	[ "$arrow" = "->" ] || continue
	allowed[$mod]=$(tr ' ' '\n' <<<"$deps" | sed '/^$/d' | sort -u | tr '\n' ' ')
done < <(awk '/<!-- layers -->/ { on = 1; next } on && /^```/ { n++; if (n == 2) exit; next } on && n == 1' "$doc")

if [ "${#allowed[@]}" -eq 0 ]; then
	echo "not ok - $doc has no layer list (a \`\`\` block after <!-- layers -->)"
	echo "0 passed, 1 failed"
	exit 1
fi

for dir in src/*/; do
	mod=$(basename "$dir")
	used=$(grep -ho '^#include "[a-z_0-9]*/' "$dir"*.[ch] 2>/dev/null | sed 's/^#include "//; s/\/$//' |
		grep -vx "$mod" | sort -u | tr '\n' ' ')
	if [ -z "${allowed[$mod]+set}" ]; then
		echo "not ok - src/$mod is not in $doc's layer list (it includes: ${used:-nothing})"
		failed=$((failed + 1))
	elif [ "$used" != "${allowed[$mod]}" ]; then
		echo "not ok - src/$mod includes: ${used:-nothing}; $doc says: ${allowed[$mod]:-nothing}"
		for dep in $used; do
			[[ " ${allowed[$mod]} " == *" $dep "* ]] && continue
			grep -ln "^#include \"$dep/" "$dir"*.[ch] | sed "s/^/    includes $dep: /"
		done
		failed=$((failed + 1))
	else
		echo "ok - src/$mod -> ${used:-nothing}"
		passed=$((passed + 1))
	fi
done
for mod in "${!allowed[@]}"; do
	if [ ! -d "src/$mod" ]; then
		echo "not ok - $doc lists $mod, which is not a folder of src/"
		failed=$((failed + 1))
	fi
done

# No cycle: peel off modules whose dependencies are all peeled; whatever stays is in a cycle.
declare -A done_mod
progress=1
while [ "$progress" -eq 1 ]; do
	progress=0
	for mod in "${!allowed[@]}"; do
		[ -n "${done_mod[$mod]:-}" ] && continue
		ready=1
		for dep in ${allowed[$mod]}; do
			[ -n "${done_mod[$dep]:-}" ] || { ready=0; break; }
		done
		if [ "$ready" -eq 1 ]; then done_mod[$mod]=1; progress=1; fi
	done
done
stuck=""
for mod in "${!allowed[@]}"; do
	[ -n "${done_mod[$mod]:-}" ] || stuck+="$mod "
done
if [ -n "$stuck" ]; then
	echo "not ok - the layer list has a cycle through: $stuck"
	failed=$((failed + 1))
else
	echo "ok - the layer list has no cycle"
	passed=$((passed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
