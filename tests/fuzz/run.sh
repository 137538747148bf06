#!/bin/sh
# Runs one libFuzzer target for a bounded time.
# Usage: run.sh compile|bundle|request|http FUZZER PROVOST SRCDIR WORKDIR SECONDS [LIBFUZZER-OPTIONS...]
#   FUZZER   the fuzz_KIND executable
#   PROVOST  the provost command (compiles the bundle seeds)
#   SRCDIR   the source tree (seeds: examples/, tests/roundtrip/, tests/compile_errors/, tests/fuzz/corpus/http/,
#            tests/fuzz/corpus/compile/)
#   WORKDIR  scratch space: seeds-KIND/ (rebuilt each run), corpus-KIND/ (kept: what the
#            fuzzer found), artifacts-KIND/ (crashing inputs)
# Exit status: the fuzzer's (0 when nothing was found).
set -eu
[ $# -ge 6 ] || { echo "usage: $0 compile|bundle|request|http FUZZER PROVOST SRCDIR WORKDIR SECONDS [OPTIONS...]" >&2; exit 2; }
kind=$1 fuzzer=$2 provost=$3 src=$4 work=$5 secs=$6
shift 6
case $kind in compile|bundle|request|http) ;; *) echo "$0: unknown target '$kind'" >&2; exit 2 ;; esac

xml_seeds="$work/seeds-compile"
rm -rf "$xml_seeds"
mkdir -p "$xml_seeds"
for dir in examples tests/roundtrip tests/compile_errors tests/fuzz/corpus/compile; do
  for f in "$src/$dir"/*.xml; do
    [ -f "$f" ] || continue
    tag=$(printf '%s' "$dir" | tr '/' '-')
    cp "$f" "$xml_seeds/$tag-$(basename "$f")"
  done
done

seeds=$xml_seeds
if [ "$kind" = request ]; then
  seeds="$work/seeds-request"
  rm -rf "$seeds"
  mkdir -p "$seeds"
  for f in "$src"/tests/conformance/*/request.xml "$src"/tests/roundtrip/W*.xml "$src"/examples/*.xml; do
    [ -f "$f" ] || continue
    grep -q '<request' "$f" || continue
    cp "$f" "$seeds/$(basename "$(dirname "$f")")-$(basename "$f")"
  done
fi
if [ "$kind" = http ]; then
  seeds="$src/tests/fuzz/corpus/http" # raw requests as a client sends them
fi
if [ "$kind" = bundle ]; then
  seeds="$work/seeds-bundle"
  rm -rf "$seeds"
  mkdir -p "$seeds"
  for f in "$xml_seeds"/*.xml; do
    "$provost" compile "$f" -o "$seeds/$(basename "$f" .xml).pvb" --quiet >/dev/null 2>&1 || true
  done
  [ -n "$(ls "$seeds")" ] || { echo "$0: no bundle seed could be compiled" >&2; exit 1; }
fi

corpus="$work/corpus-$kind"
artifacts="$work/artifacts-$kind"
mkdir -p "$corpus" "$artifacts"
dict=""
[ "$kind" = compile ] && dict="-dict=$src/tests/fuzz/compile.dict"
[ "$kind" = http ] && dict="-dict=$src/tests/fuzz/http.dict"

echo "fuzz_$kind: ${secs}s, seeds $(ls "$seeds" | wc -l) in $seeds, corpus $corpus" >&2
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# shellcheck disable=SC2086
exec "$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" $dict "$@" "$corpus" "$seeds"
