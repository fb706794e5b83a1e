#!/bin/sh
# tests/bench/bench_table.sh: the tables of docs/performance.md, made from the output of
# tests/bench/run_bench.sh and nothing else. Give it the saved output of one or more runs
# (the same command each time); it prints, in Markdown, the machine and the kernels the
# first run names, then one row per figure of the runs' "== ratios" sections: its value
# in each run (a median, with the range of its paired samples or rounds), the target and
# how many runs met it. --targets prints only the rows that have a target to meet, and no
# set-up.
#
#   tests/bench/run_bench.sh build-f > run1.txt     (and run2.txt, run3.txt)
#   tests/bench/bench_table.sh run1.txt run2.txt run3.txt
#   tests/bench/bench_table.sh --targets run1.txt run2.txt run3.txt
set -eu

targets_only=0
if [ "${1:-}" = --targets ]; then
    targets_only=1
    shift
fi
if [ $# -eq 0 ]; then
    echo "usage: $0 [--targets] RUN_BENCH_OUTPUT..." >&2
    exit 2
fi
for f in "$@"; do
    if ! grep -q '^== ratios' "$f"; then
        echo "$0: $f has no '== ratios' section: not the output of a whole run_bench.sh run" >&2
        exit 1
    fi
done

# ---- The set-up, from the first run ----------------------------------------------------------
first=$1
if [ "$targets_only" = 0 ]; then
model=$(sed -n 's/^Model name: *//p' "$first" | head -1)
cpus=$(sed -n 's/^CPU(s): *//p' "$first" | head -1)
caches=$(grep -E '^(L1d|L2|L3) cache' "$first" | sed 's/ cache: */ /; s/ *$//' | paste -sd, - |
         sed 's/,/, /g')
echo "- Machine: ${model:-unknown CPU}, ${cpus:-?} CPUs (${caches:-caches not listed})."
grep -m1 '^# gradflow ' "$first" | sed 's/^# /- /; s/$/./'
r=0
for f in "$@"; do # the family can differ between runs (its probe is timed)
    r=$((r + 1))
    grep -m1 '^# OpenBLAS kernel family' "$f" | sed "s/^# /- Run $r: /; s/\$/./"
    # the ceiling of the GEMM lines, which drifts with the host between sittings
    grep -m1 '^fma-peak ' "$f" |
        sed -e "s/^fma-peak none: /- Run $r: FMA ceiling of one core (bench_peak): not measured: /" \
            -e "s/ *(one core.*//" \
            -e "s/^fma-peak \([a-z0-9]*\) float \(.*\)  double /- Run $r: FMA ceiling of one core (bench_peak): \1, float \2, double /" \
            -e "s/\$/./" || true
done
grep -m1 '^# threads:' "$first" | sed 's/^# threads: /- Threads: /; s/$/./'
grep -m1 '^# PyTorch set-up' "$first" | sed 's/^# /- /; s/$/./' || true
grep -m1 '^# torch kernels' "$first" | sed 's/^# torch kernels: /- PyTorch: /; s/$/./' || true
echo "- Runs: $#."
echo
fi

# ---- One row per figure ------------------------------------------------------------------------
# A ratios line is: the figure's name, its value (a number, maybe with "[lo-hi ...]"), then
# maybe "[>= target]" or "[<= target]" and a verdict ("met", "NOT met", or a note).
awk -v runs=$# -v targets_only="$targets_only" '
    FNR == 1 { run++; in_ratios = 0 }
    /^== ratios/ { in_ratios = 1; next }
    /^== / { in_ratios = 0 }
    !in_ratios || NF == 0 { next }
    {
        line = $0
        # the value: the first number standing alone that ends the line or is followed
        # by a bracket or a per cent sign (so not the 4 of a name like "issue 4"); it may
        # be negative (a recorded step measured shorter than an unrecorded one)
        if (!match(line, / -?[0-9]+(\.[0-9]+)?( +[[%]| *$)/))
            next
        start = RSTART
        name = substr(line, 1, start - 1)
        rest = substr(line, start + 1)
        gsub(/  +/, " ", name)
        sub(/ +$/, "", name)
        split(rest, w, " ")
        value = w[1]
        if (match(rest, /^-?[0-9.]+ +\[[0-9.]+-[0-9.]+/)) { # a range
            r = substr(rest, RSTART, RLENGTH)
            sub(/^-?[0-9.]+ +\[/, "", r)
            value = value " (" r ")"
        }
        if (rest ~ /%/ && rest !~ /^-?[0-9.]+ +\[/)
            value = value " %"
        target = ""
        if (match(rest, /\[[<>]= [^]]*\]/))
            target = substr(rest, RSTART + 1, RLENGTH - 2)
        verdict = ""
        if (rest ~ /NOT met/) verdict = "no"
        else if (rest ~ /(^|[^T] )met/) verdict = "yes"
        if (!(name in seen)) { seen[name] = 1; order[++rows] = name }
        val[name, run] = value
        tgt[name] = target
        if (verdict == "yes") met[name]++
        if (verdict != "") judged[name]++
        extra = rest
        sub(/^-?[0-9.]+ *(%)? *(\[[^]]*\])? */, "", extra)
        # a note stands before the target (the role of a GEMM case), or after it in place
        # of a verdict (the square lines below n = 256, which a range puts past the sub above)
        if (match(extra, / *\[[<>]= [^]]*\] */)) {
            after = substr(extra, RSTART + RLENGTH)
            extra = substr(extra, 1, RSTART - 1)
            if (extra == "" && after !~ /^(NOT met|met)/)
                extra = after
        }
        while (extra ~ /^\(.*\)$/)
            extra = substr(extra, 2, length(extra) - 2)
        if (extra != "" && extra !~ /^(met|NOT met)/) note[name] = extra
    }
    END {
        head = "| figure |"; rule = "|---|"
        for (r = 1; r <= runs; r++) { head = head " run " r " |"; rule = rule "---|" }
        print head " target | met |"
        print rule "---|---|"
        for (i = 1; i <= rows; i++) {
            n = order[i]
            if (targets_only && !(n in judged))
                continue
            row = "| " n (n in note ? " (" note[n] ")" : "") " |"
            for (r = 1; r <= runs; r++)
                row = row " " ((n, r) in val ? val[n, r] : "-") " |"
            if (tgt[n] == "")
                row = row " | |"
            else if (n in judged)
                row = row " " tgt[n] " | " (met[n] + 0) " of " judged[n] " |"
            else
                row = row " " tgt[n] " | (not judged) |"
            print row
        }
    }' "$@"
