#!/usr/bin/env bash
# A real HiveServer2 for the integration tests: Spark's Thrift Server from the pyspark
# wheel, bound to loopback, with a fresh Derby metastore and warehouse on every start.
#
#   bash .ci/services/hiveserver2.sh start   # prints how long it took to be ready
#   bash .ci/services/hiveserver2.sh stop    # safe when not running
#   bash .ci/services/hiveserver2.sh start hive4   # the Hive 4 flavour (.ci/services/hive4.sh)
#
# Flavours (second argument):
#   spark (default)  Spark's metastore as it is
#   hive4            Apache Hive 4's metastore rules imposed by listeners (.ci/hive4/): plain
#                    CREATE TABLE made EXTERNAL with purge in an external warehouse, external
#                    tables inside the managed warehouse refused, purge tables' data deleted
#                    on DROP. Its own port, state folder, PID file and log.
#
# Environment:
#   PUBLISHER_HS2_PORT   port of the spark flavour (default 10015)
#   PUBLISHER_HIVE4_PORT port of the hive4 flavour (default 10016)
#   PUBLISHER_CI_STATE   state root (default /tmp/publisher-ci); ours is its hive/ (hive4/) folder
#   PUBLISHER_PYTHON     a python with pyspark and PyHive (default: python)
#
# The spark.sql.* confs and -Duser.timezone below must stay identical to SHARED_CONFS
# and SHARED_JAVA_OPTIONS in publisher/engines/hive_embedded.py (the embedded engine):
# tests/integration/test_hive_target.py reads them back from both engines and compares.
# Why each one: docs/hive-research.md, "Confs".
set -euo pipefail

FLAVOUR="${2:-spark}"
ROOT="${PUBLISHER_CI_STATE:-/tmp/publisher-ci}"
PY="${PUBLISHER_PYTHON:-python}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TIMEOUT=120
case "$FLAVOUR" in
  spark)
    PORT="${PUBLISHER_HS2_PORT:-10015}"
    NAME=hiveserver2
    STATE="$ROOT/hive"
    ;;
  hive4)
    PORT="${PUBLISHER_HIVE4_PORT:-10016}"
    NAME=hive4
    STATE="$ROOT/hive4"
    ;;
  *)
    echo "unknown flavour '$FLAVOUR' (known: spark, hive4)" >&2
    exit 2
    ;;
esac
# PID file and log live beside the state folder so that wiping the state keeps them.
PIDFILE="$ROOT/$NAME.pid"
LOG="$ROOT/$NAME.log"

# shellcheck source=lib.sh
source "$HERE/lib.sh"

do_start() {
  close_inherited_fds
  if pid="$(running_pid)"; then
    log "already running (pid $pid): restarting with a fresh state"
    do_stop
  fi
  if port_open; then
    log "port $PORT on 127.0.0.1 is already in use by another process"
    exit 1
  fi

  local spark_home
  if ! spark_home="$("$PY" -c 'import pyspark,os;print(os.path.dirname(pyspark.__file__))' 2>/dev/null)"; then
    log "cannot import pyspark with '$PY': set PUBLISHER_PYTHON to a python that has it"
    exit 1
  fi

  # Confs only the hive4 flavour adds: the listeners' jar and classes, and Hive 4's external
  # warehouse (MetastoreConf.WAREHOUSE_EXTERNAL), a folder apart from the managed one.
  local flavour_args=()
  if [[ "$FLAVOUR" == hive4 ]]; then
    local jar
    jar="$(PUBLISHER_PYTHON="$PY" bash "$HERE/../hive4/build.sh")" || fail_with_log "could not build the Hive 4 listeners"
    flavour_args=(
      --driver-class-path "$jar"
      --conf spark.hadoop.hive.metastore.pre.event.listeners=publisher.ci.hive4.Hive4Rules
      --conf spark.hadoop.hive.metastore.event.listeners=publisher.ci.hive4.PurgeOnDrop
      --conf "spark.hadoop.hive.metastore.warehouse.external.dir=$STATE/external"
    )
  fi

  rm -rf "$STATE"
  mkdir -p "$STATE/warehouse"
  [[ "$FLAVOUR" != hive4 ]] || mkdir -p "$STATE/external"
  : >"$LOG"

  local t0
  t0="$(now)"
  # setsid: the server outlives this shell and gets its own process group, which
  # stop signals as a whole. Without job control setsid does not fork, so $! is the
  # server's PID (spark-class execs java).
  SPARK_HOME="$spark_home" SPARK_LOCAL_IP=127.0.0.1 SPARK_CONF_DIR="$STATE" \
  setsid "$spark_home/bin/spark-submit" \
    --class org.apache.spark.sql.hive.thriftserver.HiveThriftServer2 \
    --name "publisher-ci-$NAME" \
    --master 'local[2]' --driver-memory 1g \
    --conf spark.driver.host=127.0.0.1 \
    --conf spark.driver.bindAddress=127.0.0.1 \
    --conf spark.ui.enabled=false \
    --conf spark.ui.showConsoleProgress=false \
    --conf "spark.sql.warehouse.dir=$STATE/warehouse" \
    --conf "spark.hadoop.javax.jdo.option.ConnectionURL=jdbc:derby:;databaseName=$STATE/metastore_db;create=true" \
    --conf spark.sql.session.timeZone=UTC \
    --conf spark.sql.hive.convertMetastoreParquet=true \
    --conf spark.sql.parquet.writeLegacyFormat=true \
    --conf spark.sql.ansi.enabled=true \
    "${flavour_args[@]}" \
    --driver-java-options "-Dderby.system.home=$STATE -Dderby.stream.error.file=$STATE/derby.log -Dlog4j2.configurationFile=file:$HERE/log4j2.properties -Duser.timezone=UTC" \
    spark-internal \
    --hiveconf "hive.server2.thrift.port=$PORT" \
    --hiveconf hive.server2.thrift.bind.host=127.0.0.1 \
    --hiveconf hive.server2.authentication=NONE \
    </dev/null >>"$LOG" 2>&1 &
  local pid=$!
  echo "$pid" >"$PIDFILE"

  local deadline=$((SECONDS + TIMEOUT))
  until port_open; do
    kill -0 "$pid" 2>/dev/null || fail_with_log "the server exited before opening port $PORT"
    ((SECONDS < deadline)) || fail_with_log "port $PORT not open after ${TIMEOUT}s"
    sleep 0.5
  done
  local t_port
  t_port="$(elapsed "$t0")"
  probe_query "$((deadline - SECONDS))" || fail_with_log "the server opened port $PORT but did not answer SELECT 1"
  log "ready on 127.0.0.1:$PORT (pid $pid) in $(elapsed "$t0")s (port open after ${t_port}s)"
}

do_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PIDFILE"
    log "not running"
    return 0
  fi
  # The whole process group setsid made (pgid == pid), else the PID alone.
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 20); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid still alive after 10s: SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
  log "stopped (pid $pid)"
}

case "${1:-}" in
  start) do_start ;;
  stop) do_stop ;;
  *)
    echo "usage: $0 start|stop [spark|hive4]" >&2
    exit 2
    ;;
esac
