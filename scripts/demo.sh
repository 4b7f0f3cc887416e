#!/usr/bin/env bash
# The README's first command: install into .venv, install the model, run the station's demo.
# Extra arguments go to `station demo` (e.g. --fast, --source FILE, --port 8081).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${STATION_SHARED:-../shared}
PY=${PYTHON:-python3}
MODEL=movenet_singlepose_lightning_int8_v4.tflite

[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[video]'
if [ -f "$SHARED/models/$MODEL" ]; then
  .venv/bin/station model fetch --from "$SHARED/models/$MODEL"   # offline copy, verified
else
  .venv/bin/station model fetch                                  # download, verified
fi
exec .venv/bin/station demo "$@"
