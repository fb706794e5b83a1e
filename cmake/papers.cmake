# cmake/papers.cmake: the classic papers reproduced (src/tool/paper*.c, docs/papers.md):
# their sources (linked into the gradflow program and into one example program per
# paper, examples/paper_NAME.c) and the CTest runs of each quick variant. Included from
# cmake/tool.cmake.

# The public library and POSIX only (src/tool/paper.h).
set(GF_PAPER_SOURCES
  src/tool/paper.c
  src/tool/paper_pennington.c
  src/tool/paper_saxe.c
  src/tool/paper_schoenholz.c
  src/tool/paper_he.c
  src/tool/paper_glorot.c
  src/tool/paper_pascanu.c
  src/tool/paper_ioffe.c)
set(GF_PAPERS pennington2017 saxe2014 schoenholz2017 he2015 glorot2010 pascanu2013 ioffe2015)

if(GRADFLOW_EXAMPLES)
  foreach(p ${GF_PAPERS})
    gf_add_program(paper_${p} SOURCES examples/paper_${p}.c ${GF_PAPER_SOURCES})
    target_include_directories(paper_${p} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src/tool)
    target_compile_definitions(paper_${p} PRIVATE _POSIX_C_SOURCE=200809L)
  endforeach()
endif()

# Each quick variant through the program: exit 0 only when every published claim holds
# within its stated tolerance (the tolerances are in the paper's source and printed).
# Seconds each in Release; not in sanitizer builds, where the same code runs 10 to 30
# times slower (the usage checks below still run there).
if(GRADFLOW_TESTS)
  set(GF_PAPER_OUT ${CMAKE_CURRENT_BINARY_DIR}/paper-out)
  # The reference build's plain GEMM loops are 10 to 30 times slower than the kernels.
  if(GRADFLOW_REFERENCE)
    set(GF_PAPER_TIMEOUT 900)
  else()
    set(GF_PAPER_TIMEOUT 120)
  endif()
  # pennington2017 and glorot2010 need singular values: LAPACK (cmake/lapack.cmake);
  # without it they stop with GF_EUNSUPPORTED and its message.
  set(GF_PAPERS_TESTED ${GF_PAPERS})
  if(NOT GRADFLOW_LAPACK)
    list(REMOVE_ITEM GF_PAPERS_TESTED pennington2017 glorot2010)
  endif()
  if(NOT GRADFLOW_SANITIZE)
    foreach(p ${GF_PAPERS_TESTED})
      add_test(NAME paper_${p}
               COMMAND gradflow_tool paper ${p} --quiet --out ${GF_PAPER_OUT}/${p})
      set_tests_properties(paper_${p} PROPERTIES TIMEOUT ${GF_PAPER_TIMEOUT}
        PASS_REGULAR_EXPRESSION "${p}: the published claim holds"
        FAIL_REGULAR_EXPRESSION "MISMATCH")
    endforeach()
  endif()
  add_test(NAME paper_list COMMAND gradflow_tool list papers)
  set_tests_properties(paper_list PROPERTIES PASS_REGULAR_EXPRESSION "pennington2017")
  add_test(NAME paper_unknown COMMAND gradflow_tool paper nosuchpaper)
  set_tests_properties(paper_unknown PROPERTIES WILL_FAIL TRUE)
endif()
