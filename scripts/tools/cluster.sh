# The cluster harness's tools (e2e/): etcd, kube-apiserver, kubectl and helm.
# Sourced by scripts/tools.sh, which provides BIN, STAMPS, TOOLS_DIR, log, go_tool, debian.
#
# etcd and Kubernetes cannot be `go install`ed (their go.mod files carry replace directives),
# so each is built inside a small wrapper module under .tools/src/. The Kubernetes wrapper
# replaces every staging module (k8s.io/api, k8s.io/apiserver, ...) by its published v0.N.P
# release; the list is read from that Kubernetes version's own go.mod, so a version bump in
# tools.versions needs no edit here.

EXTRA_TEST_GROUPS+=(cluster)

# stamped NAME... WANT: true when every NAME is in .tools/bin and was built as WANT.
stamped() {
  local want=${*: -1} name
  for name in "${@:1:$#-1}"; do
    [[ -x $BIN/$name && "$(cat "$STAMPS/$name" 2>/dev/null)" == "$want" ]] || return 1
  done
}

# wrapper_dir NAME: an empty module directory .tools/src/NAME holding a fresh go.mod.
wrapper_dir() {
  local dir=$TOOLS_DIR/src/$1
  rm -rf "$dir"
  mkdir -p "$dir"
  (cd "$dir" && go mod init "berth.tools/$1" >/dev/null 2>&1)
  echo "$dir"
}

# staging_modules GOMOD: the modules that a Kubernetes go.mod replaces with ./staging/ trees.
staging_modules() {
  go mod edit -json "$1" | tr -d ' \t\n' |
    grep -o '"Old":{"Path":"[^"]*"},"New":{"Path":"\./staging/[^"]*"' |
    sed 's/^"Old":{"Path":"\([^"]*\)".*/\1/'
}

build_etcd() {
  local want="go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  stamped etcd "$want" && return
  log "building etcd from $want"
  local dir
  dir=$(wrapper_dir etcd)
  (
    cd "$dir"
    go get -tool "$want"
    CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$BIN/etcd" go.etcd.io/etcd/server/v3
  )
  echo "$want" >"$STAMPS/etcd"
}

build_kubernetes() {
  local want="k8s.io/kubernetes@$KUBERNETES_VERSION"
  stamped kube-apiserver kubectl "$want" && return
  log "building kube-apiserver and kubectl from $want"
  local dir gomod staging_version=${KUBERNETES_VERSION/#v1./v0.}
  dir=$(wrapper_dir kubernetes)
  gomod=$(go mod download -json "$want" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  [[ -f $gomod ]] || { log "could not download $want"; exit 1; }
  local modules
  modules=$(staging_modules "$gomod")
  [[ -n $modules ]] || { log "no staging replace directives in $gomod"; exit 1; }
  log "replacing $(wc -l <<<"$modules") staging modules with $staging_version"
  (
    cd "$dir"
    local m
    for m in $modules; do
      go mod edit -replace "$m=$m@$staging_version"
    done
    go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@$KUBERNETES_VERSION" \
      "k8s.io/kubernetes/cmd/kubectl@$KUBERNETES_VERSION"
    # What Kubernetes' own build stamps in, so `kubectl version` and helm see a real version.
    local minor=${KUBERNETES_VERSION#v1.}
    minor=${minor%%.*}
    local ldflags="-s -w" pkg
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1"
      ldflags+=" -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
    done
    CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$BIN/kube-apiserver" \
      k8s.io/kubernetes/cmd/kube-apiserver
    CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$BIN/kubectl" \
      k8s.io/kubernetes/cmd/kubectl
  )
  echo "$want" >"$STAMPS/kube-apiserver"
  echo "$want" >"$STAMPS/kubectl"
}

group_cluster() {
  # Never fetch another Go toolchain: build with the one on the machine.
  local -x GOTOOLCHAIN=local
  # setpriv (util-linux) ties the harness's processes to the test process's lifetime.
  debian util-linux
  command -v go >/dev/null || { log "go is missing: install Go 1.26+ (https://go.dev/dl)"; exit 1; }
  build_etcd
  build_kubernetes
  go_tool helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION"
}
