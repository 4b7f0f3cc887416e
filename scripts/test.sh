#!/usr/bin/env bash
# The test command (README): a venv with the test extras, the model copied and verified from
# ../shared/models (or already in models/), then pytest. With --both-runtimes the pose tests
# run a second time in a tflite-runtime 2.14 + numpy<2 environment.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${STATION_SHARED:-../shared}
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
# the model's file name is written once, in station/pose/modelfile.py
MODEL=models/$(.venv/bin/python -c 'from station.pose.modelfile import LIGHTNING_INT8; print(LIGHTNING_INT8.filename)')
if [ ! -f "$MODEL" ] && [ -f "$SHARED/models/$(basename "$MODEL")" ]; then
  .venv/bin/python scripts/fetch_model.py --from "$SHARED/models/$(basename "$MODEL")"
fi
both=0
args=()
for arg in "$@"; do
  if [ "$arg" = --both-runtimes ]; then both=1; else args+=("$arg"); fi
done
.venv/bin/python -m pytest -q -p no:cacheprovider "${args[@]}"

if [ "$both" = 1 ]; then
  echo "--- pose tests again on tflite-runtime 2.14 (numpy < 2)"
  [ -x .venv-tflite/bin/python ] || "$PY" -m venv .venv-tflite
  .venv-tflite/bin/pip install -q --disable-pip-version-check "tflite-runtime==2.14.0" "numpy<2" \
      av pillow flask waitress gpiozero pytest flatbuffers
  .venv-tflite/bin/pip install -q --disable-pip-version-check --no-deps -e .
  STATION_EXPECT_RUNTIME=tflite-runtime .venv-tflite/bin/python -m pytest -q -p no:cacheprovider tests/test_pose.py
fi
