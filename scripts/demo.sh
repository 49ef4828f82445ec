#!/usr/bin/env bash
# Sets up, then plans and publishes the example specs (specs/) into the embedded Hive.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== publisher validate"
publisher validate
echo
echo "== publisher plan -o plan.json (live: inspects the embedded Hive)"
publisher plan -o plan.json
echo
echo "== publisher apply plan.json"
publisher apply plan.json
echo
echo "== what the embedded Hive holds now"
python scripts/show_tables.py
