# The two commands: `make run` and `make test`. Everything else is optional.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: run test lint bench synth clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The project itself is installed editable (--no-deps: the pins above are the dependencies), so
# analytics, the Lambda code and the CDK app import each other without touching sys.path.
$(VENV)/.runtime: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.runtime

## Start the dashboard on http://localhost:8501 (local backend unless AWS is configured), for
## this machine only; `make run ADDRESS=0.0.0.0` listens on every interface.
ADDRESS ?= 127.0.0.1
run: $(VENV)/.runtime
	$(BIN)/python -m analytics.ui.serve --address $(ADDRESS)

## Lint, check the layers and the types, run the whole test suite (the infra tests also drive
## the npm CDK CLI).
test: $(VENV)/.dev node_modules/.bin/cdk
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

## Print the performance figures quoted in the README.
bench: $(VENV)/.dev
	$(BIN)/python -m bench

## Synthesize the CloudFormation templates offline into infra/cdk/cdk.out (runs cdk-nag; no Docker).
## Without a certificate the stack refuses a public HTTP listener: this check synth says it may.
synth: $(VENV)/.dev node_modules/.bin/cdk
	cd infra/cdk && npx cdk synth -q -c allowInsecureHttp=true

node_modules/.bin/cdk: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

clean:
	rm -rf .data .pytest_cache .ruff_cache cdk.out infra/cdk/cdk.out
