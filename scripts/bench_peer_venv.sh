#!/usr/bin/env bash
# A benchmark-only virtual environment for `medsg bench reports --peer medspacy`.
#
# medspaCy 1.3.1 pins spacy<3.8, the project pins spacy 3.8: the peer gets its own venv
# (default .venv-bench, gitignored) so the project's pins stay as they are. The project's
# own code never imports medspacy; the bench runs the peer as a subprocess of this venv.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
venv="${1:-$here/.venv-bench}"
python="${PYTHON:-python3.11}"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet "medspacy==1.3.1" "spacy>=3.7,<3.8"
"$venv/bin/python" -c "import medspacy, spacy; print('medspacy', medspacy.__version__, 'spacy', spacy.__version__)"
