# Shared by the benchmark scripts (sourced): starting servers and pushing blobs.
# The caller sets `work` (a temp dir) and `pids` (an array, killed on exit).

# The settings every benchmark shares (environment overrides).
SIZE_MIB=${BENCH_SIZE_MIB:-1024}
WRK_SECONDS=${BENCH_WRK_SECONDS:-10}
WRK_CONNECTIONS=32
REPEAT=${BENCH_REPEAT:-3}

# MinIO's credentials in the S3 benchmarks.
KEY=bench-key
SECRET=bench-secret-key

need() { command -v "$1" >/dev/null || { echo "bench: $1 is missing: run scripts/tools.sh bench s3" >&2; exit 1; }; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 300); do curl -sf -o /dev/null "$1" && return 0; sleep 0.05; done; echo "bench: $1 never answered" >&2; exit 1; }

# Credentials for the registry being measured: Berth requires sign-in (a Bearer token
# from its /token, as docker uses it, so the figures include verifying it); the peers
# run without auth. `sign_in` sets them; the functions and the callers' curl and wrk use
# them.
AUTH=()
WRK_AUTH=()

push_blob() { # URL FILE DIGEST -> seconds of the PUT
  local loc
  # Start every timed push from clean writeback: dirty pages a previous run left (a
  # registry that never fsyncs, a store still flushing) must not slow the next one.
  sync
  loc=$(curl -sS "${AUTH[@]}" -X POST -D - -o /dev/null "$1/v2/bench/app/blobs/uploads/" | awk 'tolower($1)=="location:" {print $2}' | tr -d '\r')
  case $loc in http*) ;; *) loc=$1$loc ;; esac
  local sep='?'; [[ $loc == *\?* ]] && sep='&'
  curl -sS -f "${AUTH[@]}" -o /dev/null -w '%{time_total}' -X PUT -H 'Content-Type: application/octet-stream' \
    -T "$2" "$loc${sep}digest=$3"
}

# sign_in NAME URL: the bootstrap admin token from NAME's log, then a registry token.
sign_in() {
  local pat bearer
  for _ in $(seq 200); do pat=$(grep -m1 '^bpat_' "$work/$1.log" || true); [[ -n $pat ]] && break; sleep 0.05; done
  [[ -n $pat ]] || { echo "bench: $1 printed no bootstrap token" >&2; exit 1; }
  bearer=$(curl -sS -u "admin:$pat" "$2/token?service=bench&scope=repository:bench/app:pull,push" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  AUTH=(-H "Authorization: Bearer $bearer")
  WRK_AUTH=(-H "Authorization: Bearer $bearer")
}

# manifest_gets NAME URL: pushes the benchmark manifest (config blob from $work), then wrk
# GETs it by tag; sets the caller's `rps` and `p99`.
manifest_gets() {
  local name=$1 url=$2 wrk_out
  push_blob "$url" "$work/config.json" "$config_digest" >/dev/null
  curl -sS -f "${AUTH[@]}" -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary @"$work/manifest.json" "$url/v2/bench/app/manifests/latest"
  wrk_out=$(wrk -t2 -c"$WRK_CONNECTIONS" -d"${WRK_SECONDS}s" --latency "${WRK_AUTH[@]}" \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$url/v2/bench/app/manifests/latest")
  rps=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$wrk_out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$wrk_out")
  if grep -q 'Non-2xx' <<<"$wrk_out"; then echo "bench: $name answered errors to wrk" >&2; exit 1; fi
}

# no_auth: the next registry runs without sign-in.
no_auth() { AUTH=(); WRK_AUTH=(); }

start() { # NAME CMD... ; sets started_pid
  local name=$1; shift
  "$@" >"$work/$name.log" 2>&1 &
  started_pid=$!
  pids+=("$started_pid")
}

# Blob GETs the way clients pull: BLOB_CONNECTIONS connections, one thread per connection.
BLOB_CONNECTIONS=10

# cpu_ticks PID: the process's user + system CPU time so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# blob_gets NAME URL DIGEST SIZE_BYTES PID: wrk GETs of one blob at BLOB_CONNECTIONS
# connections; prints "rps|p50|p99|MB/s|CPU seconds per GiB served" (CPU of PID, the
# server, over the run, from /proc/PID/stat).
blob_gets() {
  local name=$1 url=$2 digest=$3 size=$4 pid=$5 out t0 t1
  t0=$(cpu_ticks "$pid")
  out=$(wrk -t"$BLOB_CONNECTIONS" -c"$BLOB_CONNECTIONS" -d"${WRK_SECONDS}s" --timeout 30s --latency \
    "${WRK_AUTH[@]}" "$url/v2/bench/app/blobs/$digest")
  t1=$(cpu_ticks "$pid")
  if grep -q 'Non-2xx' <<<"$out"; then echo "bench: $name answered errors to wrk" >&2; exit 1; fi
  python3 - "$out" "$size" "$((t1 - t0))" "$(getconf CLK_TCK)" <<'PY'
import re, sys
out, size, ticks, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
reqs = int(re.search(r"(\d+) requests in", out).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
gib = reqs * size / 2**30
print(f"{rps:.0f}|{lat['50']}|{lat['99']}|{rps * size / 1e6:.0f}|{ticks / hz / gib:.2f}")
PY
}

# push_runs NAME URL PULL_PERCENT FIRST: wrk with bench/push.lua at BLOB_CONNECTIONS
# connections: PULL_PERCENT% GETs of the 1 MiB blob ($small_digest), the rest 1 MiB
# streamed pushes (POST, PATCH, PUT) of new blobs numbered from FIRST ($work/push.*);
# prints "pulls/s|pushes/s|ops/s".
push_runs() {
  local name=$1 url=$2 pct=$3 first=$4 out
  out=$(wrk -t"$BLOB_CONNECTIONS" -c"$BLOB_CONNECTIONS" -d"${WRK_SECONDS}s" --timeout 30s "${WRK_AUTH[@]}" \
    -s "$root/bench/push.lua" "$url" -- "$pct" bench/app "$small_digest" "$work/push.base" \
    "$work/push.digests" "$BLOB_CONNECTIONS" "$first")
  python3 - "$out" "$name" <<'PY'
import re, sys
out, name = sys.argv[1], sys.argv[2]
m = re.search(r"ops: pulls=(\d+) pushes=(\d+) wrapped=(\d+) errors=(\d+) seconds=([\d.]+)", out)
pulls, pushes, wrapped, errors = map(int, m.groups()[:4])
s = float(m.group(5))
if errors or wrapped:
    sys.exit(f"bench: {name}: {errors} failed requests, {wrapped} pushes past the blob list")
print(f"{pulls / s:.0f}|{pushes / s:.0f}|{(pulls + pushes) / s:.0f}")
PY
}

# push_payloads COUNT: $work/push.base (1 MiB less 16 bytes) and $work/push.digests, the
# digests of base + "%016d" % n for n < COUNT (the suffix last, so one hash state of the
# base serves every digest).
push_payloads() {
  head -c $((1024 * 1024 - 16)) /dev/urandom >"$work/push.base"
  python3 - "$work/push.base" "$1" >"$work/push.digests" <<'PY'
import hashlib, sys
base = hashlib.sha256(open(sys.argv[1], "rb").read())
for n in range(int(sys.argv[2])):
    h = base.copy()
    h.update(b"%016d" % n)
    print("sha256:" + h.hexdigest())
PY
}

# start_minio: MinIO on a fresh port with its data in $work/minio; sets `minio` (its URL).
start_minio() {
  local port
  port=$(free_port)
  minio=http://127.0.0.1:$port
  start minio env MINIO_ROOT_USER=$KEY MINIO_ROOT_PASSWORD=$SECRET MINIO_BROWSER=off \
    minio server --quiet --address "127.0.0.1:$port" --console-address 127.0.0.1:0 "$work/minio"
  wait_http "$minio/minio/health/ready"
}

# s3 CURL-ARGS...: curl signed as MinIO's root user.
s3() { curl -sS -f --aws-sigv4 "aws:amz:us-east-1:s3" --user "$KEY:$SECRET" "$@"; }

# berth_s3_config FILE: a Registry on the bucket `berth` of the running MinIO.
berth_s3_config() {
  cat >"$1" <<YAML
apiVersion: berth.dev/v1alpha1
kind: Registry
metadata: {name: bench}
spec:
  storage:
    s3: {bucket: berth, endpoint: '$minio', pathStyle: true}
YAML
}

# distribution_fs_config FILE DIR PORT: distribution's config on the filesystem at DIR.
distribution_fs_config() {
  cat >"$1" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage:
  cache: {blobdescriptor: inmemory}
  filesystem: {rootdirectory: $2}
  delete: {enabled: true}
http: {addr: 127.0.0.1:$3}
YAML
}
