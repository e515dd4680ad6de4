# SPDX-License-Identifier: Apache-2.0
# The Debian packages (issue 13): `cmake --build build --target package` writes
#   knobd_<version>_<arch>.deb        daemon, knobctl, unit, policy conffile, man, examples
#   libknob0_<version>_<arch>.deb     libknob.so.0 (C ABI)
#   libknob-dev_<version>_<arch>.deb  headers, find_package(knob), knob.pc, knob::client
# into build/. Depends: comes from dpkg-shlibdeps (dpkg-dev), as debhelper's ${shlibs:Depends}.
# Maintainer scripts (packaging/deb/) do what dh_installsysusers, dh_installtmpfiles and
# dh_installsystemd would. tests/packaging/package_test.sh builds, inspects and lints them.

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME knobd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "knobd developers")
set(CPACK_PACKAGE_CONTACT "knobd developers <knobd@example.org>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR})
set(CPACK_STRIP_FILES ON)
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)

# Descriptions: the first line is the synopsis; CPack indents the rest and turns an empty line
# into the " ." paragraph break of debian/control.
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL knobd libknob0 libknob-dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# One source package for all three, as if built from one debian/control.
set(CPACK_DEBIAN_PACKAGE_SOURCE knobd)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)

set(_deb ${PROJECT_SOURCE_DIR}/packaging/deb)
set(CPACK_DEBIAN_KNOBD_PACKAGE_NAME knobd)
set(CPACK_DEBIAN_KNOBD_PACKAGE_SECTION admin)
set(CPACK_COMPONENT_KNOBD_DESCRIPTION
    "Linux performance-tuning daemon for services
knobd watches the services named in its YAML policy (CPU, load, pressure,
allocator, socket and cache metrics, plus what the services report over a Unix
control socket), models how their throughput and latency respond to their
settings, and recommends thread and connection pool sizes, concurrency limits
and scheduling, each with its reason and predicted effect. In apply mode it
applies them, verifies the effect and rolls back what made things worse.

This package contains knobd, the knobctl command-line tool, the systemd unit,
the default policy, examples and manual pages.")
set(CPACK_DEBIAN_KNOBD_PACKAGE_CONTROL_EXTRA
    ${_deb}/conffiles ${_deb}/postinst ${_deb}/prerm ${_deb}/postrm)

set(CPACK_DEBIAN_LIBKNOB0_PACKAGE_NAME libknob0)
set(CPACK_DEBIAN_LIBKNOB0_PACKAGE_SECTION libs)
# shlibs file + ldconfig trigger, as dh_makeshlibs writes them (CPack 3.25 writes no trigger:
# lintian's lacks-ldconfig-trigger error). CPack still adds its postinst/postrm calling
# ldconfig for a library in /usr/lib; harmless beside the trigger (lintian warns, no error).
set(_libknob0_control ${PROJECT_BINARY_DIR}/packaging/libknob0)
file(MAKE_DIRECTORY ${_libknob0_control})
file(WRITE ${_libknob0_control}/shlibs "libknob 0 libknob0 (>= ${PROJECT_VERSION})\n")
file(WRITE ${_libknob0_control}/triggers "activate-noawait ldconfig\n")
set(CPACK_DEBIAN_LIBKNOB0_PACKAGE_CONTROL_EXTRA
    ${_libknob0_control}/shlibs ${_libknob0_control}/triggers)
set(CPACK_COMPONENT_LIBKNOB0_DESCRIPTION
    "client library of the knobd performance-tuning daemon (C ABI)
libknob makes a service tunable by knobd: the service registers its settings
(pool sizes, limits) with a callback and records its requests; the library
reports to knobd over its Unix control socket and applies what knobd sets. No
call blocks the service's request path.

This package contains the shared library libknob.so.0.")

set(CPACK_DEBIAN_LIBKNOB-DEV_PACKAGE_NAME libknob-dev)
set(CPACK_DEBIAN_LIBKNOB-DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_LIBKNOB-DEV_DEPENDS libknob0)
set(CPACK_COMPONENT_LIBKNOB-DEV_DESCRIPTION
    "client library of the knobd performance-tuning daemon (development files)
libknob makes a service tunable by knobd: the service registers its settings
(pool sizes, limits) with a callback and records its requests; the library
reports to knobd over its Unix control socket and applies what knobd sets. No
call blocks the service's request path.

This package contains the headers <knob/knob.h> (C) and <knob/client.h> (C++),
the C++ client as a static library, and the files for CMake's
find_package(knob) and pkg-config.")

include(CPack)
