#!/usr/bin/env bash
# The local Redshift stand-in for the integration tests (see tests/standin/proxy.py for
# what it reproduces and what it does not):
#   - PostgreSQL 15 on 127.0.0.1:$PUBLISHER_PG_PORT (database dev, user publisher, md5),
#   - an S3 API server (moto) on 127.0.0.1:$PUBLISHER_S3_PORT,
#   - the Redshift wire proxy on 127.0.0.1:$PUBLISHER_REDSHIFT_PORT, in front of both;
#   - on the same PostgreSQL, database pubpg (owner publisher): the postgres target's own, reached
#     directly (no proxy), so that CI starts nothing more for it.
# Every start wipes the state: each run begins with an empty database and no buckets.
#
#   bash .ci/services/redshift_standin.sh start   # one line per service, with its time
#   bash .ci/services/redshift_standin.sh stop    # safe when nothing runs, safe twice
#
# Environment:
#   PUBLISHER_PG_PORT                 PostgreSQL port (default 15432)
#   PUBLISHER_S3_PORT                 S3 server port (default 9000)
#   PUBLISHER_REDSHIFT_PORT           proxy port, what clients connect to (default 5439)
#   PUBLISHER_REDSHIFT_SLICES         the cluster's slices, rows of stv_slices (default 4)
#   PUBLISHER_TEST_REDSHIFT_PASSWORD  password of user publisher (default standin-secret)
#   PUBLISHER_CI_STATE                state root (default /tmp/publisher-ci); ours is redshift/
#   PUBLISHER_PYTHON                  a python with boto3, moto[server], pyarrow, fastavro,
#                                     psycopg (default: python)
#
# After start, $PUBLISHER_CI_STATE/redshift/env.sh holds the variables the tests read
# (PUBLISHER_TEST_REDSHIFT, ..._PASSWORD, ..._CA, ..._SLICES, PUBLISHER_TEST_S3,
# PUBLISHER_TEST_POSTGRES, ..._DATABASE, ..._PASSWORD): `source` it.
set -euo pipefail

# Below 32768: a port in the kernel's ephemeral range (32768-60999) can be taken by any
# outgoing connection (the Hive engines open many), and PostgreSQL then fails to start.
PG_PORT="${PUBLISHER_PG_PORT:-15432}"
S3_PORT="${PUBLISHER_S3_PORT:-9000}"
RS_PORT="${PUBLISHER_REDSHIFT_PORT:-5439}"
# 4, not the 2 a plan assumes when it cannot read them: a live plan's warnings show they were read.
SLICES="${PUBLISHER_REDSHIFT_SLICES:-4}"
PASSWORD="${PUBLISHER_TEST_REDSHIFT_PASSWORD:-standin-secret}"
ROOT="${PUBLISHER_CI_STATE:-/tmp/publisher-ci}"
STATE="$ROOT/redshift"
PY="${PUBLISHER_PYTHON:-python}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
# close_inherited_fds (the stand-in's other functions are its own, defined below)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
TIMEOUT=30
# Debian installs the server's binaries only in /usr/lib/postgresql/<version>/bin, off PATH.
PG_BIN="$(dirname "$(readlink -f "$(command -v postgres || ls -d /usr/lib/postgresql/*/bin/postgres | sort -V | tail -1)")")"

# PID files live beside the state folder so that wiping the state on start keeps them.
PG_PIDFILE="$ROOT/redshift-postgres.pid"
S3_PIDFILE="$ROOT/redshift-s3.pid"
PROXY_PIDFILE="$ROOT/redshift-proxy.pid"

log() { printf 'redshift-standin: %s\n' "$*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

port_open() {
  # bash's /dev/tcp: no extra process, cheap enough to poll on 2 cores.
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

running_pid() {
  # The PID from a PID file, if that process still lives.
  local file="$1" pid
  [[ -f "$file" ]] || return 1
  pid="$(cat "$file")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && { echo "$pid"; return 0; }
  return 1
}

fail_with_log() {
  local message="$1" logfile="$2"
  log "$message"
  if [[ -f "$logfile" ]]; then
    log "last lines of $logfile:"
    tail -n 30 "$logfile" >&2
  fi
  do_stop >/dev/null 2>&1 || true
  exit 1
}

wait_for_port() {
  # Wait for 127.0.0.1:$port while the process $pid lives.
  local port="$1" pid="$2" what="$3" logfile="$4"
  local deadline=$((SECONDS + TIMEOUT))
  until port_open "$port"; do
    kill -0 "$pid" 2>/dev/null || fail_with_log "$what exited before opening port $port" "$logfile"
    ((SECONDS < deadline)) || fail_with_log "$what: port $port not open after ${TIMEOUT}s" "$logfile"
    sleep 0.1
  done
}

stop_one() {
  # SIGTERM (or the given signal), then SIGKILL after 5 s. The process group setsid
  # made is signalled as a whole where there is one.
  local name="$1" file="$2" signal="${3:-TERM}" pid
  if ! pid="$(running_pid "$file")"; then
    rm -f "$file"
    return 0
  fi
  STOPPED=$((STOPPED + 1))
  kill "-$signal" -- "-$pid" 2>/dev/null || kill "-$signal" "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name (pid $pid) still alive after 5s: SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
  log "$name stopped (pid $pid)"
}

start_postgres() {
  local t0 data="$STATE/pgdata" sock="$STATE/pgsocket" logfile="$STATE/postgres.log"
  t0="$(now)"
  mkdir -p "$data" "$sock"
  : >"$logfile"
  # The server refuses to run as root: its folders belong to the postgres user. The
  # socket folder stays private (0700): only root (the proxy) and postgres reach it,
  # which is what makes the 'trust' line for the postgres role below acceptable.
  chown postgres:postgres "$data" "$sock" "$logfile"
  chmod 0700 "$data" "$sock"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=md5 >>"$logfile" 2>&1 \
    || fail_with_log "initdb failed" "$logfile"
  cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$sock'
fsync = off
synchronous_commit = off
full_page_writes = off
# redshift_connector fails SCRAM: every password is stored as md5.
password_encryption = md5
timezone = 'UTC'
log_timezone = 'UTC'
datestyle = 'iso, mdy'
EOF
  # The proxy's bookkeeping connection (stl_load_errors) uses the postgres role over
  # the private socket; everything else, clients included, authenticates with md5.
  cat >"$data/pg_hba.conf" <<EOF
local   all   postgres                 trust
local   all   all                      md5
host    all   all        127.0.0.1/32  md5
EOF
  setsid runuser -u postgres -- "$PG_BIN/postgres" -D "$data" </dev/null >>"$logfile" 2>&1 &
  local launcher=$!
  wait_for_port "$PG_PORT" "$launcher" "postgres" "$logfile"
  # The postmaster's own PID (runuser stays as its parent): signals go to the server.
  head -n 1 "$data/postmaster.pid" >"$PG_PIDFILE"

  local psql=(psql -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$PG_PORT" -U postgres)
  "${psql[@]}" -d postgres -v pw="$PASSWORD" >>"$logfile" 2>&1 <<'EOF' || fail_with_log "creating user publisher and database dev failed" "$logfile"
SET password_encryption = 'md5';
CREATE ROLE publisher LOGIN PASSWORD :'pw';
CREATE DATABASE dev OWNER publisher;
CREATE DATABASE pubpg OWNER publisher;
EOF
  "${psql[@]}" -d dev -v slices="$SLICES" -f "$REPO/tests/standin/bootstrap.sql" >>"$logfile" 2>&1 \
    || fail_with_log "loading tests/standin/bootstrap.sql failed" "$logfile"
  log "postgres ready on 127.0.0.1:$PG_PORT (pid $(cat "$PG_PIDFILE")) in $(elapsed "$t0")s"
}

start_s3() {
  local t0 logfile="$STATE/s3.log"
  t0="$(now)"
  : >"$logfile"
  setsid "$PY" -m moto.server -H 127.0.0.1 -p "$S3_PORT" </dev/null >>"$logfile" 2>&1 &
  local pid=$!
  echo "$pid" >"$S3_PIDFILE"
  wait_for_port "$S3_PORT" "$pid" "the S3 server" "$logfile"
  log "s3 (moto) ready on 127.0.0.1:$S3_PORT (pid $pid) in $(elapsed "$t0")s"
}

make_tls() {
  # A private CA and a server certificate for 127.0.0.1/localhost, so that the
  # driver's default (ssl=True, verify the chain) works once the client trusts ca.crt
  # (SSL_CERT_FILE=ca.crt: redshift_connector loads the default verify paths).
  local dir="$STATE/tls"
  mkdir -p "$dir"
  (
    cd "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=publisher stand-in CA" \
      -keyout ca.key -out ca.crt
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >ext.cnf
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
      -extfile ext.cnf -out server.crt
  ) >>"$STATE/tls.log" 2>&1 || fail_with_log "creating the TLS certificates failed" "$STATE/tls.log"
}

start_proxy() {
  local t0 logfile="$STATE/proxy.log"
  t0="$(now)"
  : >"$logfile"
  make_tls
  (
    cd "$REPO"
    PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" setsid "$PY" -m tests.standin.proxy \
      --listen "127.0.0.1:$RS_PORT" \
      --upstream-port "$PG_PORT" --upstream-socket-dir "$STATE/pgsocket" \
      --database dev \
      --s3-endpoint "http://127.0.0.1:$S3_PORT" \
      --tls-cert "$STATE/tls/server.crt" --tls-key "$STATE/tls/server.key" \
      </dev/null >>"$logfile" 2>&1 &
    echo $! >"$PROXY_PIDFILE"
  )
  local pid
  pid="$(cat "$PROXY_PIDFILE")"
  wait_for_port "$RS_PORT" "$pid" "the proxy" "$logfile"
  cat >"$STATE/env.sh" <<EOF
export PUBLISHER_TEST_REDSHIFT=127.0.0.1:$RS_PORT
export PUBLISHER_TEST_REDSHIFT_PASSWORD='$PASSWORD'
export PUBLISHER_TEST_REDSHIFT_CA=$STATE/tls/ca.crt
export PUBLISHER_TEST_S3=http://127.0.0.1:$S3_PORT
export PUBLISHER_TEST_REDSHIFT_SLICES=$SLICES
export PUBLISHER_TEST_POSTGRES=127.0.0.1:$PG_PORT
export PUBLISHER_TEST_POSTGRES_DATABASE=pubpg
export PUBLISHER_TEST_POSTGRES_PASSWORD='$PASSWORD'
EOF
  log "redshift proxy ready on 127.0.0.1:$RS_PORT (pid $pid, $SLICES slices) in $(elapsed "$t0")s"
}

do_start() {
  close_inherited_fds
  if ! [[ "$SLICES" =~ ^([2-9]|[1-9][0-9]+)$ ]]; then
    log "PUBLISHER_REDSHIFT_SLICES must be a whole number of 2 or more (every node type has 2), not '$SLICES'"
    exit 1
  fi
  do_stop >/dev/null 2>&1 || true
  local port
  for port in "$PG_PORT" "$S3_PORT" "$RS_PORT"; do
    if port_open "$port"; then
      log "port $port on 127.0.0.1 is already in use by another process"
      exit 1
    fi
  done
  if ! "$PY" -c 'import boto3, moto.server, pyarrow, fastavro, psycopg' 2>/dev/null; then
    log "'$PY' lacks boto3, moto[server], pyarrow, fastavro or psycopg: set PUBLISHER_PYTHON"
    exit 1
  fi
  rm -rf "$STATE"
  mkdir -p "$STATE"
  start_postgres
  start_s3
  start_proxy
}

do_stop() {
  STOPPED=0
  # Clients first, then the servers behind them.
  stop_one "redshift proxy" "$PROXY_PIDFILE"
  stop_one "s3 (moto)" "$S3_PIDFILE"
  # SIGINT is PostgreSQL's fast shutdown (SIGTERM would wait for sessions to end);
  # a SIGKILLed postmaster would leave orphaned backends and shared memory behind.
  stop_one "postgres" "$PG_PIDFILE" INT
  ((STOPPED > 0)) || log "not running"
}

case "${1:-}" in
  start) do_start ;;
  stop) do_stop ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
