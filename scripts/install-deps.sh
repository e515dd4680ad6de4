#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages knobd builds, tests, packages and runs with. Idempotent: only
# missing packages are installed, so a second run prints one line and touches nothing.
# Needs root: runs apt through sudo when not root, and says so plainly when sudo is missing.
set -euo pipefail
# Issue-specific additions go on their own line inside PKGS, with a "# issue N: why" comment.
PKGS=(
  build-essential cmake pkg-config
  libuv1-dev libjemalloc-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  prometheus-cpp-dev libyaml-cpp-dev libsystemd-dev
  libgtest-dev libgmock-dev libbenchmark-dev sysstat
  python3 curl procps iproute2 systemd
  zsh  # issue 13: the zsh completion test (KnobctlLiveTest)
  lowdown groff-base man-db # issue 13: man pages from Markdown (lowdown) and their render test
  dpkg-dev fakeroot lintian file # issue 13: the .deb (dpkg-shlibdeps, dpkg-deb) and its lintian test
  golang-go cargo rustc librust-serde-json-dev python3-setuptools  # issue 16: Go and Rust clients built offline, the Python client's package
  redis-server libhiredis-dev pgbouncer postgresql libpq-dev haproxy wrk   # issue 15: adapters and their e2e tests (real servers and load tools)
  prometheus chromium fonts-dejavu-core tmux gnuplot-nox  # issue 14: real Prometheus/promtool, console screenshot, knobctl top in a pty, analyze --plot
  libre2-dev  # issue 12: linear-time cmdline regex (std::regex recursion overflowed the stack)
  clang-14 libclang-rt-14-dev  # issue 12: libFuzzer targets and their sanitizer runtimes (scripts/fuzz.sh)
  jq  # issue 11: bench/tuning/real.sh reads knobctl --json (the real runs of the tuning benchmark)
)
missing=()
for p in "${PKGS[@]}"; do
  # A variable, not a pipe into grep -q: with pipefail, grep quitting early fails the pipe.
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "knobd: build dependencies already installed (${#PKGS[@]} packages)" >&2
  exit 0
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    cat >&2 <<MSG
knobd: ${#missing[@]} Debian package(s) are missing and installing them needs root, but this
shell is not root and sudo is not installed. Either run, as root:
  apt-get install --no-install-recommends ${missing[*]}
and then this script again, or run this script as root.
MSG
    exit 1
  fi
  SUDO=(sudo)
  echo "knobd: not root: using sudo for apt-get (it may ask for your password)" >&2
fi
echo "knobd: installing ${#missing[@]} missing package(s): ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
echo "knobd: [1/2] apt-get update" >&2
"${SUDO[@]}" apt-get update
# Progress: apt's own per-package lines (not -qq, which hides everything for minutes).
echo "knobd: [2/2] apt-get install" >&2
# Another apt run holding the lock is waited for (up to 5 min) instead of failing at once.
"${SUDO[@]}" apt-get install -y --no-install-recommends -o Dpkg::Progress-Fancy=0 \
  -o DPkg::Lock::Timeout=300 \
  "${missing[@]}"
echo "knobd: build dependencies installed" >&2
