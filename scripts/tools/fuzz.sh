# `make fuzz`'s tools: cargo-fuzz built from crates.io into .tools/bin, and a nightly
# toolchain (libFuzzer's coverage instrumentation needs -Z flags). Not a test group: the
# test suite replays the corpora on stable (registry/tests/fuzz_smoke.rs).
# Sourced by scripts/tools.sh, which provides BIN, STAMPS, TOOLS_DIR, log, go_tool, debian.

group_fuzz() {
  rustup toolchain list 2>/dev/null | grep -q '^nightly' || {
    log "make fuzz needs a nightly toolchain: rustup toolchain install nightly --profile minimal"
    exit 1
  }
  local want="cargo-fuzz@$CARGO_FUZZ_VERSION"
  if [[ -x $BIN/cargo-fuzz && "$(cat "$STAMPS/cargo-fuzz" 2>/dev/null)" == "$want" ]]; then
    return
  fi
  log "building $want"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$TOOLS_DIR" >&2
  echo "$want" >"$STAMPS/cargo-fuzz"
}
