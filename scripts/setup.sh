#!/usr/bin/env bash
# Creates .venv with publisher and everything its tests need. Safe to run again: it
# reinstalls only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: publisher needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
command -v java >/dev/null || echo "setup: warning: no java on PATH; the embedded Hive engine (Spark) needs Java 17" >&2
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  started=$(date +%s)
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  # A .venv made before the distribution was renamed holds it as "publisher", which would
  # keep its own copy of the `publisher` command beside the new one: removed first.
  if .venv/bin/python -m pip show --quiet publisher >/dev/null 2>&1; then
    .venv/bin/python -m pip uninstall --quiet --yes publisher
  fi
  .venv/bin/python -m pip install --quiet -e '.[dev]'   # the distribution warehouse-publisher
  rm -f .venv/.installed-*
  touch "$stamp"
  echo "setup: installed into .venv in $(( $(date +%s) - started ))s"
fi
