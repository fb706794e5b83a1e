# cmake/fuzz.cmake: the fuzz harnesses (tests/fuzz/), replayed on their corpus in every
# build and run by libFuzzer with -DGRADFLOW_FUZZ=ON.

# ---- Fuzz harnesses ---------------------------------------------------------------------
# tests/fuzz/fuzz_<target>.c defines LLVMFuzzerTestOneInput. In every build, each harness
# is linked with tests/fuzz/replay_main.c into fuzz_replay_<target>, and a CTest test
# replays its seed corpus and the crashing inputs kept as regressions:
#   tests/fuzz/corpus/<target>/  and  tests/fuzz/regressions/<target>/
# With -DGRADFLOW_FUZZ=ON and clang, the harnesses are also built with libFuzzer
# (fuzz_<target>), and the library with coverage instrumentation, ASan and UBSan:
#   tests/fuzz/run_fuzz.sh builds them in a build directory of its own and runs each.
option(GRADFLOW_FUZZ "Build the libFuzzer harnesses (clang only)" OFF)

set(GF_FUZZ_DIR ${CMAKE_CURRENT_SOURCE_DIR}/tests/fuzz)
set(GF_FUZZ_TARGETS model)
set(GF_FUZZ_EXTRA_model "")
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/include/gradflow/data.h)
  list(APPEND GF_FUZZ_TARGETS csv idx)
  set(GF_FUZZ_EXTRA_csv "")
  set(GF_FUZZ_EXTRA_idx "")
endif()
# The CLI harness links the tool's command-line sources (cmake/tool.cmake lists them).
if(DEFINED GF_TOOL_CLI_SOURCES)
  list(APPEND GF_FUZZ_TARGETS cli)
  set(GF_FUZZ_EXTRA_cli ${GF_TOOL_CLI_SOURCES})
endif()
# The end-to-end harness runs `gradflow run` on tiny inputs: the whole tool but main.c.
if(DEFINED GF_TOOL_SOURCES)
  list(APPEND GF_FUZZ_TARGETS run)
  set(GF_FUZZ_EXTRA_run ${GF_TOOL_SOURCES})
endif()

if(GRADFLOW_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "GRADFLOW_FUZZ=ON needs clang (libFuzzer): configure with CC=clang")
  endif()
  # Coverage for the fuzzer's guidance, and the sanitizers that turn bugs into crashes;
  # everything linking the library gets the sanitizer runtimes.
  target_compile_options(gradflow PRIVATE -fsanitize=fuzzer-no-link,address,undefined,float-cast-overflow
                         -fno-sanitize-recover=undefined,float-cast-overflow -fno-omit-frame-pointer -g)
  target_link_options(gradflow INTERFACE -fsanitize=address,undefined,float-cast-overflow)
endif()

if(GRADFLOW_TESTS)
  foreach(t ${GF_FUZZ_TARGETS})
    add_executable(fuzz_replay_${t} ${GF_FUZZ_DIR}/fuzz_${t}.c ${GF_FUZZ_DIR}/replay_main.c
                   ${GF_FUZZ_EXTRA_${t}})
    target_link_libraries(fuzz_replay_${t} PRIVATE gradflow)
    target_include_directories(fuzz_replay_${t} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src/tool)
    target_compile_options(fuzz_replay_${t} PRIVATE ${GF_WARNINGS})
    target_compile_definitions(fuzz_replay_${t} PRIVATE _POSIX_C_SOURCE=200809L)
    add_test(NAME fuzz_regressions_${t}
             COMMAND fuzz_replay_${t} ${GF_FUZZ_DIR}/corpus/${t} ${GF_FUZZ_DIR}/regressions/${t})
  endforeach()
endif()

if(GRADFLOW_FUZZ)
  foreach(t ${GF_FUZZ_TARGETS})
    add_executable(fuzz_${t} ${GF_FUZZ_DIR}/fuzz_${t}.c ${GF_FUZZ_EXTRA_${t}})
    target_link_libraries(fuzz_${t} PRIVATE gradflow)
    target_include_directories(fuzz_${t} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src/tool)
    target_compile_definitions(fuzz_${t} PRIVATE _POSIX_C_SOURCE=200809L)
    target_compile_options(fuzz_${t} PRIVATE -fsanitize=fuzzer,address,undefined,float-cast-overflow
                           -fno-sanitize-recover=undefined,float-cast-overflow -fno-omit-frame-pointer -g)
    target_link_options(fuzz_${t} PRIVATE -fsanitize=fuzzer,address,undefined,float-cast-overflow)
  endforeach()
endif()
