# moto in server mode: S3, DynamoDB and S3 Tables APIs on 127.0.0.1, one process for all of them.
# Sourced by scripts/services.sh after common.sh. The virtualenv (also home of pyiceberg for
# scripts/iceberg-read.py) lives in $SERVICES_DIR/venv.

MOTO_PORT="${STREAMLINE_MOTO_PORT:-5055}"
VENV_DIR="$SERVICES_DIR/venv"
PYTHON_REQUIREMENTS="$REPO_ROOT/services/python/requirements.txt"
MOTO_LOG="$LOG_DIR/moto.log"

venv_installed() {
  [[ -x "$VENV_DIR/bin/moto_server" ]] && [[ -f "$VENV_DIR/.requirements-sha256" ]] &&
    [[ "$(cat "$VENV_DIR/.requirements-sha256")" == "$(files_hash "$PYTHON_REQUIREMENTS")" ]]
}

venv_install() {
  if venv_installed; then return 0; fi
  local python="${STREAMLINE_PYTHON:-python3}"
  command -v "$python" >/dev/null || { fail "moto: $python is not installed (need Python 3.10+)"; return 1; }
  if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
    fail "moto: $python is $("$python" --version 2>&1); need Python 3.10+ (set STREAMLINE_PYTHON)"
    return 1
  fi
  local start log="$LOG_DIR/venv-install.log"; start="$(now_ms)"
  say "moto: installing moto[server] and pyiceberg[pyarrow] into $VENV_DIR (log: $log)"
  if [[ ! -x "$VENV_DIR/bin/python" ]]; then
    "$python" -m venv "$VENV_DIR" >"$log" 2>&1 || { report_start_failure moto "$log" "creating the virtualenv failed"; return 1; }
  fi
  if ! "$VENV_DIR/bin/python" -m pip install --disable-pip-version-check -q -r "$PYTHON_REQUIREMENTS" >>"$log" 2>&1; then
    report_start_failure moto "$log" "pip install -r services/python/requirements.txt failed"
    return 1
  fi
  files_hash "$PYTHON_REQUIREMENTS" >"$VENV_DIR/.requirements-sha256"
  say "moto: virtualenv ready in $(elapsed_s "$start")s"
}

moto_endpoint() { echo "http://127.0.0.1:$MOTO_PORT"; }

moto_healthy() {
  # moto's dashboard answers once the server routes requests (small and static; data.json would
  # dump every resource, megabytes late in a test run); no AWS call needed.
  "$VENV_DIR/bin/python" - "$(moto_endpoint)/moto-api/" <<'PY'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=10) as response:
    sys.exit(0 if response.status == 200 else 1)
PY
}

moto_up() {
  venv_install || return 1
  if moto_healthy >/dev/null 2>&1; then
    if live_pid moto >/dev/null; then
      say "moto already running on $(moto_endpoint) (pid $(live_pid moto))"
    else
      say "moto: a server not started by this script already answers on $(moto_endpoint); using it"
    fi
    return 0
  fi
  local start; start="$(now_ms)"
  if ! live_pid moto >/dev/null; then
    if port_open "$MOTO_PORT"; then
      report_start_failure moto "$MOTO_LOG" "port $MOTO_PORT on 127.0.0.1 is taken by another process (set STREAMLINE_MOTO_PORT)"
      return 1
    fi
    say "moto: starting moto server on $(moto_endpoint) (log: $MOTO_LOG)"
    # moto-server.py serialises requests so conditional writes are atomic, as on AWS.
    spawn_service moto "$MOTO_LOG" "$VENV_DIR/bin/python" "$REPO_ROOT/scripts/services/moto-server.py" "$MOTO_PORT"
  fi
  await_ready moto "$MOTO_LOG" "$start" "$(moto_endpoint)" "moto_server exited" "no answer on $(moto_endpoint)" 5 moto_healthy
}

moto_down() { stop_service moto 15; }

moto_status() { service_status moto "$(moto_endpoint)" "$MOTO_LOG" moto_healthy venv_installed; }
