#!/usr/bin/env bash
# Create or update .venv with the exact pins of requirements.lock (installed with --no-deps:
# the lock is the whole environment) and the project itself in editable mode.
# Idempotent: does nothing when the lock and pyproject.toml are unchanged since the last run,
# but for compiling the PET report reader once per version of its sources (mypyc, about 30 s;
# scripts/build_pet_reader.py).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
  echo "setup: Python 3.11 is required, $PYTHON is $("$PYTHON" --version 2>&1)" >&2
  exit 1
fi

stamp=.venv/.medsg-installed
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/medsg ]; then
  # the compiled PET report reader, once per version of its sources (a no-op when built)
  exec .venv/bin/python scripts/build_pet_reader.py
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
echo "setup: installing $(grep -c '==' requirements.lock) pinned packages into .venv (a few minutes the first time)"
log=.venv/pip-install.log
pip_install() {
  .venv/bin/pip install --disable-pip-version-check -q --no-deps "$@" >>"$log" 2>&1 \
    || { grep -v '^WARNING: Location' "$log" | tail -40 >&2; echo "setup: pip failed (log: $log)" >&2; exit 1; }
}
: >"$log"
# torch first, from the CPU wheel on disk (a bare requirement would pull a multi-GB CUDA build).
pip_install "$(grep '^torch==' requirements.lock)"
pip_install -r requirements.lock
pip_install -e .
.venv/bin/python -c "import torch, prefect, datasets, pydicom, webdataset, polars, pyarrow; print('setup: .venv ready: torch', torch.__version__, '| prefect', prefect.__version__, '| datasets', datasets.__version__)"
echo "$want" > "$stamp"
.venv/bin/python scripts/build_pet_reader.py
