# tests/same_bits_every_kernel.cmake: runs the gradflow program with each GEMM kernel
# forced (GF_GEMM_KERNEL=portable, avx2, avx512; one the CPU lacks falls back) and checks
# that every run writes the same bytes: the showcase and two short training runs, their
# telemetry.csv, loss.csv, hist_init.csv and summary.json (less its "seconds" line, the
# only timing). Fails naming the first file that differs. See src/fast/gemm.h.
#
#   cmake -DGRADFLOW=path/to/gradflow -DWORK=scratch/dir -P same_bits_every_kernel.cmake
if(NOT GRADFLOW OR NOT WORK)
  message(FATAL_ERROR "usage: cmake -DGRADFLOW=<program> -DWORK=<dir> -P ${CMAKE_SCRIPT_MODE_FILE}")
endif()

set(kernels portable avx2 avx512)
# Each run: its output directory, then its arguments.
set(runs "showcase|showcase --plot none --quiet --out showcase"
         "run_tanh|run --act tanh --steps 50 --plot none --quiet --out run_tanh"
         "run_relu_batch|run --act relu --norm batch --steps 50 --plot none --quiet --out run_relu_batch")

file(REMOVE_RECURSE ${WORK})
foreach(kernel ${kernels})
  file(MAKE_DIRECTORY ${WORK}/${kernel})
  foreach(run ${runs})
    string(REPLACE "|" ";" run "${run}")
    list(GET run 1 cmdline)
    separate_arguments(args UNIX_COMMAND "${cmdline}")
    execute_process(COMMAND ${CMAKE_COMMAND} -E env GF_GEMM_KERNEL=${kernel} ${GRADFLOW} ${args}
                    WORKING_DIRECTORY ${WORK}/${kernel}
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "GF_GEMM_KERNEL=${kernel} gradflow ${cmdline}: exit ${rc}\n${out}")
    endif()
  endforeach()
endforeach()

# The files to compare: every CSV and summary of the portable kernel's runs.
file(GLOB_RECURSE files RELATIVE ${WORK}/portable
     ${WORK}/portable/*.csv ${WORK}/portable/*summary.json)
list(LENGTH files nfiles)
if(nfiles LESS 9) # 3 files in each of 7 run directories are expected: check we saw some
  message(FATAL_ERROR "only ${nfiles} telemetry files under ${WORK}/portable")
endif()

# A file's text without the lines that carry a time.
function(read_without_timing path out)
  file(STRINGS ${path} lines)
  list(FILTER lines EXCLUDE REGEX "\"seconds\"")
  set(${out} "${lines}" PARENT_SCOPE)
endfunction()

set(differ "")
foreach(kernel avx2 avx512)
  foreach(f ${files})
    if(NOT EXISTS ${WORK}/${kernel}/${f})
      list(APPEND differ "${kernel}/${f} (missing)")
    elseif(f MATCHES "summary.json$")
      read_without_timing(${WORK}/portable/${f} want)
      read_without_timing(${WORK}/${kernel}/${f} got)
      if(NOT want STREQUAL got)
        list(APPEND differ "${kernel}/${f}")
      endif()
    else()
      execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORK}/portable/${f}
                              ${WORK}/${kernel}/${f} RESULT_VARIABLE rc)
      if(NOT rc EQUAL 0)
        list(APPEND differ "${kernel}/${f}")
      endif()
    endif()
  endforeach()
endforeach()
if(differ)
  string(REPLACE ";" "\n  " differ "${differ}")
  message(FATAL_ERROR "results depend on the GEMM kernel; these differ from the portable "
                      "kernel's (under ${WORK}):\n  ${differ}")
endif()
message(STATUS "${nfiles} files the same bytes under GF_GEMM_KERNEL=portable, avx2, avx512")
