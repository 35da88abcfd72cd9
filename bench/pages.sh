#!/usr/bin/env bash
# Package pages (issue 12), on this machine:
#
#   bench/pages.sh                          (make bench runs it)
#   BENCH_PAGES_VERSIONS=200 bench/pages.sh (a smaller package)
#
# A public package of BENCH_PAGES_VERSIONS versions (1,000; every tenth tagged), pushed
# to Berth on the filesystem; then each page type at 8 connections (`wrk -t8 -c8`,
# BENCH_WRK_SECONDS each): the package page, the versions list's first page and a filtered
# page, a version's page, the home page. Server time is wrk's latency on loopback (the
# page's whole answer, no browser). Bytes are the page's HTML. Writes bench/results/pages.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH=$root/.tools/bin:$PATH
VERSIONS=${BENCH_PAGES_VERSIONS:-1000}

# shellcheck source=lib.sh
. "$root/bench/lib.sh"
for t in wrk curl python3; do need "$t"; done
cargo build --release --locked -q
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; [[ -n ${BENCH_KEEP:-} ]] || rm -rf "$work"; }
trap cleanup EXIT

port=$(free_port)
start berth env RUST_LOG=warn target/release/berth registry serve --single-host \
  --listen "127.0.0.1:$port" --data-dir "$work/data"
url=http://127.0.0.1:$port
wait_http "$url/readyz"
sign_in berth "$url"
pat=$(grep -m1 '^bpat_' "$work/berth.log")
python3 bench/gc_load.py versions "$url" "admin:$pat" "$VERSIONS" admin/app
# Public, as a GitOps tool would write it; the page answers 200 once it applies.
printf 'apiVersion: berth.dev/v1alpha1\nkind: Package\nmetadata: {name: admin.app}\nspec:\n  owner: admin\n  name: app\n  visibility: public\n' \
  >"$work/data/policy/.admin.app.yaml.tmp"
mv "$work/data/policy/.admin.app.yaml.tmp" "$work/data/policy/admin.app.yaml"
base=/users/admin/packages/container
for _ in $(seq 100); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' "$url$base/package/app") == 200 ]] && break
  sleep 0.1
done
version=$(curl -sf "$url$base/app/versions" | grep -o "href=\"$base/app/[0-9]*\"" | head -1 | grep -o '[0-9]*"$' | tr -d '"')

rows=()
for page in "home|/" "package|$base/package/app" "versions, page 1|$base/app/versions" \
  "versions, tagged, page 2|$base/app/versions?filters%5Bversion_type%5D=tagged&page=2" \
  "version|$base/app/$version?tag=v0"; do
  IFS='|' read -r name path <<<"$page"
  bytes=$(curl -sf "$url$path" | wc -c)
  out=$(wrk -t8 -c8 -d"${WRK_SECONDS}s" --latency "$url$path")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  rows+=("| $name | $bytes | $rps | $p50 | $p99 | ${non2xx:-0} |")
done

mkdir -p bench/results
{
  echo "# Pages benchmark run $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Machine: $(nproc) cores. A public package of $VERSIONS versions (every tenth tagged), filesystem storage; wrk -t8 -c8, ${WRK_SECONDS} s a page. Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "| page | bytes | req/s | p50 | p99 | non-2xx |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} | tee bench/results/pages.md
