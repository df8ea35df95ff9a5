#!/usr/bin/env bash
# Proves, without a Docker engine, what the Dockerfile's two stages do:
#   stage 1  a clean copy of the build context (tracked and untracked-but-not-ignored files,
#            minus .dockerignore's obvious exclusions) → `npm ci` → `npm run build`
#   stage 2  only package.json, package-lock.json and dist/ → `npm ci --omit=dev`, then
#            `node dist/run.js --help`, a short embedded-default run that must exit 0 and write
#            the Iceberg table, and the image's HEALTHCHECK command against a running job.
# No dev dependency (typescript, @types/*) may be present or needed at run time.
#
# usage: bash scripts/check-production-install.sh [--keep]   (--keep leaves the temp dirs)
# env:   CHECK_RECORDS (default 2000) records for the embedded run
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
records=${CHECK_RECORDS:-2000}
keep=false
[[ "${1:-}" == "--keep" ]] && keep=true

export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false npm_config_loglevel=warn

tmp=$(mktemp -d "${TMPDIR:-/tmp}/streamline-prod-check.XXXXXX")
job_pid=""
cleanup() {
  local status=$?
  if [[ -n "$job_pid" ]] && kill -0 "$job_pid" 2>/dev/null; then kill -KILL "$job_pid" 2>/dev/null || true; fi
  if $keep; then echo "check-production-install: kept $tmp"; else rm -rf "$tmp"; fi
  exit "$status"
}
trap cleanup EXIT

step_start=0
step() { step_start=$(date +%s%3N); echo "--- check-production-install: $1"; }
step_done() { printf -- '--- check-production-install: done in %.1fs\n' "$(awk -v d="$(($(date +%s%3N) - step_start))" 'BEGIN { print d / 1000 }')"; }
fail() { echo "check-production-install: FAIL: $*" >&2; exit 1; }

# --- stage 1 ---------------------------------------------------------------------------------
step "stage 1: clean copy of the build context, npm ci, npm run build"
build="$tmp/build"
mkdir -p "$build"
# The Docker build context: files git knows or would add (not ignored), that still exist.
git -C "$repo" ls-files -z --cached --others --exclude-standard > "$tmp/context.list" || fail "git ls-files failed in $repo"
while IFS= read -r -d '' f; do
  if [[ -f "$repo/$f" ]]; then printf '%s\0' "$f"; fi
done < "$tmp/context.list" > "$tmp/context.existing"
(cd "$repo" && xargs -0 cp --parents -t "$build" < "$tmp/context.existing") || fail "copying the build context failed"
echo "build context: $(tr -cd '\0' < "$tmp/context.existing" | wc -c) files"
for needed in package.json package-lock.json tsconfig.json src/run.ts; do
  [[ -f "$build/$needed" ]] || fail "the build context lacks $needed"
done
(cd "$build" && npm ci --no-audit --no-fund && npm run build) > "$tmp/stage1.log" 2>&1 || { tail -n 40 "$tmp/stage1.log" >&2; fail "stage 1 (npm ci + build) failed; log above"; }
[[ -f "$build/dist/run.js" ]] || fail "stage 1 produced no dist/run.js"
step_done

# --- stage 2 ---------------------------------------------------------------------------------
step "stage 2: package files + dist only, npm ci --omit=dev"
app="$tmp/app"
mkdir -p "$app"
cp "$build/package.json" "$build/package-lock.json" "$app/"
cp -R "$build/dist" "$app/dist"
(cd "$app" && NODE_ENV=production npm ci --omit=dev --no-audit --no-fund) > "$tmp/stage2.log" 2>&1 || { tail -n 40 "$tmp/stage2.log" >&2; fail "stage 2 (npm ci --omit=dev) failed"; }
# Every package the lockfile marks dev-only (typescript, ...) must be absent, so nothing at run
# time can lean on one by accident. (@types/node may stay: a production dependency pulls it in.)
dev_only=$(node -e '
  const lock = require(process.argv[1]);
  console.log(Object.entries(lock.packages || {}).filter(([k, v]) => k.startsWith("node_modules/") && v.dev).map(([k]) => k.slice(13)).join(" "));' "$app/package-lock.json")
present=""
for dep in $dev_only; do [[ -e "$app/node_modules/$dep" ]] && present="$present $dep"; done
[[ -z "$present" ]] || fail "dev-only packages installed in the production image:$present"
[[ ! -e "$app/node_modules/typescript" ]] || fail "typescript is installed in the production image"
echo "production node_modules: $(du -sh "$app/node_modules" | cut -f1); dev-only packages absent: ${dev_only:-none}"
step_done

# Run from a neutral folder, as the image does (WORKDIR /app, state in STREAMLINE_WORK_DIR), with
# no setting that could reach Kafka or AWS.
run_env=(env -i "PATH=$PATH" "HOME=$tmp" "NODE_ENV=production" "MALLOC_ARENA_MAX=2" "LOG_LEVEL=warn")

step "stage 2: node dist/run.js --help"
help=$(cd "$app" && "${run_env[@]}" node dist/run.js --help) || fail "--help exited non-zero"
grep -q 'jobs/orders' <<<"$help" || fail "--help does not list jobs/orders"
grep -q -- '--metrics-port' <<<"$help" || fail "--help does not list --metrics-port"
step_done

step "stage 2: embedded-default run (generator, $records records, local warehouse)"
work="$tmp/work"
(cd "$app" && "${run_env[@]}" node dist/run.js jobs/orders --generator-count "$records" --metrics-port 0 --work-dir "$work") > "$tmp/run.log" 2>&1 \
  || { tail -n 40 "$tmp/run.log" >&2; fail "the embedded-default run exited non-zero"; }
hint="$work/warehouse/sink/orders/metadata/version-hint.text"
[[ -f "$hint" ]] || fail "no table written (missing $hint)"
metadata="$work/warehouse/sink/orders/metadata/$(tr -d '[:space:]' < "$hint").metadata.json"
rows=$(node -e '
  const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const s = (m.snapshots || []).find((x) => String(x["snapshot-id"]) === String(m["current-snapshot-id"]));
  console.log(s ? Number(s.summary["total-records"]) : 0);' "$metadata")
# Redelivered order ids (about 3 %) are deduplicated, so rows are a little below the records generated.
(( rows > records * 9 / 10 && rows <= records )) || fail "table has $rows rows for $records generated records"
ls "$work/checkpoints/orders"/chk-*/_metadata > /dev/null 2>&1 || fail "no completed checkpoint in $work/checkpoints"
echo "table sink.orders: $rows rows; checkpoints: $(ls -d "$work/checkpoints/orders"/chk-* | wc -l)"
step_done

step "stage 2: the image's HEALTHCHECK command against a running job"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
healthcheck=$(grep -A1 '^HEALTHCHECK' "$repo/Dockerfile" | sed -n 's/^[[:space:]]*CMD[[:space:]]*//p')
[[ -n "$healthcheck" ]] || fail "no HEALTHCHECK CMD in the Dockerfile"
mapfile -d '' hc_argv < <(node -e 'for (const a of JSON.parse(process.argv[1])) process.stdout.write(a + "\0")' "$healthcheck")
(cd "$app" && exec "${run_env[@]}" "METRICS_PORT=$port" node dist/run.js jobs/orders --generator-rate 500 --work-dir "$tmp/work-hc") > "$tmp/run-hc.log" 2>&1 &
job_pid=$!
healthy=false
for _ in $(seq 1 100); do
  if (cd "$app" && "${run_env[@]}" "METRICS_PORT=$port" "${hc_argv[@]}"); then healthy=true; break; fi
  sleep 0.2
done
$healthy || { tail -n 20 "$tmp/run-hc.log" >&2; fail "HEALTHCHECK never passed"; }
kill -TERM "$job_pid"
status=0
wait "$job_pid" || status=$?
job_pid=""
(( status == 0 )) || { tail -n 20 "$tmp/run-hc.log" >&2; fail "SIGTERM (docker stop) exited $status, expected 0"; }
if (cd "$app" && "${run_env[@]}" "METRICS_PORT=$port" "${hc_argv[@]}"); then fail "HEALTHCHECK passes with no job running"; fi
echo "HEALTHCHECK passed while running, fails once stopped; SIGTERM exited 0"
step_done

echo "check-production-install: OK"
