#!/usr/bin/env bash
# tests/fuzz/run_fuzz.sh: build the libFuzzer harnesses with clang (ASan + UBSan +
# coverage) and run each for a while on a copy of its seed corpus.
#
#   tests/fuzz/run_fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 10; CI runs a few seconds each), TARGETs among model, csv,
# idx, cli, run (default: every harness the build has). Longest input per target: 256 KB
# for csv (its seed corpus holds a 116 KB file, so long rows and many of them are
# reached), 4 KB for run (each input trains a tiny net end to end), libFuzzer's default
# (the longest seed, at least 4 KB) for the others. Environment: FUZZ_BUILD (build
# directory, default build-fuzz next to the source tree), FUZZ_OUT (corpora, logs and
# crashes, default $FUZZ_BUILD/fuzz-out), FUZZ_JOBS (parallel processes per target,
# default 1).
# A crash, leak, timeout or sanitizer report is copied to tests/fuzz/regressions/<target>/
# (replayed by the CTest test fuzz_regressions_<target> from then on) and the script
# exits with status 1. Summary lines: target, executions, seconds, new corpus size.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
seconds="${1:-10}"
shift || true
build="${FUZZ_BUILD:-$src/build-fuzz}"
out="${FUZZ_OUT:-$build/fuzz-out}"
jobs="${FUZZ_JOBS:-1}"

command -v clang >/dev/null || { echo "run_fuzz.sh: clang is needed (apt-get install clang)" >&2; exit 2; }

CC=clang cmake -S "$src" -B "$build" -DGRADFLOW_FUZZ=ON -DGRADFLOW_EXAMPLES=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for t in model csv idx cli run; do
    if grep -q "fuzz_$t:" "$build/Makefile" 2>/dev/null || [ -f "$build/build.ninja" ]; then
      targets+=("$t")
    fi
  done
fi
cmake --build "$build" -j2 --target $(printf 'fuzz_%s ' "${targets[@]}") >/dev/null

mkdir -p "$out"
status=0
for t in "${targets[@]}"; do
  corpus="$out/corpus-$t"
  crashes="$out/crashes-$t"
  log="$out/$t.log"
  mkdir -p "$corpus" "$crashes"
  cp -n "$here/corpus/$t/"* "$corpus/" 2>/dev/null || true
  # Closing the harness's stdout and stderr (-close_fd_mask=3) keeps the CLI parser's
  # messages out of the log; libFuzzer and the sanitizers still report on a copy.
  parallel=()
  if [ "$jobs" -gt 1 ]; then parallel=(-jobs="$jobs" -workers="$jobs"); fi
  case "$t" in
    csv) parallel+=(-max_len=262144) ;;
    run) parallel+=(-max_len=4101) ;;
  esac
  # Run from $out: with -jobs, libFuzzer writes fuzz-<i>.log into the working directory.
  if ! (cd "$out" && "$build/fuzz_$t" "$corpus" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -close_fd_mask=3 -print_final_stats=1 "${parallel[@]}" \
        -artifact_prefix="$crashes/" >"$log" 2>&1); then
    status=1
  fi
  if [ "$jobs" -gt 1 ]; then cat "$out"/fuzz-*.log >>"$log" 2>/dev/null && rm -f "$out"/fuzz-*.log; fi
  found=0
  for f in "$crashes"/*; do
    [ -e "$f" ] || continue
    found=$((found + 1))
    mkdir -p "$here/regressions/$t"
    cp "$f" "$here/regressions/$t/"
  done
  runs=$(grep -h "stat::number_of_executed_units" "$log" | awk '{s += $2} END {print s + 0}')
  echo "fuzz $t: ${runs} executions in ${seconds} s, corpus $(ls "$corpus" | wc -l) inputs, ${found} crashing inputs"
  if [ "$found" -gt 0 ]; then
    status=1
    echo "  kept in tests/fuzz/regressions/$t/; log: $log" >&2
    grep -h -m3 "ERROR\|SUMMARY" "$log" >&2 || true
  fi
done
exit "$status"
