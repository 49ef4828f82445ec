# Functions the engine scripts share (sourced, not run). The script sets NAME, PORT, PIDFILE,
# LOG and PY, and defines do_stop, before calling them.

log() { printf '%s: %s\n' "$NAME" "$*" >&2; }

running_pid() {
  # The PID from the PID file, if that process still lives.
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && { echo "$pid"; return 0; }
  return 1
}

port_open() {
  # bash's /dev/tcp: no extra process, cheap enough to poll on 2 cores.
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

fail_with_log() {
  # The reason, the log's last lines without Java stack frames, then stop what was started.
  log "$1"
  if [[ -f "$LOG" ]]; then
    log "last lines of $LOG:"
    grep -v '^\s*at ' "$LOG" | tail -n 40 >&2
  fi
  do_stop || true
  exit 1
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

probe_query() {
  # SELECT 1 through PyHive, as the tests connect, within $1 seconds. Retried: the port opens
  # a moment before the session manager accepts sessions.
  "$PY" - "$PORT" "$1" <<'PYEOF'
import sys, time
from pyhive import hive

port, budget = int(sys.argv[1]), max(int(sys.argv[2]), 5)
deadline = time.monotonic() + budget
while True:
    try:
        conn = hive.connect(host="127.0.0.1", port=port, auth="NONE", username="publisher")
        cur = conn.cursor()
        cur.execute("SELECT 1")
        assert cur.fetchall() == [(1,)]
        conn.close()
        break
    except Exception as exc:  # noqa: BLE001 - report the last error on timeout
        if time.monotonic() > deadline:
            sys.exit(f"SELECT 1 failed: {exc}")
        time.sleep(1)
PYEOF
}

close_inherited_fds() {
  # A lock the caller holds (`flock lockfile bash this.sh start`) must not live on in the
  # servers this script starts, which outlive it and would hold it for hours: every
  # descriptor but the standard three and the one bash reads this script from (255).
  local fd
  for fd in /proc/$BASHPID/fd/*; do
    fd=${fd##*/}
    if ((fd > 2 && fd < 255)); then
      eval "exec ${fd}>&-" 2>/dev/null || true
    fi
  done
}
