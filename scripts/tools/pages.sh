# The pages suite's browser (tests/pages/): Debian's Chromium, driven by playwright-core,
# with axe-core's accessibility rules, pinned by tests/pages/js/package-lock.json.
# Sourced by scripts/tools.sh, which provides BIN, STAMPS, TOOLS_DIR, log, debian; node
# and npm come from the api group's check (api_node).
#
#   .tools/pages/js  `npm ci` of tests/pages/js/package-lock.json: playwright-core (its
#                    browser downloads skipped: the tests launch /usr/bin/chromium) and
#                    axe-core
#
# Stamped with the SHA-256 of the lock file and node's version, like the api group.

EXTRA_TEST_GROUPS+=(pages)

group_pages() {
  debian chromium
  [[ -x /usr/bin/chromium ]] || { log "chromium is missing: apt-get install -y chromium"; exit 1; }
  command -v node >/dev/null && command -v npm >/dev/null ||
    { log "node and npm are missing: install Node.js 20+ (apt-get install -y nodejs npm)"; exit 1; }
  local src=$root/tests/pages/js dir=$TOOLS_DIR/pages/js want
  want="$(sha256sum "$src/package-lock.json" | cut -d' ' -f1) node-$(node --version)"
  if [[ -d $dir/node_modules && "$(cat "$STAMPS/pages-js" 2>/dev/null)" == "$want" ]]; then
    return
  fi
  log "installing tests/pages/js's npm packages into $dir (npm ci)"
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$src/package.json" "$src/package-lock.json" "$dir/"
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" >"$STAMPS/pages-js"
}
