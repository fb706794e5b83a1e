# cmake/reliability.cmake: issue 6: model files, bad-input and allocation-failure tests, fuzz harnesses.
# Included from CMakeLists.txt after the gradflow target exists: add library sources
# with target_sources(gradflow PRIVATE ...), test modules with list(APPEND GF_TESTS x)
# (tests/test_x.c), and this area's programs and CTest tests.
