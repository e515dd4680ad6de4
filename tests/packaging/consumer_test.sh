#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Issue 16: an out-of-tree service finds knobd's client libraries the usual ways. Installs the
# libknob0 + libknob-dev components of this build into a temporary prefix, then checks that
#   - the public headers <knob/...> include nothing of knobd's tree (core/, client/),
#   - libknob.so exports exactly the C ABI (the version script), under version node KNOB_0,
#   - a CMake project using find_package(knob) builds a C++ (knob::client) and a C (knob::knob)
#     program, and `pkg-config knob` builds the C one with a plain cc command,
#   - all three connect to a real knobd (this build's) over a temporary control socket.
# Usage: consumer_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(realpath "$1")
src=$(realpath "$2")
fail() { echo "consumer_test: FAIL: $*" >&2; exit 1; }
for tool in cmake pkg-config nm cc; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/install-deps.sh)"
done
tmp=$(mktemp -d /tmp/knob-consumer.XXXXXX)
knobd_pid=
cleanup() {
  if [ -n "$knobd_pid" ]; then kill "$knobd_pid" 2>/dev/null || true; wait "$knobd_pid" || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
prefix=$tmp/prefix

for c in libknob0 libknob-dev; do
  cmake --install "$build" --prefix "$prefix" --component "$c" >/dev/null
done
libdir=$(find "$prefix" -name libknob.so.0 -printf '%h\n' | head -1)
[ -n "$libdir" ] || fail "libknob.so.0 was not installed"
[ -f "$prefix/include/knob/knob.h" ] && [ -f "$prefix/include/knob/client.h" ] ||
  fail "headers <knob/knob.h>, <knob/client.h> missing from $prefix/include"

if grep -nE '#include +"(core|client|daemon|config)/' "$prefix"/include/knob/*.h; then
  fail "an installed header includes knobd's internal tree (above)"
fi
# Every include of an installed header is the standard library or another <knob/...> header.
grep -hoE '#include +["<][^">]+' "$prefix"/include/knob/*.h | sed -E 's/#include +["<]//' |
  sort -u | while read -r inc; do
    case "$inc" in
      knob/*) [ -f "$prefix/include/$inc" ] || fail "<$inc> is included but not installed" ;;
      */*) fail "installed header includes <$inc>" ;;
      *) ;;
    esac
  done

exported=$(nm -D --defined-only "$libdir/libknob.so.0" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' |
           grep -v '^KNOB_0$' | sort)
stray=$(grep -v '^knob_client_' <<<"$exported" || true)
[ -z "$stray" ] || fail "libknob.so exports more than the C ABI: $stray"
declared=$(grep -oE 'knob_client_[a-z_]+\(' "$prefix/include/knob/knob.h" | tr -d '(' | sort -u)
[ "$exported" = "$declared" ] || fail "exported symbols differ from knob.h's functions:
$(diff <(echo "$declared") <(echo "$exported"))"
objdump -T "$libdir/libknob.so.0" | grep -q 'KNOB_0 *knob_client_new' ||
  fail "knob_client_new is not versioned KNOB_0"
echo "consumer_test: libknob.so.0 exports the $(wc -l <<<"$exported") functions of knob.h, nothing else" >&2

cmake -S "$src/tests/packaging/consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release >"$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log" >&2; fail "consumer configure"; }
cmake --build "$tmp/consumer" -j 2 >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; fail "consumer build"; }
export PKG_CONFIG_PATH="$libdir/pkgconfig"
pkg-config --exists knob || fail "pkg-config does not find knob in $PKG_CONFIG_PATH"
[ "$(pkg-config --modversion knob)" = "$(sed -n 's/^project(knobd VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")" ] ||
  fail "knob.pc's version is not the project's"
# shellcheck disable=SC2046  # pkg-config's flags are words on purpose
cc -std=gnu99 -Wall -Werror -o "$tmp/c_consumer_pc" "$src/tests/packaging/consumer/c_consumer.c" \
  $(pkg-config --cflags --libs knob) -Wl,-rpath,"$libdir" || fail "cc with pkg-config knob"

mkdir -p "$tmp/state"
export KNOBD_SOCKET=$tmp/control.sock
"$build/daemon/knobd" --config "$src/config/knobd.yaml" --control-socket "$KNOBD_SOCKET" \
  --state-dir "$tmp/state" --metrics-listen 127.0.0.1:0 --log-level warn 2>"$tmp/knobd.log" &
knobd_pid=$!
for _ in $(seq 100); do [ -S "$KNOBD_SOCKET" ] && break; sleep 0.1; done
[ -S "$KNOBD_SOCKET" ] || { cat "$tmp/knobd.log" >&2; fail "knobd did not create $KNOBD_SOCKET"; }
for prog in "$tmp/consumer/cpp_consumer" "$tmp/consumer/c_consumer" "$tmp/c_consumer_pc"; do
  "$prog" || { cat "$tmp/knobd.log" >&2; fail "$(basename "$prog") did not connect to knobd"; }
done
echo "consumer_test: ok" >&2
