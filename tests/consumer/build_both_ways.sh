#!/usr/bin/env bash
# tests/consumer/build_both_ways.sh: install gradflow from a build tree into a fresh
# prefix under it, then build and run tests/consumer/consumer.c against that prefix four
# ways: find_package (shared, static) and pkg-config (shared, static). Also checks the
# installed layout, and builds the coursework checker as a teacher would (pkg-config).
# Registered as the CTest test install_consumer (cmake/package.cmake).
#
# usage: build_both_ways.sh CMAKE BUILD_DIR LIBDIR REAL VERSION CC PKG_CONFIG [CONFIG]
set -euo pipefail

cmake_cmd=$1 build=$2 libdir=$3 real=$4 version=$5 cc=$6 pkgconfig=$7 config=${8:-}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
work=$build/install-consumer
prefix=$work/prefix
major=${version%%.*}

fail() { echo "install_consumer: FAILED: $*" >&2; exit 1; }
step() { echo "== $*"; }

rm -rf "$work"
mkdir -p "$work"

step "cmake --install into $prefix"
config_args=()
[ -n "$config" ] && config_args=(--config "$config")
"$cmake_cmd" --install "$build" --prefix "$prefix" "${config_args[@]}" >"$work/install.log" ||
  { cat "$work/install.log"; fail "cmake --install"; }

step "installed layout"
for f in "$libdir/libgradflow.a" "$libdir/libgradflow.so" "$libdir/libgradflow.so.$major" \
         "$libdir/libgradflow.so.$version" include/gradflow.h include/gradflow/common.h \
         include/gradflow/net.h include/gradflow/config.h \
         "$libdir/cmake/gradflow/gradflowConfig.cmake" \
         "$libdir/cmake/gradflow/gradflowConfigVersion.cmake" \
         "$libdir/cmake/gradflow/gradflowTargets.cmake" "$libdir/pkgconfig/gradflow.pc"; do
  [ -e "$prefix/$f" ] || fail "missing $f in the prefix"
done
[ "$(readlink "$prefix/$libdir/libgradflow.so")" = "libgradflow.so.$major" ] ||
  fail "libgradflow.so does not point to libgradflow.so.$major"
[ ! -e "$prefix/include/gradflow/config.h.in" ] || fail "config.h.in was installed"
want_double=0
[ "$real" = double ] && want_double=1
grep -q "#define GF_REAL_IS_DOUBLE $want_double" "$prefix/include/gradflow/config.h" ||
  fail "installed config.h does not say GF_REAL_IS_DOUBLE $want_double"

# Is the consumer linked to the shared library (NEEDED libgradflow.so.N) or not?
needs_shared() { readelf -d "$1" | grep -q "NEEDED.*libgradflow\.so\.$major"; }

# ---- find_package ----------------------------------------------------------------------
for kind in shared static; do
  step "find_package(gradflow CONFIG), $kind"
  static=OFF
  [ $kind = static ] && static=ON
  b=$work/cmake-$kind
  "$cmake_cmd" -S "$here" -B "$b" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
    -Dgradflow_USE_STATIC_LIBS=$static -DGF_EXPECT_REAL="$real" >"$b.log" 2>&1 ||
    { cat "$b.log"; fail "configure ($kind)"; }
  grep -q "from $prefix/" "$b.log" || { cat "$b.log"; fail "found a gradflow outside $prefix"; }
  "$cmake_cmd" --build "$b" >>"$b.log" 2>&1 || { cat "$b.log"; fail "build ($kind)"; }
  "$b/consumer" "$real" || fail "consumer ($kind, find_package)"
  if [ $kind = shared ]; then needs_shared "$b/consumer" || fail "not linked to libgradflow.so"
  else ! needs_shared "$b/consumer" || fail "static consumer needs libgradflow.so"; fi
done

step "find_package with the wrong number type must fail"
other=double
[ "$real" = double ] && other=float
if "$cmake_cmd" -S "$here" -B "$work/cmake-wrong" -DCMAKE_PREFIX_PATH="$prefix" \
     -DCMAKE_C_COMPILER="$cc" -DGF_EXPECT_REAL=$other >"$work/cmake-wrong.log" 2>&1; then
  fail "find_package(gradflow COMPONENTS $other) succeeded on a $real build"
fi
# CMake wraps messages at a width that depends on the paths: compare with spaces folded.
tr -s ' \n' '  ' <"$work/cmake-wrong.log" | grep -q "gf_real = $real, not $other" ||
  { cat "$work/cmake-wrong.log"; fail "no clear message for the wrong number type"; }

# ---- pkg-config ------------------------------------------------------------------------
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
step "pkg-config: $("$pkgconfig" --cflags --libs gradflow)"
[ "$("$pkgconfig" --modversion gradflow)" = "$version" ] || fail "pkg-config --modversion"
[ "$("$pkgconfig" --variable=real gradflow)" = "$real" ] || fail "pkg-config --variable=real"
"$pkgconfig" --libs --static gradflow | grep -q -- "-lm" || fail "Libs.private lacks -lm"
cflags=(-std=c11 -Wall -Wextra -Wpedantic -Werror)

step "pkg-config, shared"
# shellcheck disable=SC2046 # pkg-config output is meant to be split into words
"$cc" "${cflags[@]}" $("$pkgconfig" --cflags gradflow) "$here/consumer.c" -o "$work/pc-shared" \
  $("$pkgconfig" --libs gradflow) -lm || fail "compile (pkg-config, shared)"
LD_LIBRARY_PATH=$prefix/$libdir "$work/pc-shared" "$real" || fail "consumer (pkg-config, shared)"
needs_shared "$work/pc-shared" || fail "pkg-config shared consumer is not linked to the .so"

step "pkg-config --static, static"
# The linker prefers libgradflow.so for -lgradflow; name the archive instead.
static_libs=$("$pkgconfig" --libs --static gradflow | sed 's/-lgradflow\b/-l:libgradflow.a/')
# shellcheck disable=SC2046,SC2086
"$cc" "${cflags[@]}" $("$pkgconfig" --cflags gradflow) "$here/consumer.c" -o "$work/pc-static" \
  $static_libs || fail "compile (pkg-config, static)"
"$work/pc-static" "$real" || fail "consumer (pkg-config, static)"
! needs_shared "$work/pc-static" || fail "static consumer needs libgradflow.so"

# ---- The coursework checker, as a teacher runs it on an installed gradflow -------------
if "$pkgconfig" --exists cmocka; then
  step "coursework checker on the reference solution (check.sh)"
  CC=$cc LD_LIBRARY_PATH=$prefix/$libdir OUT=$work/checker \
    bash "$src/docs/coursework/checker/check.sh" \
    "$src/docs/coursework/solutions/solution_silu.c" >"$work/checker.log" 2>&1 ||
    { cat "$work/checker.log"; fail "check.sh on the reference solution"; }
  tail -n 3 "$work/checker.log"
fi

echo "install_consumer: all ways passed"
