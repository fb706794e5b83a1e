#!/usr/bin/env bash
# tests/docs/run_docs.sh: run what the documentation prints, as a reader would.
#   run_docs.sh SOURCE_DIR BUILD_DIR WORK_DIR [GNUPLOT]
# In WORK_DIR (emptied first; `build` and `docs` link to the build and source trees, so
# the commands read as printed):
#  1. every command of the docs that runs a documentation program, `./build/docs/...`
#     (in `code` or on an indented line, `$ ` stripped), in the order printed: it must
#     exit 0, or 1 with a message (a documented failure: exercise 7's NaN), never 2 (a
#     bad argument) or by a signal; then check.sh, the coursework checker, on each file
#     the coursework runs it on;
#  2. every expected figure of a table row "| exercise | `command` | `text N text` |
#     LO to HI |" (the coursework's): the number at N in the command's output lies in
#     [LO, HI];
#  3. with GNUPLOT, every ```gnuplot block of a document, the blocks of one document in
#     one gnuplot session (a block builds on the ones before it, as typed at the prompt),
#     and every gnuplot script a document tells to run (`gnuplot docs/...gp`), on the
#     files step 1 wrote. Each `plot` is wrapped in `set table`, which writes the points
#     it draws, and every curve must hold two or more joined finite points (a line
#     broken at every other point, or a column that is empty, draws nothing). gnuplot
#     must finish without an error or a warning. The scripts also run as printed.
# GF_DOCS_QUICK=1 (the sanitizer builds, where training is 30 to 100 times slower)
# skips the commands that train (steps= above 0), their expected figures, and the
# gnuplot sessions that read a file those would have written.
# GF_DOCS_CLI=1 runs, instead of all that, every `gradflow` command of a ```sh block
# (README.md and docs/), as printed, with `build/gradflow` first on PATH: it must exit 0,
# 3 (a run that went non-finite, as the exploding examples may) or 1 with a message,
# never 2 (a bad option). GNU parallel, in the sweep's example, is done by bash.
set -euo pipefail

if [ $# -lt 3 ]; then
  echo "usage: $0 SOURCE_DIR BUILD_DIR WORK_DIR [GNUPLOT]" >&2
  exit 2
fi
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
work=$3
gnuplot=${4:-}
rm -rf "$work"
mkdir -p "$work"
cd "$work"
ln -s "$build" build
ln -s "$src/docs" docs
failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }

# ---- 0. The gradflow commands (GF_DOCS_CLI=1) ------------------------------------------
if [ "${GF_DOCS_CLI:-0}" = 1 ]; then
  ln -s "$src/README.md" README.md
  export PATH="$build:$PATH"
  n=0
  while IFS= read -r cmd; do
    n=$((n + 1))
    status=0
    bash -c "$cmd" > cli.out 2> cli.err || status=$?
    if [ "$status" -ne 0 ] && [ "$status" -ne 3 ] && ! { [ "$status" -eq 1 ] && [ -s cli.err ]; }; then
      fail "\`$cmd\` exited with status $status"
      cat cli.err >&2
    fi
  done < <(for f in README.md docs/*.md docs/*/*.md; do
             awk '/^```sh/ { on = 1; next } /^```/ { on = 0 } on' "$f"
           done | sed 's/  *#.*$//; s/^parallel -j [0-9]* < \(.*\)$/bash \1/' |
           grep -E '^(\./build/)?gradflow( |$)|^bash jobs')
  echo "ran $n gradflow commands of the documentation"
  [ "$n" -gt 0 ] || fail "no gradflow command found"
  exit "$failed"
fi

docs=()
while IFS= read -r f; do docs+=("$f"); done < <(cd "$src" && find docs -name '*.md' | sort)
# The tutorial first: its commands write the files the coursework's plots read too.
ordered=(docs/tutorial.md)
for f in "${docs[@]}"; do [ "$f" = docs/tutorial.md ] || ordered+=("$f"); done

# ---- 1. The documentation programs ---------------------------------------------------
# Commands in `code` spans and on indented lines ("    $ ./build/docs/x a=b").
commands() {
  awk '{
    line = $0
    while (match(line, /`\.\/build\/docs\/[^`]*`/)) {
      print substr(line, RSTART + 1, RLENGTH - 2)
      line = substr(line, RSTART + RLENGTH)
    }
    if ($0 ~ /^    (\$ )?\.\/build\/docs\//) {
      sub(/^    (\$ )?/, "")
      print
    }
  }' "$1"
}
# A command's output, kept under a name made from it: the expected figures read it.
mkdir -p out
out_of() { echo "out/$(printf '%s' "$1" | cksum | tr ' ' '_')"; }
run_once() {
  local o
  o=$(out_of "$1")
  if [ ! -f "$o.rc" ]; then
    local status=0
    # Word splitting is what a shell does with the printed line (no quotes in them).
    # shellcheck disable=SC2086
    timeout 300 $1 > "$o.out" 2> "$o.err" || status=$?
    echo "$status" > "$o.rc"
  fi
  local rc
  rc=$(cat "$o.rc")
  # 0, or 1 with a message (a documented failure); never 2 (bad argument) or a signal.
  [ "$rc" -eq 0 ] || { [ "$rc" -eq 1 ] && [ -s "$o.err" ]; } || { cat "$o.err" >&2; return 1; }
}
n_cmd=0
n_skip=0
for doc in "${ordered[@]}"; do
  while IFS= read -r cmd; do
    if [ "${GF_DOCS_QUICK:-0}" = 1 ] && [[ $cmd =~ steps=[1-9] ]]; then
      n_skip=$((n_skip + 1))
      continue
    fi
    n_cmd=$((n_cmd + 1))
    run_once "$cmd" || fail "$doc: \`$cmd\` exited with status $(cat "$(out_of "$cmd").rc")"
  done < <(commands "$doc")
done
# The checker as the coursework shows it, on the files the docs name that exist (a
# student's own, student42.c, is a placeholder): it builds, runs, and on a wrong answer
# exits non-zero having named the failed checks. Not with GF_DOCS_QUICK: check.sh compiles
# without the sanitizers the library was built with, and could not link it.
while IFS= read -r file; do
  [ -f "$file" ] && [ "${GF_DOCS_QUICK:-0}" != 1 ] || continue
  n_cmd=$((n_cmd + 1))
  status=0
  GRADFLOW_BUILD=build OUT=checker bash docs/coursework/checker/check.sh "$file" > check.out 2>&1 ||
    status=$?
  # Built and run (it says what it checks); a failing status only with a failed check
  # named (cmocka's status is the number of failed checks).
  if ! grep -q 'checking "' check.out ||
     { [ "$status" -ne 0 ] && ! grep -q '\[  FAILED  \]' check.out; }; then
    fail "check.sh $file: exit $status"
    tail -20 check.out >&2
  fi
done < <(sed -n 's/^    \(\$ \)\{0,1\}GRADFLOW_BUILD=build docs\/coursework\/checker\/check\.sh \([^ ]*\)$/\2/p' \
           docs/coursework/README.md)
echo "ran $n_cmd documented commands ($n_skip training runs skipped: GF_DOCS_QUICK)"
[ "$n_cmd" -gt 0 ] || fail "no documented command found"

# ---- 2. The expected figures ------------------------------------------------------------
# Table rows "| exercise | `command` | `text N text` | LO to HI |": the number at N in the
# command's output (its last occurrence) must lie in [LO, HI].
n_fig=0
for doc in "${ordered[@]}"; do
  while IFS=$'\t' read -r cmd pattern lo hi; do
    [ "${GF_DOCS_QUICK:-0}" = 1 ] && [[ $cmd =~ steps=[1-9] ]] && continue
    n_fig=$((n_fig + 1))
    run_once "$cmd" || { fail "$doc: \`$cmd\` failed"; continue; }
    got=$(perl -e 'my ($pre, $suf) = split(/N/, $ARGV[0], 2); local $/; my $out = <STDIN>;
                   my @m = ($out =~ /\Q$pre\E([-+]?[0-9.]+(?:e[-+]?[0-9]+)?)\Q$suf\E/g);
                   print $m[-1] if @m' "$pattern" < "$(out_of "$cmd").out")
    if [ -z "$got" ]; then
      fail "$doc: \`$cmd\` prints no \"$pattern\""
    elif ! awk -v v="$got" -v lo="$lo" -v hi="$hi" 'BEGIN { exit !(v + 0 >= lo + 0 && v + 0 <= hi + 0) }'; then
      fail "$doc: \`$cmd\`: $pattern gives $got, outside $lo to $hi"
    fi
  done < <(sed -n 's/^| [0-9]* | `\([^`]*\)` | `\([^`]*N[^`]*\)` | \([-+0-9.e]*\) to \([-+0-9.e]*\) |$/\1\t\2\t\3\t\4/p' "$doc")
done
echo "checked $n_fig expected figures"

[ -n "$gnuplot" ] || { echo "gnuplot not given: plots not checked"; exit "$failed"; }

# ---- 3. The gnuplot blocks and scripts -------------------------------------------------
# A gnuplot script with each plot (continuation lines joined) between
# `set table 'PREFIX_k.tab'` and `unset table`; the plots' text into PREFIX.plots.
wrap_plots() {
  awk -v prefix="$2" '
    function flush() {
      if (stmt == "") return
      if (stmt ~ /^[ \t]*s?plot[ \t]/) {
        k++
        printf "set table \"%s_%d.tab\"\n%s\nunset table\n", prefix, k, stmt
        printf "%d %s\n", k, stmt > (prefix ".plots")
      } else {
        print stmt
      }
      stmt = ""
    }
    { stmt = stmt == "" ? $0 : stmt "\n" $0
      if ($0 !~ /\\$/) flush() }
    END { flush() }' "$1"
}

# Every curve of a table file has two or more joined inrange points ("i" rows with no
# blank line or undefined point between them).
check_table() {
  awk '
    function done_curve() {
      if (curve >= 0 && best < 2) { printf "curve %d %s: %d joined points\n", curve, title, best; bad = 1 }
    }
    /^# Curve [0-9]+ of/ { done_curve(); curve++; run = 0; best = 0; title = ""; next }
    /^# Curve title:/ { title = $0; sub(/^# Curve title: /, "", title); next }
    /^#/ { next }
    NF == 0 { run = 0; next }
    { if ($NF == "i") { run++; if (run > best) best = run } else run = 0 }
    END { done_curve(); if (curve < 0) { print "no curve"; bad = 1 } exit bad }
    BEGIN { curve = -1 }' "$1"
}

# Runs script $1 (from the work directory) with its plots captured under name $2.
run_captured() {
  local script=$1 name=$2 data
  if [ "${GF_DOCS_QUICK:-0}" = 1 ]; then
    for data in $(grep -oE "'[^']*\.csv'" "$script" | tr -d "'" | sort -u); do
      [ -f "$data" ] || { echo "$name: skipped ($data not written: GF_DOCS_QUICK)"; return; }
    done
  fi
  rm -f "$name"_*.tab "$name.plots"
  wrap_plots "$script" "$name" > "$name.gp"
  if ! "$gnuplot" "$name.gp" > "$name.log" 2>&1 || grep -qi 'warning\|error' "$name.log"; then
    fail "$name: gnuplot failed or warned"
    cat "$name.log" >&2
  fi
  [ -s "$name.plots" ] || { fail "$name: no plot command"; return; }
  while read -r k rest; do
    if [ ! -f "${name}_$k.tab" ]; then
      fail "$name: plot $k wrote nothing: $rest"
    elif ! msg=$(check_table "${name}_$k.tab"); then
      fail "$name: plot $k draws nothing visible ($msg): $rest"
    fi
  done < <(grep -E '^[0-9]+ ' "$name.plots")
  echo "$name: $(grep -cE '^[0-9]+ ' "$name.plots") plot(s) checked"
}

for doc in "${ordered[@]}"; do
  name=gnuplot_$(echo "$doc" | tr '/.' '__')
  # The ```gnuplot blocks, in order, as one session.
  awk '/^```gnuplot[ \t]*$/ { on = 1; next } /^```/ { on = 0 } on' "$doc" > "$name.src"
  [ -s "$name.src" ] && run_captured "$name.src" "$name"
  # Scripts the document tells to run: "    gnuplot docs/....gp" (as printed, then
  # captured).
  while IFS= read -r script; do
    if ! "$gnuplot" "$script" > script.log 2>&1 || [ -s script.log ]; then
      fail "$doc: \`gnuplot $script\` failed or printed something"
      cat script.log >&2
    fi
    run_captured "$script" "script_$(basename "$script" .gp)"
  done < <(sed -n 's/^    \$\{0,1\} *gnuplot \(docs\/[^ ]*\.gp\)$/\1/p' "$doc")
done
exit "$failed"
