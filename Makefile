# The README's two commands are `make run` and `make test`; `.ci/run` calls `make test`.
CARGO ?= cargo
export PATH := $(CURDIR)/.tools/bin:$(PATH)

.PHONY: run test tools lint unit bench crds image push-image fuzz

## Run the registry on 127.0.0.1:5000 with ./berth-data (filesystem storage).
run:
	$(CARGO) run --release -- registry serve --single-host

## Install/build every tool the tests use, build the tests and the image of the berth
## binary they run (one compile of berth; `make image` is the release image), then run
## every test.
test: tools lint
	$(CARGO) test --workspace --all-targets --locked --no-run
	BERTH_IMAGE_BINARY=target/debug/berth scripts/image.sh build localhost/berth:test
	$(CARGO) test --workspace --all-targets --locked --no-fail-fast

tools:
	scripts/tools.sh

## Build Berth's container image, localhost/berth:VERSION, with podman from scratch.
image:
	scripts/tools.sh image
	scripts/image.sh build

## Push the built image: make push-image IMAGE=REGISTRY/NAME:TAG [PUSH_FLAGS='--creds U:PAT'].
push-image:
	scripts/image.sh push $(IMAGE) $(PUSH_FLAGS)

## Fuzz every parser target for FUZZ_TIME seconds each (default 300) with cargo-fuzz;
## `scripts/fuzz.sh merge` folds new coverage into fuzz/corpus/ (see docs/security.md).
fuzz:
	scripts/fuzz.sh run $(FUZZ_TARGETS)

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

## Side-by-side benchmarks against peer registries; results go to bench/results/.
bench:
	scripts/tools.sh bench s3
	bench/run.sh
	bench/operator.sh
	bench/s3.sh
	bench/api.sh
	bench/webhooks.sh
	bench/pages.sh
	bench/gc.sh
