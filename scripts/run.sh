#!/usr/bin/env bash
# The run command (README): install missing Debian packages, build, and start knobd in the
# foreground with the bundled policy. Logs go to stderr; Ctrl-C stops it cleanly (exit 0).
#
# Not root, or root without the system directories: the control socket and state go under
# ./build/run/ so nothing outside the checkout is touched. Override with the usual flags:
#   scripts/run.sh --metrics-listen 127.0.0.1:9500 --log-level debug
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh

BUILD_DIR=${BUILD_DIR:-build}
KNOBD="$BUILD_DIR/daemon/knobd"
CONFIG=${KNOBD_CONFIG:-config/knobd.yaml}
RUN_DIR=${KNOBD_RUN_DIR:-$PWD/$BUILD_DIR/run}
METRICS=${KNOBD_METRICS_LISTEN:-127.0.0.1:9464}
mkdir -p "$RUN_DIR/state"

"$KNOBD" --check-config "$CONFIG"

# ==== Hook: example service + load generator (filled by the control-socket/bench work) ==========
# Start the bundled example service and its load generator here, in the background, pointed at
# "$RUN_DIR/control.sock"; append their PIDs to EXTRA_PIDS so they stop with knobd.
EXTRA_PIDS=()
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
