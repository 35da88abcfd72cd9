#!/usr/bin/env bash
# The packages REST API (issue 11), all on this machine in one run:
#
#   bench/api.sh                  (make bench runs it)
#   BENCH_VERSIONS=10000 BENCH_WRK_SECONDS=10 bench/api.sh
#
# Measures: (a) listing every version of a package with BENCH_VERSIONS versions
# (`per_page=100`, every page, one after another as `octokit.paginate` does: seconds),
# on filesystem storage and on MinIO; (b) manifest GETs/s by tag (wrk, 32 connections)
# with download counting on, against the same binary with `--no-download-counts`, each
# on its own fresh data dir, interleaved twice; (c) `GET /api/v3/user/packages/container/{name}`
# at 32 connections (req/s, p99). Writes bench/results/api.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH=$root/.tools/bin:$PATH
VERSIONS=${BENCH_VERSIONS:-10000}

# shellcheck source=lib.sh
. "$root/bench/lib.sh"
for t in minio wrk curl python3; do need "$t"; done
cargo build --release --locked -q
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

printf '{}' >"$work/config.json"
config_digest=sha256:$(sha256sum "$work/config.json" | cut -d' ' -f1)
cat >"$work/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$config_digest","size":2},"layers":[]}
JSON

# serve NAME ARGS...: starts Berth with ARGS on a fresh port; sets `url`, signs in
serve() {
  local name=$1; shift
  local port
  port=$(free_port)
  start "$name" env RUST_LOG=warn AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET \
    target/release/berth registry serve --single-host --listen "127.0.0.1:$port" "$@"
  url=http://127.0.0.1:$port
  wait_http "$url/readyz"
  sign_in "$name" "$url"
  pat=$(grep -m1 '^bpat_' "$work/$name.log")
}

# versions N: pushes N distinct image manifests to bench/app by digest, 16 at a time
# (the first 10 also tagged), signed in with the admin's PAT (Basic: registry tokens
# expire within the run).
versions() {
  push_blob "$url" "$work/config.json" "$config_digest" >/dev/null
  python3 - "$url" "$pat" "$work/manifest.json" "$1" <<'PY'
import base64, hashlib, json, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
url, pat, manifest, n = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3])), int(sys.argv[4])
auth = "Basic " + base64.b64encode(f"admin:{pat}".encode()).decode()
def put(i):
    body = json.dumps({**manifest, "annotations": {"n": str(i)}}).encode()
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    for ref in [digest] + ([f"v{i}"] if i < 10 else []):
        req = urllib.request.Request(f"{url}/v2/bench/app/manifests/{ref}", data=body, method="PUT",
            headers={"Authorization": auth,
                     "Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        with urllib.request.urlopen(req) as r:
            assert r.status == 201, r.status
with ThreadPoolExecutor(16) as pool:
    list(pool.map(put, range(n)))
PY
}

# list_all: pages through every version with per_page=100; prints "seconds|versions|pages"
list_all() {
  python3 - "$url" "$pat" <<'PY'
import json, re, sys, time, urllib.request
url, pat = sys.argv[1], sys.argv[2]
nxt = f"{url}/api/v3/users/bench/packages/container/app/versions?per_page=100"
seen, pages, t0 = set(), 0, time.monotonic()
while nxt:
    req = urllib.request.Request(nxt, headers={"Authorization": f"token {pat}"})
    with urllib.request.urlopen(req) as r:
        seen.update(v["id"] for v in json.load(r))
        m = re.search(r'<([^>]+)>; rel="next"', r.headers.get("link") or "")
    nxt = m.group(1) if m else None
    pages += 1
print(f"{time.monotonic() - t0:.2f}|{len(seen)}|{pages}")
PY
}

# wrk_get NAME PATH AUTH...: wrk at 32 connections; prints "rps|p99"
wrk_get() {
  local name=$1 path=$2; shift 2
  local out
  out=$(wrk -t2 -c"$WRK_CONNECTIONS" -d"${WRK_SECONDS}s" --latency "$@" "$url$path")
  if grep -q 'Non-2xx' <<<"$out"; then echo "bench: $name answered errors to wrk: $out" >&2; exit 1; fi
  printf '%s|%s\n' "$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")"
}

# --- (a) on filesystem storage, and (c) on the same package
serve fs --data-dir "$work/fs"
t0=$(date +%s.%N)
versions "$VERSIONS"
fs_push=$(python3 -c "import time; print(f'{time.time() - $t0:.1f}')")
fs_list=$(list_all)
pkg_get=$(wrk_get fs /api/v3/users/bench/packages/container/app -H "Authorization: token $pat")
kill "$started_pid"

# --- (a) on MinIO
start_minio
s3 -X PUT -o /dev/null "$minio/berth"
berth_s3_config "$work/s3.yaml"
serve s3 --config "$work/s3.yaml" --data-dir "$work/s3-state"
t0=$(date +%s.%N)
versions "$VERSIONS"
s3_push=$(python3 -c "import time; print(f'{time.time() - $t0:.1f}')")
s3_list=$(list_all)
kill "$started_pid"

# --- (b) manifest GETs by tag, counting on and off, interleaved
gets=()
for round in 1 2; do
  for mode in on off; do
    flag=(); [[ $mode == off ]] && flag=(--no-download-counts)
    serve "gets-$mode-$round" --data-dir "$work/gets-$mode-$round" "${flag[@]}"
    manifest_gets "gets-$mode" "$url"
    gets+=("$mode|$rps|$p99")
    kill "$started_pid"
  done
done

mkdir -p bench/results
{
  echo "# API benchmark run $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Machine: $(nproc) cores; $VERSIONS versions (10 tagged), pushed by digest 16 at a time; wrk $WRK_CONNECTIONS connections for $WRK_SECONDS s."
  echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "| storage | push $VERSIONS manifests (s) | list every version, per_page=100 (s) | versions seen | pages |"
  echo "|---|---|---|---|---|"
  IFS='|' read -r s n p <<<"$fs_list"; echo "| filesystem | $fs_push | $s | $n | $p |"
  IFS='|' read -r s n p <<<"$s3_list"; echo "| MinIO | $s3_push | $s | $n | $p |"
  echo
  echo "| manifest GET by tag | req/s | p99 |"
  echo "|---|---|---|"
  for g in "${gets[@]}"; do IFS='|' read -r m r q <<<"$g"; echo "| counting $m | $r | $q |"; done
  echo
  IFS='|' read -r r q <<<"$pkg_get"
  echo "GET /api/v3/users/bench/packages/container/app (package of $VERSIONS versions): $r req/s, p99 $q."
  echo
  python3 - "$fs_list" "$s3_list" "${gets[@]}" <<'PY'
import sys
fs, s3 = (float(a.split("|")[0]) for a in sys.argv[1:3])
rates = {"on": [], "off": []}
for g in sys.argv[3:]:
    mode, rps, _ = g.split("|")
    rates[mode].append(float(rps))
on, off = sum(rates["on"]) / 2, sum(rates["off"]) / 2
print(f"- listing: {fs:.2f} s on filesystem (target <= 2 s), {s3:.2f} s on MinIO (target <= 5 s)")
print(f"- manifest GETs with counting: {on / off:.2f}x the same binary without (target >= 0.95x; means of two interleaved runs)")
PY
} | tee bench/results/api.md
