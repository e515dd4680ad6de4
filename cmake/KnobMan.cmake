# SPDX-License-Identifier: Apache-2.0
# Man pages knobd(8), knobctl(8) and knobd.yaml(5), generated at build time from the Markdown in
# docs/ (one source for the web and for man) by scripts/md2man.py + lowdown. Output:
# build/man/man{5,8}/*.{5,8} (MANPATH=build/man man knobd works) and gzipped copies to install.

find_program(KNOB_LOWDOWN lowdown)
find_program(KNOB_GZIP gzip REQUIRED)
if(NOT KNOB_LOWDOWN)
  message(FATAL_ERROR "lowdown not found: the man pages are built with it "
                      "(scripts/install-deps.sh installs it)")
endif()
find_package(Python3 REQUIRED COMPONENTS Interpreter)

set(KNOB_MAN_DIR ${PROJECT_BINARY_DIR}/man)
set(KNOB_MAN_PAGES)
set(KNOB_MAN_PAGES_GZ)

# knob_man(NAME SECTION SOURCE "NAME line" [extra md2man.py flags])
function(knob_man name section source name_line)
  set(out ${KNOB_MAN_DIR}/man${section}/${name}.${section})
  add_custom_command(
    OUTPUT ${out} ${out}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${KNOB_MAN_DIR}/man${section}
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/scripts/md2man.py --title ${name}
            --section ${section} --name-line ${name_line} --version ${PROJECT_VERSION}
            --skip "For developers" ${ARGN} ${PROJECT_SOURCE_DIR}/${source} ${out}
    # -n: no name or time stamp in the .gz, so the package is reproducible (lintian checks).
    COMMAND ${KNOB_GZIP} -9nkf ${out}
    DEPENDS ${PROJECT_SOURCE_DIR}/scripts/md2man.py ${PROJECT_SOURCE_DIR}/${source}
    COMMENT "man page ${name}(${section}) from ${source}"
    VERBATIM)
  set(KNOB_MAN_PAGES ${KNOB_MAN_PAGES} ${out} PARENT_SCOPE)
  set(KNOB_MAN_PAGES_GZ ${KNOB_MAN_PAGES_GZ} ${out}.gz PARENT_SCOPE)
endfunction()

knob_man(knobd 8 docs/knobd.8.md "knobd - Linux performance-tuning daemon")
knob_man(knobctl 8 docs/knobctl.md "knobctl - control and inspect a running knobd" --synopsis)
knob_man(knobd.yaml 5 docs/policy.md "knobd.yaml - the knobd policy file: targets, knobs, limits")
add_custom_target(knob_man ALL DEPENDS ${KNOB_MAN_PAGES} ${KNOB_MAN_PAGES_GZ})
