#!/usr/bin/env bash
# Long, coverage-guided fuzzing of Berth's parsers (fuzz/, targets in
# registry/src/fuzzing/) with cargo-fuzz and libFuzzer.
#
#   scripts/fuzz.sh run [TARGET...]     FUZZ_TIME seconds each (default 300); all by default
#   scripts/fuzz.sh merge [TARGET...]   fold what the runs found into fuzz/corpus/ (only
#                                       inputs that add coverage), to commit
#
# Runs work in .tools/fuzz/ (git-ignored): corpus/TARGET grows there, with fuzz/corpus/TARGET
# read as seeds; a crash lands in .tools/fuzz/artifacts/TARGET/ and fails the run. Once
# fixed, copy the input into fuzz/corpus/TARGET/ so the test suite's smoke replays it.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
TOOLS_DIR=${BERTH_TOOLS_DIR:-$root/.tools}
export PATH=$TOOLS_DIR/bin:$PATH
work=$TOOLS_DIR/fuzz
scripts/tools.sh fuzz

cmd=${1:-run}
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for f in fuzz/fuzz_targets/*.rs; do targets+=("$(basename "$f" .rs)"); done
fi

# Each target's binary runs directly: `cargo fuzz run` would rebuild whatever changed in
# the tree meanwhile.
bin=fuzz/target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release
mkdir -p "$work/logs"

case $cmd in
run)
  time=${FUZZ_TIME:-300}
  cargo +nightly fuzz build
  failed=()
  mkdir -p "$work"
  printf '%-15s %12s %8s %8s %8s\n' target execs exec/s cov corpus >"$work/summary"
  for t in "${targets[@]}"; do
    mkdir -p "$work/corpus/$t" "$work/artifacts/$t" "$work/logs"
    log=$work/logs/$t.log
    echo "[fuzz] $t for ${time}s" >&2
    if ! "$bin/$t" "$work/corpus/$t" "fuzz/corpus/$t" \
      -max_total_time="$time" -artifact_prefix="$work/artifacts/$t/" \
      -print_final_stats=1 -close_fd_mask=3 >"$log" 2>&1; then
      failed+=("$t")
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    corpus=$(find "$work/corpus/$t" -type f | wc -l)
    printf '%-15s %12s %8s %8s %8s\n' "$t" "${execs:--}" "${rate:--}" "${cov:--}" "$corpus" >>"$work/summary"
  done
  cat "$work/summary"
  if [[ ${#failed[@]} -gt 0 ]]; then
    echo "[fuzz] crashes in: ${failed[*]}; inputs in $work/artifacts/, logs in $work/logs/" >&2
    exit 1
  fi
  ;;
merge)
  [[ -x $bin/${targets[0]} ]] || cargo +nightly fuzz build
  for t in "${targets[@]}"; do
    [[ -d $work/corpus/$t ]] || continue
    "$bin/$t" "fuzz/corpus/$t" "$work/corpus/$t" -merge=1 >"$work/logs/$t.merge.log" 2>&1
    echo "[fuzz] $t: $(find "fuzz/corpus/$t" -type f | wc -l) inputs in fuzz/corpus/$t" >&2
  done
  ;;
*)
  echo "usage: scripts/fuzz.sh run|merge [TARGET...]" >&2
  exit 2
  ;;
esac
