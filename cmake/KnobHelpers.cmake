# SPDX-License-Identifier: Apache-2.0
# knob_add_library(NAME SOURCES ... DEPS ...): a static library with the project's warnings.
# knob_add_test(NAME [SERIAL] SOURCES ... DEPS ... [LABELS ...]): a gtest binary registered with
# gtest_discover_tests; every test it holds carries the LABELS (ctest -L / -LE).
# knob_add_script_test(NAME SCRIPT ...): a shell-script test (see below).

set(KNOB_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
    -Wold-style-cast)

function(knob_target_options tgt)
  target_compile_options(${tgt} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${KNOB_WARNINGS}>)
  if(KNOB_WERROR)
    target_compile_options(${tgt} PRIVATE -Werror)
  endif()
  # Sanitizer builds (scripts/sanitize.sh): a UBSan finding aborts instead of printing and going
  # on, so a test cannot pass over one.
  if(KNOB_SANITIZE)
    target_compile_options(${tgt} PRIVATE -fsanitize=address,undefined -fno-sanitize-recover=all
                                          -fno-omit-frame-pointer)
    target_link_options(${tgt} PRIVATE -fsanitize=address,undefined)
  endif()
  if(KNOB_TSAN)
    target_compile_options(${tgt} PRIVATE -fsanitize=thread -fno-omit-frame-pointer)
    target_link_options(${tgt} PRIVATE -fsanitize=thread)
  endif()
  # GCC's manual: sanitizers raise the rate of false -Wmaybe-uninitialized warnings and it
  # recommends against -Werror with them. GCC 12 at -O1 with ASan raises one inside libstdc++'s
  # <regex>/<functional> (the tests' std::regex), which -Werror turned into 7 unbuilt test
  # binaries. Off in the sanitizer builds only; the normal build keeps the warning as an error.
  if((KNOB_SANITIZE OR KNOB_TSAN) AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${tgt} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wno-maybe-uninitialized>)
  endif()
endfunction()

function(knob_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PUBLIC_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR}/generated)
  target_link_libraries(${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_DEPS})
  knob_target_options(${name})
endfunction()

function(knob_add_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR}/generated)
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  knob_target_options(${name})
endfunction()

# SERIAL: its tests never run beside other tests (end-to-end timing on a 2-core machine).
function(knob_add_test name)
  cmake_parse_arguments(ARG "SERIAL" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR}/generated)
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    KNOB_SOURCE_DIR="${PROJECT_SOURCE_DIR}" KNOB_BINARY_DIR="${PROJECT_BINARY_DIR}")
  knob_target_options(${name})
  set(_props TIMEOUT 300)
  if(ARG_SERIAL)
    list(APPEND _props RUN_SERIAL TRUE)
  endif()
  if(ARG_LABELS)
    list(APPEND _props LABELS "${ARG_LABELS}")
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES ${_props})
endfunction()

# knob_add_script_test(NAME SCRIPT file [SERIAL] [ARGS ...] [LABELS ...] [TIMEOUT s]): a test that
# is a shell script (packaging, installed-tree and man-page checks: they drive dpkg, cmake and
# groff, not C++). It fails when the script exits non-zero; the script says why on stderr.
function(knob_add_script_test name)
  cmake_parse_arguments(ARG "SERIAL" "SCRIPT;TIMEOUT" "ARGS;LABELS" ${ARGN})
  add_test(NAME ${name} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/${ARG_SCRIPT} ${ARG_ARGS})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT})
  if(ARG_SERIAL)
    set_tests_properties(${name} PROPERTIES RUN_SERIAL TRUE)
  endif()
  if(ARG_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}")
  endif()
endfunction()
