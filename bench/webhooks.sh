#!/usr/bin/env bash
# Webhooks (issue 14), all on this machine in one run:
#
#   bench/webhooks.sh               (make bench runs it)
#   BENCH_PUSHES=1000 bench/webhooks.sh
#   BENCH_ROUNDS=1 BENCH_KEEP=1 bench/webhooks.sh   (one round; keep the temp dir and logs)
#
# BENCH_PUSHES manifest pushes (distinct versions, 8 at a time) into an organization's
# package whose one webhook listens for `package` (one delivery per push), to a receiver
# on this machine that checks every signature. Measures the latency from each push's 201
# to its delivery's receipt (p50/p99), that every push is delivered (none lost), and the
# push's p99 with the webhook against the same binary with none, interleaved (on, off, then off, on) over BENCH_ROUNDS (default "1 2").
# Writes bench/results/webhooks.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH=$root/.tools/bin:$PATH
PUSHES=${BENCH_PUSHES:-1000}

# shellcheck source=lib.sh
. "$root/bench/lib.sh"
for t in curl python3; do need "$t"; done
cargo build --release --locked -q
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; [[ -n ${BENCH_KEEP:-} ]] || rm -rf "$work"; }
trap cleanup EXIT

printf '{}' >"$work/config.json"
config_digest=sha256:$(sha256sum "$work/config.json" | cut -d' ' -f1)
cat >"$work/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$config_digest","size":2},"layers":[]}
JSON
hook_secret=bench-hook-secret

# The receiver: answers 200 to a delivery whose signature is right (else 400), and
# writes "RECEIPT_TIME DIGEST" for each to receipts.
receiver_port=$(free_port)
start receiver python3 "$root/bench/webhooks_receiver.py" "$receiver_port" "$hook_secret" "$work/receipts"
receiver_pid=$started_pid
wait_http "http://127.0.0.1:$receiver_port/ready"

# serve NAME HOOK(on|off): Berth on a fresh data dir, whose organization `bench` has the
# webhook (on) or none (off); sets `url` and `pat`.
serve() {
  local name=$1 hook=$2 port
  port=$(free_port)
  mkdir -p "$work/$name/policy"
  printf '%s\n' "$hook_secret" >"$work/$name/policy/hook-secret"
  {
    printf 'apiVersion: berth.dev/v1alpha1\nkind: Organization\nmetadata: {name: bench}\nspec:\n  owners: [admin]\n'
    if [[ $hook == on ]]; then
      printf '  webhooks:\n    - {url: "http://127.0.0.1:%s/hook", secretFile: hook-secret, events: [package]}\n' "$receiver_port"
    fi
  } >"$work/$name/policy/bench.yaml"
  printf 'apiVersion: berth.dev/v1alpha1\nkind: Registry\nmetadata: {name: bench}\nspec:\n  webhooks: {allowPrivateTargets: true}\n' >"$work/$name/registry.yaml"
  start "$name" env RUST_LOG=warn target/release/berth registry serve --single-host \
    --listen "127.0.0.1:$port" --data-dir "$work/$name/data" --policy-dir "$work/$name/policy" --config "$work/$name/registry.yaml"
  url=http://127.0.0.1:$port
  wait_http "$url/readyz"
  sign_in "$name" "$url"
  pat=$(grep -m1 '^bpat_' "$work/$name.log")
}

# pushes NAME: BENCH_PUSHES distinct manifests to bench/app, 8 at a time; writes
# "201_TIME SECONDS DIGEST" per push to NAME.pushes.
pushes() {
  push_blob "$url" "$work/config.json" "$config_digest" >/dev/null
  python3 - "$url" "$pat" "$work/manifest.json" "$PUSHES" "$1" "$work/$1.pushes" <<'PY'
import base64, hashlib, http.client, json, sys, threading, time, urllib.parse
url, pat, manifest, n, name, out = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3])), int(sys.argv[4]), sys.argv[5], sys.argv[6]
auth = "Basic " + base64.b64encode(f"admin:{pat}".encode()).decode()
host = urllib.parse.urlparse(url).netloc
lines, lock, todo = [], threading.Lock(), iter(range(n))
def worker():
    conn = http.client.HTTPConnection(host)  # keep-alive, as a client's pushes are
    while True:
        with lock:
            i = next(todo, None)
        if i is None:
            return
        body = json.dumps({**manifest, "annotations": {"run": name, "n": str(i)}}).encode()
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        t0 = time.monotonic()
        conn.request("PUT", f"/v2/bench/app/manifests/{digest}", body=body, headers={
            "Authorization": auth, "Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        r = conn.getresponse()
        r.read()
        done, took = time.time(), time.monotonic() - t0
        if r.status != 201:
            sys.exit(f"bench: push {i} answered {r.status}")
        with lock:
            lines.append(f"{done:.6f} {took:.6f} {digest}")
threads = [threading.Thread(target=worker) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
if len(lines) != n:
    sys.exit(f"bench: {len(lines)} of {n} pushes answered")
open(out, "w").write("\n".join(lines) + "\n")
PY
}

# p99 NAME: the push p99 (ms) from NAME.pushes.
p99() {
  python3 - "$work/$1.pushes" <<'PY'
import sys
t = sorted(float(l.split()[1]) for l in open(sys.argv[1]))
print(f"{t[min(len(t) - 1, int(len(t) * 0.99))] * 1000:.1f}")
PY
}

on_p99=() off_p99=() on_cpu=() off_cpu=() receiver_cpu=()
for round in ${BENCH_ROUNDS:-1 2}; do
  # On first in odd rounds, off first in even ones (ABBA): whatever drifts during the
  # run (the filesystem's recently freed inodes after the build, other load) weighs on
  # both alike.
  order="on off"
  ((round % 2)) || order="off on"
  for mode in $order; do
    serve "$mode-$round" "$mode"
    berth_pid=$started_pid
    # CPU of Berth (and, with the webhook, of the receiver) from the first push to the
    # last delivery: what the pushes and their deliveries cost on these 2 cores.
    berth0=$(cpu_ticks "$berth_pid") receiver0=$(cpu_ticks "$receiver_pid")
    pushes "$mode-$round"
    if [[ $mode == on ]]; then
      # Every delivery, with a deadline: one that never arrives is a lost event.
      for _ in $(seq 600); do
        got=$(python3 -c 'import sys; d=set(l.split()[1] for l in open(sys.argv[1]) if l.strip()); w=set(l.split()[2] for l in open(sys.argv[2])); print(len(w & d))' "$work/receipts" "$work/$mode-$round.pushes" 2>/dev/null || echo 0)
        [[ $got -ge $PUSHES ]] && break
        sleep 0.1
      done
      cp "$work/$mode-$round.pushes" "$work/latency-$round.pushes"
      on_p99+=("$(p99 "$mode-$round")")
      on_cpu+=("$(($(cpu_ticks "$berth_pid") - berth0))")
      receiver_cpu+=("$(($(cpu_ticks "$receiver_pid") - receiver0))")
    else
      off_p99+=("$(p99 "$mode-$round")")
      off_cpu+=("$(($(cpu_ticks "$berth_pid") - berth0))")
    fi
    kill "$started_pid"
  done
done

mkdir -p bench/results
{
  echo "# Webhooks benchmark run $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Machine: $(nproc) cores; $PUSHES manifest pushes (new versions), 8 at a time over keep-alive connections, into an organization's package with one webhook (\`package\`) to a receiver on this machine that checks every signature; filesystem storage. Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  python3 - "$work/receipts" "$PUSHES" "${on_p99[*]}" "${off_p99[*]}" "${on_cpu[*]}" "${off_cpu[*]}" "${receiver_cpu[*]}" "$(getconf CLK_TCK)" "$work"/latency-*.pushes <<'PY'
import sys
receipts, n = sys.argv[1], int(sys.argv[2])
on, off = [float(x) for x in sys.argv[3].split()], [float(x) for x in sys.argv[4].split()]
tick_ms = 1000 / int(sys.argv[8])
# CPU ms per push: Berth with the webhook, Berth without, the receiver.
cpu = [[int(x) * tick_ms / n for x in a.split()] for a in sys.argv[5:8]]
got = {}
for l in open(receipts):
    if l.strip():
        t, d = l.split()
        got.setdefault(d, float(t))  # the first receipt (a retry could add another)
print("| round | pushes | delivered | lost | latency p50 (ms) | p99 (ms) | max (ms) | push p99, webhook on (ms) | push p99, none (ms) | Berth CPU ms per push, on / none | receiver CPU ms per delivery |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for i, path in enumerate(sys.argv[9:]):
    lat = []
    lost = 0
    for l in open(path):
        t, _, d = l.split()
        if d in got:
            lat.append((got[d] - float(t)) * 1000)
        else:
            lost += 1
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))]
    print(f"| {i + 1} | {n} | {len(lat)} | {lost} | {q(0.5):.1f} | {q(0.99):.1f} | {lat[-1]:.1f} | {on[i]} | {off[i]} | {cpu[0][i]:.2f} / {cpu[1][i]:.2f} | {cpu[2][i]:.2f} |")
print()
ratio = (sum(on) / len(on)) / (sum(off) / len(off))
print(f"- push p99 with the webhook: {ratio:.2f}x without (target <= 1.1x; means of the rounds, interleaved on-off, off-on)")
PY
} | tee bench/results/webhooks.md
