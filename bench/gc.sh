#!/usr/bin/env bash
# Garbage collection (issue 13), all on this machine in one run:
#
#   bench/gc.sh                                   (make bench runs it)
#   BENCH_GC_MANIFESTS=1000 BENCH_GC_STRAYS=500 bench/gc.sh   (a smaller store)
#   BENCH_KEEP=1 bench/gc.sh                      (keep the temp dir and logs)
#   BENCH_GC_STORES=s3 BENCH_GC_PUSH_ROUNDS= bench/gc.sh   (only Berth on MinIO)
#
# 1. A store of BENCH_GC_MANIFESTS tagged images (a config and 3 layers of 1 KiB each,
#    so 5 blobs per image with the manifest) and BENCH_GC_STRAYS blobs no manifest names,
#    pushed the same way to Berth on the filesystem, Berth on MinIO, and distribution v3
#    on the filesystem. Then one collection each, timed: `berth gc` online (the server
#    keeps serving), `registry garbage-collect --delete-untagged` with distribution
#    stopped, as it requires. Bytes reclaimed against the strays' bytes.
# 2. BENCH_GC_PUSHES pushes (HEAD, upload, manifest PUT, 8 at a time) to Berth on the
#    filesystem collecting garbage continuously on its own schedule
#    (`spec.garbageCollection: {interval: BENCH_GC_INTERVAL, gracePeriod: 1s}`, as a
#    deployment runs it; the default 100ms starts a run as soon as the last one ends)
#    against a server that never collects, interleaved twice: throughput and p99, and
#    the share of the run the collections took.
# Writes bench/results/gc.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH=$root/.tools/bin:$PATH
MANIFESTS=${BENCH_GC_MANIFESTS:-10000}
STRAYS=${BENCH_GC_STRAYS:-5000}
PUSHES=${BENCH_GC_PUSHES:-1000}
STORES=" ${BENCH_GC_STORES-fs s3 distribution} "
ROUNDS=${BENCH_GC_PUSH_ROUNDS-1 2}
INTERVAL=${BENCH_GC_INTERVAL:-100ms}

# shellcheck source=lib.sh
. "$root/bench/lib.sh"
for t in minio distribution-registry curl python3; do need "$t"; done
cargo build --release --locked -q
BERTH=$root/target/release/berth
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; [[ -n ${BENCH_KEEP:-} ]] || rm -rf "$work"; }
trap cleanup EXIT
load() { python3 "$root/bench/gc_load.py" "$@"; }

# berth_serve NAME [CONFIG]: Berth on $work/NAME; sets url, pat, berth_args (for berth gc).
berth_serve() {
  local name=$1 config=${2:-} port
  port=$(free_port)
  berth_args=(--data-dir "$work/$name")
  [[ -n $config ]] && berth_args+=(--config "$config")
  start "$name" env RUST_LOG=warn AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET \
    "$BERTH" registry serve --single-host --listen "127.0.0.1:$port" "${berth_args[@]}"
  url=http://127.0.0.1:$port
  wait_http "$url/readyz"
  sign_in "$name" "$url"
  pat=$(grep -m1 '^bpat_' "$work/$name.log")
}

# berth_gc ARGS: one collection of the last berth_serve's store; prints "SECONDS|LINE".
berth_gc() {
  local t0 out
  t0=$(date +%s.%N)
  out=$(env AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET "$BERTH" gc "${berth_args[@]}" "$@" | tail -1)
  echo "$(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')")|$out"
}

rows=()
# 1a. Berth, filesystem.
if [[ $STORES == *" fs "* ]]; then
berth_serve fs
load fill "$url" "admin:$pat" "$MANIFESTS" "$STRAYS" "$work/strays-fs"
sleep 3 # past the grace period (1 s) and the second S3 times are counted to
IFS='|' read -r secs line <<<"$(berth_gc --grace 1s)"
rows+=("Berth, filesystem (online)|$secs|$line")
kill "$started_pid"
fi

# 1b. Berth, MinIO.
if [[ $STORES == *" s3 "* ]]; then
start_minio
s3 -X PUT -o /dev/null "$minio/berth"
berth_s3_config "$work/berth-s3.yaml"
berth_serve s3 "$work/berth-s3.yaml"
load fill "$url" "admin:$pat" "$MANIFESTS" "$STRAYS" "$work/strays-s3"
sleep 3
IFS='|' read -r secs line <<<"$(berth_gc --grace 1s)"
rows+=("Berth, MinIO (online)|$secs|$line")
kill "$started_pid"
fi

# 1c. distribution v3, filesystem, collected while stopped.
if [[ $STORES == *" distribution "* ]]; then
port=$(free_port)
distribution_fs_config "$work/distribution.yml" "$work/distribution" "$port"
start distribution distribution-registry serve "$work/distribution.yml"
wait_http "http://127.0.0.1:$port/v2/"
load fill "http://127.0.0.1:$port" - "$MANIFESTS" "$STRAYS" "$work/strays-distribution"
kill "$started_pid"
wait "$started_pid" 2>/dev/null || true
blob_bytes() { find "$work/distribution/docker/registry/v2/blobs" -type f -name data -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
before=$(blob_bytes)
t0=$(date +%s.%N)
distribution-registry garbage-collect --delete-untagged "$work/distribution.yml" >"$work/distribution-gc.log" 2>&1
secs=$(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')")
removed=$(grep -c 'blob eligible for deletion' "$work/distribution-gc.log" || true)
rows+=("distribution v3, filesystem (stopped)|$secs|removed $removed blobs ($((before - $(blob_bytes))) bytes)")
fi

# 2. Pushes while the server collects garbage every INTERVAL, against one that never does.
cat >"$work/gc-on.yaml" <<YAML
apiVersion: berth.dev/v1alpha1
kind: Registry
metadata: {name: bench}
spec:
  garbageCollection: {interval: $INTERVAL, gracePeriod: 1s}
YAML
cat >"$work/gc-off.yaml" <<'YAML'
apiVersion: berth.dev/v1alpha1
kind: Registry
metadata: {name: bench}
spec:
  garbageCollection: {enabled: false}
YAML
# metric NAME: the sum of a counter's samples on the last berth_serve's /metrics.
metric() { curl -sf "$url/metrics" | awk -v m="$1" '$1 ~ "^"m"({|$)" {s += $2} END {print s + 0}'; }
push_round() { # NAME GC(on|off): BENCH_GC_PUSHES pushes; prints "PUSHES_PER_S|P99_MS|RUNS|GC_SECONDS|WALL"
  berth_serve "$1" "$work/gc-$2.yaml"
  load pushes "$url" "admin:$pat" "$PUSHES" "$1" "$work/$1.pushes"
  local runs secs
  runs=$(metric berth_gc_runs_total)
  secs=$(metric berth_gc_duration_seconds_total)
  kill "$started_pid"
  python3 - "$work/$1.pushes" "$runs" "$secs" <<'PY'
import sys
lines = open(sys.argv[1]).read().split()
wall, t = float(lines[0]), sorted(float(x) for x in lines[1:])
print(f"{len(t) / wall:.0f}|{t[min(len(t) - 1, int(len(t) * 0.99))] * 1000:.1f}|{sys.argv[2]}|{float(sys.argv[3]):.1f}|{wall:.1f}")
PY
}
on=() off=()
for round in $ROUNDS; do
  off+=("$(push_round "off-$round" off)")
  on+=("$(push_round "on-$round" on)")
done

mkdir -p bench/results
{
  echo "# Garbage collection benchmark run $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Machine: $(nproc) cores. Store: $MANIFESTS tagged images (config + 3 layers of 1 KiB; $((MANIFESTS * 5)) blobs with the manifests) over 10 repositories, and $STRAYS unreferenced blobs of 1 KiB ($((STRAYS * 1024)) bytes). Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "| store | collection (s) | what it printed |"
  echo "|---|---|---|"
  for r in "${rows[@]}"; do IFS='|' read -r name secs line <<<"$r"; echo "| $name | $secs | $line |"; done
  echo
  [[ ${#on[@]} -gt 0 ]] || exit 0
  echo "$PUSHES pushes (HEAD, upload config and 3 layers, PUT manifest), 8 at a time, Berth on the filesystem; \"on\": the server collects garbage every $INTERVAL (grace 1 s; a run that takes longer is followed at once by the next), \"off\": never."
  echo
  echo "| round | pushes/s, gc off | p99 ms, off | pushes/s, gc on | p99 ms, on | collections during the pushes | their seconds / the run's |"
  echo "|---|---|---|---|---|---|---|"
  for i in "${!on[@]}"; do
    IFS='|' read -r r0 p0 _ _ _ <<<"${off[$i]}"; IFS='|' read -r r1 p1 runs secs wall <<<"${on[$i]}"
    echo "| $((i + 1)) | $r0 | $p0 | $r1 | $p1 | $runs | $secs / $wall |"
  done
  python3 - "${off[*]}" "${on[*]}" <<'PY'
import sys
off = [tuple(map(float, x.split("|")[:2])) for x in sys.argv[1].split()]
on = [tuple(map(float, x.split("|")[:2])) for x in sys.argv[2].split()]
mean = lambda xs: sum(xs) / len(xs)
print()
print(f"- throughput with GC running: {mean([r for r, _ in on]) / mean([r for r, _ in off]):.2f}x without (target >= 0.9x)")
print(f"- push p99 with GC running: {mean([p for _, p in on]) / mean([p for _, p in off]):.2f}x without (target <= 1.2x)")
PY
} | tee bench/results/gc.md
