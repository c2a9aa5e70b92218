#!/usr/bin/env bash
# The browser the web tests drive: Debian's chromium package, through Playwright's
# executable_path. Idempotent. Playwright's own `playwright install` downloads browser builds,
# which cannot be fetched here: never call it. Needs root (apt) when chromium is missing.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  echo "chromium: $(command -v chromium) (already installed)"
else
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
  echo "chromium: installed $(command -v chromium)"
fi
# The Playwright Python package (its driver ships in the wheel) comes with `pip install -e '.[dev]'`.
PY="${PYTHON:-.venv/bin/python}"
if [ -x "$PY" ] && ! "$PY" -c "import playwright" 2>/dev/null; then
  "$PY" -m pip install -q "playwright>=1.45"
fi
