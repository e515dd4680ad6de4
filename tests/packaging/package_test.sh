#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Issue 13: the .deb packages. Builds them with CPack from this build tree (the same binaries the
# other tests ran), then
#   1. inspects them with dpkg-deb -c/-f/-e: file lists, conffiles, maintainer scripts, shlibs,
#      Depends computed by dpkg-shlibdeps;
#   2. checks the packaged knobd names no path of the source tree;
#   3. installs all three into a scratch root with `dpkg --root` (maintainer scripts run
#      chrootless with DPKG_ROOT set, so systemd-sysusers/-tmpfiles act on the scratch root
#      only), runs the installed binaries, and purges knobd again;
#   4. runs lintian on each package: no errors allowed.
# Usage: package_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(realpath "$1")
src=$(realpath "$2")
fail() { echo "package_test: FAIL: $*" >&2; exit 1; }
step() { echo "package_test: $*" >&2; }
for tool in cpack dpkg-deb dpkg dpkg-shlibdeps lintian fakeroot; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/install-deps.sh)"
done
tmp=$(mktemp -d /tmp/knob-package.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
version=$(sed -n 's/^project(knobd VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")

step "cpack (the package target's work, into $tmp/out)"
cpack --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log" >&2; fail "cpack failed"; }
arch=$(dpkg --print-architecture)
knobd_deb=$tmp/out/knobd_${version}_${arch}.deb
lib_deb=$tmp/out/libknob0_${version}_${arch}.deb
dev_deb=$tmp/out/libknob-dev_${version}_${arch}.deb
for d in "$knobd_deb" "$lib_deb" "$dev_deb"; do
  [ -f "$d" ] || fail "$(basename "$d") not built; cpack wrote: $(ls "$tmp/out")"
done

step "1. contents, control fields, conffiles, scripts"
expect_files() {  # DEB PATH...
  local deb=$1 list
  shift
  list=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|; s|/$||')
  for f in "$@"; do grep -qxF "$f" <<<"$list" || fail "$(basename "$deb") lacks $f"; done
}
expect_files "$knobd_deb" /usr/sbin/knobd /usr/bin/knobctl /etc/knobd/knobd.yaml \
  /lib/systemd/system/knobd.service /usr/lib/sysusers.d/knobd.conf /usr/lib/tmpfiles.d/knobd.conf \
  /usr/share/man/man8/knobd.8.gz /usr/share/man/man8/knobctl.8.gz /usr/share/man/man5/knobd.yaml.5.gz \
  /usr/share/doc/knobd/copyright /usr/share/doc/knobd/changelog.gz \
  /usr/share/doc/knobd/examples/knobd.yaml /usr/share/doc/knobd/examples/web-server.yaml \
  /usr/lib/knobd/knob-example-service /usr/lib/knobd/knob-loadgen
expect_files "$knobd_deb" /usr/share/bash-completion/completions/knobctl \
  /usr/share/zsh/vendor-completions/_knobctl
expect_files "$lib_deb" /usr/lib/libknob.so.0 "/usr/lib/libknob.so.$version" /usr/share/doc/libknob0/copyright
expect_files "$dev_deb" /usr/include/knob/knob.h /usr/include/knob/client.h /usr/include/knob/status.h \
  /usr/lib/libknob.so /usr/lib/libknob_client.a /usr/lib/pkgconfig/knob.pc \
  /usr/lib/cmake/knob/knobConfig.cmake /usr/lib/cmake/knob/knobTargets.cmake
if dpkg-deb -c "$knobd_deb" | grep -E ' \./usr/(include|lib/cmake)/'; then
  fail "development files leaked into the knobd package (above)"
fi
perm=$(dpkg-deb -c "$knobd_deb" | awk '$6 == "./usr/sbin/knobd" {print $1, $2}')
[ "$perm" = "-rwxr-xr-x root/root" ] || fail "/usr/sbin/knobd is $perm, want -rwxr-xr-x root/root"

field() { dpkg-deb -f "$1" "$2"; }
[ "$(field "$knobd_deb" Package)" = knobd ] || fail "Package: of knobd"
[ "$(field "$knobd_deb" Version)" = "$version" ] || fail "Version: $(field "$knobd_deb" Version)"
depends=$(field "$knobd_deb" Depends)
step "   knobd Depends: $depends"
depends_names() { tr ',' '\n' <<<"$1" | sed 's/^ *//; s/ .*//'; }
for lib in libc6 libstdc++6 libuv1 libyaml-cpp0.7 libsystemd0 libjemalloc2; do
  depends_names "$depends" | grep -qxF "$lib" ||
    fail "knobd's Depends lacks $lib (dpkg-shlibdeps): $depends"
done
grep -qE '(^|, )libknob0 \(= '"$version"'\)' <<<"$(field "$dev_deb" Depends)" ||
  fail "libknob-dev must depend on libknob0 (= $version): $(field "$dev_deb" Depends)"
depends_names "$(field "$lib_deb" Depends)" | grep -qxF libc6 || fail "libknob0's Depends lacks libc6"

dpkg-deb -e "$knobd_deb" "$tmp/control"
[ "$(cat "$tmp/control/conffiles")" = /etc/knobd/knobd.yaml ] ||
  fail "conffiles is '$(cat "$tmp/control/conffiles")', want /etc/knobd/knobd.yaml"
for s in postinst prerm postrm; do
  [ -x "$tmp/control/$s" ] || fail "maintainer script $s missing or not executable"
  sh -n "$tmp/control/$s" || fail "$s is not valid sh"
done
grep -q 'systemd-sysusers' "$tmp/control/postinst" && grep -q 'systemd-tmpfiles' "$tmp/control/postinst" ||
  fail "postinst does not apply sysusers.d/tmpfiles.d"
dpkg-deb -e "$lib_deb" "$tmp/libcontrol"
grep -q '^libknob 0 libknob0' "$tmp/libcontrol/shlibs" || fail "libknob0 has no shlibs entry"
grep -q 'ldconfig' "$tmp/libcontrol/triggers" || fail "libknob0 has no ldconfig trigger"
dpkg-deb -x "$knobd_deb" "$tmp/x"
grep -q '^ExecStart=/usr/sbin/knobd ' "$tmp/x/lib/systemd/system/knobd.service" ||
  fail "the packaged unit does not start /usr/sbin/knobd"
grep -q '^Documentation=man:knobd(8)' "$tmp/x/lib/systemd/system/knobd.service" ||
  fail "the packaged unit lacks Documentation=man:knobd(8)"

step "2. no source-tree path in the packaged knobd"
if grep -qaF "$src" "$tmp/x/usr/sbin/knobd"; then fail "packaged knobd contains $src"; fi
if grep -qaF "$src" "$build/daemon/knobd"; then :; else
  fail "the build-tree knobd should name $src (its bundled policy): is this check still testing?"
fi

step "3. dpkg --root into a scratch root"
root=$tmp/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/etc"
: >"$root/var/lib/dpkg/status"
: >"$root/var/lib/dpkg/available"
# A scratch passwd/group as a fresh system has them, for systemd-sysusers --root to extend.
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
dpkg_root() {
  dpkg --root="$root" --force-not-root --force-script-chrootless --force-depends \
    --force-unsafe-io --log="$tmp/dpkg.log" "$@"
}
dpkg_root -i "$lib_deb" "$dev_deb" "$knobd_deb" >"$tmp/dpkg.out" 2>&1 ||
  { cat "$tmp/dpkg.out" >&2; fail "dpkg -i into the scratch root failed"; }
status=$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Package} ${Status}\n' | sort)
[ "$status" = "knobd install ok installed
libknob-dev install ok installed
libknob0 install ok installed" ] || fail "packages not configured: $status"
if command -v systemd-sysusers >/dev/null; then
  grep -q '^knobd:' "$root/etc/passwd" || fail "postinst did not create the knobd user (sysusers)"
  grep -q '^knobd-admin:' "$root/etc/group" || fail "postinst did not create the knobd-admin group"
fi
if command -v systemd-tmpfiles >/dev/null; then
  [ -d "$root/var/lib/knobd" ] || fail "postinst did not create /var/lib/knobd (tmpfiles)"
  [ "$(stat -c %a "$root/var/lib/knobd")" = 750 ] || fail "/var/lib/knobd is not 0750"
fi
"$root/usr/sbin/knobd" --version | grep -qx "knobd $version" || fail "installed knobd --version"
help=$("$root/usr/sbin/knobd" --help)
grep -q 'else /etc/knobd/knobd.yaml)' <<<"$help" || fail "installed knobd --help: $help"
"$root/usr/sbin/knobd" --check-config "$root/etc/knobd/knobd.yaml" >/dev/null ||
  fail "the installed policy does not pass --check-config"
"$root/usr/bin/knobctl" --help >/dev/null || fail "installed knobctl --help"
for ex in "$root"/usr/share/doc/knobd/examples/*.yaml; do
  "$root/usr/sbin/knobd" --check-config "$ex" >/dev/null || fail "example $(basename "$ex") is invalid"
done
MANWIDTH=80 man -l "$root/usr/share/man/man8/knobd.8.gz" | grep -q 'Linux performance-tuning daemon' ||
  fail "installed knobd(8) does not render"
mkdir -p "$root/var/lib/knobd/learned"
dpkg_root --purge knobd >"$tmp/dpkg.out" 2>&1 || { cat "$tmp/dpkg.out" >&2; fail "dpkg --purge knobd"; }
[ ! -e "$root/usr/sbin/knobd" ] || fail "purge left /usr/sbin/knobd"
[ ! -e "$root/etc/knobd/knobd.yaml" ] || fail "purge left the conffile"
[ ! -e "$root/var/lib/knobd" ] || fail "purge left /var/lib/knobd"

step "4. lintian"
# One run for the three (lintian's start-up is most of its time). --fail-on error: warnings
# are printed for a reader but only errors fail the test.
out=$(lintian --fail-on error --allow-root --tag-display-limit 0 "$knobd_deb" "$lib_deb" \
      "$dev_deb" 2>&1) || fail "lintian finds errors:
$out"
[ -z "$out" ] || step "   lintian: $(wc -l <<<"$out") non-error tag(s):
$out"
step "ok"
