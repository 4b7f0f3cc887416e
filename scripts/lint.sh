#!/usr/bin/env bash
# The habits CI enforces: ruff (style, imports, likely bugs) on everything, mypy on station/.
# Both read their settings from pyproject.toml. Run it before you push (or let pre-commit do it).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[lint]'
.venv/bin/ruff check station scripts tests
.venv/bin/mypy
echo "lint: clean"
