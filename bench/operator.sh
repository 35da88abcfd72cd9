#!/usr/bin/env bash
# The operator's benchmark: 1,000 Packages on a real control plane, and policy
# propagation into a registry pod. Writes bench/results/operator.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH=$root/.tools/bin:$PATH
cargo build --release --locked -q
mkdir -p bench/results
BERTH_BIN=$root/target/release/berth cargo run --release --locked -q --example operator_bench -- "${BENCH_PACKAGES:-1000}" |
  tee bench/results/operator.md
