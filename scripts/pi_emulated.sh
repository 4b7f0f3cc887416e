#!/usr/bin/env bash
# Install and test the station on an emulated Raspberry Pi: an arm64 Debian root run under
# qemu-user with a Pi's CPU (../shared/tools/arm64/make_rootfs.sh builds it, 10-15 min the first
# time). Done the way a Pi user would: a clean `git clone` of this repository in /home/pi with
# ../shared (models, testdata) beside it, `sudo scripts/install.sh` (in its --chroot mode: no
# systemd, no Raspberry Pi archive), `station doctor` as root and as the login user, then the
# README's test command (`bash scripts/test.sh`) with GPIOZERO_PIN_FACTORY=mock. Prints the
# pass/skip/fail counts. Run as root on the x86 machine; time nothing in there (qemu is 50-100x
# slower than a Pi).
#
#   sudo SUITE=bookworm scripts/pi_emulated.sh       # Raspberry Pi OS 12 userland, Pi 5 CPU
#   sudo SUITE=trixie scripts/pi_emulated.sh         # Raspberry Pi OS 13 userland, Pi 4 CPU
#   sudo SUITE=trixie scripts/pi_emulated.sh tests/test_pose.py -k crop    # arguments go to pytest
#
# Environment: SUITE (bookworm|trixie), PI (4|5; default 5 on bookworm, 4 on trixie), ROOTFS
# (default /tmp/armtest/rootfs-$SUITE), STATION_SHARED (default ../shared), REF (what to clone,
# default HEAD: commit first), STATION_FAKE_PICAMERA2 (auto|abi|missing|nocamera: the stand-in
# picamera2 during the tests, default auto), SKIP_TESTS=1 (install and doctor only).
#
# The tests see STATION_EMULATED=1 (a test too slow under qemu may skip on it, with the reason).
#
# picamera2, python3-lgpio and python3-simplejpeg exist only in Raspberry Pi OS's archive, so a
# tiny fake `picamera2` goes where apt puts the real one (/usr/lib/python3/dist-packages). It
# fails the way the real one does: `auto` raises "ValueError: numpy.dtype size changed" when the
# process imports a numpy 2 while apt's numpy (which simplejpeg is built against) is 1.x, the
# Bookworm mis-install; otherwise it imports and finds no camera. `abi` always raises that
# ValueError, `missing` raises ImportError, `nocamera` imports and finds no camera.
set -euo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
SUITE=${SUITE:-bookworm}
case "$SUITE" in
  bookworm) PI=${PI:-5} ;;
  trixie) PI=${PI:-4} ;;
  *) echo "pi_emulated.sh: SUITE must be bookworm or trixie" >&2; exit 2 ;;
esac
ROOTFS=${ROOTFS:-/tmp/armtest/rootfs-$SUITE}
SHARED=$(cd "${STATION_SHARED:-$HERE/../shared}" && pwd)
MAKE_ROOTFS=$SHARED/tools/arm64/make_rootfs.sh
REF=${REF:-HEAD}
FAKE_MODE=${STATION_FAKE_PICAMERA2:-auto}
MODEL=movenet_singlepose_lightning_int8_v4.tflite
PI_HOME=/home/pi
CLONE=$PI_HOME/squat-station
JUNIT=$PI_HOME/junit-$SUITE.xml

[ "$(id -u)" = 0 ] || { echo "pi_emulated.sh: run as root (chroot, mounts)" >&2; exit 1; }
[ -f "$MAKE_ROOTFS" ] || { echo "pi_emulated.sh: $MAKE_ROOTFS is missing (STATION_SHARED)" >&2; exit 1; }
[ -f "$SHARED/models/$MODEL" ] || { echo "pi_emulated.sh: $SHARED/models/$MODEL is missing" >&2; exit 1; }

step() { printf '\n=== %s\n' "$*"; }
# A command inside the root: private mounts, fake Pi /proc/cpuinfo, QEMU_CPU, GPIOZERO_PIN_FACTORY=mock
pirun() { SUITE=$SUITE PI=$PI ROOTFS=$ROOTFS bash "$MAKE_ROOTFS" run "$@"; }
# ... as the login user "pi" (what `sudo` would have been typed by)
pirun_pi() { pirun /usr/sbin/runuser -u pi -- /usr/bin/env HOME=$PI_HOME USER=pi LOGNAME=pi "$@"; }

if [ ! -x "$ROOTFS/usr/bin/python3" ]; then
  step "building the $SUITE root (Pi $PI): $MAKE_ROOTFS"
  mkdir -p "$(dirname "$ROOTFS")"   # mmdebstrap wants the parent to exist
  SUITE=$SUITE PI=$PI ROOTFS=$ROOTFS bash "$MAKE_ROOTFS"
fi

step "$SUITE root $ROOTFS, Pi $PI CPU: a clean clone of $(git -C "$HERE" rev-parse --short "$REF") and ../shared"
if [ -n "$(git -C "$HERE" status --porcelain --untracked-files=no)" ]; then
  echo "note: uncommitted changes in $HERE are not in the clone (it takes $REF)"
fi
grep -q '^pi:' "$ROOTFS/etc/passwd" || pirun useradd --create-home --shell /bin/bash pi
rm -rf "${ROOTFS:?}$CLONE" "${ROOTFS:?}$PI_HOME/shared"
git clone -q --no-hardlinks "$HERE" "$ROOTFS$CLONE"
git -C "$ROOTFS$CLONE" checkout -q --detach "$(git -C "$HERE" rev-parse "$REF")"
mkdir -p "$ROOTFS$PI_HOME/shared"
cp -a "$SHARED/models" "$SHARED/testdata" "$ROOTFS$PI_HOME/shared/"
pirun chown -R pi:pi "$PI_HOME"

step "the stand-in picamera2 (mode $FAKE_MODE during the tests)"
APT_NUMPY=$(pirun /usr/bin/python3 -c 'import numpy; print(numpy.__version__)')
DIST=$(pirun /usr/bin/python3 -c 'import numpy, os; print(os.path.dirname(os.path.dirname(numpy.__file__)))')
mkdir -p "$ROOTFS$DIST/picamera2"
cat > "$ROOTFS$DIST/picamera2/__init__.py" <<EOF
"""FAKE picamera2, put here by the squat station's scripts/pi_emulated.sh: an emulated Pi has no
camera and no Raspberry Pi archive. It fails the way python3-picamera2 does (see that script):
STATION_FAKE_PICAMERA2=auto|abi|missing|nocamera. apt's numpy here: $APT_NUMPY."""
import os as _os

_MODE = _os.environ.get("STATION_FAKE_PICAMERA2", "auto")
_APT_NUMPY = "$APT_NUMPY"
_ABI = ("numpy.dtype size changed, may indicate binary incompatibility. "
        "Expected 96 from C header, got 88 from PyObject")

if _MODE == "missing":
    raise ModuleNotFoundError("No module named 'picamera2'", name="picamera2")
if _MODE == "abi":
    raise ValueError(_ABI)
if _MODE == "auto":
    import numpy as _np
    # simplejpeg (imported by picamera2) is compiled against apt's numpy; a numpy 2 from PyPI in
    # the venv cannot load a numpy 1 extension module
    if _APT_NUMPY.split(".")[0] == "1" and _np.__version__.split(".")[0] != "1":
        raise ValueError(_ABI)


class Picamera2:
    """No camera attached: what libcamera reports in a root without /dev/media*."""

    @staticmethod
    def global_camera_info():
        return []

    def __init__(self, camera_num=0, **kwargs):
        raise IndexError("list index out of range")  # picamera2: global_camera_info()[camera_num]
EOF
echo "$DIST/picamera2 (apt numpy $APT_NUMPY)"

step "sudo scripts/install.sh --chroot (as if typed by user pi)"
pirun /usr/bin/env SUDO_USER=pi STATION_FAKE_PICAMERA2=auto bash "$CLONE/scripts/install.sh" --chroot \
  --model-file "$PI_HOME/shared/models/$MODEL"
step "install.sh again: changes nothing"
again=$(pirun /usr/bin/env SUDO_USER=pi bash "$CLONE/scripts/install.sh" --chroot --model-file "$PI_HOME/shared/models/$MODEL")
printf '%s\n' "$again" | grep -E '^(ok|\+|skip|warning)' | grep -v '^skip' || true
printf '%s\n' "$again" | grep -q "ok: squat-station .* installed" || { echo "FAIL: the second run reinstalled the package"; exit 1; }

step "the installed venv"
pirun /opt/station/venv/bin/python - <<'EOF' || { echo "FAIL: picamera2 cannot load in the installed venv (numpy ABI): the constraints did not hold"; exit 1; }
import importlib.metadata as m
import numpy
for name in ("squat-station", "numpy", "ml_dtypes", "ai-edge-litert", "av", "flask", "waitress", "gpiozero", "pillow"):
    try:
        print(f"  {name} {m.version(name)}")
    except m.PackageNotFoundError:
        print(f"  {name} -")
print(f"  numpy imported from {numpy.__file__}")
import picamera2  # noqa: F401  the stand-in, in auto mode: ValueError if a PyPI numpy 2 shadows apt's numpy 1
print("  picamera2 imports (the stand-in, auto mode)")
EOF

step "station doctor as root (command -v station: $(pirun /bin/sh -c 'command -v station' || echo none))"
set +e
# the stand-in picamera2 as asked (STATION_FAKE_PICAMERA2), as the tests below get it
pirun /usr/bin/env STATION_FAKE_PICAMERA2="$FAKE_MODE" station doctor; echo "exit status $?"
step "station doctor as the login user pi"
pirun_pi /usr/bin/env STATION_FAKE_PICAMERA2="$FAKE_MODE" station doctor; echo "exit status $?"
step "station doctor with a mis-installed picamera2 (STATION_FAKE_PICAMERA2=abi)"
# the whole report: its camera line is the point of this step (tail -4 cut it off)
pirun /usr/bin/env STATION_FAKE_PICAMERA2=abi station doctor 2>&1; echo "exit status $?"
set -e

if [ "${SKIP_TESTS:-0}" = 1 ]; then exit 0; fi

step "the README's test command, as user pi: bash scripts/test.sh (venv like the Pi's: system site packages, constraints/$SUITE.txt)"
pirun_pi python3 -m venv --system-site-packages "$CLONE/.venv"
rm -f "$ROOTFS$JUNIT"
set +e
# shellcheck disable=SC2016  # expanded by the inner bash
pirun_pi /usr/bin/env STATION_EMULATED=1 STATION_FAKE_PICAMERA2="$FAKE_MODE" PIP_CONSTRAINT="$CLONE/constraints/$SUITE.txt" \
  bash -c 'cd "$1" && junit=$2 && shift 2 && bash scripts/test.sh -rfEs --junitxml="$junit" "$@"' _ "$CLONE" "$JUNIT" "$@"
rc=$?
set -e

step "counts ($SUITE, Pi $PI CPU, picamera2 stand-in: $FAKE_MODE)"
if [ ! -f "$ROOTFS$JUNIT" ]; then echo "no test report: the test command failed before pytest (exit $rc)"; exit 1; fi
cp "$ROOTFS$JUNIT" "/tmp/pi-emulated-junit-$SUITE.xml"
python3 - "$ROOTFS$JUNIT" <<'EOF'
import collections
import sys
import xml.etree.ElementTree as ET

cases = list(ET.parse(sys.argv[1]).getroot().iter("testcase"))
outcome = collections.Counter()
skips = collections.Counter()
for case in cases:
    name = f"{case.get('classname')}::{case.get('name')}"
    kind = next((c.tag for c in case if c.tag in ("failure", "error", "skipped")), "passed")
    outcome[kind] += 1
    if kind == "skipped":
        skips[(case.find("skipped").get("message") or "").strip()[:150]] += 1
    elif kind in ("failure", "error"):
        node = case.find(kind)
        print(f"{kind.upper()}: {name}\n    {(node.get('message') or '').strip().splitlines()[0][:200] if node.get('message') else ''}")
print(f"passed {outcome['passed']}, skipped {outcome['skipped']}, failed {outcome['failure']}, errors {outcome['error']} "
      f"(of {len(cases)})")
for reason, n in skips.most_common():
    print(f"  skip x{n}: {reason}")
EOF
echo "junit report: /tmp/pi-emulated-junit-$SUITE.xml"
exit "$rc"
