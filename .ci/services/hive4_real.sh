#!/usr/bin/env bash
# A real Apache Hive 4 HiveServer2 for the integration tests: the jars from Maven
# (.ci/hive4real/pom.xml, fetched and cached by .ci/hive4real/fetch.sh), an embedded Derby
# metastore (schema by MetastoreSchemaTool, fresh on every start), MapReduce in local mode
# (in the server's JVM, files on the local disk), bound to loopback, auth NONE as PyHive
# connects. No Docker, no Tez, no HDFS.
#
#   bash .ci/services/hive4_real.sh start [defaults|acid]   # prints how long it took
#   bash .ci/services/hive4_real.sh stop [defaults|acid]
#
# Configurations (second argument):
#   defaults (default)  Apache Hive 4 as it ships: the metastore's default transformer makes a
#                       plain CREATE TABLE EXTERNAL with external.table.purge=TRUE, in the
#                       external warehouse (hive.metastore.warehouse.external.dir).
#   acid                Cloudera-like: hive.support.concurrency, DbTxnManager,
#                       hive.create.as.insert.only and metastore.create.as.acid, so a managed
#                       CREATE TABLE is ACID (insert-only for Parquet, full for ORC).
#
# Environment:
#   PUBLISHER_HIVE4_REAL_PORT  port of "defaults" (default 10017)
#   PUBLISHER_HIVE4_ACID_PORT  port of "acid" (default 10018)
#   PUBLISHER_CI_STATE         state root (default /tmp/publisher-ci); ours is hive4real/ (hive4acid/)
#   PUBLISHER_PYTHON           a python with PyHive, for the readiness probe (default: python)
#   PUBLISHER_HIVE4_REAL_CACHE where fetch.sh keeps the jars (see there)
set -euo pipefail

CONF="${2:-defaults}"
ROOT="${PUBLISHER_CI_STATE:-/tmp/publisher-ci}"
PY="${PUBLISHER_PYTHON:-python}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TIMEOUT=180
case "$CONF" in
  defaults)
    PORT="${PUBLISHER_HIVE4_REAL_PORT:-10017}"
    NAME=hive4real
    ;;
  acid)
    PORT="${PUBLISHER_HIVE4_ACID_PORT:-10018}"
    NAME=hive4acid
    ;;
  *)
    echo "unknown configuration '$CONF' (known: defaults, acid)" >&2
    exit 2
    ;;
esac
STATE="$ROOT/$NAME"
PIDFILE="$ROOT/$NAME.pid"
LOG="$ROOT/$NAME.log"

# shellcheck source=lib.sh
source "$HERE/lib.sh"

prop() { printf '  <property><name>%s</name><value>%s</value></property>\n' "$1" "$2"; }

hive_site() {
  echo '<?xml version="1.0"?>'
  echo '<configuration>'
  prop javax.jdo.option.ConnectionURL "jdbc:derby:;databaseName=$STATE/metastore_db"
  prop javax.jdo.option.ConnectionDriverName org.apache.derby.jdbc.EmbeddedDriver
  prop hive.metastore.uris ""
  prop hive.metastore.warehouse.dir "file://$STATE/warehouse"
  prop hive.metastore.warehouse.external.dir "file://$STATE/external"
  prop hive.local.time.zone UTC
  prop hive.server2.thrift.bind.host 127.0.0.1
  prop hive.server2.thrift.port "$PORT"
  prop hive.server2.authentication NONE
  prop hive.server2.enable.doAs false
  prop hive.server2.webui.port 0
  prop hive.execution.engine mr
  prop mapreduce.framework.name local
  prop fs.defaultFS file:///
  prop hive.exec.scratchdir "$STATE/scratch"
  prop hive.exec.local.scratchdir "$STATE/localscratch"
  prop hive.downloaded.resources.dir "$STATE/resources"
  prop hive.querylog.location "$STATE/querylog"
  prop hive.server2.logging.operation.log.location "$STATE/operation_logs"
  prop hive.user.install.directory "$STATE/user"
  prop mapreduce.cluster.local.dir "$STATE/mapred/local"
  prop mapreduce.jobtracker.staging.root.dir "$STATE/mapred/staging"
  prop hadoop.tmp.dir "$STATE/hadoop-tmp"
  # A map join's local task in the server's JVM: as a child it would need a `hadoop` command.
  prop hive.exec.submit.local.task.via.child false
  # No map joins: under MapReduce a map join's local task over a full-ACID ORC table fails
  # (NullPointerException in StandardStructObjectInspector, MERGE on Hive 4.0.1); clusters run
  # Tez, where it does not arise. A shuffle join gives the same rows.
  prop hive.auto.convert.join false
  if [[ "$CONF" == acid ]]; then
    prop hive.support.concurrency true
    prop hive.txn.manager org.apache.hadoop.hive.ql.lockmgr.DbTxnManager
    prop hive.create.as.insert.only true
    prop metastore.create.as.acid true
    prop hive.compactor.initiator.on false
  fi
  echo '</configuration>'
}

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
  local t0 home
  t0="$(now)"
  home="$(bash "$HERE/../hive4real/fetch.sh")" || { log "could not fetch Apache Hive 4 (see above)"; exit 1; }
  local t_fetch
  t_fetch="$(elapsed "$t0")"

  rm -rf "$STATE"
  mkdir -p "$STATE/conf" "$STATE/warehouse" "$STATE/external"
  cp -r "$home/metastore_db" "$STATE/metastore_db"
  hive_site >"$STATE/conf/hive-site.xml"
  # Hive re-initialises log4j2 from hive-log4j2.properties on its classpath (else it writes
  # to /tmp/$USER/hive.log): ours sends WARN and above to the log file.
  cp "$HERE/log4j2.properties" "$STATE/conf/hive-log4j2.properties"
  : >"$LOG"

  # setsid: own process group, which stop signals as a whole; exec: $! is java's PID.
  # shellcheck disable=SC2046
  setsid bash -c 'exec "$@"' _ java -Xmx1g $(cat "$HERE/../hive4real/java-options") \
    -Dderby.system.home="$STATE" -Dderby.stream.error.file="$STATE/derby.log" -Duser.timezone=UTC \
    -Djava.io.tmpdir="$STATE/tmp" \
    -cp "$STATE/conf:$home/lib/*" org.apache.hive.service.server.HiveServer2 \
    </dev/null >>"$LOG" 2>&1 &
  local pid=$!
  mkdir -p "$STATE/tmp"
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
  log "Apache Hive $(cat "$home/version") ($CONF) ready on 127.0.0.1:$PORT (pid $pid) in $(elapsed "$t0")s (fetch ${t_fetch}s, port open after ${t_port}s)"
}

do_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PIDFILE"
    log "not running"
    return 0
  fi
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
    echo "usage: $0 start|stop [defaults|acid]" >&2
    exit 2
    ;;
esac
