#!/usr/bin/env bash
# Install the squat station on Raspberry Pi OS (Bookworm or Trixie, 64-bit) with its own archive.
#
#   sudo scripts/install.sh                          # online: apt, venv, package, model download
#   sudo scripts/install.sh --model-file FILE --wheels DIR   # offline: model and wheels carried over
#   sudo scripts/install.sh --uninstall [--purge]    # remove; --purge also deletes history and config
#   scripts/install.sh --dry-run                     # print every action, change nothing
#   scripts/install.sh --root DIR                    # files into a scratch root (tests); no apt/users/systemd
#   scripts/install.sh --chroot                      # an emulated Pi root (scripts/pi_emulated.sh): no systemd,
#                                                    # no Raspberry Pi archive; also STATION_INSTALL_CHROOT=1
# Idempotent: a second run changes nothing and says so.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
ROOT=""
DRY_RUN=0
UNINSTALL=0
PURGE=0
MODEL_FILE=""
WHEELS=""
CHROOT=${STATION_INSTALL_CHROOT:-0}
MODEL_NAME=movenet_singlepose_lightning_int8_v4.tflite
# From Debian: every Raspberry Pi OS has them, and so has an emulated root.
APT_PACKAGES=(python3-venv python3-pip avahi-daemon)
# Only in Raspberry Pi OS's own archive (archive.raspberrypi.com), not in Debian. No python3-av:
# the venv takes PyAV from PyPI (av>=11; Debian Bookworm's python3-av is 10.0, docs/install.md).
RPI_PACKAGES=(python3-picamera2 python3-lgpio)
GROUPS_NEEDED=(video gpio)   # the unit's SupplementaryGroups: camera and GPIO device nodes
LINK_TARGET=/opt/station/venv/bin/station

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --uninstall) UNINSTALL=1 ;;
    --purge) PURGE=1 ;;
    --model-file) MODEL_FILE=${2:?--model-file needs a path}; shift ;;
    --wheels) WHEELS=${2:?--wheels needs a folder}; shift ;;
    --root) ROOT=${2:?--root needs a folder}; shift ;;
    --chroot) CHROOT=1 ;;
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
AVAHI="$ROOT/etc/avahi/services/station.service"
LINK="$ROOT/usr/local/bin/station"
SYSTEM=1  # apt, users, pip and systemctl only on the real root
[ -n "$ROOT" ] && SYSTEM=0
[ "$CHROOT" = 1 ] && [ -n "$ROOT" ] && { echo "install.sh: --chroot and --root exclude each other" >&2; exit 2; }
SUITE=""

say() { printf '%s\n' "$*"; }
run() {
  say "+ $*"
  [ "$DRY_RUN" = 1 ] || "$@"
}
system() {
  if [ "$SYSTEM" = 1 ]; then run "$@"; else say "skip (scratch root): $*"; fi
}
systemd_cmd() {  # systemctl: neither a scratch root nor an emulated root has systemd running
  if [ "$SYSTEM" = 0 ]; then say "skip (scratch root): $*"
  elif [ "$CHROOT" = 1 ]; then say "skip (chroot, no systemd): $*"
  else run "$@"; fi
}
die() { echo "install.sh: $*" >&2; exit 1; }
# Only a real install must be on a Pi OS; --dry-run and --root warn and go on.
strict() { [ "$SYSTEM" = 1 ] && [ "$DRY_RUN" = 0 ]; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
# A scratch root's users are its own /etc/passwd, not this machine's (the dry-run must not
# depend on whether the host happens to have a station user).
has_user() { if [ -n "$ROOT" ]; then grep -q "^$1:" "$ROOT/etc/passwd" 2>/dev/null; else id "$1" >/dev/null 2>&1; fi; }
has_group() { if [ -n "$ROOT" ]; then grep -q "^$1:" "$ROOT/etc/group" 2>/dev/null; else getent group "$1" >/dev/null 2>&1; fi; }

check_os() {
  local codename="" pretty="unknown"
  if [ -r /etc/os-release ]; then
    # shellcheck disable=SC1091
    codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
    # shellcheck disable=SC1091
    pretty=$(. /etc/os-release && printf '%s' "${PRETTY_NAME:-unknown}")
  fi
  SUITE=${STATION_SUITE:-$codename}
  case "$SUITE" in
    bookworm|trixie) say "os: $pretty (constraints/$SUITE.txt)" ;;
    *) strict && die "needs Raspberry Pi OS Bookworm or Trixie (64-bit); this is $pretty"
       say "warning: tested on Raspberry Pi OS Bookworm and Trixie, this is $pretty (no constraints file)" ;;
  esac
  local arch; arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
  case "$arch" in
    arm64|aarch64) ;;
    *) strict && die "needs the 64-bit Raspberry Pi OS (arm64); this is $arch"
       [ "$SYSTEM" = 1 ] && say "warning: a Pi runs arm64, this is $arch" ;;
  esac
  if [ "$SYSTEM" = 1 ] && [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
    die "run as root (sudo), or use --dry-run / --root DIR"
  fi
}

# python3-picamera2 and python3-lgpio come from Raspberry Pi OS's own archive
# (archive.raspberrypi.com, configured on every Raspberry Pi OS image); Debian has neither.
check_archive() {
  if [ "$SYSTEM" = 0 ]; then return; fi
  if [ "$CHROOT" = 1 ]; then
    say "skip (chroot): ${RPI_PACKAGES[*]} (Raspberry Pi OS archive; scripts/pi_emulated.sh stands picamera2 in)"
    return
  fi
  local pkg missing=()
  for pkg in "${RPI_PACKAGES[@]}"; do
    installed "$pkg" || apt-cache show "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ] && [ "$DRY_RUN" = 0 ]; then
    apt-get update -qq >/dev/null 2>&1 || true   # a fresh image may have empty package lists
    missing=()
    for pkg in "${RPI_PACKAGES[@]}"; do
      installed "$pkg" || apt-cache show "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
  fi
  [ ${#missing[@]} -eq 0 ] && return
  local msg="needs Raspberry Pi OS and its archive (archive.raspberrypi.com): apt has no ${missing[*]} here"
  strict && die "$msg"
  say "warning: $msg"
}

install_packages() {
  local missing=() pkg
  local wanted=("${APT_PACKAGES[@]}")
  [ "$CHROOT" = 1 ] || wanted+=("${RPI_PACKAGES[@]}")
  for pkg in "${wanted[@]}"; do
    installed "$pkg" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "ok: apt packages already installed"
  else
    system apt-get update
    system env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
  fi
}

create_user() {
  local group
  for group in "${GROUPS_NEEDED[@]}"; do
    # Raspberry Pi OS has both; an emulated root (Debian) has no gpio group
    has_group "$group" || system groupadd --system "$group"
  done
  if has_user station; then
    say "ok: user station exists"
  else
    system useradd --system --home-dir /var/lib/station --no-create-home --shell /usr/sbin/nologin \
      --groups "$(IFS=,; echo "${GROUPS_NEEDED[*]}")" station
  fi
  # The login user who ran sudo reads the config (0640, group station) for `station doctor`.
  local login=${SUDO_USER:-}
  if [ -n "$login" ] && [ "$login" != root ] && has_user "$login"; then
    if id -nG "$login" 2>/dev/null | tr ' ' '\n' | grep -qx station; then
      say "ok: $login is in group station"
    else
      system usermod -aG station "$login"
      say "note: log out and in again (or reboot) so $login can run \`station doctor\` without sudo"
    fi
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
  local constraints_same=1
  if [ -f "$SRC/constraints/$SUITE.txt" ] && ! cmp -s "$SRC/constraints/$SUITE.txt" "$OPT/constraints.txt"; then
    constraints_same=0
  fi
  if [ "$installed" = "$wanted" ] && [ "$constraints_same" = 1 ] && [ -d "$OPT/src" ] && diff -rq --exclude=.git --exclude=.venv --exclude=models \
      --exclude=__pycache__ --exclude='*.egg-info' "$SRC/station" "$OPT/src/station" >/dev/null 2>&1; then
    say "ok: squat-station $installed installed"
    return
  fi
  # No record of a finished install until pip succeeds: a failed run is redone next time.
  run rm -f "$OPT/constraints.txt"
  # a clean copy: an upgrade must not keep files the new version no longer has (they would go into
  # the wheel, and the next run would see a difference and reinstall for ever)
  run rm -rf "$OPT/src"
  run mkdir -p "$OPT/src"
  run cp -r "$SRC/pyproject.toml" "$SRC/README.md" "$SRC/station" "$SRC/docs" "$SRC/constraints/build.txt" "$OPT/src/"
  # The versions tested on this OS release (docs/install.md), online and offline alike. Bookworm:
  # numpy<2, so the venv keeps apt's numpy 1.24 that apt's simplejpeg (picamera2) is built against.
  # pip builds the package itself in an isolated environment that --constraint does not reach:
  # online, the build backend (setuptools) is held to constraints/build.txt (the tested one, not
  # the newest) through PIP_CONSTRAINT (pip up to 25.2) and PIP_BUILD_CONSTRAINT (25.3 on; older
  # pips ignore it), from the clean copy (no space in its path: pip splits these on spaces).
  # Offline the wheelhouse's own setuptools builds it, so one made before the pin still installs.
  local pip_args=(install) constraints="$SRC/constraints/$SUITE.txt" pip_env=(env)
  if [ -f "$constraints" ]; then
    pip_args+=(--constraint "$constraints")
    [ -z "$WHEELS" ] && pip_env+=("PIP_CONSTRAINT=$OPT/src/build.txt" "PIP_BUILD_CONSTRAINT=$OPT/src/build.txt")
  else
    say "warning: no constraints/$SUITE.txt: pip picks the newest versions (untested)"
  fi
  [ -n "$WHEELS" ] && pip_args+=(--no-index --find-links "$WHEELS")
  system "${pip_env[@]}" "$VENV/bin/pip" "${pip_args[@]}" "$OPT/src[video]"
  if [ -f "$constraints" ]; then run install -m 0644 "$constraints" "$OPT/constraints.txt"; fi
}

link_command() {
  # `station doctor` and `sudo station doctor` (sudo's secure_path has /usr/local/bin)
  if [ -L "$LINK" ] && [ "$(readlink "$LINK")" = "$LINK_TARGET" ]; then
    say "ok: $LINK -> $LINK_TARGET"
  elif [ -e "$LINK" ] && [ ! -L "$LINK" ]; then
    say "warning: $LINK exists and is not a link: left alone; use $LINK_TARGET"
  else
    run mkdir -p "$(dirname "$LINK")"
    run ln -sfn "$LINK_TARGET" "$LINK"
  fi
}

install_model() {
  local dest="$STATE/models/$MODEL_NAME"
  run mkdir -p "$STATE/models"
  if [ -n "$MODEL_FILE" ]; then
    run python3 "$SRC/scripts/fetch_model.py" --from "$MODEL_FILE" --dest "$STATE/models"
  elif [ -f "$dest" ]; then
    say "+ python3 $SRC/scripts/fetch_model.py --from $dest --dest $STATE/models"
    if ! python3 "$SRC/scripts/fetch_model.py" --from "$dest" --dest "$STATE/models"; then  # verifies, changes nothing
      # a damaged copy: re-running the installer is the repair a gym owner tries first
      say "the installed model $dest is damaged: fetching it again (offline: rerun with --model-file FILE)"
      run python3 "$SRC/scripts/fetch_model.py" --dest "$STATE/models"
    fi
  else
    run python3 "$SRC/scripts/fetch_model.py" --dest "$STATE/models"
  fi
  # fetch_model.py leaves the file 0600 (a temporary file renamed); the model is no secret, and the
  # login user's `station doctor` loads it too
  run chmod 0644 "$dest"
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
    systemd_cmd systemctl daemon-reload
  fi
  if [ "$SYSTEM" = 1 ] && [ "$CHROOT" = 0 ] && systemctl is-enabled station >/dev/null 2>&1; then
    say "ok: station.service enabled"
  else
    systemd_cmd systemctl enable station
  fi
  system chown -R station:station "$STATE"
  system chgrp station "$ETC" "$ETC/station.toml"
  system chmod 0750 "$ETC"   # the group (the login user, for doctor) reads; only root writes
  systemd_cmd systemctl restart station
}

web_port() {  # [web] port from the config, else the default (station/config.py)
  local port=""
  [ -r "$ETC/station.toml" ] && port=$(awk '
    /^[[:space:]]*\[/ { section = $0; gsub(/[[:space:]\[\]]/, "", section); next }
    section == "web" && $1 == "port" { sub(/^[^=]*=[[:space:]]*/, ""); sub(/[[:space:]#].*$/, ""); print; exit }
  ' "$ETC/station.toml")
  case "$port" in ''|*[!0-9]*|0) port=8080 ;; esac
  printf '%s' "$port"
}

install_avahi() {
  # Publish the page over mDNS (_http._tcp) so Bonjour browsers list it; avahi-daemon re-reads
  # /etc/avahi/services by itself. (HOSTNAME.local itself comes from avahi-daemon.)
  local port content
  port=$(web_port)
  content=$(sed "s|<port>8080</port>|<port>$port</port>|" "$SRC/systemd/station.avahi.service")
  if [ -f "$AVAHI" ] && [ "$(cat "$AVAHI")" = "$content" ]; then
    say "ok: $AVAHI up to date (port $port)"
    return
  fi
  run mkdir -p "$(dirname "$AVAHI")"
  say "+ write $AVAHI (_http._tcp port $port)"
  if [ "$DRY_RUN" = 0 ]; then
    printf '%s\n' "$content" > "$AVAHI"
    chmod 0644 "$AVAHI"
  fi
}

uninstall() {
  if [ "$SYSTEM" = 1 ] && [ "$CHROOT" = 0 ] && systemctl list-unit-files station.service >/dev/null 2>&1; then
    run systemctl disable --now station || true
  fi
  [ -f "$UNIT" ] && run rm -f "$UNIT" && systemd_cmd systemctl daemon-reload
  [ -f "$AVAHI" ] && run rm -f "$AVAHI"
  if [ -L "$LINK" ] && [ "$(readlink "$LINK")" = "$LINK_TARGET" ]; then run rm -f "$LINK"; fi
  [ -d "$OPT" ] && run rm -rf "$OPT"
  if [ "$PURGE" = 1 ]; then
    run rm -rf "$STATE" "$ETC"
    if has_user station; then system userdel station; fi
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
check_archive
install_packages
create_user
install_venv
link_command
install_model
write_config
install_unit
install_avahi
say "done. The page: http://$(hostname).local:$(web_port)/  Check everything: station doctor (as root: sudo station doctor)"
