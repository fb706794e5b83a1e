# cmake/testing.cmake: the helpers every module uses to add a test or a program, so that
# each is declared in one line with the project's settings.
#
#   gf_add_test(NAME [SOURCES file...] [LIBS lib...] [DEFINES def...] [ARGS arg...])
#     builds test_NAME from tests/test_NAME.c (or SOURCES), linked with gradflow and
#     cmocka, and registers it with CTest as NAME (run with ARGS).
#   gf_add_program(NAME [SOURCES file...] [LIBS lib...])
#     builds NAME from examples/NAME.c (or SOURCES), linked with gradflow.
if(GRADFLOW_TESTS)
  enable_testing()
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
  find_package(Threads REQUIRED)
endif()

function(gf_add_test name)
  if(NOT GRADFLOW_TESTS)
    return()
  endif()
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;DEFINES;ARGS" ${ARGN})
  if(NOT T_SOURCES)
    set(T_SOURCES tests/test_${name}.c)
  endif()
  add_executable(test_${name} ${T_SOURCES})
  target_link_libraries(test_${name} PRIVATE gradflow PkgConfig::CMOCKA Threads::Threads
                        ${T_LIBS})
  target_include_directories(test_${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_compile_options(test_${name} PRIVATE ${GF_WARNINGS})
  if(T_DEFINES)
    target_compile_definitions(test_${name} PRIVATE ${T_DEFINES})
  endif()
  add_test(NAME ${name} COMMAND test_${name} ${T_ARGS})
endfunction()

function(gf_add_program name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS" ${ARGN})
  if(NOT P_SOURCES)
    set(P_SOURCES examples/${name}.c)
  endif()
  add_executable(${name} ${P_SOURCES})
  target_link_libraries(${name} PRIVATE gradflow ${P_LIBS})
  target_compile_options(${name} PRIVATE ${GF_WARNINGS})
endfunction()
