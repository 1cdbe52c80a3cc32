# The two commands of the README: `make demo` (set up .venv, build the demo release) and
# `make test` (set up .venv, run the tests). Everything else is for development.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
OUT ?= out/demo

.PHONY: setup demo test lint format prefect-up prefect-down deploy-demo lock clean

setup:
	@scripts/setup_venv.sh

demo: setup
	$(BIN)/medsg build --out $(OUT)
	$(BIN)/medsg smoke-train --release $(OUT)

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# A local Prefect server and process worker on 127.0.0.1, with the deployments of prefect.yaml.
prefect-up: setup
	@scripts/prefect_local.sh up

prefect-down:
	@scripts/prefect_local.sh down

deploy-demo: setup
	@scripts/prefect_local.sh run-demo

# Regenerate requirements.lock from a working .venv (after changing a pin in pyproject.toml).
lock:
	@{ grep '^#' requirements.lock; $(BIN)/pip freeze --exclude-editable \
	  | grep -viE '^(torchvision|argparse|triton|nvidia-|cuda-)' \
	  | sed 's/^torch==.*/torch==2.13.0/'; } > requirements.lock.tmp
	@mv requirements.lock.tmp requirements.lock && echo "requirements.lock updated"

clean:
	rm -rf out .prefect-local .pytest_cache
