#!/usr/bin/env bash
# The 3,955 OpenI report XMLs (a second, held-apart test set for extractors.reports): taken
# out of the torchxrayvision wheel, which ships them, into the gitignored .cache/openi/.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dest="$here/.cache/openi"
pip="${PIP:-pip}"
mkdir -p "$dest"
if [ ! -f "$dest/NLMCXR_reports.tgz" ]; then
  "$pip" download --no-deps -d "$dest" "torchxrayvision==1.5.7"
  (cd "$dest" && unzip -o -j -q torchxrayvision-1.5.7-py3-none-any.whl \
    torchxrayvision/data/NLMCXR_reports.tgz && rm -f torchxrayvision-1.5.7-py3-none-any.whl)
fi
ls -l "$dest/NLMCXR_reports.tgz"
