# tests/same_bits_compare.cmake: the comparison shared by the byte-for-byte tests
# (same_bits_every_kernel.cmake, same_bits_every_thread_count.cmake). Included by them.

# A file's text without the lines that carry a time.
function(read_without_timing path out)
  file(STRINGS ${path} lines)
  list(FILTER lines EXCLUDE REGEX "\"seconds\"")
  set(${out} "${lines}" PARENT_SCOPE)
endfunction()

# Compares each of files (paths relative to both directories) between want_dir and got_dir
# and appends "label/file" to the list named differ_var for each that differs or is
# missing. summary.json is compared without its time; index.html is not compared (it shows
# summary.json, compared already, with the run's time).
function(compare_run_files want_dir got_dir label files differ_var)
  set(differ ${${differ_var}})
  foreach(f ${files})
    if(NOT EXISTS ${got_dir}/${f})
      list(APPEND differ "${label}/${f} (missing)")
    elseif(f MATCHES "index.html$")
    elseif(f MATCHES "summary.json$")
      read_without_timing(${want_dir}/${f} want)
      read_without_timing(${got_dir}/${f} got)
      if(NOT want STREQUAL got)
        list(APPEND differ "${label}/${f}")
      endif()
    else()
      execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${want_dir}/${f}
                              ${got_dir}/${f} RESULT_VARIABLE rc)
      if(NOT rc EQUAL 0)
        list(APPEND differ "${label}/${f}")
      endif()
    endif()
  endforeach()
  set(${differ_var} "${differ}" PARENT_SCOPE)
endfunction()
