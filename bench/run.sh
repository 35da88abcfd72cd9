#!/usr/bin/env bash
# Side-by-side benchmarks of Berth against distribution 2.8 (Debian's docker-registry)
# and distribution v3, all on filesystem storage on this machine, in one run, plus the
# machine's own limits (single-core SHA-256, loopback TCP).
#
#   bench/run.sh                  (make bench: installs the peers first)
#   BENCH_SIZE_MIB=1024 BENCH_WRK_SECONDS=10 bench/run.sh
#   BENCH_QUICK=1 bench/run.sh    (only the client-shaped runs (e)-(g), no big push/pull)
#
# Measures, per registry: (a) manifest GET by tag with wrk at 32 connections (req/s, p99),
# (b) monolithic push (POST + PUT) of a BENCH_SIZE_MIB blob (seconds), (c) pull of that
# blob (MB/s), (d) the server's RSS after the runs; and the way clients pull and push, at
# 10 connections: (e) blob GETs of 1, 10 and 100 MiB with wrk (req/s, p50, p99, MB/s, the
# server's CPU seconds per GiB served), (f) 1 MiB streamed pushes (POST, PATCH, PUT) of
# new blobs with wrk and bench/push.lua (pushes/s), (g) the same mixed 75% 1 MiB GETs /
# 25% pushes (operations/s). Writes bench/results/latest.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH=$root/.tools/bin:$PATH

need() { command -v "$1" >/dev/null || { echo "bench: $1 is missing: run scripts/tools.sh bench" >&2; exit 1; }; }
for t in docker-registry distribution-registry wrk iperf3 openssl curl; do need "$t"; done

# shellcheck source=lib.sh
. "$root/bench/lib.sh"
cargo build --release --locked -q
work=$(mktemp -d)
shm="" # the tmpfs data dir, once that run starts
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work" /dev/shm/berth-bench.*; }
trap cleanup EXIT

# --- the machine's limits
sha_mbs=$(openssl speed -evp sha256 -bytes 1048576 -seconds 3 2>/dev/null | awk '/^sha256/ {printf "%.0f", $2/1000}')
iperf3 -s -1 -B 127.0.0.1 -p 5299 >/dev/null 2>&1 &
sleep 0.3
# durable sequential write to the disk that holds the data dirs (direct I/O, no page cache)
disk_mbs=$(dd if=/dev/zero of="$work/dd.bin" bs=4M count=$((SIZE_MIB / 4)) oflag=direct 2>&1 |
  awk '/copied/ {for (i = 1; i <= NF; i++) if ($i == "s,") printf "%.0f", ($1 / $(i-1)) / 1e6}')
rm -f "$work/dd.bin"
# loopback TCP: MB/s, and the sender's CPU seconds per GiB sent (copying memory into a
# socket: the floor for serving a blob, with no file read at all)
read -r loop_mbs loop_cpu < <(iperf3 -c 127.0.0.1 -p 5299 -n "${SIZE_MIB}M" -J | python3 -c '
import json, sys
end = json.load(sys.stdin)["end"]
r = end["sum_received"]
print(round(r["bits_per_second"] / 8e6), "%.2f" % (end["cpu_utilization_percent"]["host_total"] / 100 * r["seconds"] / (r["bytes"] / 2**30)))')

# --- the payloads: a SIZE_MIB blob, and a small image manifest that tags
blob=$work/blob.bin
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$blob"
blob_digest=sha256:$(sha256sum "$blob" | cut -d' ' -f1)
cat "$blob" >/dev/null # in the page cache, so the client reads memory
# the blobs of the client-shaped GETs, and the payloads of the 1 MiB pushes
for mib in 1 10 100; do
  head -c "$((mib * 1024 * 1024))" /dev/urandom >"$work/blob-${mib}m.bin"
  declare "digest_${mib}m=sha256:$(sha256sum "$work/blob-${mib}m.bin" | cut -d' ' -f1)"
done
small_digest=$digest_1m
push_payloads 20000
printf '{}' >"$work/config.json"
config_digest=sha256:$(sha256sum "$work/config.json" | cut -d' ' -f1)
cat >"$work/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$config_digest","size":2},"layers":[]}
JSON

rss_mib() { awk '/^VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

bench_one() { # NAME PID URL
  local name=$1 pid=$2 url=$3
  local rps p99
  manifest_gets "$name" "$url"
  # the client-shaped runs: blob GETs at 10 connections, then pushes, then the mix
  local mib d gets=()
  for mib in 1 10 100; do
    d=digest_${mib}m
    push_blob "$url" "$work/blob-${mib}m.bin" "${!d}" >/dev/null
    gets+=("$(blob_gets "$name" "$url" "${!d}" $((mib * 1024 * 1024)) "$pid")")
  done
  sync
  local pushes mixed
  pushes=$(push_runs "$name" "$url" 0 0)
  sync
  mixed=$(push_runs "$name" "$url" 75 10000)
  (IFS='|'; echo "$name|${gets[*]}|$pushes|$mixed") >"$work/clients-$name"
  if [[ -n ${BENCH_QUICK:-} ]]; then
    printf '%s|%s|%s|%s|%s|%s\n' "$name" "$rps" "$p99" 0 0 "$(rss_mib "$pid")"
    return
  fi
  local best_push=999999 best_pull=0 s mbs
  for i in $(seq "$REPEAT"); do
    # a fresh repository each time, so every push stores the blob
    s=$(push_blob "$url" "$blob" "$blob_digest")
    best_push=$(python3 -c "print(min($best_push, $s))")
    mbs=$(curl -sS -f "${AUTH[@]}" -o /dev/null -w '%{speed_download}' "$url/v2/bench/app/blobs/$blob_digest")
    best_pull=$(python3 -c "print(max($best_pull, $mbs/1e6))")
    curl -sS "${AUTH[@]}" -o /dev/null -X DELETE "$url/v2/bench/app/blobs/$blob_digest" || true
    rm -rf "$work/data-$name/blobs" "$work/data-$name/docker/registry/v2/blobs" ${shm:+"$shm/blobs"} 2>/dev/null || true
  done
  printf '%s|%s|%s|%s|%s|%s\n' "$name" "$rps" "$p99" "$best_push" "$best_pull" "$(rss_mib "$pid")"
}

results=()
# distribution 2.8 and 3.x: the same config, each in its own directory
for peer in docker-registry distribution-registry; do
  port=$(free_port)
  mkdir -p "$work/data-$peer"
  distribution_fs_config "$work/$peer.yml" "$work/data-$peer" "$port"
  start "$peer" "$peer" serve "$work/$peer.yml"
  wait_http "http://127.0.0.1:$port/v2/"
  results+=("$(bench_one "$peer" "$started_pid" "http://127.0.0.1:$port")")
  kill "$started_pid"
  rm -rf "$work/data-$peer"
done
port=$(free_port)
start berth env RUST_LOG=warn target/release/berth registry serve --single-host --listen "127.0.0.1:$port" --data-dir "$work/data-berth"
wait_http "http://127.0.0.1:$port/livez"
sign_in berth "http://127.0.0.1:$port"
results+=("$(bench_one berth "$started_pid" "http://127.0.0.1:$port")")
kill "$started_pid"
rm -rf "$work/data-berth"
# The same binary with its data on tmpfs, where fsync costs nothing: the registry's own
# pipeline (receive, hash, write) without the disk's write speed.
shm=$(mktemp -d /dev/shm/berth-bench.XXXXXX)
port=$(free_port)
start berth-tmpfs env RUST_LOG=warn target/release/berth registry serve --single-host --listen "127.0.0.1:$port" --data-dir "$shm"
wait_http "http://127.0.0.1:$port/livez"
sign_in berth-tmpfs "http://127.0.0.1:$port"
results+=("$(bench_one berth-tmpfs "$started_pid" "http://127.0.0.1:$port")")
rm -rf "$shm"

mkdir -p bench/results
{
  echo "# Benchmark run $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); blob ${SIZE_MIB} MiB; wrk ${WRK_CONNECTIONS} connections for ${WRK_SECONDS} s; best of $REPEAT pushes/pulls."
  echo "Limits: SHA-256 on one core (openssl) ${sha_mbs} MB/s; loopback TCP (iperf3) ${loop_mbs} MB/s at ${loop_cpu} CPU s/GiB sent; durable disk write (dd oflag=direct) ${disk_mbs} MB/s."
  echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "Client-shaped runs, ${BLOB_CONNECTIONS} connections, ${WRK_SECONDS} s each (CPU: the server's user+system seconds per GiB served):"
  echo
  echo "| registry | 1 MiB GET req/s | p50 | p99 | 10 MiB GET req/s | p50 | p99 | 100 MiB GET MB/s | p50 | CPU s/GiB | 1 MiB push/s | 75/25 mix ops/s (pulls/s, pushes/s) |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  for r in "${results[@]}"; do
    IFS='|' read -r name _ <<<"$r"
    IFS='|' read -r _ r1 p1 q1 _ _ r10 p10 q10 _ _ _ p100 _ m100 c100 _ push _ mpull mpush mops <"$work/clients-$name"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s (%s, %s) |\n' \
      "$name" "$r1" "$p1" "$q1" "$r10" "$p10" "$q10" "$m100" "$p100" "$c100" "$push" "$mops" "$mpull" "$mpush"
  done
  echo
  python3 - "$work/clients-distribution-registry" "$work/clients-berth" "$loop_mbs" "$loop_cpu" <<'PY'
import sys
loop_mbs, loop_cpu = float(sys.argv[3]), float(sys.argv[4])
def ms(v):  # wrk prints 812.00us, 9.50ms, 1.20s
    v = str(v)
    for unit, f in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if v.endswith(unit):
            return float(v[: -len(unit)]) * f
d3 = open(sys.argv[1]).read().strip().split("|")
b = open(sys.argv[2]).read().strip().split("|")
f = lambda r, i: float(r[i])
print("Ratios, client-shaped runs (Berth vs distribution v3, and the machine):")
print(f"- 1 MiB GET: {f(b, 1) / f(d3, 1):.2f}x distribution v3's req/s (target >= 2x); p50 {ms(b[2]):.2f} ms (target <= 10 ms)")
print(f"- 10 MiB GET: {f(b, 6) / f(d3, 6):.2f}x distribution v3's req/s")
print(f"- 100 MiB GET: {f(b, 14) / f(d3, 14):.2f}x distribution v3's MB/s (target >= 1.1x), {f(b, 14) / loop_mbs:.0%} of loopback TCP;"
      f" CPU per GiB {f(b, 15):.2f} s = {f(b, 15) / f(d3, 15):.2f}x distribution v3's (target <= 1x), {f(b, 15) / loop_cpu:.2f}x iperf3's sender")
print(f"- 1 MiB streamed push: {f(b, 17) / f(d3, 17):.2f}x distribution v3's pushes/s (target >= 1.2x)")
print(f"- 75/25 mix: {f(b, 21) / f(d3, 21):.2f}x distribution v3's operations/s")
print()
PY
  [[ -n ${BENCH_QUICK:-} ]] && exit 0 # (leaves this block only)
  echo "| registry | manifest GET req/s | p99 | push ${SIZE_MIB} MiB (s) | push MB/s | pull MB/s | RSS after (MiB) |"
  echo "|---|---|---|---|---|---|---|"
  for r in "${results[@]}"; do
    IFS='|' read -r name rps p99 push pull rss <<<"$r"
    # (berth-tmpfs: the same binary, data dir on tmpfs)
    push_mbs=$(python3 -c "print(round($SIZE_MIB*1048576/1e6/$push))")
    printf '| %s | %s | %s | %.2f | %s | %.0f | %s |\n' "$name" "$rps" "$p99" "$push" "$push_mbs" "$pull" "$rss"
  done
  echo
  IFS='|' read -r _ d28_rps _ d28_push d28_pull d28_rss <<<"${results[0]}"
  IFS='|' read -r _ b_rps _ b_push b_pull b_rss <<<"${results[2]}"
  IFS='|' read -r _ _ _ t_push _ _ <<<"${results[3]}"
  python3 - "$d28_rps" "$d28_pull" "$d28_rss" "$b_rps" "$b_push" "$b_pull" "$b_rss" "$sha_mbs" "$SIZE_MIB" "$disk_mbs" "$t_push" <<'PY'
import sys
d_rps, d_pull, d_rss, b_rps, b_push, b_pull, b_rss, sha, size, disk, t_push = map(float, sys.argv[1:])
push_mbs = size * 1048576 / 1e6 / b_push
print("Ratios (Berth vs distribution 2.8 and the machine):")
print(f"- manifest GETs/s: {b_rps / d_rps:.1f}x distribution 2.8 (target >= 5x)")
print(f"- push: {push_mbs / sha:.0%} of single-core SHA-256 speed (target >= 70%); {push_mbs / disk:.0%} of the disk's durable write speed (Berth fsyncs before publishing)")
print(f"- push with the data on tmpfs: {size * 1048576 / 1e6 / t_push / sha:.0%} of single-core SHA-256 speed")
print(f"- pull: {b_pull / d_pull:.2f}x distribution 2.8 (target >= 1x)")
print(f"- RSS: {b_rss / d_rss:.2f}x distribution 2.8 (target <= 1x)")
PY
} | tee bench/results/latest.md
