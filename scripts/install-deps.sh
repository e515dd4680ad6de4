#!/usr/bin/env bash
# Installs the Debian packages knobd builds, tests and runs with. Idempotent:
# only missing packages are installed. Uses sudo when not root.
set -euo pipefail
PKGS=(
  build-essential cmake pkg-config
  libuv1-dev libjemalloc-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  prometheus-cpp-dev libyaml-cpp-dev libsystemd-dev
  libgtest-dev libgmock-dev libbenchmark-dev sysstat
  python3 curl procps iproute2 systemd
  libre2-dev  # issue 12: linear-time cmdline regex (std::regex recursion overflowed the stack)
  clang-14 libclang-rt-14-dev  # issue 12: libFuzzer targets and their sanitizer runtimes (scripts/fuzz.sh)
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "knobd: installing missing packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
