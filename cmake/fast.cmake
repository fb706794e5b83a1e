# cmake/fast.cmake: the fast paths (src/fast/): the GEMM backend (built-in kernels or an
# optional CBLAS), the compile flags the vectorised loops need, their tests with every
# kernel forced, and the benchmark program.

# ---- GEMM backend ---------------------------------------------------------------------
# The built-in kernel (src/fast/gemm.c) is the default and picks AVX-512, AVX2+FMA or portable
# code at run time, so no -march flag is needed. -DGRADFLOW_BLAS=ON sends gf_gemm_raw to
# a CBLAS library instead (OpenBLAS through pkg-config, else any CBLAS find_package finds).
option(GRADFLOW_BLAS "gf_gemm_raw calls cblas_sgemm/dgemm (e.g. OpenBLAS) instead of the built-in kernel" OFF)
if(GRADFLOW_BLAS)
  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND)
    pkg_check_modules(GF_CBLAS QUIET openblas)
  endif()
  if(GF_CBLAS_FOUND)
    # Plain paths rather than an imported target, so that the library stays exportable.
    find_library(GF_CBLAS_LIBRARY NAMES ${GF_CBLAS_LIBRARIES} HINTS ${GF_CBLAS_LIBRARY_DIRS})
    find_path(GF_CBLAS_INCLUDE_DIR cblas.h HINTS ${GF_CBLAS_INCLUDE_DIRS})
    set(GF_CBLAS_LINK ${GF_CBLAS_LIBRARY})
  else()
    set(BLA_VENDOR OpenBLAS)
    find_package(BLAS)
    if(NOT BLAS_FOUND)
      unset(BLA_VENDOR)
      find_package(BLAS)
    endif()
    find_path(GF_CBLAS_INCLUDE_DIR cblas.h PATH_SUFFIXES openblas openblas-pthread)
    set(GF_CBLAS_LINK ${BLAS_LIBRARIES})
  endif()
  if(NOT GF_CBLAS_LINK OR NOT GF_CBLAS_INCLUDE_DIR)
    message(FATAL_ERROR "gradflow: GRADFLOW_BLAS=ON but no CBLAS library with cblas.h was "
                        "found; install libopenblas-dev (Debian) or turn the option off")
  endif()
  message(STATUS "gradflow: GEMM through CBLAS: ${GF_CBLAS_LINK} (${GF_CBLAS_INCLUDE_DIR})")
  target_compile_definitions(gradflow PRIVATE GF_USE_CBLAS=1)
  target_include_directories(gradflow PRIVATE ${GF_CBLAS_INCLUDE_DIR})
  target_link_libraries(gradflow PUBLIC ${GF_CBLAS_LINK})
endif()

# ---- Element-wise loops ---------------------------------------------------------------
# GCC keeps a floating-point select that feeds arithmetic (tanh's clamp, the zero count
# of the telemetry) as a branch while it assumes that comparisons may trap, and then
# cannot vectorise the loop. The library never enables floating-point traps, and the
# flag changes no computed value; Clang assumes it by default.
if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(gradflow PRIVATE -fno-trapping-math)
endif()
# With errno set by sqrt of a negative number (C's math_errhandling), GCC calls libm's
# sqrtf for every element and cannot vectorise Adam's update (issue 18: 7-10x slower).
# The library never reads errno after a math call; sqrt is correctly rounded either way
# (IEEE 754), so the flag changes no computed value: the same bits, faster.
if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(gradflow PRIVATE -fno-math-errno)
endif()

# ---- The telemetry's reductions (src/fast/stats.c, vectorised by hand) --------------------------
gf_add_test(stats)

# ---- Every kernel tested -----------------------------------------------------------------
# The GEMM tests again with the lesser kernels forced (GF_GEMM_KERNEL, see src/fast/gemm.c): on
# an AVX-512 machine all three kernels then pass the suite's GEMM checks. A kernel the CPU
# lacks falls back to the best it has.
if(GRADFLOW_TESTS AND NOT GRADFLOW_BLAS)
  foreach(kernel portable avx2)
    add_test(NAME tensor_gemm_${kernel} COMMAND test_tensor)
    set_tests_properties(tensor_gemm_${kernel} PROPERTIES ENVIRONMENT GF_GEMM_KERNEL=${kernel})
  endforeach()
  # The same for the vectorised element-wise loops (GF_SIMD, src/fast/simd.h): the
  # telemetry's sums and the activation tables' loops (with their tail sweeps) in every
  # version.
  foreach(simd portable avx2)
    add_test(NAME stats_simd_${simd} COMMAND test_stats)
    add_test(NAME act_simd_${simd} COMMAND test_act)
    set_tests_properties(stats_simd_${simd} act_simd_${simd} PROPERTIES ENVIRONMENT GF_SIMD=${simd})
  endforeach()
  # The kernels and the SIMD loops give the same bits (src/fast/gemm.h, src/fast/simd.h),
  # so the gradflow program and the documentation's programs print and write the same
  # bytes under each: the showcase, every recipe of docs/cli.md, the coursework's and the
  # tutorial's runs, compared byte for byte. (gradflow_tool and the doc_ programs are
  # defined later; the generator expressions are resolved once every target exists.)
  # Not in the sanitizer builds: their instrumented binaries are another build type, and
  # the portable kernel's fmaf calls make the showcase minutes long there; test_tensor's
  # gemm_kernels_give_the_same_bits checks the kernels themselves in every build.
  # Nor in the reference build: it has one GEMM, the plain one, whatever is forced.
  if(NOT GRADFLOW_SANITIZE AND NOT GRADFLOW_REFERENCE)
    set(_gf_doc_bin "")
    if(GRADFLOW_EXAMPLES)
      set(_gf_doc_bin -DDOC_BIN=$<TARGET_FILE_DIR:doc_experiment>)
    endif()
    # Two tests, so that CTest runs them side by side: the vectorised choices over every
    # run as written, and the portable GEMM kernel (scalar, an exact fma per multiply-add,
    # about 40 times slower) against AVX-512 with each recipe cut to 40 steps.
    function(gf_kernel_test name choices steps)
      add_test(NAME ${name}
               COMMAND ${CMAKE_COMMAND} -DGRADFLOW=$<TARGET_FILE:gradflow_tool>
                       -DWORK=${CMAKE_CURRENT_BINARY_DIR}/${name}
                       -DCLI_MD=${PROJECT_SOURCE_DIR}/docs/cli.md
                       -DRECIPES_FALLBACK=${PROJECT_SOURCE_DIR}/tests/fixtures/recipes_sample.md
                       "-DCHOICES=${choices}" -DRECIPE_STEPS=${steps}
                       ${_gf_doc_bin}
                       -P ${PROJECT_SOURCE_DIR}/tests/same_bits_every_kernel.cmake)
      set_tests_properties(${name} PROPERTIES TIMEOUT 1500)
    endfunction()
    gf_kernel_test(gemm_kernels_same_telemetry
                   "avx512/portable;avx2/avx2;avx512/avx2;avx512/avx512" 0)
    gf_kernel_test(gemm_portable_same_telemetry "portable/portable;avx512/avx512" 40)
  endif()
endif()

# ---- Benchmark ------------------------------------------------------------------------
# bench_gradflow prints the figures of docs/performance.md; tests/bench/run_bench.sh runs
# it beside tests/bench/peer_torch.py. OpenBLAS is loaded with dlopen when present, so the
# benchmark (like the library) needs nothing extra. CTest runs it once, tiny (--quick): every
# section, --only threads included.
option(GRADFLOW_BENCH "Build the benchmark program bench_gradflow" ON)
if(GRADFLOW_BENCH)
  gf_add_program(bench_gradflow SOURCES tests/bench/bench_gradflow.c LIBS ${CMAKE_DL_LIBS})
  # One training figure alone, for paired rounds against a baseline build (its comment).
  gf_add_program(bench_train_size SOURCES tests/bench/bench_train_size.c)
  # The telemetry's reductions alone, in cache (docs/performance.md, "Telemetry").
  gf_add_program(bench_stats SOURCES tests/bench/bench_stats.c)
  # What sharing a short job costs, against one thread (docs/performance.md, "Threads").
  gf_add_program(bench_pool SOURCES tests/bench/bench_pool.c)
  # The most one core multiplies and adds: the ceiling of the GEMM lines ("What is left").
  gf_add_program(bench_peak SOURCES tests/bench/bench_peak.c)
  if(GRADFLOW_TESTS)
    add_test(NAME bench_stats COMMAND bench_stats 1000)
    set_tests_properties(bench_stats PROPERTIES TIMEOUT 60
      PASS_REGULAR_EXPRESSION "stats n=1000  sumsq [0-9.]+ ns  moments [0-9.]+ ns  abs [0-9.]+ ns")
    add_test(NAME bench_peak COMMAND bench_peak --quick)
    set_tests_properties(bench_peak PROPERTIES TIMEOUT 60
      PASS_REGULAR_EXPRESSION "fma-peak (avx512|avx2) float [0-9.]+ GFLOP/s  double [0-9.]+ GFLOP/s|fma-peak none")
    add_test(NAME bench_pool COMMAND bench_pool 4096)
    set_tests_properties(bench_pool PROPERTIES TIMEOUT 60 ENVIRONMENT GRADFLOW_THREADS=2
      PASS_REGULAR_EXPRESSION "pool n=4096  shared [0-9.]+ us \\(p90 [0-9.]+\\)  empty job [0-9.]+ us \\(p90 [0-9.]+\\)  one thread [0-9.]+ us")
    add_test(NAME bench_quick COMMAND bench_gradflow --quick)
    set_tests_properties(bench_quick PROPERTIES TIMEOUT 60
      PASS_REGULAR_EXPRESSION "train S .*train M .*train L .*threads S round 1 .*telemetry M .*memory L peak")
    # gradflow's side of run_bench.sh's duel (peer_torch.py --against, which CI cannot run
    # without PyTorch): after "ready", one chunk per line read, its seconds per step, and
    # the train line at the end of the input.
    if(UNIX)
      add_test(NAME bench_serve
               COMMAND sh -c "printf 'chunk\\nchunk\\n' | \"$0\" --quick --only serve --size S"
                       $<TARGET_FILE:bench_gradflow>)
      set_tests_properties(bench_serve PROPERTIES TIMEOUT 60
        PASS_REGULAR_EXPRESSION "ready\n[0-9.e-]+\n[0-9.e-]+\ntrain S depth=50 ")
    endif()
    # The commands of docs/performance.md, tiny: run_bench.sh --quick, then bench_table.sh
    # on its output (the tables of that page are made this way from full runs).
    if(UNIX AND NOT GRADFLOW_SANITIZE AND NOT GRADFLOW_REFERENCE)
      add_test(NAME bench_table
               COMMAND sh -c "\"$0\" \"$1\" --quick > bench_quick.txt && \"$2\" bench_quick.txt"
                       ${CMAKE_CURRENT_SOURCE_DIR}/tests/bench/run_bench.sh
                       $<TARGET_FILE_DIR:bench_gradflow>
                       ${CMAKE_CURRENT_SOURCE_DIR}/tests/bench/bench_table.sh)
      set_tests_properties(bench_table PROPERTIES TIMEOUT 600
        PASS_REGULAR_EXPRESSION "[|] figure [|] run 1 [|].*[|] telemetry M recording .*[|] memory L peak")
    endif()
  endif()
endif()

# docs/performance.md's tables are bench_table.sh on the runs kept in docs/bench/.
if(GRADFLOW_TESTS AND UNIX)
  add_test(NAME bench_tables_match
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/bench/check_doc_tables.sh
                   ${CMAKE_CURRENT_SOURCE_DIR})
endif()

# ---- Threads (src/fast/pool.c) -------------------------------------------------------------
# The threaded loops give the same bytes at 1, 2 and 3 threads: the unit test, then the
# gradflow program's telemetry at each count, on a run large enough to be split. Not in
# the sanitizer builds, where it would take minutes (test_threads runs there), nor in
# the reference build, which runs on one thread (and its triple-loop GEMM would take
# minutes on these sizes).
gf_add_test(threads)
if(GRADFLOW_TESTS AND NOT GRADFLOW_SANITIZE AND NOT GRADFLOW_REFERENCE)
  add_test(NAME threads_same_telemetry
           COMMAND ${CMAKE_COMMAND} -DGRADFLOW=$<TARGET_FILE:gradflow_tool>
                   -DWORK=${CMAKE_CURRENT_BINARY_DIR}/same_bits_every_thread_count
                   -P ${PROJECT_SOURCE_DIR}/tests/same_bits_every_thread_count.cmake)
  set_tests_properties(threads_same_telemetry PROPERTIES TIMEOUT 300)
endif()
