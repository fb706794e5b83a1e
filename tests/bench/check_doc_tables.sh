#!/bin/sh
# tests/bench/check_doc_tables.sh SOURCE_DIR: docs/performance.md's tables are
# tests/bench/bench_table.sh on the runs kept in docs/bench/, unchanged: every line that
# bench_table.sh prints for them must be a line of the page. Fails naming the first line
# that is not.
set -eu
src=$1
page=$src/docs/performance.md
table=$src/tests/bench/bench_table.sh
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
for set in one all; do
    runs="$src/docs/bench/$set-1.txt $src/docs/bench/$set-2.txt $src/docs/bench/$set-3.txt"
    for flag in --targets ""; do
        # shellcheck disable=SC2086
        sh "$table" $flag $runs > "$out"
        while IFS= read -r line; do
            [ -n "$line" ] || continue
            if ! grep -qxF -- "$line" "$page"; then
                echo "not in docs/performance.md (bench_table.sh $flag on docs/bench/$set-*.txt): $line"
                status=1
                break
            fi
        done < "$out"
    done
done
[ "$status" = 0 ] && echo "every table row of bench_table.sh on docs/bench/ is in docs/performance.md"
exit "$status"
