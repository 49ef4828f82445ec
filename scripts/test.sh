#!/usr/bin/env bash
# Sets up, starts the test engines (HiveServer2, the HiveServer2 in the Hive 4 flavour,
# a real Apache Hive 4 HiveServer2 in its default and its ACID configuration,
# PostgreSQL + S3 server + Redshift stand-in),
# runs the whole test suite, and stops the engines, also when tests fail.
# Arguments are passed to pytest, e.g. scripts/test.sh -k planner
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PUBLISHER_PYTHON="$PWD/.venv/bin/python"
export PUBLISHER_CI_STATE=${PUBLISHER_CI_STATE:-$(mktemp -d /tmp/publisher-ci.XXXXXX)}
chmod 755 "$PUBLISHER_CI_STATE"   # PostgreSQL runs as the postgres user: it must reach its folder
export PUBLISHER_HS2_PORT=${PUBLISHER_HS2_PORT:-10015}
export PUBLISHER_HIVE4_PORT=${PUBLISHER_HIVE4_PORT:-10016}
export PUBLISHER_HIVE4_REAL_PORT=${PUBLISHER_HIVE4_REAL_PORT:-10017}
export PUBLISHER_HIVE4_ACID_PORT=${PUBLISHER_HIVE4_ACID_PORT:-10018}
export PUBLISHER_REDSHIFT_PORT=${PUBLISHER_REDSHIFT_PORT:-5439}
export PUBLISHER_S3_PORT=${PUBLISHER_S3_PORT:-9000}
export PUBLISHER_PG_PORT=${PUBLISHER_PG_PORT:-15432}
export PUBLISHER_TEST_REDSHIFT_PASSWORD=${PUBLISHER_TEST_REDSHIFT_PASSWORD:-standin-$RANDOM$RANDOM}

stop() {
  bash .ci/services/hiveserver2.sh stop || true
  bash .ci/services/hive4.sh stop || true
  bash .ci/services/hive4_real.sh stop defaults || true
  bash .ci/services/hive4_real.sh stop acid || true
  bash .ci/services/redshift_standin.sh stop || true
}
trap stop EXIT
bash .ci/services/redshift_standin.sh start
bash .ci/services/hiveserver2.sh start
bash .ci/services/hive4.sh start
bash .ci/services/hive4_real.sh start defaults   # the first run fetches Hive 4 from Maven (cached)
bash .ci/services/hive4_real.sh start acid

# The stand-in's endpoints, password and TLS CA: PUBLISHER_TEST_REDSHIFT, _S3, _CA, ...
source "$PUBLISHER_CI_STATE/redshift/env.sh"
export PUBLISHER_TEST_HS2=127.0.0.1:$PUBLISHER_HS2_PORT
export PUBLISHER_TEST_HIVE4=127.0.0.1:$PUBLISHER_HIVE4_PORT
export PUBLISHER_TEST_HIVE4_REAL=127.0.0.1:$PUBLISHER_HIVE4_REAL_PORT
export PUBLISHER_TEST_HIVE4_ACID=127.0.0.1:$PUBLISHER_HIVE4_ACID_PORT
export PUBLISHER_REQUIRE_SERVICES=1   # a missing engine fails its tests instead of skipping them
.venv/bin/python -m pytest "$@"

# A whole run (no test named) also runs the action x table-shape matrix on the real Apache
# Hive 4 in its defaults (tests/integration/test_shape_matrix.py; about 3 minutes).
for arg in "$@"; do
  [[ "$arg" == -* ]] || exit 0
done
PUBLISHER_TEST_EXTRA_TARGETS=hive4real .venv/bin/python -m pytest "$@" tests/integration/test_shape_matrix.py -k hive4real
