#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The tuning benchmark's real runs (issue 11, item 5; docs/benchmarks.md, "Real runs"): the same
# scores as the simulated benchmark, for the real knobd, the real example service and the real
# load generator over loopback, so the simulator is checked against reality.
#
# Per scenario:
#   1. the oracle: a measured sweep of the knob on the real service (the service restarted at
#      each value, POINT_SECONDS of load per point, the first second dropped as warm-up, the
#      whole sweep repeated REPS times, interleaved, so the spread between repetitions shows);
#   2. the tuners, each REPS times, alternating: `static` (the service at the static default;
#      knobd runs beside it in observe mode so both pay its cost) and `knobd` (apply mode, a fresh
#      state directory each run), RUN_SECONDS each;
#   3. knob-tuning-bench --score-real scores every run against the sweep and prints it next to
#      the simulator's run of the matching scenario (the same tuner, the same knobd guard timing,
#      the same length), writing OUT/tuning-real.{md,csv}.
# The real runs are a documented bench, not part of scripts/test.sh: they take minutes of wall
# time and their figures depend on the machine's load.
#
#   [REPS=2] [RUN_SECONDS=90] [POINT_SECONDS=5] bench/tuning/real.sh [--scenario ID]... [OUT]
# Scenarios: closed_plateau, limit_far_above, flat (default: all three). OUT default
# build/tuning-real. BUILD_DIR default build.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD_DIR=${BUILD_DIR:-build}
REPS=${REPS:-2}
RUN_SECONDS=${RUN_SECONDS:-90}
POINT_SECONDS=${POINT_SECONDS:-5}
SCENARIOS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --scenario) SCENARIOS+=("$2"); shift 2 ;;
    -h|--help) sed -n 2,25p "$0"; exit 0 ;;
    -*) echo "real.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ ${#SCENARIOS[@]} -gt 0 ] || SCENARIOS=(closed_plateau limit_far_above flat)
OUT=${1:-$BUILD_DIR/tuning-real}
command -v jq >/dev/null || { echo "real.sh: jq is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }

if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD_DIR" -j2 --target knobd knobctl knob-example-service knob-loadgen \
  knob-tuning-bench >/dev/null
KNOBD=$ROOT/$BUILD_DIR/daemon/knobd
KNOBCTL=$ROOT/$BUILD_DIR/daemon/knobctl/knobctl
SERVICE=$ROOT/$BUILD_DIR/bench/example_service/knob-example-service
LOADGEN=$ROOT/$BUILD_DIR/bench/loadgen/knob-loadgen
BENCH=$ROOT/$BUILD_DIR/bench/tuning/knob-tuning-bench
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# One scenario: the knob, its service flag, bounds, start and static values, the sweep, the
# SLO, the service's other flags and the load. The numbers follow the simulated scenario of
# the same name in spirit (bench/tuning/scenarios.cc), sized for the real service on 2 cores.
define() {
  case "$1" in
    closed_plateau)  # closed loop, 32 clients; 0.5 ms CPU + 4 ms backend wait per request
      KNOB=worker_threads FLAG=--workers MIN=1 MAX=32 INITIAL=2 STATIC=2 SLO_MS=200 FLAT=0 RESOURCE=1
      SWEEP="1 2 4 6 8 12 16 24 32"
      SERVICE_FLAGS="--cpu-work-us 500 --lock-hold-us 5 --backend-delay-us 4000 --backend-pool 64 --cache-bytes 65536 --concurrency-limit 4096"
      LOAD_FLAGS="--connections 32" ;;
    limit_far_above)  # open loop 300/s; the limit (256) is far above the ~2 requests in flight
      KNOB=concurrency_limit FLAG=--concurrency-limit MIN=1 MAX=512 INITIAL=256 STATIC=512 SLO_MS=100 FLAT=0 RESOURCE=0
      SWEEP="1 2 4 8 16 64 256 512"
      SERVICE_FLAGS="--workers 64 --backend-pool 64 --cpu-work-us 1000 --backend-delay-us 5000 --cache-bytes 65536"
      LOAD_FLAGS="--rate 300 --connections 64" ;;
    flat)  # light open loop (150/s): the worker count does nothing
      KNOB=worker_threads FLAG=--workers MIN=1 MAX=64 INITIAL=16 STATIC=2 SLO_MS=100 FLAT=1 RESOURCE=1
      SWEEP="1 2 4 8 16 32 64"
      SERVICE_FLAGS="--cpu-work-us 500 --backend-delay-us 2000 --backend-pool 64 --cache-bytes 65536"
      LOAD_FLAGS="--rate 150 --connections 32" ;;
    *) echo "real.sh: unknown scenario $1 (closed_plateau, limit_far_above, flat)" >&2; exit 2 ;;
  esac
}

PIDS=()
stop_all() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
trap stop_all EXIT

# Starts the service on a free port with the knob at $1 (knobd's socket $2); sets PORT.
start_service() {
  local log=$3
  : >"$log"  # exists before the background child opens it: the poll below may run first
  # shellcheck disable=SC2086
  "$SERVICE" --port 0 --socket "$2" $FLAG "$1" $SERVICE_FLAGS 2>"$log" &
  PIDS+=($!)
  PORT=
  for _ in $(seq 100); do
    PORT=$(sed -n 's/.*serving on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1 || true)
    [ -n "$PORT" ] && return 0
    sleep 0.1
  done
  echo "real.sh: the service did not start:" >&2; cat "$log" >&2; exit 1
}

policy() {  # $1: mode (apply | observe)
  cat <<YAML
global:
  tick_interval: 1s
  log_level: info
  mode: $1
  guard:
    cooldown: 5s
    verification_window: 5s
    min_samples: 5
targets:
  - name: example-service
    select: {registered: example-service}
    mode: $1
    objective: {maximize: throughput}
    constraints: {p99_latency: ${SLO_MS}ms}
    knobs:
      $KNOB: {min: $MIN, max: $MAX}
YAML
}

sweep() {
  local dir=$OUT/$1
  : >"$dir/sweep.csv"
  for rep in $(seq "$REPS"); do
    for v in $SWEEP; do
      start_service "$v" "$dir/none.sock" "$dir/sweep-service.log"
      local series=$dir/point.csv
      : >"$series"
      # shellcheck disable=SC2086
      "$LOADGEN" --port "$PORT" --duration "$POINT_SECONDS" --series "$series" $LOAD_FLAGS >/dev/null
      stop_all
      tail -n +2 "$series" | sed "s/^/$v,$rep,/" >>"$dir/sweep.csv"  # first second: warm-up
      printf '  sweep %s=%s rep %s: %s req/s\n' "$KNOB" "$v" "$rep" \
        "$(tail -n +2 "$series" | awk -F, '{s+=$2; n++} END {printf "%.0f", n ? s/n : 0}')"
    done
  done
  rm -f "$dir/point.csv"
}

run_tuner() {  # $1 scenario, $2 tuner (static | knobd), $3 rep
  local dir=$OUT/$1/$2-$3 mode=apply start=$INITIAL
  [ "$2" = static ] && { mode=observe; start=$STATIC; }
  rm -rf "$dir"; mkdir -p "$dir/state"
  policy "$mode" >"$dir/knobd.yaml"
  local sock=$dir/control.sock
  "$KNOBD" --config "$dir/knobd.yaml" --control-socket "$sock" --state-dir "$dir/state" \
    --metrics-listen 127.0.0.1:0 2>"$dir/knobd.log" &
  PIDS+=($!)
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
  start_service "$start" "$sock" "$dir/service.log"
  for _ in $(seq 100); do
    "$KNOBCTL" --socket "$sock" --json show example-service 2>/dev/null |
      jq -e '.show.app.knobs' >/dev/null 2>&1 && break
    sleep 0.1
  done
  # shellcheck disable=SC2086
  "$LOADGEN" --port "$PORT" --duration "$RUN_SECONDS" --series "$dir/load.csv" $LOAD_FLAGS \
    >"$dir/load.out" 2>&1 &
  local lg=$!
  PIDS+=($lg)
  : >"$dir/knobs.csv"
  while kill -0 "$lg" 2>/dev/null; do
    v=$("$KNOBCTL" --socket "$sock" --json show example-service 2>/dev/null |
      jq -r ".show.app.knobs.$KNOB // empty" 2>/dev/null || true)
    [ -n "$v" ] && printf '%s,%s\n' "$(date +%s.%N)" "$v" >>"$dir/knobs.csv"
    sleep 0.5
  done
  "$KNOBCTL" --socket "$sock" --json history example-service >"$dir/history.json" 2>/dev/null || true
  {
    echo "rollbacks $(jq '[.history[]? | select(.outcome == "rolled_back")] | length' "$dir/history.json" 2>/dev/null || echo 0)"
    echo "shift_alarms $("$KNOBCTL" --socket "$sock" --json show example-service 2>/dev/null |
      jq -r '.show.model.workload_shifts // -1' 2>/dev/null || echo -1)"
  } >"$dir/meta"
  stop_all
  printf '  %s rep %s: %s, final %s=%s, %s\n' "$2" "$3" "$(grep throughput "$dir/load.out" | tr -s ' ')" \
    "$KNOB" "$(tail -1 "$dir/knobs.csv" | cut -d, -f2)" "$(head -1 "$dir/meta")"
}

t0=$(date +%s)
for s in "${SCENARIOS[@]}"; do
  define "$s"
  mkdir -p "$OUT/$s"
  cat >"$OUT/$s/meta" <<META
knob $KNOB
min $MIN
max $MAX
initial $INITIAL
slo_ms $SLO_MS
flat $FLAT
resource $RESOURCE
run_seconds $RUN_SECONDS
reps $REPS
META
  echo "== $s: sweep of $KNOB over {$SWEEP}, $POINT_SECONDS s a point, $REPS repetitions"
  sweep "$s"
  for rep in $(seq "$REPS"); do
    run_tuner "$s" static "$rep"
    run_tuner "$s" knobd "$rep"
  done
done
echo "== machine: $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
"$BENCH" --score-real "$OUT" $(printf -- '--scenario %s ' "${SCENARIOS[@]}") | tee "$OUT/score.log"
printf 'real runs: %s s wall; table %s/tuning-real.md\n' "$(( $(date +%s) - t0 ))" "$OUT"
