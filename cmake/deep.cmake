# cmake/deep.cmake: issue 8: batch and layer normalisation, residual blocks, recurrent layers, mean-field theory.
# Included from CMakeLists.txt after the gradflow target exists: add library sources
# with target_sources(gradflow PRIVATE ...), test modules with list(APPEND GF_TESTS x)
# (tests/test_x.c), and this area's programs and CTest tests.
target_sources(gradflow PRIVATE src/norm.c src/residual.c src/rnn.c src/theory.c)
list(APPEND GF_TESTS norm residual rnn theory)

if(NOT GRADFLOW_EXAMPLES)
  return()
endif()

# The figures of this area: plain vs residual nets at depth 50 and 100, batch norm
# against depth, and the adding problem (vanilla RNN vs LSTM).
foreach(e deep_residual batchnorm_depth adding_problem)
  add_executable(${e} examples/${e}.c)
  target_link_libraries(${e} PRIVATE gradflow)
  target_compile_options(${e} PRIVATE ${GF_WARNINGS})
endforeach()

if(GRADFLOW_TESTS)
  set(GF_DEEP_OUT ${CMAKE_CURRENT_BINARY_DIR}/out-deep)
  file(MAKE_DIRECTORY ${GF_DEEP_OUT})
  # Well under a second each: the full figures, or their quick modes, with the numbers
  # that carry the story matched in the output.
  add_test(NAME example_deep_residual COMMAND deep_residual --csv ${GF_DEEP_OUT}/deep_residual)
  set_tests_properties(example_deep_residual PROPERTIES PASS_REGULAR_EXPRESSION
    "gain from layer 50 to layer 1: plain [0-9.]+e-[0-9][0-9], residual [0-9.]+e-01")
  add_test(NAME example_batchnorm_depth COMMAND batchnorm_depth --quick)
  set_tests_properties(example_batchnorm_depth PROPERTIES PASS_REGULAR_EXPRESSION
    "ratio layer 1 / layer 10: plain [0-9.]+e-[0-9]+, batch norm [0-9.]+e-01")
  add_test(NAME example_adding_problem_quick COMMAND adding_problem --quick)
  set_tests_properties(example_adding_problem_quick PROPERTIES PASS_REGULAR_EXPRESSION
    "ratio \\|\\|dL/dh_1\\|\\| / \\|\\|dL/dh_T\\|\\|:  rnn [0-9.]+e-[0-9]+   lstm")
endif()
