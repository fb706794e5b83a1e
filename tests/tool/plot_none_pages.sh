#!/bin/sh
# tests/tool/plot_none_pages.sh GRADFLOW WORKDIR PAPER: with --plot none, the pages of a
# paper, a run, a comparison and the showcase show no image: none that was not written
# (a dangling <img src>), and none left by an earlier run with figures in the same
# directory (shown as if it were this run's). Each directory is first written with
# figures (when gnuplot is installed), then again with --plot none.
set -eu
bin=$1
work=$2
paper=$3

rm -rf "$work"
mkdir -p "$work"
cd "$work"
fail=0

# no_images PAGE: every src="..." of PAGE that is a file names a file that exists, and
# the page inlines no image (data: URI) and names no image file at all.
no_images() {
    page=$1
    dir=$(dirname "$page")
    for src in $(sed -n 's/.*src="\([^"]*\)".*/\1/p' "$page"); do
        case $src in
        data:*) echo "FAIL: $page inlines an image with --plot none"; fail=1 ;;
        *) if [ ! -f "$dir/$src" ]; then
               echo "FAIL: $page: <img src=\"$src\"> was not written"
           else
               echo "FAIL: $page shows $src with --plot none (an earlier run's)"
           fi
           fail=1 ;;
        esac
    done
    if ls "$dir"/*.png "$dir"/*.svg >/dev/null 2>&1; then
        echo "FAIL: $dir still holds images with --plot none:" "$dir"/*.png "$dir"/*.svg
        fail=1
    fi
}

# says PAGE TEXT: the page tells the reader why there is no figure.
says() {
    if ! grep -qF "$2" "$1"; then
        echo "FAIL: $1 does not say \"$2\""
        fail=1
    fi
}

small="--depth 3 --width 8 --steps 20 --quiet"
for plot in png none; do
    "$bin" paper "$paper" --quiet --plot $plot --out paper > /dev/null
    # shellcheck disable=SC2086
    "$bin" run $small --plot $plot --out run
    # shellcheck disable=SC2086
    "$bin" compare --act relu,tanh $small --plot $plot --out cmp > /dev/null
    # shellcheck disable=SC2086
    "$bin" showcase $small --plot $plot --out show > /dev/null
done

no_images paper/index.html
says paper/index.html "not rendered (plotting was off, --plot none)"
for page in run/index.html cmp/index.html cmp/relu/index.html show/index.html \
            show/sigmoid/index.html; do
    no_images "$page"
    says "$page" "No figure was rendered"
done
[ "$fail" -eq 0 ] && echo "no page shows an image with --plot none"
exit "$fail"
