#!/usr/bin/env bash
# Checks publisher as users get it, not as the source tree runs it: builds the wheel from a
# clean clone, installs it into a fresh venv outside the tree, runs the installed `publisher`
# on a copy of the example project, and runs the pre-commit hook (.pre-commit-hooks.yaml)
# from the clone, as another repository would. Fails on a non-zero exit or a traceback.
# It checks what is committed (HEAD). Needs pre-commit (in .venv after scripts/setup.sh) and
# the package registry for the base dependencies; pip's cache keeps it fast.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
PRE_COMMIT=${PRE_COMMIT:-$PWD/.venv/bin/pre-commit}
started=$(date +%s)
work=$(mktemp -d /tmp/publisher-wheel.XXXXXX)
trap 'rm -rf "$work"' EXIT
unset PYTHONPATH   # the installed package, never the source tree
say() { echo "check_wheel: [$(($(date +%s) - started))s] $*"; }
fail() {
  echo "check_wheel: FAILED: $*" >&2
  exit 1
}
[ -x "$PRE_COMMIT" ] || fail "no pre-commit at $PRE_COMMIT (run scripts/setup.sh, or set PRE_COMMIT)"
[ -z "$(git status --porcelain)" ] || say "note: uncommitted changes are not checked (this builds HEAD)"

git clone --quiet "$PWD" "$work/clone"
"$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" "$work/clone"
# The distribution is warehouse-publisher (pyproject): its wheel is named so, the package inside is publisher.
wheel=$(echo "$work"/dist/warehouse_publisher-*.whl)
[ -f "$wheel" ] || fail "no warehouse_publisher wheel built: $(ls "$work/dist")"
say "built $(basename "$wheel")"

# Packages are found, not listed: every tracked file under publisher/ must be in the wheel.
(cd "$work/clone" && git ls-files publisher) >"$work/tracked"
"$PYTHON" - "$wheel" "$work/tracked" <<'EOF' || fail "files missing from the wheel (see pyproject's [tool.setuptools])"
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
missing = [f for f in open(sys.argv[2]).read().split() if f not in names]
for f in missing:
    print(f"  missing: {f}", file=sys.stderr)
sys.exit(bool(missing))
EOF

"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet "$wheel"

mkdir -p "$work/project/examples"
cp -r "$work/clone/publisher.yaml" "$work/clone/specs" "$work/project/"
cp -r "$work/clone/examples/results" "$work/project/examples/"
cd "$work/project"
where=$("$work/venv/bin/python" -c 'import publisher; print(publisher.__file__)')
[[ $where == "$work/venv/"* ]] || fail "publisher imported from $where, not from the installed wheel"

# run EXPECTED_EXIT COMMAND...: the exit code must be EXPECTED_EXIT, the output free of tracebacks.
run() {
  local expected=$1 code=0
  shift
  "$@" >"$work/out" 2>&1 || code=$?
  if [ "$code" != "$expected" ] || grep -q "Traceback" "$work/out"; then
    cat "$work/out" >&2
    fail "'$*' exited $code (expected $expected)"
  fi
  say "ok: $* (exit $code)"
}
run 0 "$work/venv/bin/publisher" validate
run 0 "$work/venv/bin/publisher" plan --offline

# The hook as another repository runs it, from a clone, on a project's specs, one misspelt:
# it must report that one as FILE:LINE:COL and no other. (One run: try-repo installs the
# hook's environment afresh each time, ignoring PRE_COMMIT_HOME.)
sed 's/^action: .*/action: dropAndLod/' specs/10_customers.yaml >specs/99_typo.yaml
git init --quiet . && git add publisher.yaml specs
export PRE_COMMIT_HOME="$work/pre-commit"
run 1 "$PRE_COMMIT" try-repo "$work/clone" publisher-validate --files specs/*.yaml
errors=$(grep ": error: " "$work/out" || true)
if ! grep -q "^specs/99_typo.yaml:[0-9]*:[0-9]*: error: .*dropAndLoad" <<<"$errors" ||
  grep -v "^specs/99_typo.yaml:" <<<"$errors"; then
  cat "$work/out" >&2
  fail "the hook should report exactly the misspelt spec, as FILE:LINE:COL: error"
fi

say "done"
