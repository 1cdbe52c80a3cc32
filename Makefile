# The two commands of the README: `make demo` (set up .venv, build the demo release) and
# `make test` (set up .venv, run the tests). Everything else is for development.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
OUT ?= out/demo

.PHONY: setup demo test lint format prefect-up prefect-down deploy-demo lock clean \
	labelstudio-install labelstudio-up labelstudio-down review-demo sync-reviews

setup:
	@scripts/setup_venv.sh

demo: setup
	$(BIN)/medsg build --out $(OUT)
	$(BIN)/medsg smoke-train --release $(OUT)

test: setup
	@PIP=$(BIN)/pip scripts/fetch_openi_reports.sh >/dev/null 2>&1 \
	  || echo "test: OpenI reports not fetched; the held-apart report test will skip"
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy --follow-imports=silent --ignore-missing-imports --cache-dir build/mypy-cache \
	  extractors/pet/report.py extractors/pet/sentences.py

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

# Expert review: a Label Studio server in its own venv (.venv-labelstudio), headless on
# 127.0.0.1:$${MEDSG_LS_PORT:-8089}, admin and token from the environment or generated into
# .labelstudio-local/credentials.env (scripts/label_studio.sh; `scripts/label_studio.sh env`).
REVIEW_CONFIG ?= medsg/configs/demo_review.yaml
REVIEW_OUT ?= out/demo-review

labelstudio-install:
	@scripts/label_studio.sh install

labelstudio-up:
	@scripts/label_studio.sh up

labelstudio-down:
	@scripts/label_studio.sh down

# Build the demo with review on and push the records chosen for review to the local server.
review-demo: setup labelstudio-up
	@eval "$$(scripts/label_studio.sh env)" && $(BIN)/medsg build --config $(REVIEW_CONFIG) --out $(REVIEW_OUT)

# Pull the reviews, merge them and republish $(REVIEW_OUT).
sync-reviews: setup
	@eval "$$(scripts/label_studio.sh env)" && $(BIN)/medsg sync-reviews --config $(REVIEW_CONFIG) --out $(REVIEW_OUT)

# Regenerate requirements.lock from a working .venv (after changing a pin in pyproject.toml).
lock:
	@{ grep '^#' requirements.lock; $(BIN)/pip freeze --exclude-editable \
	  | grep -viE '^(torchvision|argparse|triton|nvidia-|cuda-)' \
	  | sed 's/^torch==.*/torch==2.13.0/'; } > requirements.lock.tmp
	@mv requirements.lock.tmp requirements.lock && echo "requirements.lock updated"

clean:
	rm -rf out .prefect-local .pytest_cache
