# cmake/examples.cmake: issue 3: the experiment example programs and their CTest checks.
# Included from CMakeLists.txt after the gradflow target exists.
