# tests/same_bits_every_thread_count.cmake: runs the gradflow program at --threads 1, 2
# and 3 and checks that every run writes the same bytes: the showcase (small: one thread
# in effect) and two training runs wide enough for the GEMMs, the activations' forward
# and backward passes, the bias gradients, the update and the weight norms to be split
# over threads (gradflow/threads.h): their
# telemetry.csv, loss.csv, hist_init.csv and summary.json (less its "seconds" line, the
# only timing). Fails naming the first file that differs. Modelled on
# same_bits_every_kernel.cmake.
#
#   cmake -DGRADFLOW=path/to/gradflow -DWORK=scratch/dir -P same_bits_every_thread_count.cmake
if(NOT GRADFLOW OR NOT WORK)
  message(FATAL_ERROR "usage: cmake -DGRADFLOW=<program> -DWORK=<dir> -P ${CMAKE_SCRIPT_MODE_FILE}")
endif()

set(counts 1 2 3)
# Each run: its output directory, then its arguments. Width 1024 and batch 1024 put the
# GEMMs (1024 x 1024 x 1024), the hidden activations' forward pass and statistics and the
# weight norms (1048576 values each) above the sizes that are split.
set(wide "--width 1024 --batch 1024 --depth 3 --steps 3 --plot none --quiet")
set(runs "showcase|showcase --plot none --quiet --out showcase"
         "wide_tanh|run --act tanh ${wide} --out wide_tanh"
         "wide_relu_adam|run --act relu --optim adam ${wide} --out wide_relu_adam")

file(REMOVE_RECURSE ${WORK})
foreach(count ${counts})
  file(MAKE_DIRECTORY ${WORK}/${count})
  foreach(run ${runs})
    string(REPLACE "|" ";" run "${run}")
    list(GET run 1 cmdline)
    separate_arguments(args UNIX_COMMAND "${cmdline} --threads ${count}")
    execute_process(COMMAND ${GRADFLOW} ${args}
                    WORKING_DIRECTORY ${WORK}/${count}
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "gradflow ${cmdline} --threads ${count}: exit ${rc}\n${out}")
    endif()
  endforeach()
endforeach()

# The files to compare: every CSV and summary of the one-thread runs.
file(GLOB_RECURSE files RELATIVE ${WORK}/1 ${WORK}/1/*.csv ${WORK}/1/*summary.json)
list(LENGTH files nfiles)
if(nfiles LESS 9) # 3 files in each of several run directories are expected
  message(FATAL_ERROR "only ${nfiles} telemetry files under ${WORK}/1")
endif()

include(${CMAKE_CURRENT_LIST_DIR}/same_bits_compare.cmake)

set(differ "")
foreach(count 2 3)
  compare_run_files(${WORK}/1 ${WORK}/${count} ${count} "${files}" differ)
endforeach()
if(differ)
  string(REPLACE ";" "\n  " differ "${differ}")
  message(FATAL_ERROR "results depend on the thread count; these differ from the "
                      "one-thread run's (under ${WORK}):\n  ${differ}")
endif()
message(STATUS "${nfiles} files the same bytes at --threads 1, 2, 3")
