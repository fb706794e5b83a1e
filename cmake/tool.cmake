# cmake/tool.cmake: the gradflow command-line tool (src/tool/, not part of the
# library) and its CLI tests (tests/tool/).
# Included from CMakeLists.txt after the gradflow target exists.

# The program is called gradflow, like the library target, so its target has another
# name; the binary lands in the top of the build directory: ./build/gradflow.
add_executable(gradflow_tool
  src/tool/main.c
  src/tool/options.c
  src/tool/commands.c
  src/tool/train.c
  src/tool/progress.c)
set_target_properties(gradflow_tool PROPERTIES OUTPUT_NAME gradflow
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
target_link_libraries(gradflow_tool PRIVATE gradflow)
target_compile_options(gradflow_tool PRIVATE ${GF_WARNINGS})
# POSIX: isatty, sigaction, posix_spawn, clock_gettime, readlink, opendir.
target_compile_definitions(gradflow_tool PRIVATE _POSIX_C_SOURCE=200809L)

# CLI tests: a cmocka program that runs the binary as a child process. Each group is
# its own CTest test (so ctest -j spreads them); all of them together take seconds.
if(GRADFLOW_TESTS)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(GF_TOOL_CMOCKA REQUIRED IMPORTED_TARGET cmocka)
  add_executable(test_cli tests/tool/test_cli.c)
  target_link_libraries(test_cli PRIVATE gradflow PkgConfig::GF_TOOL_CMOCKA)
  target_compile_options(test_cli PRIVATE ${GF_WARNINGS})
  target_compile_definitions(test_cli PRIVATE _POSIX_C_SOURCE=200809L)
  add_dependencies(test_cli gradflow_tool)
  if(GRADFLOW_SANITIZE)
    target_compile_definitions(test_cli PRIVATE GF_CLI_SLOW=1) # shorter long runs
  endif()
  foreach(group basics run compare sweep verdicts signals showcase cures)
    add_test(NAME cli_${group}
             COMMAND test_cli $<TARGET_FILE:gradflow_tool> ${group}
             WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
    set_tests_properties(cli_${group} PROPERTIES TIMEOUT 120)
  endforeach()
endif()
