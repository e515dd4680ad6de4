#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The run command (README): install missing Debian packages, build, and start knobd in the
# foreground with the bundled policy. Logs go to stderr; Ctrl-C stops it cleanly (exit 0).
#
# The control socket and state go under ./build/run/ (KNOBD_RUN_DIR), so nothing outside the
# checkout is touched and no root is needed. Extra arguments go to knobd; the metrics address
# comes from KNOBD_METRICS_LISTEN (default 127.0.0.1:10464) so the printed curl line is right:
#   KNOBD_METRICS_LISTEN=127.0.0.1:9500 scripts/run.sh --log-level debug
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
# Only what runs here (the tests are the test command's business): a first run builds in minutes.
KNOB_TARGETS="knobd knobctl knob-example-service knob-loadgen" scripts/build.sh

BUILD_DIR=${BUILD_DIR:-build}
KNOBD="$BUILD_DIR/daemon/knobd"
CONFIG=${KNOBD_CONFIG:-config/knobd.yaml}
RUN_DIR=${KNOBD_RUN_DIR:-$PWD/$BUILD_DIR/run}
METRICS=${KNOBD_METRICS_LISTEN:-127.0.0.1:10464}
mkdir -p "$RUN_DIR/state"

"$KNOBD" --check-config "$CONFIG"

# ==== Hook: example service + load generator (filled by the control-socket/bench work) ==========
# Start the bundled example service and its load generator here, in the background, pointed at
# "$RUN_DIR/control.sock"; append their PIDs to EXTRA_PIDS so they stop with knobd.
EXTRA_PIDS=()
# KNOB_EXAMPLE=0 skips them; KNOB_EXAMPLE_PORT moves the service (default 7070). The service
# retries the socket until knobd is up; the load generator runs until stopped and prints a
# throughput line every 10 s into $RUN_DIR/loadgen.log.
if [ "${KNOB_EXAMPLE:-1}" != "0" ] && [ -x "$BUILD_DIR/bench/example_service/knob-example-service" ]; then
  EXAMPLE_PORT=${KNOB_EXAMPLE_PORT:-7070}
  "$BUILD_DIR/bench/example_service/knob-example-service" --port "$EXAMPLE_PORT" \
    --socket "$RUN_DIR/control.sock" 2>"$RUN_DIR/example-service.log" &
  EXTRA_PIDS+=($!)
  "$BUILD_DIR/bench/loadgen/knob-loadgen" --port "$EXAMPLE_PORT" --duration 0 --connections 16 \
    --report-every 10 >"$RUN_DIR/loadgen.log" 2>&1 &
  EXTRA_PIDS+=($!)
  echo "knobd: example service on 127.0.0.1:$EXAMPLE_PORT (log $RUN_DIR/example-service.log)," \
       "load generator running (log $RUN_DIR/loadgen.log); watch: $BUILD_DIR/daemon/knobctl/knobctl --socket" \
       "$RUN_DIR/control.sock targets" >&2
fi
# =================================================================================================

cleanup() {
  for pid in "${EXTRA_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

cat >&2 <<MSG
knobd: starting with $CONFIG
  metrics:         curl -s http://$METRICS/metrics | grep ^knobd_
  control socket:  $RUN_DIR/control.sock
  state:           $RUN_DIR/state
  reload policy:   kill -HUP \$(pgrep -n knobd)     stop: Ctrl-C
MSG

# knobd runs in the foreground as a child (not exec) so the trap can stop the helpers after it.
# Ctrl-C reaches knobd directly (same process group); it finishes its tick and exits 0.
set +e
"$KNOBD" --config "$CONFIG" --control-socket "$RUN_DIR/control.sock" \
  --state-dir "$RUN_DIR/state" --metrics-listen "$METRICS" "$@" &
KNOBD_PID=$!
trap 'kill -INT $KNOBD_PID 2>/dev/null' INT
trap 'kill -TERM $KNOBD_PID 2>/dev/null' TERM
while true; do
  wait "$KNOBD_PID"
  rc=$?
  # wait returns >128 when a trapped signal interrupted it; knobd itself is still finishing.
  if kill -0 "$KNOBD_PID" 2>/dev/null; then continue; fi
  break
done
exit "$rc"
