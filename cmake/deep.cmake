# cmake/deep.cmake: issue 8: batch and layer normalisation, residual blocks, recurrent layers, mean-field theory.
# Included from CMakeLists.txt after the gradflow target exists: add library sources
# with target_sources(gradflow PRIVATE ...), test modules with list(APPEND GF_TESTS x)
# (tests/test_x.c), and this area's programs and CTest tests.
