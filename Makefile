# Customer Center — the two commands are `make dev` and `make test`.
# Everything they need is installed from this repository's own files:
# Rust crates by cargo, the AWS emulator and cfn-lint from infra/requirements.txt into .venv/.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VENV_STAMP := $(VENV)/.installed-$(shell sha256sum infra/requirements.txt | cut -c1-12)
CARGO ?= cargo
# Integration tests wait on the emulator, not the CPU: run more of them at once.
TEST_THREADS ?= 4

.PHONY: dev dev-reset test unit-test lint-template openapi package validate bench fmt lint clean venv

## dev: run the whole backend locally (emulator on 127.0.0.1:$${EMULATOR_PORT:-4566}, API on :$${PORT:-3000})
dev: venv
	$(CARGO) run --quiet -p devstack --bin devstack

## dev-reset: forget the local stack's data (tenants, keys, campaigns, leads)
dev-reset:
	rm -rf .devstack

## test: format check, unit tests, integration tests against the emulator, the OpenAPI check, clippy and cfn-lint
test: venv
	$(CARGO) fmt --all -- --check
	RUST_TEST_THREADS=$(TEST_THREADS) $(CARGO) test --workspace --all-targets
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/cfn-lint template.yaml
	@echo "make test: all checks passed"

## openapi: regenerate docs/openapi.json from the code
openapi:
	$(CARGO) run --quiet -p api --bin openapi > docs/openapi.json

## package: sam build offline (arm64, or x86_64 where the aarch64 target is missing); not part of make test
package:
	infra/package.sh

## validate: cfn-lint and sam validate --lint
validate:
	infra/validate.sh

## bench: criterion benchmarks (CPU, in-process), then the end-to-end import and SES events through the local stack
bench: venv
	$(CARGO) bench -p cc-domain
	$(CARGO) bench -p cc-store --bench ses_events_dynamo
	$(CARGO) run --quiet --profile stack-bench -p devstack --bin import-bench
	RUST_LOG=warn $(CARGO) run --quiet --profile stack-bench -p devstack --bin events-bench

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

venv: $(VENV_STAMP)

$(VENV_STAMP): infra/requirements.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r infra/requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

clean:
	$(CARGO) clean
	rm -rf $(VENV) .devstack
