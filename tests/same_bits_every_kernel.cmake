# tests/same_bits_every_kernel.cmake: runs the same programs under several choices of GEMM
# kernel (GF_GEMM_KERNEL, src/fast/gemm.c) and of vectorised element-wise loops (GF_SIMD,
# src/fast/simd.h), and checks that every choice writes the same bytes: the showcase, a
# training run of each recipe of docs/cli.md ("## Recipes"), and the runs behind the
# coursework's and the tutorial's quoted figures. Compared: every file the runs write
# (telemetry.csv, loss.csv, hist_init.csv, the .dat tables, ...), summary.json less its
# "seconds" line (the only timing), and each program's printed output and exit status.
# Fails naming the files that differ. A choice the CPU lacks falls back to the best it
# has, so on a CPU without AVX-512 some choices repeat others.
#
#   cmake -DGRADFLOW=path/to/gradflow -DWORK=scratch/dir -DCLI_MD=docs/cli.md
#         -DRECIPES_FALLBACK=tests/fixtures/recipes_sample.md
#         [-DDOC_BIN=dir/of/experiment,first_net,...] [-DCHOICES=kernel/simd;...]
#         -P same_bits_every_kernel.cmake
cmake_minimum_required(VERSION 3.16) # script mode: today's if() and while() rules
if(NOT GRADFLOW OR NOT WORK OR NOT CLI_MD OR NOT RECIPES_FALLBACK)
  message(FATAL_ERROR "usage: cmake -DGRADFLOW=<program> -DWORK=<dir> -DCLI_MD=<cli.md> "
                      "-DRECIPES_FALLBACK=<md> [-DDOC_BIN=<dir>] -P ${CMAKE_SCRIPT_MODE_FILE}")
endif()

# The choices, GEMM kernel/loops. The first is the reference the others are compared
# with: a CPU without AVX (portable/portable), one with AVX2 (avx2/avx2), one with
# AVX-512 (avx512/avx512), and the two halves of each apart, so that a difference names
# the GEMM or the loops. The portable GEMM (scalar, an exact fma per multiply-add) is
# 40 times slower than the others: it runs once, and takes most of this test's time
# (about 5 minutes of CPU of the 6 in the float build).
set(choices portable/portable avx512/portable avx2/avx2 avx512/avx2 avx512/avx512)
if(CHOICES) # -DCHOICES="avx512/portable;avx512/avx512": a quicker check by hand
  set(choices ${CHOICES})
endif()

# Not varied: the C library's own choice of code by CPU. glibc's fmaf is correctly
# rounded on every CPU, and its float expf, logf, log1pf, expm1f and tanhf give the same
# bits with or without FMA; but its double exp, log, tanh, expm1, log1p, sin and cos do
# not (README, "The same numbers on every x86-64 CPU", says what that leaves uncovered).

# ---- The runs: "directory|program|arguments" ----------------------------------------------
set(runs "showcase|gradflow|showcase --plot none --quiet --out out")

# The recipes: each "### title" of docs/cli.md's "## Recipes" section holds a ```sh block
# with one line "gradflow ...". Read as a whole text (a markdown line is no CMake list).
function(read_recipes md out_var)
  file(READ ${md} text)
  set(found "")
  string(FIND "${text}" "\n## Recipes\n" at)
  if(at EQUAL -1)
    set(${out_var} "" PARENT_SCOPE)
    return()
  endif()
  math(EXPR at "${at} + 12")
  string(SUBSTRING "${text}" ${at} -1 text)
  string(FIND "${text}" "\n## " end)
  if(NOT end EQUAL -1)
    string(SUBSTRING "${text}" 0 ${end} text)
  endif()
  set(n 0)
  while(TRUE)
    string(FIND "${text}" "```sh\n" open)
    if(open EQUAL -1)
      break()
    endif()
    math(EXPR open "${open} + 6")
    string(SUBSTRING "${text}" ${open} -1 text)
    string(FIND "${text}" "```" close)
    string(SUBSTRING "${text}" 0 ${close} line)
    string(STRIP "${line}" line)
    if(NOT line MATCHES "^gradflow ([^\n]*)$")
      message(FATAL_ERROR "${md}: a recipe block is not one line 'gradflow ...':\n${line}")
    endif()
    if(line MATCHES "--out|--plot")
      message(FATAL_ERROR "${md}: a recipe names --out or --plot (the test adds them):\n${line}")
    endif()
    math(EXPR n "${n} + 1")
    list(APPEND found "recipe_${n}|gradflow|${CMAKE_MATCH_1} --plot none --quiet --out out")
    string(SUBSTRING "${text}" ${close} -1 text)
  endwhile()
  set(${out_var} "${found}" PARENT_SCOPE)
endfunction()

read_recipes(${CLI_MD} recipes)
set(recipe_source ${CLI_MD})
if(NOT recipes)
  read_recipes(${RECIPES_FALLBACK} recipes)
  set(recipe_source ${RECIPES_FALLBACK})
endif()
list(LENGTH recipes nrecipes)
if(nrecipes EQUAL 0)
  message(FATAL_ERROR "no recipes found in ${CLI_MD} nor in ${RECIPES_FALLBACK}")
endif()
# -DRECIPE_STEPS=N: each recipe trained for N steps (appended: the last --steps wins), so
# that the portable GEMM kernel, about 40 times slower, goes through every recipe in
# minutes; both choices of that test run the same shortened commands.
if(RECIPE_STEPS)
  set(shortened "")
  foreach(recipe ${recipes})
    list(APPEND shortened "${recipe} --steps ${RECIPE_STEPS}")
  endforeach()
  set(recipes "${shortened}")
endif()
list(APPEND runs ${recipes})

# The coursework's expected figures (docs/coursework/README.md) and the tutorial's and
# concepts.md's quoted runs, as they are given there.
if(DOC_BIN)
  list(APPEND runs
    "cw01_chain|chain|0.6 1.6 0.9 1"
    "cw02_sigmoid10|experiment|act=sigmoid depth=10"
    "cw02_sigmoid20|experiment|act=sigmoid depth=20"
    "cw03_tanh_gain1|experiment|act=tanh init=xavier scale=1 depth=20"
    "cw03_tanh_gain53|experiment|act=tanh init=xavier scale=1.667 depth=20"
    "cw04_he|experiment|act=relu init=he depth=20"
    "cw04_lecun|experiment|act=relu init=lecun depth=20"
    "cw04_xavier|experiment|act=relu init=xavier depth=20"
    "cw06_leaky_he|experiment|act=leaky_relu param=0.5 init=he depth=20"
    "cw06_leaky_slope|experiment|act=leaky_relu param=0.5 init=he scale=0.5 depth=20"
    "cw07_w32|experiment|act=relu init=normal depth=10 width=32"
    "cw07_w64|experiment|act=relu init=normal depth=10 width=64"
    "cw07_w128|experiment|act=relu init=normal depth=10 width=128"
    "cw07_train|experiment|act=relu init=normal depth=10 width=64 steps=50 lr=0.01"
    "cw07_clip|experiment|act=relu init=normal depth=10 width=64 steps=50 lr=0.01 clip=global_norm"
    "cw08_constant|experiment|act=tanh init=constant scale=0.1 depth=4 width=32 steps=200 lr=0.1"
    "cw08_normal|experiment|act=tanh init=normal scale=0.2 depth=4 width=32 steps=200 lr=0.1"
    "cw08_zeros|experiment|act=relu init=zeros depth=4 width=32"
    "cw08_zeros_train|experiment|act=relu init=zeros depth=4 width=32 steps=200 lr=0.1"
    "cw09_lr03|experiment|act=relu depth=6 width=64 steps=300 lr=0.3"
    "cw09_lr07|experiment|act=relu depth=6 width=64 steps=300 lr=0.7"
    "cw09_leaky07|experiment|act=leaky_relu depth=6 width=64 steps=300 lr=0.7"
    "cw10_noclip|experiment|act=tanh init=xavier scale=4 depth=12 width=64 steps=200 lr=0.05 csv=noclip.csv"
    "cw10_clip|experiment|act=tanh init=xavier scale=4 depth=12 width=64 steps=200 lr=0.05 clip=global_norm threshold=1 csv=clip.csv"
    "cw11_first_net|first_net|first_net.csv"
    "cw12_custom_layer|custom_layer|"
    "cw13_silu|coursework_solution_silu|"
    "cw14_identity_orthogonal|experiment|act=identity init=orthogonal depth=20"
    "cw14_identity_lecun|experiment|act=identity init=lecun depth=20"
    "cw14_tanh_orthogonal|experiment|act=tanh init=orthogonal scale=1.667 depth=20"
    "tutorial_relu|experiment|act=relu init=he depth=20 steps=300 lr=0.05 csv=relu.csv"
    "tutorial_add_activation|add_activation|")
endif()

# ---- Run everything under each choice -----------------------------------------------------
file(REMOVE_RECURSE ${WORK})
foreach(choice ${choices})
  string(REPLACE "/" ";" pair ${choice})
  list(GET pair 0 kernel)
  list(GET pair 1 simd)
  set(base ${WORK}/${kernel}_${simd})
  foreach(run ${runs})
    string(REPLACE "|" ";" run "${run}")
    list(GET run 0 dir)
    list(GET run 1 program)
    list(GET run 2 cmdline)
    if(program STREQUAL "gradflow")
      set(exe ${GRADFLOW})
    else()
      set(exe ${DOC_BIN}/${program})
    endif()
    separate_arguments(args UNIX_COMMAND "${cmdline}")
    file(MAKE_DIRECTORY ${base}/${dir})
    execute_process(COMMAND ${CMAKE_COMMAND} -E env GF_GEMM_KERNEL=${kernel} GF_SIMD=${simd}
                            ${exe} ${args}
                    WORKING_DIRECTORY ${base}/${dir}
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    # An exercise may end on purpose with an error (exercise 7): its status is compared.
    if(NOT rc MATCHES "^[0-9]+$" OR (NOT rc EQUAL 0 AND NOT dir MATCHES "^cw"))
      message(FATAL_ERROR "${choice}: ${program} ${cmdline}: exit ${rc}\n${out}")
    endif()
    file(WRITE ${base}/${dir}/printed.txt "${out}exit ${rc}\n")
  endforeach()
endforeach()

# ---- Compare ------------------------------------------------------------------------------
include(${CMAKE_CURRENT_LIST_DIR}/same_bits_compare.cmake)

list(GET choices 0 first)
string(REPLACE "/" "_" first ${first})
file(GLOB_RECURSE files LIST_DIRECTORIES false RELATIVE ${WORK}/${first} ${WORK}/${first}/*)
file(GLOB_RECURSE telemetry RELATIVE ${WORK}/${first} ${WORK}/${first}/*telemetry.csv)
file(GLOB_RECURSE printed RELATIVE ${WORK}/${first} ${WORK}/${first}/*printed.txt)
list(LENGTH files nfiles)
list(LENGTH telemetry ntelemetry)
list(LENGTH printed nprinted)
list(LENGTH runs nruns)
if(NOT nprinted EQUAL nruns OR ntelemetry LESS 5) # the showcase alone writes five
  message(FATAL_ERROR "${nprinted} outputs for ${nruns} runs and ${ntelemetry} telemetry "
                      "files under ${WORK}/${first}")
endif()

set(differ "")
foreach(choice ${choices})
  string(REPLACE "/" "_" other ${choice})
  if(other STREQUAL first)
    continue()
  endif()
  file(GLOB_RECURSE others LIST_DIRECTORIES false RELATIVE ${WORK}/${other} ${WORK}/${other}/*)
  list(LENGTH others nothers)
  if(NOT nothers EQUAL nfiles)
    list(APPEND differ "${other}: ${nothers} files, ${first}: ${nfiles}")
  endif()
  compare_run_files(${WORK}/${first} ${WORK}/${other} ${other} "${files}" differ)
endforeach()
if(differ)
  string(REPLACE ";" "\n  " differ "${differ}")
  message(FATAL_ERROR "results depend on the GEMM kernel or the SIMD loops; these differ "
                      "from ${first}'s (under ${WORK}):\n  ${differ}")
endif()
string(REPLACE ";" ", " choices "${choices}")
message(STATUS "${nruns} runs (${nrecipes} recipes from ${recipe_source}), ${nfiles} files: "
               "the same bytes under GF_GEMM_KERNEL/GF_SIMD = ${choices}")
