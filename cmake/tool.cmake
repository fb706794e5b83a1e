# cmake/tool.cmake: issue 3: the plotting/verdict module, the gradflow command-line tool and the experiment examples.
# Included from CMakeLists.txt after the gradflow target exists: add library sources
# with target_sources(gradflow PRIVATE ...), test modules with list(APPEND GF_TESTS x)
# (tests/test_x.c), and this area's programs and CTest tests.
