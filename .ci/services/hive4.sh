#!/usr/bin/env bash
# A second HiveServer2 in the Hive 4 flavour: Spark's Thrift Server with Apache Hive 4's
# metastore rules imposed by listeners (.ci/hive4/), on its own port and state folder.
#
#   bash .ci/services/hive4.sh start   # builds the listeners (cached), starts, prints the time
#   bash .ci/services/hive4.sh stop
#
# PUBLISHER_HIVE4_PORT (default 10016), PUBLISHER_CI_STATE, PUBLISHER_PYTHON: as hiveserver2.sh.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/hiveserver2.sh" "${1:-}" hive4
