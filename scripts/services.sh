#!/usr/bin/env bash
# Local services for tests and trial runs, all on 127.0.0.1 (see services/README.md):
#   kafka  Apache Kafka broker, KRaft single node   (STREAMLINE_KAFKA_PORT, default 9092)
#   moto   S3, DynamoDB and S3 Tables APIs          (STREAMLINE_MOTO_PORT, default 5055)
# usage: scripts/services.sh up|down|status|install [kafka|moto|all]
# `up` is idempotent: installs what is missing, starts what is down, waits for health.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=services/common.sh
source "$here/services/common.sh"
# shellcheck source=services/kafka.sh
source "$here/services/kafka.sh"
# shellcheck source=services/moto.sh
source "$here/services/moto.sh"

usage() {
  echo "usage: $0 up|down|status|install [kafka|moto|all]" >&2
  exit 64
}

command="${1:-}"
target="${2:-all}"
case "$target" in
  all) services=(kafka moto) ;;
  kafka | moto) services=("$target") ;;
  *) usage ;;
esac

install_one() {
  case "$1" in
    kafka) kafka_install ;;
    moto) venv_install ;;
  esac
}

# Two test processes may call `up` at once; only one may start a given broker.
if [[ "$command" != status ]] && command -v flock >/dev/null; then
  exec 9>"$RUN_DIR/services.lock"
  flock 9
fi

status=0
failed=()
case "$command" in
  up)
    start="$(now_ms)"
    venv_job=""
    if [[ "${services[*]}" == "kafka moto" ]] && ! venv_installed; then
      # A cold start is mostly downloads: fetch the virtualenv while Maven and the broker work.
      venv_install &
      venv_job=$!
    fi
    for service in "${services[@]}"; do
      if [[ "$service" == moto && -n "$venv_job" ]]; then
        if ! wait "$venv_job"; then status=1; failed+=("$service"); continue; fi
      fi
      "${service}_up" || { status=1; failed+=("$service"); }
    done
    if (( status == 0 )); then
      say "up: ${services[*]} ready in $(elapsed_s "$start")s"
    else
      for service in "${failed[@]}"; do
        fail "up: $service did not start; its log: $LOG_DIR/$service.log (install log: $LOG_DIR/$([[ $service == kafka ]] && echo kafka-install || echo venv-install).log)"
      done
    fi
    ;;
  down)
    for service in "${services[@]}"; do "${service}_down" || status=1; done
    ;;
  status)
    for service in "${services[@]}"; do "${service}_status" || status=1; done
    ;;
  install)
    for service in "${services[@]}"; do install_one "$service" || status=1; done
    ;;
  *) usage ;;
esac
exit "$status"
