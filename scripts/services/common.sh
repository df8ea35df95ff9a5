# Shared settings and process helpers for scripts/services.sh (sourced, not run).
# Everything a service downloads, writes or logs lives under $SERVICES_DIR (git-ignored).

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SERVICES_DIR="${STREAMLINE_SERVICES_DIR:-$REPO_ROOT/.services}"
LOG_DIR="$SERVICES_DIR/logs"
RUN_DIR="$SERVICES_DIR/run"
# Seconds to wait for a started service to answer before declaring it failed.
SERVICES_TIMEOUT="${STREAMLINE_SERVICES_TIMEOUT:-180}"

mkdir -p "$LOG_DIR" "$RUN_DIR"

say() { printf '[services] %s\n' "$*"; }
fail() { printf '[services] ERROR: %s\n' "$*" >&2; }

now_ms() { date +%s%3N; }
elapsed_s() { # $1 = start in ms
  local end; end="$(now_ms)"
  awk -v d="$((end - $1))" 'BEGIN { printf "%.1f", d / 1000 }'
}

pid_file() { echo "$RUN_DIR/$1.pid"; }

# Prints the pid of service $1 if its pid file names a live process.
live_pid() {
  local file pid
  file="$(pid_file "$1")"
  [[ -f "$file" ]] || return 1
  pid="$(cat "$file" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

# Starts "$@" detached in its own session, output appended to log $1's file; records the pid.
# usage: spawn_service NAME LOGFILE cmd args...
spawn_service() {
  local name="$1" log="$2"; shift 2
  {
    echo
    echo "===== $(date -u +%Y-%m-%dT%H:%M:%SZ) starting $name: $*"
  } >>"$log"
  # setsid: the service must outlive this script and must not get the caller's Ctrl-C.
  # 9>&-: do not pass services.sh's lock fd to a long-lived service.
  setsid "$@" >>"$log" 2>&1 </dev/null 9>&- &
  echo $! >"$(pid_file "$name")"
}

# Polls "$2..." (a health command) until it succeeds, the process dies or the timeout passes.
# usage: wait_healthy NAME check-cmd args...
wait_healthy() {
  local name="$1"; shift
  local deadline=$(( $(date +%s) + SERVICES_TIMEOUT ))
  while true; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! live_pid "$name" >/dev/null; then
      return 2
    fi
    if (( $(date +%s) >= deadline )); then return 1; fi
    sleep 0.5
  done
}

# Waits for service NAME (just spawned, or already running) to pass its health check and says it
# is ready; otherwise reports why and returns 1, stopping a process that hung without answering.
# usage: await_ready NAME LOGFILE START_MS WHERE EXITED_WHY NO_ANSWER_WHY STOP_GRACE check-cmd args...
await_ready() {
  local name="$1" log="$2" start="$3" where="$4" exited="$5" no_answer="$6" grace="$7"; shift 7
  local rc=0
  wait_healthy "$name" "$@" || rc=$?
  case "$rc" in
    0) say "$name ready on $where in $(elapsed_s "$start")s (pid $(live_pid "$name"))" ;;
    2) report_start_failure "$name" "$log" "$exited"; return 1 ;;
    *) report_start_failure "$name" "$log" "$no_answer within ${SERVICES_TIMEOUT}s"
       stop_service "$name" "$grace" >/dev/null; return 1 ;;
  esac
}

# Says whether service NAME runs and answers at WHERE, or is installed; 0 only when healthy.
# usage: service_status NAME WHERE LOGFILE HEALTH_FN INSTALLED_FN
service_status() {
  local name="$1" where="$2" log="$3" healthy="$4" installed="$5" pid
  if pid="$(live_pid "$name")"; then
    if "$healthy" >/dev/null 2>&1; then
      say "$name: running, healthy, $where (pid $pid)"; return 0
    fi
    say "$name: running but not answering on $where (pid $pid, log $log)"; return 1
  fi
  if "$installed"; then say "$name: stopped (installed)"; else say "$name: stopped (not installed)"; fi
  return 1
}

# Prints the reason and the tail of the log, then returns non-zero (callers `return` it).
report_start_failure() {
  local name="$1" log="$2" why="$3"
  fail "$name failed to start: $why"
  fail "$name log file: $log"
  if [[ -f "$log" ]]; then
    echo "----- last 40 lines of $log -----" >&2
    tail -n 40 "$log" >&2 || true
    echo "----- end of $log -----" >&2
  fi
  return 1
}

# Stops service $1: SIGTERM, then SIGKILL after $2 seconds (default 30).
stop_service() {
  local name="$1" grace="${2:-30}" pid
  if ! pid="$(live_pid "$name")"; then
    rm -f "$(pid_file "$name")"
    say "$name is not running"
    return 0
  fi
  say "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$(( $(date +%s) + grace ))
  while kill -0 "$pid" 2>/dev/null; do
    if (( $(date +%s) >= deadline )); then
      say "$name did not stop within ${grace}s, killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.3
  done
  rm -f "$(pid_file "$name")"
  say "$name stopped"
}

# True when TCP port $1 on 127.0.0.1 accepts connections (bash's /dev/tcp, no extra tools).
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Content hash of the given files, to detect when an install is out of date.
files_hash() {
  cat "$@" | sha256sum | cut -d' ' -f1
}
