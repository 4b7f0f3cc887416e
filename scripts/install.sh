#!/usr/bin/env bash
# Install the squat station on Raspberry Pi OS (Bookworm or Trixie, 64-bit).
#
#   sudo scripts/install.sh                          # online: apt, venv, package, model download
#   sudo scripts/install.sh --model-file FILE --wheels DIR   # offline: model and wheels carried over
#   sudo scripts/install.sh --uninstall [--purge]    # remove; --purge also deletes history and config
#   scripts/install.sh --dry-run                     # print every action, change nothing
#   scripts/install.sh --root DIR                    # files into a scratch root (tests); no apt/users/systemd
#
# Idempotent: a second run changes nothing and says so.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
ROOT=""
DRY_RUN=0
UNINSTALL=0
PURGE=0
MODEL_FILE=""
WHEELS=""
MODEL_NAME=movenet_singlepose_lightning_int8_v4.tflite
APT_PACKAGES=(python3-venv python3-pip python3-picamera2 python3-av python3-lgpio avahi-daemon)

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --uninstall) UNINSTALL=1 ;;
    --purge) PURGE=1 ;;
    --model-file) MODEL_FILE=${2:?--model-file needs a path}; shift ;;
    --wheels) WHEELS=${2:?--wheels needs a folder}; shift ;;
    --root) ROOT=${2:?--root needs a folder}; shift ;;
    -h|--help) usage 0 ;;
    *) echo "install.sh: unknown option $1" >&2; usage 2 ;;
  esac
  shift
done

OPT="$ROOT/opt/station"
VENV="$OPT/venv"
ETC="$ROOT/etc/station"
STATE="$ROOT/var/lib/station"
UNIT="$ROOT/etc/systemd/system/station.service"
SYSTEM=1  # apt, users, pip and systemctl only on the real root
[ -n "$ROOT" ] && SYSTEM=0

say() { printf '%s\n' "$*"; }
run() {
  say "+ $*"
  [ "$DRY_RUN" = 1 ] || "$@"
}
system() {
  if [ "$SYSTEM" = 1 ]; then run "$@"; else say "skip (scratch root): $*"; fi
}

check_os() {
  if [ -r /etc/os-release ]; then
    # shellcheck disable=SC1091
    . /etc/os-release
    case "${VERSION_CODENAME:-}" in
      bookworm|trixie) say "os: ${PRETTY_NAME:-$VERSION_CODENAME}" ;;
      *) say "warning: tested on Raspberry Pi OS Bookworm and Trixie, this is ${PRETTY_NAME:-unknown}" ;;
    esac
  fi
  if [ "$SYSTEM" = 1 ] && [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
    echo "install.sh: run as root (sudo), or use --dry-run / --root DIR" >&2
    exit 1
  fi
}

install_packages() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "ok: apt packages already installed"
  else
    system apt-get update
    system env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
  fi
}

create_user() {
  if id station >/dev/null 2>&1; then
    say "ok: user station exists"
  else
    system useradd --system --home-dir /var/lib/station --no-create-home --shell /usr/sbin/nologin \
      --groups video,gpio station
  fi
}

install_venv() {
  if [ -x "$VENV/bin/python" ]; then
    say "ok: venv $VENV exists"
  else
    run mkdir -p "$OPT"
    # --system-site-packages: picamera2 and libcamera come from apt, not PyPI
    system python3 -m venv --system-site-packages "$VENV"
  fi
  local wanted installed=""
  wanted=$(sed -n 's/^version = "\(.*\)"/\1/p' "$SRC/pyproject.toml" | head -1)
  [ -x "$VENV/bin/python" ] && installed=$("$VENV/bin/python" -c \
      'import importlib.metadata as m; print(m.version("squat-station"))' 2>/dev/null || true)
  if [ "$installed" = "$wanted" ] && [ -d "$OPT/src" ] && diff -rq --exclude=.git --exclude=.venv --exclude=models \
      --exclude=__pycache__ --exclude='*.egg-info' "$SRC/station" "$OPT/src/station" >/dev/null 2>&1; then
    say "ok: squat-station $installed installed"
    return
  fi
  run mkdir -p "$OPT/src"
  run cp -r "$SRC/pyproject.toml" "$SRC/README.md" "$SRC/station" "$SRC/docs" "$OPT/src/"
  # Keep apt's numpy when it is 1.x (Bookworm): a pip numpy 2 in the venv shadows it and breaks
  # apt's compiled modules built against numpy 1 (picamera2's simplejpeg among them). LiteRT
  # runs on either (checked in an emulated Bookworm root: docs/install.md).
  local constraint=()
  if python3 -c 'import numpy, sys; sys.exit(0 if numpy.__version__.startswith("1.") else 1)' 2>/dev/null; then
    printf 'numpy<2\n' > "$OPT/numpy-constraint.txt"
    constraint=(--constraint "$OPT/numpy-constraint.txt")
    say "apt numpy is 1.x: pinning numpy<2 in the venv"
  fi
  if [ -n "$WHEELS" ]; then
    system "$VENV/bin/pip" install "${constraint[@]}" --no-index --find-links "$WHEELS" "$OPT/src[video]"
  else
    system "$VENV/bin/pip" install "${constraint[@]}" "$OPT/src[video]"
  fi
}

install_model() {
  local dest="$STATE/models/$MODEL_NAME"
  run mkdir -p "$STATE/models"
  if [ -n "$MODEL_FILE" ]; then
    run python3 "$SRC/scripts/fetch_model.py" --from "$MODEL_FILE" --dest "$STATE/models"
  elif [ -f "$dest" ]; then
    run python3 "$SRC/scripts/fetch_model.py" --from "$dest" --dest "$STATE/models"  # verifies, changes nothing
  else
    run python3 "$SRC/scripts/fetch_model.py" --dest "$STATE/models"
  fi
}

write_config() {
  local conf="$ETC/station.toml"
  if [ -f "$conf" ]; then
    say "ok: $conf kept (your settings and PIN)"
    return
  fi
  local pin
  pin=$(printf '%06d' $(( $(od -An -N4 -tu4 /dev/urandom | tr -d ' ') % 1000000 )))
  run mkdir -p "$ETC"
  say "+ write $conf (new settings PIN: $pin, keep it: it guards the settings page)"
  if [ "$DRY_RUN" = 0 ]; then
    cat > "$conf" <<EOF
# Squat station configuration. Every key and its default: station config show
[station]
state_dir = "/var/lib/station"

[model]
path = "/var/lib/station/models/$MODEL_NAME"

[camera]
source = "camera"

[web]
pin = "$pin"
EOF
    chmod 0640 "$conf"
  fi
}

install_unit() {
  if [ -f "$UNIT" ] && cmp -s "$SRC/systemd/station.service" "$UNIT"; then
    say "ok: $UNIT up to date"
  else
    run mkdir -p "$(dirname "$UNIT")"
    run install -m 0644 "$SRC/systemd/station.service" "$UNIT"
    system systemctl daemon-reload
  fi
  if [ "$SYSTEM" = 1 ]; then
    if systemctl is-enabled station >/dev/null 2>&1; then say "ok: station.service enabled"; else run systemctl enable station; fi
  else
    say "skip (scratch root): systemctl enable station"
  fi
  system chown -R station:station "$STATE"
  system chgrp station "$ETC" "$ETC/station.toml"
  system chmod 0770 "$ETC"
  system systemctl restart station
}

uninstall() {
  if [ "$SYSTEM" = 1 ] && systemctl list-unit-files station.service >/dev/null 2>&1; then
    run systemctl disable --now station || true
  fi
  [ -f "$UNIT" ] && run rm -f "$UNIT" && system systemctl daemon-reload
  [ -d "$OPT" ] && run rm -rf "$OPT"
  if [ "$PURGE" = 1 ]; then
    run rm -rf "$STATE" "$ETC"
    id station >/dev/null 2>&1 && system userdel station
    say "purged: history, model and config deleted"
  else
    say "kept: $STATE (history, model) and $ETC (config, PIN); --purge deletes them"
  fi
}

check_os
if [ "$UNINSTALL" = 1 ]; then
  uninstall
  exit 0
fi
install_packages
create_user
install_venv
install_model
write_config
install_unit
say "done. The page: http://$(hostname).local:8080/  Check everything: $VENV/bin/station --config /etc/station/station.toml doctor"
