#!/usr/bin/env bash
# check.sh: build the coursework checker against a student's activation file and run
# it. Exit status 0 when every check passes.
#   docs/coursework/checker/check.sh path/to/student.c
# It links an installed gradflow found by pkg-config (set PKG_CONFIG_PATH to
# <prefix>/lib/pkgconfig, and LD_LIBRARY_PATH to <prefix>/lib for a prefix the loader
# does not search), or a build tree: GRADFLOW_BUILD=build check.sh student.c.
# Also: CC (compiler, default cc), OUT (where the program goes, default a temporary
# directory), PKG_CONFIG (default pkg-config).
set -euo pipefail

if [ $# -ne 1 ] || [ ! -f "$1" ]; then
  echo "usage: $0 student.c" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
student=$1
cc=${CC:-cc}
pc=${PKG_CONFIG:-pkg-config}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"

if ! "$pc" --exists cmocka; then
  echo "check.sh: cmocka not found (Debian: apt-get install libcmocka-dev)" >&2
  exit 2
fi
if [ -n "${GRADFLOW_BUILD:-}" ]; then
  build=$(cd "$GRADFLOW_BUILD" && pwd)
  gf_cflags="-I$here/../../../include -I$build/include"
  gf_libs="$build/libgradflow.a -lm"
elif "$pc" --exists gradflow; then
  gf_cflags=$("$pc" --cflags gradflow)
  gf_libs=$("$pc" --libs gradflow)
else
  echo "check.sh: gradflow not found: install it and set PKG_CONFIG_PATH to" \
       "<prefix>/lib/pkgconfig, or set GRADFLOW_BUILD to a build directory" >&2
  exit 2
fi

# -D_DEFAULT_SOURCE: C11 with the POSIX names of <math.h> (M_PI) a student may use.
# shellcheck disable=SC2046,SC2086 # the flag strings are meant to be split into words
"$cc" -std=c11 -D_DEFAULT_SOURCE -O2 -Wall -Wextra $gf_cflags $("$pc" --cflags cmocka) -I"$here" \
  "$here/check_student.c" "$student" -o "$out/check_student" \
  $gf_libs $("$pc" --libs cmocka) -lm
"$out/check_student"
