# cmake/package.cmake: issue 7: install rules, shared/static libraries, CMake package config, pkg-config, docs.
# Included from CMakeLists.txt after the gradflow target exists: add library sources
# with target_sources(gradflow PRIVATE ...), test modules with list(APPEND GF_TESTS x)
# (tests/test_x.c), and this area's programs and CTest tests.
