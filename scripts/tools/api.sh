# The REST API suite's clients (tests/api/): GitHub's own libraries, pinned by lock files.
# Sourced by scripts/tools.sh, which provides BIN, STAMPS, TOOLS_DIR, log, go_tool, debian.
#
#   .tools/api/js  `npm ci` of tests/api/js/package-lock.json: @octokit/rest, @octokit/openapi
#                  (GitHub's OpenAPI document), ajv and ajv-formats; @octokit/webhooks and
#                  @octokit/openapi-webhooks (the webhook suite's receiver)
#   .tools/api/py  a venv with tests/api/py/requirements.txt (githubkit and every dependency,
#                  exact versions with hashes: `pip install --require-hashes`)
#
# Each is stamped with the SHA-256 of its lock file and the runtime's version, so a second
# run returns at once and a changed lock (or runtime) reinstalls.

EXTRA_TEST_GROUPS+=(api)

# api_stamp NAME WANT: true when .tools/stamps/NAME holds WANT.
api_stamp() {
  [[ "$(cat "$STAMPS/$1" 2>/dev/null)" == "$2" ]]
}

api_node() {
  command -v node >/dev/null && command -v npm >/dev/null || debian nodejs npm
  command -v node >/dev/null && command -v npm >/dev/null ||
    { log "node and npm are missing: install Node.js 20+ (apt-get install -y nodejs npm)"; exit 1; }
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  ((major >= 20)) || { log "node $(node --version) is too old: @octokit/rest 22 needs Node.js 20+"; exit 1; }
  local src=$root/tests/api/js dir=$TOOLS_DIR/api/js
  local want
  want="$(sha256sum "$src/package-lock.json" | cut -d' ' -f1) node-$(node --version)"
  if [[ -d $dir/node_modules ]] && api_stamp api-js "$want"; then
    return
  fi
  log "installing tests/api/js's npm packages into $dir (npm ci)"
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$src/package.json" "$src/package-lock.json" "$dir/"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
  local pkg version expected
  for pkg in @octokit/rest=$OCTOKIT_REST_VERSION @octokit/openapi=$OCTOKIT_OPENAPI_VERSION \
    ajv=$AJV_VERSION ajv-formats=$AJV_FORMATS_VERSION \
    @octokit/webhooks=$OCTOKIT_WEBHOOKS_VERSION \
    @octokit/openapi-webhooks=$OCTOKIT_OPENAPI_WEBHOOKS_VERSION; do
    expected=${pkg##*=} pkg=${pkg%=*}
    version=$(node -p "require('$dir/node_modules/$pkg/package.json').version")
    [[ $version == "$expected" ]] ||
      { log "$pkg is $version in tests/api/js's lock, tools.versions says $expected"; exit 1; }
  done
  echo "$want" >"$STAMPS/api-js"
}

api_python() {
  # Debian's python3 (not a per-user one), so the venv survives a shell's PATH changes.
  local python=/usr/bin/python3
  [[ -x $python ]] && "$python" -c 'import venv, ensurepip' 2>/dev/null || debian python3 python3-venv
  [[ -x $python ]] || { log "python3 is missing: apt-get install -y python3 python3-venv"; exit 1; }
  local src=$root/tests/api/py/requirements.txt dir=$TOOLS_DIR/api/py
  local want
  want="$(sha256sum "$src" | cut -d' ' -f1) $("$python" --version 2>&1)"
  if [[ -x $dir/bin/python ]] && api_stamp api-py "$want"; then
    return
  fi
  log "installing tests/api/py's PyPI packages into $dir (pip --require-hashes)"
  rm -rf "$dir"
  "$python" -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check --no-deps --require-hashes \
    -r "$src"
  "$dir/bin/pip" check --disable-pip-version-check >/dev/null
  local version
  version=$("$dir/bin/python" -c 'import importlib.metadata as m; print(m.version("githubkit"))')
  [[ $version == "$GITHUBKIT_VERSION" ]] ||
    { log "githubkit is $version in tests/api/py's lock, tools.versions says $GITHUBKIT_VERSION"; exit 1; }
  echo "$want" >"$STAMPS/api-py"
}

group_api() {
  api_node
  api_python
}
