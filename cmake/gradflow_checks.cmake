# cmake/gradflow_checks.cmake: the package and documentation checks that CTest runs as
# `cmake -DCHECK=<name> ... -P cmake/gradflow_checks.cmake` (registered in
# cmake/package.cmake). Each fails with a message saying what is wrong and where.
#   symbols   libgradflow.so exports gf_* only and has SONAME libgradflow.so.<major>;
#             libgradflow.a defines no global symbol outside gf_
#   snippets  every ```c block of the Markdown files under docs/ is, line for line, a
#             piece of a compiled file (docs/examples/*.c or the coursework checker),
#             every ```gnuplot block a piece of a tested docs/examples/*.gp, and every
#             docs/examples/*.c is in the list that is compiled
#   doxygen   doxygen runs on the generated Doxyfile and documents gf_net_new
cmake_minimum_required(VERSION 3.16)

if(CHECK STREQUAL "symbols")
  # ---- Dynamic symbol table: only gf_ ----
  get_filename_component(name "${SHARED}" NAME)
  if(NOT name STREQUAL "libgradflow.so.${VERSION}")
    message(FATAL_ERROR "shared library is ${name}, expected libgradflow.so.${VERSION}")
  endif()
  execute_process(COMMAND "${NM}" -D --defined-only "${SHARED}"
    OUTPUT_VARIABLE out RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} -D --defined-only ${SHARED} failed (${rc})")
  endif()
  string(REPLACE "\n" ";" lines "${out}")
  set(bad "")
  set(n_gf 0)
  foreach(line IN LISTS lines)
    if(line MATCHES "^[0-9a-fA-F]* *[A-Za-z] (.+)$")
      set(sym "${CMAKE_MATCH_1}")
      if(sym MATCHES "^gf_")
        math(EXPR n_gf "${n_gf} + 1")
      else()
        list(APPEND bad "${sym}")
      endif()
    endif()
  endforeach()
  if(bad)
    message(FATAL_ERROR "libgradflow.so exports symbols outside gf_: ${bad}\n"
                        "(cmake/gradflow.map should keep them local)")
  endif()
  foreach(sym gf_net_new gf_version gf_last_error gf_net_gradcheck gf_tensor_new)
    if(NOT out MATCHES " T ${sym}\n")
      message(FATAL_ERROR "libgradflow.so does not export ${sym}")
    endif()
  endforeach()
  message(STATUS "libgradflow.so: ${n_gf} exported symbols, all gf_")

  # ---- SONAME ----
  execute_process(COMMAND "${READELF}" -d "${SHARED}" OUTPUT_VARIABLE out RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "\\(SONAME\\)[^\n]*\\[([^]\n]*)\\]")
    message(FATAL_ERROR "no SONAME in ${SHARED}")
  endif()
  if(NOT CMAKE_MATCH_1 STREQUAL "libgradflow.so.${SOVERSION}")
    message(FATAL_ERROR "SONAME is ${CMAKE_MATCH_1}, expected libgradflow.so.${SOVERSION}")
  endif()
  message(STATUS "SONAME ${CMAKE_MATCH_1}")

  # ---- Static library: global definitions only under gf_ (no version script there) ----
  execute_process(COMMAND "${NM}" -g --defined-only "${STATIC}"
    OUTPUT_VARIABLE out RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} -g --defined-only ${STATIC} failed (${rc})")
  endif()
  string(REPLACE "\n" ";" lines "${out}")
  set(bad "")
  set(member "")
  foreach(line IN LISTS lines)
    if(line MATCHES "^(.+):$")
      set(member "${CMAKE_MATCH_1}")
    elseif(line MATCHES "^[0-9a-fA-F]* *[A-Za-z] (.+)$")
      # ASan adds an __odr_asan.<name> marker for every global it instruments; it is the
      # compiler's, not ours (its <name> is checked in its own line).
      if(NOT CMAKE_MATCH_1 MATCHES "^gf_" AND NOT CMAKE_MATCH_1 MATCHES "^__odr_asan[.]gf_")
        list(APPEND bad "${CMAKE_MATCH_1} (${member})")
      endif()
    endif()
  endforeach()
  if(bad)
    message(FATAL_ERROR "libgradflow.a defines global symbols outside gf_: ${bad}\n"
                        "Make file-local helpers static, or prefix shared ones gf_.")
  endif()
  message(STATUS "libgradflow.a: every global definition is gf_")

elseif(CHECK STREQUAL "snippets")
  # SOURCE_DIR, EXAMPLES (the compiled list, ;-separated names without .c)
  file(GLOB_RECURSE mds "${SOURCE_DIR}/docs/*.md")
  # Every example file is compiled.
  file(GLOB examples RELATIVE "${SOURCE_DIR}/docs/examples" "${SOURCE_DIR}/docs/examples/*.c")
  foreach(e IN LISTS examples)
    string(REGEX REPLACE "\\.c$" "" e "${e}")
    if(NOT e IN_LIST EXAMPLES)
      message(FATAL_ERROR "docs/examples/${e}.c is not in GF_DOC_EXAMPLES "
                          "(cmake/package.cmake), so it is never compiled")
    endif()
  endforeach()
  # ```c blocks against the C files, ```gnuplot blocks against the gnuplot scripts
  # (which the test docs_gnuplot runs).
  set(n_blocks 0)
  foreach(lang c gnuplot)
    if(lang STREQUAL "c")
      file(GLOB files "${SOURCE_DIR}/docs/examples/*.c" "${SOURCE_DIR}/docs/coursework/checker/*.c")
    else()
      file(GLOB files "${SOURCE_DIR}/docs/examples/*.gp")
    endif()
    set(corpus "")
    foreach(f IN LISTS files)
      file(READ "${f}" text)
      string(APPEND corpus "${text}\n")
    endforeach()
    foreach(md IN LISTS mds)
      file(READ "${md}" text)
      file(RELATIVE_PATH rel "${SOURCE_DIR}" "${md}")
      set(pos 0)
      while(TRUE)
        string(SUBSTRING "${text}" ${pos} -1 rest)
        string(FIND "${rest}" "```${lang}\n" start)
        if(start EQUAL -1)
          break()
        endif()
        string(LENGTH "```${lang}\n" fence)
        math(EXPR start "${start} + ${fence}")
        string(SUBSTRING "${rest}" ${start} -1 rest)
        string(FIND "${rest}" "\n```" end)
        if(end EQUAL -1)
          message(FATAL_ERROR "${rel}: a ```${lang} block is not closed")
        endif()
        string(SUBSTRING "${rest}" 0 ${end} block)
        math(EXPR n_blocks "${n_blocks} + 1")
        string(FIND "${corpus}" "${block}\n" found)
        if(found EQUAL -1)
          message(FATAL_ERROR "${rel}: this ${lang} block is not a verbatim piece of a "
                              "file the tests build or run (docs/examples/, "
                              "docs/coursework/checker/):\n${block}")
        endif()
        math(EXPR pos "${pos} + ${start} + ${end} + 4")
      endwhile()
    endforeach()
  endforeach()
  list(LENGTH mds n_md)
  message(STATUS "${n_blocks} C and gnuplot blocks in ${n_md} Markdown files, all "
                 "pieces of tested files")

elseif(CHECK STREQUAL "doxygen")
  # DOXYGEN, DOXYFILE, OUT (the HTML directory), SOURCE_DIR
  file(REMOVE_RECURSE "${OUT}")
  execute_process(COMMAND "${DOXYGEN}" "${DOXYFILE}" WORKING_DIRECTORY "${SOURCE_DIR}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "doxygen failed (${rc}):\n${out}\n${err}")
  endif()
  if(NOT EXISTS "${OUT}/index.html")
    message(FATAL_ERROR "doxygen wrote no ${OUT}/index.html")
  endif()
  file(GLOB_RECURSE pages "${OUT}/*.html")
  set(hit "")
  foreach(p IN LISTS pages)
    file(STRINGS "${p}" m REGEX "gf_net_new" LIMIT_COUNT 1)
    if(m)
      set(hit "${p}")
      break()
    endif()
  endforeach()
  if(NOT hit)
    message(FATAL_ERROR "the generated API reference does not mention gf_net_new")
  endif()
  if(err)
    message(STATUS "doxygen warnings:\n${err}")
  endif()
  list(LENGTH pages n)
  message(STATUS "API reference: ${n} pages in ${OUT}")

else()
  message(FATAL_ERROR "gradflow_checks.cmake: unknown CHECK '${CHECK}'")
endif()
