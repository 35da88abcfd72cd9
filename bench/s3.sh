#!/usr/bin/env bash
# Berth against distribution v3 (its S3 driver) on one MinIO, with MinIO's own speed as
# the limit, all on this machine in one run.
#
#   bench/s3.sh                   (make bench runs it after bench/run.sh)
#   BENCH_SIZE_MIB=1024 BENCH_WRK_SECONDS=10 BENCH_REPEAT=3 bench/s3.sh
#
# Measures: (a) MinIO's raw PUT and GET of a BENCH_SIZE_MIB object with curl's own SigV4
# signing (the limit: the same client the registries get, one stream), once on the empty
# store and again right before each registry's push and pull of the same blob, since
# MinIO slows down as it fills (so each registry is compared with the limit in the same
# state); (b) per registry, a monolithic push (POST + PUT) and a pull of that blob with
# curl, best of BENCH_REPEAT;
# (c) manifest GET by tag with wrk at 32 connections; (d) the registry's CPU seconds per
# GiB pulled, with and without redirects (Berth's `redirect: true`; curl follows the 307).
# Writes bench/results/s3.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH=$root/.tools/bin:$PATH

# shellcheck source=lib.sh
. "$root/bench/lib.sh"
for t in minio distribution-registry wrk curl python3; do need "$t"; done
# BENCH_BERTH: another build of berth to measure (e.g. an older commit's, for a before/after).
BERTH=${BENCH_BERTH:-target/release/berth}
[[ -n ${BENCH_BERTH:-} ]] || cargo build --release --locked -q
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

best_min() { python3 -c "import sys; print(min(map(float, sys.argv[1:])))" "$@"; }
# CPU seconds (user + system) a process has used so far.
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.3f", ($14 + $15) / hz}' "/proc/$1/stat"; }

# --- MinIO, and its own speed for one SIZE_MIB object
start_minio
for b in raw distribution berth; do s3 -X PUT -o /dev/null "$minio/$b"; done

# One blob per repetition (they differ in their first bytes), so that every push
# publishes: a registry that already holds a blob need not store it again.
head -c "$((SIZE_MIB * 1024 * 1024 - 8))" /dev/urandom >"$work/random.bin"
for i in $(seq "$REPEAT"); do
  { printf '%08d' "$i"; cat "$work/random.bin"; } >"$work/blob-$i.bin"
  echo "sha256:$(sha256sum "$work/blob-$i.bin" | cut -d' ' -f1)" >"$work/blob-$i.digest"
done
rm "$work/random.bin"
blob=$work/blob-1.bin
raw_put=() raw_get=()
for _ in $(seq "$REPEAT"); do
  sync # as push_blob does before every timed push
  raw_put+=("$(s3 -o /dev/null -w '%{time_total}' -T "$blob" "$minio/raw/blob")")
  raw_get+=("$(s3 -o /dev/null -w '%{time_total}' "$minio/raw/blob")")
done
raw_put=$(best_min "${raw_put[@]}") raw_get=$(best_min "${raw_get[@]}")

# --- the payloads: a small image manifest that tags
printf '{}' >"$work/config.json"
config_digest=sha256:$(sha256sum "$work/config.json" | cut -d' ' -f1)
cat >"$work/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$config_digest","size":2},"layers":[]}
JSON

bench_one() { # NAME PID URL -> name|rps|p99|push s|pull s|cpu s per GiB pulled|raw put s|raw get s|cpu s per GiB pushed
  local name=$1 pid=$2 url=$3
  local rps p99
  manifest_gets "$name" "$url"
  local pushes=() pulls=() cpu=() push_cpu=() raw_puts=() raw_gets=() before after i digest
  for i in $(seq "$REPEAT"); do
    digest=$(cat "$work/blob-$i.digest")
    cat "$work/blob-$i.bin" >/dev/null # in the page cache, so the client reads memory
    # The limit in the store's current state: the same bytes to a new key, then back.
    sync
    raw_puts+=("$(s3 -o /dev/null -w '%{time_total}' -T "$work/blob-$i.bin" "$minio/raw/$pid-$i")")
    raw_gets+=("$(s3 -o /dev/null -w '%{time_total}' "$minio/raw/$pid-$i")")
    before=$(cpu_seconds "$pid")
    pushes+=("$(push_blob "$url" "$work/blob-$i.bin" "$digest")")
    after=$(cpu_seconds "$pid")
    push_cpu+=("$(python3 -c "print(($after - $before) * 1024 / $SIZE_MIB)")")
    before=$(cpu_seconds "$pid")
    # -L follows a redirect; curl sends the Authorization header to the registry only.
    pulls+=("$(curl -sS -f -L "${AUTH[@]}" -o /dev/null -w '%{time_total}' "$url/v2/bench/app/blobs/$digest")")
    after=$(cpu_seconds "$pid")
    cpu+=("$(python3 -c "print(($after - $before) * 1024 / $SIZE_MIB)")")
  done
  printf '%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "$name" "$rps" "$p99" "$(best_min "${pushes[@]}")" \
    "$(best_min "${pulls[@]}")" "$(best_min "${cpu[@]}")" "$(best_min "${raw_puts[@]}")" \
    "$(best_min "${raw_gets[@]}")" "$(best_min "${push_cpu[@]}")"
}

results=()
# distribution v3 with its S3 driver (the aws-sdk-go one), blob-descriptor cache in memory
port=$(free_port)
cat >"$work/distribution.yml" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage:
  cache: {blobdescriptor: inmemory}
  delete: {enabled: true}
  redirect: {disable: true}
  s3:
    accesskey: $KEY
    secretkey: $SECRET
    region: us-east-1
    regionendpoint: $minio
    bucket: distribution
    forcepathstyle: true
    secure: false
http: {addr: 127.0.0.1:$port}
YAML
start distribution distribution-registry serve "$work/distribution.yml"
wait_http "http://127.0.0.1:$port/v2/"
results+=("$(bench_one distribution "$started_pid" "http://127.0.0.1:$port")")
kill "$started_pid"

berth_config() { # REDIRECT -> a Registry file on the berth bucket
  cat >"$work/berth-$1.yaml" <<YAML
apiVersion: berth.dev/v1alpha1
kind: Registry
metadata: {name: bench}
spec:
  storage:
    s3: {bucket: berth, prefix: redirect-$1, endpoint: '$minio', pathStyle: true, redirect: $1}
YAML
  echo "$work/berth-$1.yaml"
}
for redirect in false true; do
  port=$(free_port)
  start "berth-$redirect" env RUST_LOG=warn AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET \
    "$BERTH" registry serve --single-host --listen "127.0.0.1:$port" \
    --config "$(berth_config $redirect)" --data-dir "$work/state-$redirect"
  wait_http "http://127.0.0.1:$port/readyz"
  sign_in "berth-$redirect" "http://127.0.0.1:$port"
  name=berth; [[ $redirect == true ]] && name="berth, redirect: true"
  results+=("$(bench_one "$name" "$started_pid" "http://127.0.0.1:$port")")
  kill "$started_pid"
done

mkdir -p bench/results
{
  echo "# S3 benchmark run $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); one MinIO (single drive, temp dir); blob ${SIZE_MIB} MiB; wrk ${WRK_CONNECTIONS} connections for ${WRK_SECONDS} s; best of $REPEAT."
  python3 -c "print(f'Limit on the empty store: MinIO raw PUT {$raw_put:.2f} s ({$SIZE_MIB*1048576/1e6/$raw_put:.0f} MB/s), raw GET {$raw_get:.2f} s ({$SIZE_MIB*1048576/1e6/$raw_get:.0f} MB/s), curl with SigV4, one stream. Each row has the same limit measured right before its own pushes and pulls.')"
  echo
  echo "| registry | manifest GET req/s | p99 | push (s) | raw PUT just before (s) | pull (s) | raw GET just before (s) | registry CPU s per GiB pulled | per GiB pushed |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for r in "${results[@]}"; do
    IFS='|' read -r name rps p99 push pull cpu rput rget pcpu <<<"$r"
    python3 -c "print(f'| $name | $rps | $p99 | {$push:.2f} | {$rput:.2f} | {$pull:.2f} | {$rget:.2f} | {$cpu:.2f} | {$pcpu:.2f} |')"
  done
  echo
  IFS='|' read -r _ d_rps _ d_push _ _ d_rput _ d_pcpu <<<"${results[0]}"
  IFS='|' read -r _ b_rps _ b_push b_pull b_cpu b_rput b_rget b_pcpu <<<"${results[1]}"
  IFS='|' read -r _ _ _ _ r_pull r_cpu _ r_rget _ <<<"${results[2]}"
  python3 - "$d_push" "$d_rput" "$d_rps" "$b_rps" "$b_push" "$b_rput" "$b_pull" "$b_rget" "$r_pull" "$r_rget" "$b_cpu" "$r_cpu" "$b_pcpu" "$d_pcpu" <<'PY'
import sys
d_push, d_rput, d_rps, b_rps, b_push, b_rput, b_pull, b_rget, r_pull, r_rget, b_cpu, r_cpu, b_pcpu, d_pcpu = map(float, sys.argv[1:])
print("Ratios (time / MinIO's raw time just before; target <= 1.25x):")
print(f"- push: {b_push / b_rput:.2f}x MinIO's raw PUT (distribution: {d_push / d_rput:.2f}x)")
print(f"- pull: {b_pull / b_rget:.2f}x MinIO's raw GET streamed through Berth; {r_pull / r_rget:.2f}x with redirects")
print(f"- manifest GETs/s: {b_rps / d_rps:.1f}x distribution v3 on S3 (target >= 2x)")
print(f"- registry CPU per GiB pulled: {b_cpu:.2f} s streamed, {r_cpu:.2f} s with redirects")
print(f"- registry CPU per GiB pushed: {b_pcpu:.2f} s (distribution: {d_pcpu:.2f} s)")
PY
} | tee bench/results/s3.md
