# cmake/package.cmake: issue 7: install rules, the shared library beside the static one,
# the CMake package config and pkg-config file, and the tests that install to a
# temporary prefix and build an out-of-tree consumer both ways; then the documentation's
# compiled code (docs/examples, the README's C example, the coursework checker) and the
# optional Doxygen target `docs`. Included last among the areas, so every area's
# sources are already on the `gradflow` target when the shared library copies them.

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
include(CheckCSourceCompiles)

# ==== Static and shared libraries =======================================================
# `gradflow` (CMakeLists.txt) is a static library unless BUILD_SHARED_LIBS is ON; the
# in-tree tests and programs link it. The other kind is made here from the same object
# files (compiled once; they are position-independent), so that both install side by
# side: libgradflow.a and libgradflow.so -> .so.0 -> .so.0.1.0.
get_target_property(_gf_type gradflow TYPE)
if(_gf_type STREQUAL "STATIC_LIBRARY")
  add_library(gradflow_shared SHARED $<TARGET_OBJECTS:gradflow>)
  set(GF_STATIC_TARGET gradflow)
  set(GF_SHARED_TARGET gradflow_shared)
  set(_gf_copy gradflow_shared)
else()
  add_library(gradflow_static STATIC $<TARGET_OBJECTS:gradflow>)
  set(GF_STATIC_TARGET gradflow_static)
  set(GF_SHARED_TARGET gradflow)
  set(_gf_copy gradflow_static)
endif()
# The copy gets gradflow's usage requirements and its link dependencies. Dependencies
# are PRIVATE: a shared library records them itself (NEEDED), and a static library
# passes them on as link-only; the public headers need nothing from them.
foreach(_gf_prop INTERFACE_INCLUDE_DIRECTORIES INTERFACE_COMPILE_DEFINITIONS
                 INTERFACE_COMPILE_OPTIONS)
  get_target_property(_gf_val gradflow ${_gf_prop})
  if(_gf_val)
    set_property(TARGET ${_gf_copy} PROPERTY ${_gf_prop} "${_gf_val}")
  endif()
endforeach()
get_target_property(GF_LINK_LIBRARIES gradflow LINK_LIBRARIES)
if(NOT GF_LINK_LIBRARIES)
  set(GF_LINK_LIBRARIES "")
endif()
target_link_libraries(${_gf_copy} PRIVATE ${GF_LINK_LIBRARIES})

set_target_properties(${GF_STATIC_TARGET} PROPERTIES
  OUTPUT_NAME gradflow
  EXPORT_NAME gradflow_static)
set_target_properties(${GF_SHARED_TARGET} PROPERTIES
  OUTPUT_NAME gradflow
  EXPORT_NAME gradflow_shared
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR})

# Only gf_ symbols leave the shared library (cmake/gradflow.map). Checked by linking a
# tiny program with the script first: a linker without version scripts keeps defaults.
set(GF_VERSION_SCRIPT ${CMAKE_CURRENT_SOURCE_DIR}/cmake/gradflow.map)
set(CMAKE_REQUIRED_LINK_OPTIONS "LINKER:--version-script=${GF_VERSION_SCRIPT}")
check_c_source_compiles("int gf_probe(void); int gf_probe(void) { return 0; }
                         int main(void) { return gf_probe(); }" GF_HAVE_VERSION_SCRIPT)
unset(CMAKE_REQUIRED_LINK_OPTIONS)
if(GF_HAVE_VERSION_SCRIPT)
  target_link_options(${GF_SHARED_TARGET} PRIVATE
    "LINKER:--version-script=${GF_VERSION_SCRIPT}")
  set_property(TARGET ${GF_SHARED_TARGET} APPEND PROPERTY LINK_DEPENDS ${GF_VERSION_SCRIPT})
else()
  message(STATUS "gradflow: the linker takes no version script; libgradflow.so will "
                 "export every global symbol")
endif()
# Every undefined symbol must be resolved by the libraries we link (libm forgotten is a
# link error here, not a consumer's surprise). Not under the sanitizers: clang leaves
# the sanitizer runtime to the executable, so a shared library has undefined __asan_*.
if(NOT GRADFLOW_SANITIZE AND CMAKE_SYSTEM_NAME STREQUAL "Linux")
  target_link_options(${GF_SHARED_TARGET} PRIVATE "LINKER:--no-undefined")
endif()

# ==== Link dependencies, as pkg-config and the CMake package see them ====================
# gradflow links libm; other areas may add zlib, threads or a BLAS. Each becomes a
# Libs.private / Requires.private entry in gradflow.pc and a find_dependency() in the
# package config (the static library needs them at the consumer's link).
set(GF_PC_LIBS_PRIVATE "")
set(GF_PC_REQUIRES_PRIVATE "")
set(GF_CONFIG_DEPENDENCIES "")
foreach(_gf_lib IN LISTS GF_LINK_LIBRARIES)
  if(_gf_lib MATCHES "^\\$<")
    message(WARNING "gradflow packaging: cannot express the link item '${_gf_lib}' in "
                    "gradflow.pc; static consumers using pkg-config may miss it")
  elseif(_gf_lib STREQUAL "Threads::Threads")
    string(APPEND GF_PC_LIBS_PRIVATE " ${CMAKE_THREAD_LIBS_INIT}")
    string(APPEND GF_CONFIG_DEPENDENCIES "find_dependency(Threads)\n")
  elseif(_gf_lib STREQUAL "ZLIB::ZLIB")
    string(APPEND GF_PC_REQUIRES_PRIVATE " zlib")
    string(APPEND GF_CONFIG_DEPENDENCIES "find_dependency(ZLIB)\n")
  elseif(_gf_lib MATCHES "^PkgConfig::(.+)$")
    set(_gf_prefix ${CMAKE_MATCH_1})
    set(_gf_module ${${_gf_prefix}_MODULE_NAME})
    if(NOT _gf_module)
      set(_gf_module ${_gf_prefix})
    endif()
    string(APPEND GF_PC_REQUIRES_PRIVATE " ${_gf_module}")
    string(APPEND GF_CONFIG_DEPENDENCIES
           "find_dependency(PkgConfig)\n"
           "pkg_check_modules(${_gf_prefix} REQUIRED IMPORTED_TARGET ${_gf_module})\n")
  elseif(TARGET ${_gf_lib})
    message(WARNING "gradflow packaging: the link target '${_gf_lib}' is not known to "
                    "cmake/package.cmake; add it there so that installed gradflow finds it")
  elseif(IS_ABSOLUTE "${_gf_lib}" OR _gf_lib MATCHES "^-")
    string(APPEND GF_PC_LIBS_PRIVATE " ${_gf_lib}")
  else()
    string(APPEND GF_PC_LIBS_PRIVATE " -l${_gf_lib}")
  endif()
endforeach()
string(STRIP "${GF_PC_LIBS_PRIVATE}" GF_PC_LIBS_PRIVATE)
string(STRIP "${GF_PC_REQUIRES_PRIVATE}" GF_PC_REQUIRES_PRIVATE)
if(GF_PC_REQUIRES_PRIVATE)
  set(GF_PC_REQUIRES_PRIVATE_LINE "Requires.private: ${GF_PC_REQUIRES_PRIVATE}")
else()
  set(GF_PC_REQUIRES_PRIVATE_LINE "")
endif()

# ==== Install ===========================================================================
set(GF_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/gradflow)
set(GF_PC_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(TARGETS ${GF_STATIC_TARGET} ${GF_SHARED_TARGET} EXPORT gradflowTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# The public headers (gradflow.h, gradflow/*.h: new headers are picked up) and the
# generated gradflow/config.h, which fixes the number type for consumers.
install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/include/gradflow/config.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/gradflow)
install(FILES LICENSE README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The command-line tool (cmake/tool.cmake), when it is part of the build.
if(TARGET gradflow_tool)
  install(TARGETS gradflow_tool RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

install(EXPORT gradflowTargets NAMESPACE gradflow:: DESTINATION ${GF_CMAKE_DIR})
configure_package_config_file(cmake/gradflowConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/package/gradflowConfig.cmake
  INSTALL_DESTINATION ${GF_CMAKE_DIR})
# 0.x: the SONAME's major (0) is the compatibility promise, as for the shared library.
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/package/gradflowConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/package/gradflowConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/package/gradflowConfigVersion.cmake
  DESTINATION ${GF_CMAKE_DIR})

# gradflow.pc is written at install time, so that it names the prefix actually used
# (cmake --install --prefix P). Stage 1 (now) fills everything but the prefix; stage 2
# (install) fills @GF_INSTALL_PREFIX@.
set(GF_PC_PREFIX "@GF_INSTALL_PREFIX@")
foreach(_gf_dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_gf_dir}}")
    set(GF_PC_${_gf_dir} "${CMAKE_INSTALL_${_gf_dir}}")
  else()
    set(GF_PC_${_gf_dir} "\${prefix}/${CMAKE_INSTALL_${_gf_dir}}")
  endif()
endforeach()
configure_file(cmake/gradflow.pc.in ${CMAKE_CURRENT_BINARY_DIR}/package/gradflow.pc.stage1
  @ONLY)
install(CODE "
  set(GF_INSTALL_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${CMAKE_CURRENT_BINARY_DIR}/package/gradflow.pc.stage1\"
                 \"${CMAKE_CURRENT_BINARY_DIR}/package/gradflow.pc\" @ONLY)")
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/package/gradflow.pc DESTINATION ${GF_PC_DIR})

# ==== Package tests =====================================================================
if(GRADFLOW_TESTS)
  # The shared library exports gf_* and nothing else, carries SONAME libgradflow.so.0,
  # and the static library defines no global symbol outside gf_ either.
  find_program(GF_READELF NAMES readelf ${CMAKE_READELF})
  if(CMAKE_NM AND GF_READELF)
    add_test(NAME package_symbols COMMAND ${CMAKE_COMMAND}
      -DCHECK=symbols -DNM=${CMAKE_NM} -DREADELF=${GF_READELF}
      -DSHARED=$<TARGET_FILE:${GF_SHARED_TARGET}> -DSTATIC=$<TARGET_FILE:${GF_STATIC_TARGET}>
      -DSOVERSION=${PROJECT_VERSION_MAJOR} -DVERSION=${PROJECT_VERSION}
      -P ${CMAKE_CURRENT_SOURCE_DIR}/cmake/gradflow_checks.cmake)
  endif()

  # The modules' call graph goes one way (cmake/gradflow_checks.cmake, CHECK=layering).
  if(CMAKE_NM)
    set(_gf_layers "")
    set(GF_SOURCES_base ${GF_CORE_BASE})
    set(GF_SOURCES_core_rest ${GF_SOURCES_core})
    list(REMOVE_ITEM GF_SOURCES_core_rest ${GF_CORE_BASE})
    foreach(_gf_group "base" "fast" "core_rest" "layers" "engine" "analysis=io")
      set(_gf_g "")
      string(REPLACE "=" ";" _gf_mods "${_gf_group}")
      foreach(_gf_m ${_gf_mods})
        set(_gf_files "")
        foreach(_gf_src ${GF_SOURCES_${_gf_m}})
          get_filename_component(_gf_name ${_gf_src} NAME)
          list(APPEND _gf_files ${_gf_name})
        endforeach()
        string(REPLACE ";" "," _gf_files "${_gf_files}")
        if(_gf_g)
          string(APPEND _gf_g "=")
        endif()
        string(APPEND _gf_g "${_gf_m}:${_gf_files}")
      endforeach()
      list(APPEND _gf_layers "${_gf_g}")
    endforeach()
    string(REPLACE ";" "|" _gf_layers "${_gf_layers}")
    add_test(NAME package_layering COMMAND ${CMAKE_COMMAND}
      -DCHECK=layering -DNM=${CMAKE_NM} -DSTATIC=$<TARGET_FILE:${GF_STATIC_TARGET}>
      "-DMODULES=${_gf_layers}"
      -P ${CMAKE_CURRENT_SOURCE_DIR}/cmake/gradflow_checks.cmake)
  endif()

  # Install to a prefix under the build directory and build tests/consumer against it,
  # with find_package and with pkg-config, shared and static. Skipped under the
  # sanitizers: the installed objects are instrumented, so the consumer would need the
  # sanitizer flags and runtime too, and what it checks (install layout, package files,
  # symbols) does not depend on instrumentation; the plain builds run it.
  find_program(GF_BASH bash)
  find_program(GF_PKG_CONFIG NAMES pkg-config pkgconf)
  if(GRADFLOW_SANITIZE)
    message(STATUS "gradflow: install_consumer test skipped under GRADFLOW_SANITIZE")
  elseif(NOT GF_BASH OR NOT GF_PKG_CONFIG)
    message(STATUS "gradflow: install_consumer test skipped (needs bash and pkg-config)")
  else()
    add_test(NAME install_consumer COMMAND ${GF_BASH}
      ${CMAKE_CURRENT_SOURCE_DIR}/tests/consumer/build_both_ways.sh
      ${CMAKE_COMMAND} ${CMAKE_CURRENT_BINARY_DIR} ${CMAKE_INSTALL_LIBDIR} ${GRADFLOW_REAL}
      ${PROJECT_VERSION} ${CMAKE_C_COMPILER} ${GF_PKG_CONFIG} $<CONFIG>)
    set_tests_properties(install_consumer PROPERTIES TIMEOUT 300
      PASS_REGULAR_EXPRESSION "install_consumer: all ways passed")
  endif()
endif()

# ==== Documentation: the code in docs/ is compiled (and run) ===========================
# docs/examples/*.c are whole programs the tutorial, the concepts and the coursework
# quote; every ```c block in docs/ must be a verbatim piece of one of them (or of the
# coursework checker), which the docs_snippets test asserts. They are built into
# <build>/docs/ under their own names: ./build/docs/experiment act=sigmoid.
# Built with the examples (GRADFLOW_EXAMPLES, ON by default).
set(GF_DOC_EXAMPLES act_table add_activation chain custom_layer experiment first_net
  readme_example)
set(GF_DOC_BIN ${CMAKE_CURRENT_BINARY_DIR}/docs)
if(GRADFLOW_EXAMPLES)
  foreach(_gf_e IN LISTS GF_DOC_EXAMPLES)
    add_executable(doc_${_gf_e} docs/examples/${_gf_e}.c)
    target_link_libraries(doc_${_gf_e} PRIVATE gradflow)
    target_compile_options(doc_${_gf_e} PRIVATE ${GF_WARNINGS})
    set_target_properties(doc_${_gf_e} PROPERTIES OUTPUT_NAME ${_gf_e}
      RUNTIME_OUTPUT_DIRECTORY ${GF_DOC_BIN})
  endforeach()

  # The README's C example, extracted at configure time (README.md is a configure
  # dependency). A whole program is built and run; a fragment is wrapped in main() and
  # only compiled. EXCLUDE_FROM_ALL: a README that stops compiling fails the test
  # docs_readme, not everyone's build.
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
    ${CMAKE_CURRENT_SOURCE_DIR}/README.md)
  file(READ ${CMAKE_CURRENT_SOURCE_DIR}/README.md _gf_readme)
  string(FIND "${_gf_readme}" "```c\n" _gf_start)
  set(GF_README_HAS_MAIN OFF)
  if(_gf_start EQUAL -1)
    set(_gf_code "/* README.md has no C example */\nint main(void) { return 0; }\n")
  else()
    math(EXPR _gf_start "${_gf_start} + 5")
    string(SUBSTRING "${_gf_readme}" ${_gf_start} -1 _gf_code)
    string(FIND "${_gf_code}" "\n```" _gf_end)
    string(SUBSTRING "${_gf_code}" 0 ${_gf_end} _gf_code)
    if(_gf_code MATCHES "int main\\(")
      set(GF_README_HAS_MAIN ON)
      set(_gf_code "${_gf_code}\n")
    else()
      # Includes stay at file scope; the statements go into main().
      string(REGEX MATCHALL "#include[^\n]*" _gf_includes "${_gf_code}")
      string(REGEX REPLACE "#include[^\n]*" "" _gf_body "${_gf_code}")
      string(REPLACE ";" "\n" _gf_includes "${_gf_includes}")
      string(CONCAT _gf_code
        "/* The C block of README.md, wrapped in main() by cmake/package.cmake. */\n"
        "#include <math.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
        "${_gf_includes}\n\nint main(void)\n{\n${_gf_body}\n    return 0;\n}\n")
    endif()
  endif()
  set(_gf_readme_c ${GF_DOC_BIN}/readme_block.c)
  set(_gf_old "")
  if(EXISTS ${_gf_readme_c})
    file(READ ${_gf_readme_c} _gf_old)
  endif()
  if(NOT _gf_old STREQUAL _gf_code)
    file(WRITE ${_gf_readme_c} "${_gf_code}")
  endif()
  add_executable(doc_readme_block EXCLUDE_FROM_ALL ${_gf_readme_c})
  target_link_libraries(doc_readme_block PRIVATE gradflow)
  target_compile_options(doc_readme_block PRIVATE ${GF_WARNINGS})
  set_target_properties(doc_readme_block PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${GF_DOC_BIN})
endif()

# ---- The coursework checker -----------------------------------------------------------
# check_student.c linked with the solutions (docs/coursework/solutions/, which a
# lecturer keeps apart) must pass; linked with the template it must fail every check;
# with a wrong derivative and with a correct but vanishing activation it must fail on
# the check that names the fault. -D_DEFAULT_SOURCE, as check.sh: students use M_PI.
if(GRADFLOW_TESTS)
  set(_gf_ck ${CMAKE_CURRENT_SOURCE_DIR}/docs/coursework/checker)
  set(_gf_sol ${CMAKE_CURRENT_SOURCE_DIR}/docs/coursework/solutions)
  # A teacher may hand the coursework out without solutions/: its tests then go too.
  set(_gf_progs ${_gf_ck}/student_activation ${_gf_ck}/example_wrong_tanh
                ${_gf_ck}/example_sigmoid)
  if(EXISTS ${_gf_sol})
    list(APPEND _gf_progs ${_gf_sol}/solution_silu ${_gf_sol}/solution_gelu)
    add_test(NAME coursework_checker COMMAND coursework_solution_silu)
    add_test(NAME coursework_checker_gelu_with_m_pi COMMAND coursework_solution_gelu)
  endif()
  foreach(_gf_s IN LISTS _gf_progs)
    get_filename_component(_gf_n ${_gf_s} NAME)
    add_executable(coursework_${_gf_n} ${_gf_ck}/check_student.c ${_gf_s}.c)
    target_include_directories(coursework_${_gf_n} PRIVATE ${_gf_ck})
    target_compile_definitions(coursework_${_gf_n} PRIVATE _DEFAULT_SOURCE)
    # PkgConfig::CMOCKA is created after the areas (CMakeLists.txt); links resolve later.
    target_link_libraries(coursework_${_gf_n} PRIVATE gradflow PkgConfig::CMOCKA)
    target_compile_options(coursework_${_gf_n} PRIVATE ${GF_WARNINGS})
    set_target_properties(coursework_${_gf_n} PROPERTIES
      RUNTIME_OUTPUT_DIRECTORY ${GF_DOC_BIN})
  endforeach()
  add_test(NAME coursework_checker_rejects_template COMMAND coursework_student_activation)
  add_test(NAME coursework_checker_catches_wrong_derivative
           COMMAND coursework_example_wrong_tanh)
  add_test(NAME coursework_checker_catches_vanishing COMMAND coursework_example_sigmoid)
  # The verdict is read from cmocka's summary (the exit status is then not used). The
  # template fails all seven checks, and no kink is named for a smooth f.
  set_tests_properties(coursework_checker_rejects_template PROPERTIES
    PASS_REGULAR_EXPRESSION "\\[  FAILED  \\] 7 test\\(s\\), listed below")
  set_tests_properties(coursework_checker_catches_wrong_derivative PROPERTIES
    PASS_REGULAR_EXPRESSION "\\[  FAILED  \\] derivative_matches_central_difference"
    FAIL_REGULAR_EXPRESSION "kink")
  set_tests_properties(coursework_checker_catches_vanishing PROPERTIES
    PASS_REGULAR_EXPRESSION "\\[  FAILED  \\] 1 test\\(s\\), listed below:[\r\n]+\\[  FAILED  \\] \
suited_init_keeps_the_gradient_profile_flat")
endif()

# ---- Tests of the documentation --------------------------------------------------------
if(GRADFLOW_TESTS AND GRADFLOW_EXAMPLES)
  add_test(NAME docs_act_table COMMAND doc_act_table)
  set_tests_properties(docs_act_table PROPERTIES PASS_REGULAR_EXPRESSION
    "sigmoid +0\\.25  xavier .*tanh +1  xavier +1\\.667")
  add_test(NAME docs_chain COMMAND doc_chain)
  set_tests_properties(docs_chain PROPERTIES PASS_REGULAR_EXPRESSION
    "w = 0\\.6.*dL/dx = 0\\.0004701[89] .*w = 1\\.6.*dL/dx = 1152\\.9 ")
  add_test(NAME docs_first_net COMMAND doc_first_net ${GF_DOC_BIN}/first_net.csv)
  set_tests_properties(docs_first_net PROPERTIES PASS_REGULAR_EXPRESSION
    "wrote 2800 records" FIXTURES_SETUP gf_first_net_csv)
  # Every `./build/docs/...` command the docs print, then every gnuplot block and
  # script on the files they wrote, each plot's points captured with `set table` and
  # checked (tests/docs/run_docs.sh). Without gnuplot, the commands only.
  find_program(GF_GNUPLOT gnuplot)
  find_program(GF_BASH bash)
  if(GF_BASH)
    add_test(NAME docs_gnuplot COMMAND ${GF_BASH}
             ${CMAKE_CURRENT_SOURCE_DIR}/tests/docs/run_docs.sh ${CMAKE_CURRENT_SOURCE_DIR}
             ${CMAKE_CURRENT_BINARY_DIR} ${CMAKE_CURRENT_BINARY_DIR}/docs-run
             "$<$<BOOL:${GF_GNUPLOT}>:${GF_GNUPLOT}>")
    set_tests_properties(docs_gnuplot PROPERTIES TIMEOUT 300
      ENVIRONMENT "GF_DOCS_QUICK=$<BOOL:${GRADFLOW_SANITIZE}>")
  endif()
  # Every `gradflow` command of the documentation's ```sh blocks, as printed (a couple
  # of minutes: the showcase, compares, sweeps; not in the sanitizer builds).
  if(GF_BASH AND NOT GRADFLOW_SANITIZE)
    add_test(NAME docs_cli_commands COMMAND ${GF_BASH}
             ${CMAKE_CURRENT_SOURCE_DIR}/tests/docs/run_docs.sh ${CMAKE_CURRENT_SOURCE_DIR}
             ${CMAKE_CURRENT_BINARY_DIR} ${CMAKE_CURRENT_BINARY_DIR}/docs-cli-run)
    set_tests_properties(docs_cli_commands PROPERTIES TIMEOUT 900 ENVIRONMENT GF_DOCS_CLI=1)
  endif()
  # One name for the backward signal, dL/dh, everywhere (tests/docs/vocabulary.sh).
  if(GF_BASH)
    add_test(NAME docs_vocabulary COMMAND ${GF_BASH}
             ${CMAKE_CURRENT_SOURCE_DIR}/tests/docs/vocabulary.sh ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  add_test(NAME docs_experiment_init COMMAND doc_experiment act=relu init=lecun depth=12)
  set_tests_properties(docs_experiment_init PROPERTIES PASS_REGULAR_EXPRESSION
    "first / last hidden layer")
  add_test(NAME docs_experiment_train COMMAND doc_experiment act=tanh depth=6 width=32
           steps=60 lr=0.05 clip=global_norm threshold=5 csv=${GF_DOC_BIN}/experiment.csv)
  set_tests_properties(docs_experiment_train PROPERTIES PASS_REGULAR_EXPRESSION
    "step +60  loss")
  add_test(NAME docs_custom_layer COMMAND doc_custom_layer)
  add_test(NAME docs_add_activation COMMAND doc_add_activation)

  add_test(NAME docs_readme COMMAND ${CMAKE_COMMAND} --build ${CMAKE_CURRENT_BINARY_DIR}
           --target doc_readme_block)
  if(GF_README_HAS_MAIN)
    set_tests_properties(docs_readme PROPERTIES FIXTURES_SETUP gf_readme_block)
    add_test(NAME docs_readme_runs COMMAND ${GF_DOC_BIN}/doc_readme_block)
    set_tests_properties(docs_readme_runs PROPERTIES FIXTURES_REQUIRED gf_readme_block)
  endif()
endif()

if(GRADFLOW_TESTS)
  add_test(NAME docs_snippets COMMAND ${CMAKE_COMMAND} -DCHECK=snippets
           -DSOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR} "-DEXAMPLES=${GF_DOC_EXAMPLES}"
           -P ${CMAKE_CURRENT_SOURCE_DIR}/cmake/gradflow_checks.cmake)
endif()

# ---- API reference (optional: Doxygen) -------------------------------------------------
# `cmake --build build --target docs` writes build/docs/api/html/index.html from the
# header comments. The headers use plain /* */ comments; docs/doxygen-filter.sed turns
# them into Doxygen comments on the fly. Without Doxygen there is no `docs` target and
# nothing fails.
find_package(Doxygen QUIET)
find_program(GF_SED sed)
if(DOXYGEN_FOUND AND GF_SED)
  set(GF_DOXYGEN_OUT ${GF_DOC_BIN}/api)
  configure_file(docs/Doxyfile.in ${GF_DOC_BIN}/Doxyfile @ONLY)
  add_custom_target(docs
    COMMAND ${DOXYGEN_EXECUTABLE} ${GF_DOC_BIN}/Doxyfile
    WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
    COMMENT "API reference: ${GF_DOXYGEN_OUT}/html/index.html" VERBATIM)
  if(GRADFLOW_TESTS)
    add_test(NAME docs_doxygen COMMAND ${CMAKE_COMMAND} -DCHECK=doxygen
             -DDOXYGEN=${DOXYGEN_EXECUTABLE} -DDOXYFILE=${GF_DOC_BIN}/Doxyfile
             -DOUT=${GF_DOXYGEN_OUT}/html -DSOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}
             -P ${CMAKE_CURRENT_SOURCE_DIR}/cmake/gradflow_checks.cmake)
  endif()
else()
  message(STATUS "gradflow: Doxygen not found, no `docs` target (API reference)")
endif()
