#!/usr/bin/env bash
# The README's first command: install into .venv, install the model, run the station's demo.
# Extra arguments go to `station demo` (e.g. --fast, --source FILE, --port 8081).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${STATION_SHARED:-../shared}
PY=${PYTHON:-python3}

[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[video]'
# the model's file name is written once, in station/pose/modelfile.py
MODEL=$(.venv/bin/python -c 'from station.pose.modelfile import LIGHTNING_INT8; print(LIGHTNING_INT8.filename)')
if [ -f "$SHARED/models/$MODEL" ]; then
  .venv/bin/station model fetch --from "$SHARED/models/$MODEL"   # offline copy, verified
else
  .venv/bin/station model fetch                                  # download, verified
fi
exec .venv/bin/station demo "$@"
