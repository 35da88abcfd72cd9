#!/usr/bin/env bash
# Berth's container image, built with podman from scratch (see Containerfile).
#
#   scripts/image.sh build [IMAGE]        IMAGE defaults to localhost/berth:VERSION
#   scripts/image.sh push IMAGE [FLAG...] pushes the built image there (podman push flags,
#                                         such as --tls-verify=false or --creds USER:PAT);
#                                         BERTH_IMAGE_LOCAL names another local image
#
# BERTH_IMAGE_PROFILE picks the cargo profile (release); BERTH_IMAGE_BINARY takes a
# berth binary already built instead (the README's test command passes the one its tests
# run, so CI compiles berth once). The build context is target/image/ (git-ignored).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
log() { printf '[image] %s\n' "$*" >&2; }
need() {
  command -v "$1" >/dev/null || { log "$1 is missing: run scripts/tools.sh image"; exit 1; }
}

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
default_image=localhost/berth:$version
source_url=${BERTH_IMAGE_SOURCE:-https://github.com/berth-dev/berth}

build() {
  local image=${1:-$default_image} profile=${BERTH_IMAGE_PROFILE:-release}
  need podman
  need strip
  local revision
  revision=$(git rev-parse HEAD 2>/dev/null || echo "${BERTH_GIT_REVISION:-unknown}")
  # A tree with uncommitted changes is not the revision it names.
  if [[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]]; then
    revision+="-dirty"
  fi
  local dir out
  dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
  if [[ -n ${BERTH_IMAGE_BINARY:-} ]]; then
    out=$BERTH_IMAGE_BINARY
    log "building the image of berth $version ($revision) from $out"
  else
    log "building berth $version ($revision) with the $profile profile"
    cargo build --locked --profile "$profile" --bin berth
    out=$dir/$([[ $profile == dev ]] && echo debug || echo "$profile")/berth
  fi
  local ctx=$dir/image
  rm -rf "$ctx"
  mkdir -p "$ctx/rootfs/usr/bin" "$ctx/rootfs/etc/ssl/certs" "$ctx/data"
  strip -o "$ctx/rootfs/usr/bin/berth" "$out"

  # The shared libraries the binary links (glibc, libgcc_s) and the loader, at the
  # paths the binary asks for.
  local lib
  for lib in $(ldd "$out" | grep -o '/[^ ]*'); do
    mkdir -p "$ctx/rootfs$(dirname "$lib")"
    cp -L "$lib" "$ctx/rootfs$lib"
  done
  [[ -f /etc/ssl/certs/ca-certificates.crt ]] ||
    { log "the CA bundle is missing: run scripts/tools.sh image"; exit 1; }
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/rootfs/etc/ssl/certs/"
  printf 'berth:x:65532:65532:berth:/data:/usr/sbin/nologin\n' >"$ctx/rootfs/etc/passwd"
  printf 'berth:x:65532:\n' >"$ctx/rootfs/etc/group"
  cp Containerfile "$ctx/Containerfile"

  podman build --quiet --file "$ctx/Containerfile" --tag "$image" \
    --build-arg VERSION="$version" --build-arg REVISION="$revision" \
    --build-arg SOURCE="$source_url" "$ctx" >/dev/null
  local size
  size=$(podman image inspect --format '{{.Size}}' "$image")
  log "built $image: $((size / 1024 / 1024)) MiB ($size bytes)"
}

push() {
  local image=${1:?usage: scripts/image.sh push REGISTRY/NAME:TAG [podman push flags]}
  shift
  need podman
  local local_image=${BERTH_IMAGE_LOCAL:-$default_image}
  podman image exists "$local_image" ||
    { log "$local_image is not built: run make image"; exit 1; }
  podman push "$@" "$local_image" "docker://$image"
  log "pushed $local_image to $image"
}

case ${1:-} in
  build) shift; build "$@" ;;
  push) shift; push "$@" ;;
  *) log "usage: scripts/image.sh build [IMAGE] | push IMAGE [FLAG...]"; exit 2 ;;
esac
