# SPDX-License-Identifier: Apache-2.0
# What `cmake --install` and the .deb put where (issues 13 and 16). Three components, one per
# Debian package (cmake/KnobPackage.cmake):
#   knobd        the daemon, knobctl, unit, sysusers/tmpfiles, policy (conffile), examples, man,
#                completion
#   libknob0     libknob.so.0 (the C ABI)
#   libknob-dev  headers <knob/...>, libknob.so, libknob_client.a (knob::client),
#                find_package(knob) files, knob.pc
# Debian paths: with --prefix /usr (the package's prefix) everything lands where Debian policy
# wants it. /etc and the systemd directories are absolute (taken from systemd.pc), so install a
# trial tree with DESTDIR, not with --prefix alone.
include(CMakePackageConfigHelpers)

set(KNOB_SYSCONFDIR "/etc" CACHE PATH "Where the policy goes (absolute; /etc on Debian)")
pkg_get_variable(_unitdir systemd systemdsystemunitdir)
pkg_get_variable(_sysusersdir systemd sysusersdir)
pkg_get_variable(_tmpfilesdir systemd tmpfilesdir)
foreach(_v unitdir sysusersdir tmpfilesdir)
  if(NOT _${_v})
    message(STATUS "systemd.pc has no ${_v}: using Debian's default")
  endif()
endforeach()
if(NOT _unitdir)
  set(_unitdir /lib/systemd/system)
endif()
if(NOT _sysusersdir)
  set(_sysusersdir /usr/lib/sysusers.d)
endif()
if(NOT _tmpfilesdir)
  set(_tmpfilesdir /usr/lib/tmpfiles.d)
endif()
set(KNOB_SYSTEMD_UNITDIR ${_unitdir} CACHE PATH "systemd system unit directory")
set(KNOB_SYSUSERSDIR ${_sysusersdir} CACHE PATH "sysusers.d directory")
set(KNOB_TMPFILESDIR ${_tmpfilesdir} CACHE PATH "tmpfiles.d directory")

# --- knobd ---------------------------------------------------------------------------------
install(TARGETS knobd_dist RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR} COMPONENT knobd)
install(TARGETS knobctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT knobd)
install(FILES config/knobd.yaml DESTINATION ${KNOB_SYSCONFDIR}/knobd COMPONENT knobd)
install(FILES systemd/knobd.service DESTINATION ${KNOB_SYSTEMD_UNITDIR} COMPONENT knobd)
install(FILES systemd/knobd.sysusers.conf DESTINATION ${KNOB_SYSUSERSDIR} RENAME knobd.conf
        COMPONENT knobd)
install(FILES systemd/knobd.tmpfiles.conf DESTINATION ${KNOB_TMPFILESDIR} RENAME knobd.conf
        COMPONENT knobd)
file(GLOB _examples CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/config/examples/*.yaml)
install(FILES ${_examples} config/knobd.yaml
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/knobd/examples COMPONENT knobd)
install(FILES ${KNOB_MAN_DIR}/man8/knobd.8.gz ${KNOB_MAN_DIR}/man8/knobctl.8.gz
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man8 COMPONENT knobd)
install(FILES ${KNOB_MAN_DIR}/man5/knobd.yaml.5.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man5
        COMPONENT knobd)
# knobctl's completion scripts (daemon/knobctl/completion/, written with knobctl).
install(FILES ${PROJECT_SOURCE_DIR}/daemon/knobctl/completion/knobctl.bash
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/bash-completion/completions RENAME knobctl
        COMPONENT knobd)
install(FILES ${PROJECT_SOURCE_DIR}/daemon/knobctl/completion/_knobctl
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/zsh/vendor-completions COMPONENT knobd)

# Every Debian package carries its copyright file and changelog in /usr/share/doc/<package>/.
set(KNOB_CHANGELOG_GZ ${PROJECT_BINARY_DIR}/packaging/changelog.gz)
add_custom_command(
  OUTPUT ${KNOB_CHANGELOG_GZ}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/packaging
  COMMAND ${KNOB_GZIP} -9nc ${PROJECT_SOURCE_DIR}/packaging/deb/changelog > ${KNOB_CHANGELOG_GZ}
  DEPENDS ${PROJECT_SOURCE_DIR}/packaging/deb/changelog
  COMMENT "changelog.gz for the packages")
add_custom_target(knob_changelog ALL DEPENDS ${KNOB_CHANGELOG_GZ})
foreach(_pkg knobd libknob0 libknob-dev)
  install(FILES packaging/deb/copyright ${KNOB_CHANGELOG_GZ}
          DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${_pkg} COMPONENT ${_pkg})
endforeach()

# --- libknob0 / libknob-dev ----------------------------------------------------------------
install(TARGETS knob knob_client_dist EXPORT knobTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT libknob0 NAMELINK_COMPONENT libknob-dev
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT libknob-dev)
install(DIRECTORY client/include/knob DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT libknob-dev)
# <knob/client.h> returns knob::Status: the header itself, self-contained (standard library only).
install(FILES core/status.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/knob COMPONENT libknob-dev)
install(EXPORT knobTargets NAMESPACE knob:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/knob
        COMPONENT libknob-dev)
configure_package_config_file(packaging/knobConfig.cmake.in
  ${PROJECT_BINARY_DIR}/packaging/knobConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/knob)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/packaging/knobConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/packaging/knobConfig.cmake
              ${PROJECT_BINARY_DIR}/packaging/knobConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/knob COMPONENT libknob-dev)
# knob.pc: prefix is relative to the .pc file's own place, so a DESTDIR or relocated tree works
# (pkg-config's ${pcfiledir}).
file(RELATIVE_PATH KNOB_PC_PREFIX_FROM_PCDIR
     /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)
configure_file(packaging/knob.pc.in ${PROJECT_BINARY_DIR}/packaging/knob.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/packaging/knob.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT libknob-dev)

# The bundled example service and its load generator, so docs/quickstart.md can show a tuned
# service right after `apt install`. Private programs: /usr/lib/knobd, not on PATH.
if(TARGET knob-example-service AND TARGET knob-loadgen)
  install(TARGETS knob-example-service knob-loadgen
          RUNTIME DESTINATION ${CMAKE_INSTALL_LIBDIR}/knobd COMPONENT knobd)
endif()
