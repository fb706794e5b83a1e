# cmake/data.cmake: issue 5: data loaders (embedded digits, IDX, CSV), data handling, and the Fashion-MNIST examples.
# Included from CMakeLists.txt after the gradflow target exists: add library sources
# with target_sources(gradflow PRIVATE ...), test modules with list(APPEND GF_TESTS x)
# (tests/test_x.c), and this area's programs and CTest tests.
