# The README's two commands are `make run` and `make test`; `.ci/run` calls `make test`.
CARGO ?= cargo
export PATH := $(CURDIR)/.tools/bin:$(PATH)

.PHONY: run test tools lint unit bench crds

## Run the registry on 127.0.0.1:5000 with ./berth-data (filesystem storage).
run:
	$(CARGO) run --release -- registry serve --single-host

## Install/build every tool the tests use, then run every test.
test: tools lint
	$(CARGO) test --workspace --all-targets --locked --no-fail-fast

tools:
	scripts/tools.sh

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
