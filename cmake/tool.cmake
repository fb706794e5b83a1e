# cmake/tool.cmake: the gradflow command-line tool (src/tool/, not part of the
# library) and its CLI tests (tests/tool/).
# Included from CMakeLists.txt after the gradflow target exists.

# The command line: the option table, its parsing, the help. Self-contained (it needs
# only the library), so the fuzz harness of the CLI (cmake/fuzz.cmake) links these too.
set(GF_TOOL_CLI_SOURCES
  src/tool/options.c
  src/tool/parse.c
  src/tool/help.c)

# The papers of `gradflow paper` (GF_PAPER_SOURCES), their examples and tests.
include(cmake/papers.cmake)

# Everything but main.c: the end-to-end fuzz harness (cmake/fuzz.cmake) links these.
set(GF_TOOL_SOURCES
  ${GF_TOOL_CLI_SOURCES}
  # one file per command
  src/tool/cmd_showcase.c
  src/tool/cmd_run.c
  src/tool/cmd_compare.c
  src/tool/cmd_sweep.c
  src/tool/cmd_merge.c
  src/tool/cmd_list.c
  src/tool/cmd_gradcheck.c
  src/tool/cmd_paper.c
  # the classic papers reproduced (the examples/paper_*.c programs link these too)
  ${GF_PAPER_SOURCES}
  # one run: the training loop and what it uses
  src/tool/train.c
  src/tool/data.c
  src/tool/build.c
  src/tool/record.c
  src/tool/trace.c
  # what the commands share: figures, the table of results, names and texts
  src/tool/figures.c
  src/tool/renders.c
  src/tool/figures_training.c
  src/tool/html.c
  src/tool/seeds.c
  src/tool/figures_seeds.c
  src/tool/results.c
  src/tool/text.c
  src/tool/progress.c)
# The program is called gradflow, like the library target, so its target has another
# name; the binary lands in the top of the build directory: ./build/gradflow.
add_executable(gradflow_tool src/tool/main.c ${GF_TOOL_SOURCES})
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
  add_executable(test_cli tests/tool/test_cli.c tests/tool/test_cli_groups.c
                          tests/tool/test_cli_cures.c tests/tool/test_cli_budget.c
                          tests/tool/test_cli_writes.c tests/tool/test_cli_training.c
                          tests/tool/test_cli_views.c)
  target_link_libraries(test_cli PRIVATE gradflow PkgConfig::GF_TOOL_CMOCKA)
  target_compile_options(test_cli PRIVATE ${GF_WARNINGS})
  target_compile_definitions(test_cli PRIVATE _POSIX_C_SOURCE=200809L)
  add_dependencies(test_cli gradflow_tool)
  if(GRADFLOW_SANITIZE)
    target_compile_definitions(test_cli PRIVATE GF_CLI_SLOW=1) # shorter long runs
  endif()
  foreach(group basics run compare sweep verdicts signals showcase cures budget writes
                training views)
    add_test(NAME cli_${group}
             COMMAND test_cli $<TARGET_FILE:gradflow_tool> ${group}
             WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
    set_tests_properties(cli_${group} PROPERTIES TIMEOUT 120)
  endforeach()
  # The recipes of docs/cli.md, run as written and their verdicts checked against the
  # data; and the learning-rate schedules and weight decay read back from the telemetry.
  add_executable(test_cli_recipes tests/tool/test_cli_recipes.c)
  target_link_libraries(test_cli_recipes PRIVATE gradflow PkgConfig::GF_TOOL_CMOCKA m)
  target_compile_options(test_cli_recipes PRIVATE ${GF_WARNINGS})
  target_compile_definitions(test_cli_recipes PRIVATE _POSIX_C_SOURCE=200809L)
  add_dependencies(test_cli_recipes gradflow_tool)
  if(GRADFLOW_SANITIZE)
    target_compile_definitions(test_cli_recipes PRIVATE GF_CLI_SLOW=1) # recipes skipped
  endif()
  foreach(group recipes schedules)
    add_test(NAME cli_${group}
             COMMAND test_cli_recipes $<TARGET_FILE:gradflow_tool>
                     ${CMAKE_CURRENT_SOURCE_DIR}/docs/cli.md ${group}
             WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
    set_tests_properties(cli_${group} PROPERTIES TIMEOUT 600) # reference builds: minutes
  endforeach()
  # The HTML pages in headless chromium (skipped, exit 77, when chromium is absent).
  add_test(NAME cli_html
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/tool/html_page.sh
                   $<TARGET_FILE:gradflow_tool> ${CMAKE_CURRENT_BINARY_DIR}/cli-test-html)
  set_tests_properties(cli_html PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77)
  # With --plot none no page shows an image: none unwritten, none of an earlier run.
  # pennington2017 is the quickest paper; a build without LAPACK runs saxe2014.
  if(GRADFLOW_LAPACK)
    set(GF_PLOT_NONE_PAPER pennington2017)
  else()
    set(GF_PLOT_NONE_PAPER saxe2014)
  endif()
  add_test(NAME cli_plot_none_pages
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/tool/plot_none_pages.sh
                   $<TARGET_FILE:gradflow_tool> ${CMAKE_CURRENT_BINARY_DIR}/cli-test-plot-none
                   ${GF_PLOT_NONE_PAPER})
  set_tests_properties(cli_plot_none_pages PROPERTIES TIMEOUT 600) # minutes when loaded
endif()
