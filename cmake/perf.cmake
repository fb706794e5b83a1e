# cmake/perf.cmake: issue 4: the fast GEMM, the optional CBLAS backend, the benchmark program and its peer script.
# Included from CMakeLists.txt after the gradflow target exists: add library sources
# with target_sources(gradflow PRIVATE ...), test modules with list(APPEND GF_TESTS x)
# (tests/test_x.c), and this area's programs and CTest tests.
