#!/usr/bin/env bash
# Installs or builds every external tool that Berth's tests and benchmarks use.
#
#   scripts/tools.sh [GROUP...]     groups: clients (default: all test groups), bench, all
#
# Go tools are built from the Go module proxy into .tools/bin (git-ignored; override
# with BERTH_TOOLS_DIR); Debian packages are installed with apt-get. Versions live in
# scripts/tools.versions. Idempotent: a tool already built at its pinned version is
# skipped, so a second run costs seconds.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools.versions
. "$root/scripts/tools.versions"
TOOLS_DIR=${BERTH_TOOLS_DIR:-$root/.tools}
BIN=$TOOLS_DIR/bin
STAMPS=$TOOLS_DIR/stamps
mkdir -p "$BIN" "$STAMPS"
export GOFLAGS=-buildvcs=false

log() { printf '[tools] %s\n' "$*" >&2; }

# go_tool NAME PACKAGE VERSION: `go install PACKAGE@VERSION`, installed as .tools/bin/NAME.
go_tool() {
  local name=$1 pkg=$2 version=$3
  local want="$pkg@$version"
  if [[ -x $BIN/$name && "$(cat "$STAMPS/$name" 2>/dev/null)" == "$want" ]]; then
    return
  fi
  command -v go >/dev/null || { log "go is missing: install Go 1.24+ (https://go.dev/dl)"; exit 1; }
  log "building $name from $want"
  local tmp
  tmp=$(mktemp -d)
  GOBIN=$tmp go install "$want"
  mv "$tmp/$(basename "$pkg")" "$BIN/$name"
  rm -rf "$tmp"
  echo "$want" >"$STAMPS/$name"
}

# debian PACKAGE...: installs the packages that dpkg does not already have.
debian() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return
  log "installing Debian packages: ${missing[*]}"
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null; }
}

group_clients() {
  debian $DEBIAN_CLIENTS
  go_tool crane github.com/google/go-containerregistry/cmd/crane "$CRANE_VERSION"
  go_tool oras oras.land/oras/cmd/oras "$ORAS_VERSION"
  go_tool regctl github.com/regclient/regclient/cmd/regctl "$REGCTL_VERSION"
  go_tool oci-conformance github.com/opencontainers/distribution-spec/conformance "$CONFORMANCE_VERSION"
}

group_bench() {
  debian $DEBIAN_BENCH
  go_tool distribution-registry github.com/distribution/distribution/v3/cmd/registry "$DISTRIBUTION_VERSION"
}

# Further groups live in scripts/tools/GROUP.sh and define group_GROUP.
for f in "$root"/scripts/tools/*.sh; do
  [[ -e $f ]] && . "$f"
done

# The groups the README's test command needs; `bench` is for `make bench` only.
TEST_GROUPS=(clients ${EXTRA_TEST_GROUPS[@]+"${EXTRA_TEST_GROUPS[@]}"})

groups=("$@")
[[ ${#groups[@]} -eq 0 ]] && groups=("${TEST_GROUPS[@]}")
[[ ${groups[0]} == all ]] && groups=("${TEST_GROUPS[@]}" bench)
for g in "${groups[@]}"; do
  declare -F "group_$g" >/dev/null || { log "unknown group: $g"; exit 2; }
  "group_$g"
done
log "ready: $(ls "$BIN" | tr '\n' ' ')"
