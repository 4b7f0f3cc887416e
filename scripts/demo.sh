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
if .venv/bin/station demo --help >/dev/null 2>&1; then exec .venv/bin/station demo "$@"; fi
# foundation stage: no demo yet, show the pose stage on the peer image
exec .venv/bin/station pose "$SHARED/testdata/peer-tf-pose-estimation/image2.jpeg" --annotate pose-demo.png
