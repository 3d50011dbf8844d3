#!/usr/bin/env bash
# Runs every benchmark listed in .ci/bench-targets.txt once and fails when one
# is over 3x its target. Output is kept in $BENCH_OUT (default bench.txt).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-bench.txt}
: >"$out"
fail=0
while read -r pkg bench benchtime target rest; do
  case "$pkg" in ''|'#'*) continue ;; esac
  if ! go test -run '^$' -bench "$bench" -benchtime "$benchtime" -benchmem "$pkg" >"$out.tmp" 2>&1; then
    echo "FAIL: benchmark $pkg $bench did not run:"; cat "$out.tmp"; fail=1; continue
  fi
  cat "$out.tmp" >>"$out"
  lines=$(grep -E '^Benchmark' "$out.tmp" || true)
  if [ -z "$lines" ]; then
    echo "FAIL: benchmark $pkg $bench matched nothing"; fail=1; continue
  fi
  while read -r name _ ns unit _; do
    [ "$unit" = "ns/op" ] || continue
    verdict=$(awk -v ns="$ns" -v t="$target" 'BEGIN { if (ns > 3*t) print "FAIL: over 3x the target"; else if (ns > t) print "over the target (within 3x)"; else print "meets the target" }')
    printf '%-50s %14s ns/op  target %12s ns  %s\n' "$name" "$ns" "$target" "$verdict"
    case "$verdict" in FAIL*) fail=1 ;; esac
  done <<<"$lines"
done <.ci/bench-targets.txt
rm -f "$out.tmp"
exit $fail
