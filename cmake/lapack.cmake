# cmake/lapack.cmake: LAPACK (through LAPACKE) for the singular values of Jacobians
# (src/analysis/jacobian.c). Optional: GRADFLOW_LAPACK is ON when liblapacke is found
# (pkg-config lapacke, else find_package(LAPACK) with lapacke.h and liblapacke beside
# it); without it gf_jacobian_singular_values returns GF_EUNSUPPORTED and the Jacobian
# itself still works.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(GF_LAPACKE QUIET IMPORTED_TARGET lapacke)
endif()
set(GF_LAPACK_FOUND OFF)
if(GF_LAPACKE_FOUND)
  set(GF_LAPACK_FOUND ON)
  set(GF_LAPACK_LINK PkgConfig::GF_LAPACKE)
else()
  find_package(LAPACK QUIET)
  find_library(GF_LAPACKE_LIBRARY lapacke)
  find_path(GF_LAPACKE_INCLUDE_DIR lapacke.h)
  if(LAPACK_FOUND AND GF_LAPACKE_LIBRARY AND GF_LAPACKE_INCLUDE_DIR)
    set(GF_LAPACK_FOUND ON)
    # Plain paths rather than an imported target, so that the library stays exportable.
    set(GF_LAPACK_LINK ${GF_LAPACKE_LIBRARY} ${LAPACK_LIBRARIES})
  endif()
endif()
option(GRADFLOW_LAPACK "Singular values of Jacobians through LAPACKE (liblapacke-dev)"
       ${GF_LAPACK_FOUND})

if(GRADFLOW_LAPACK AND NOT GF_LAPACK_FOUND)
  message(FATAL_ERROR "gradflow: GRADFLOW_LAPACK=ON but LAPACKE was not found; install "
                      "liblapacke-dev (Debian) or turn the option off")
endif()
if(GRADFLOW_LAPACK)
  target_link_libraries(gradflow PRIVATE ${GF_LAPACK_LINK})
  if(GF_LAPACKE_INCLUDE_DIR AND NOT GF_LAPACKE_FOUND)
    target_include_directories(gradflow PRIVATE ${GF_LAPACKE_INCLUDE_DIR})
  endif()
  set_property(SOURCE src/analysis/jacobian.c APPEND PROPERTY COMPILE_DEFINITIONS
               GF_HAVE_LAPACK=1)
else()
  message(STATUS "gradflow: building without LAPACK: gf_jacobian_singular_values will "
                 "return GF_EUNSUPPORTED; install liblapacke-dev (Debian) to have it")
  set_property(SOURCE src/analysis/jacobian.c APPEND PROPERTY COMPILE_DEFINITIONS
               GF_HAVE_LAPACK=0)
endif()

# The Jacobian and depth-scale tests; test_jacobian asks gf_jacobian_have_lapack()
# which of its two cases (values, or GF_EUNSUPPORTED) applies to this build.
gf_add_test(jacobian)
gf_add_test(depth)
