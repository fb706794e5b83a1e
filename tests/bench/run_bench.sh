#!/bin/sh
# tests/bench/run_bench.sh: one command for the figures of docs/performance.md. Runs
# bench_gradflow (built by CMake, see cmake/fast.cmake) and its PyTorch peer side by side,
# one thread each, pinned to one core, and prints both outputs and then the ratios
# against the targets of issue 4. Builds nothing.
#
#   tests/bench/run_bench.sh BUILD_DIR [--quick] [--wall]
#
# GF_BENCH_CPU picks the core (default 1). The peer needs a python3 that imports torch
# (Debian: apt-get install python3-torch); without one its lines are skipped.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-}
if [ -z "$build" ] || [ ! -x "$build/bench_gradflow" ]; then
    echo "usage: $0 BUILD_DIR [--quick] [--wall]  (BUILD_DIR holds bench_gradflow)" >&2
    exit 2
fi
shift
flags="$*"

# One thread everywhere: OpenBLAS (loaded by the benchmark) and PyTorch.
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
export OPENBLAS_NUM_THREADS OMP_NUM_THREADS MKL_NUM_THREADS
pin=""
if command -v taskset >/dev/null 2>&1; then
    pin="taskset -c ${GF_BENCH_CPU:-1}"
fi

python=""
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c "import torch" >/dev/null 2>&1; then
        python=$p
        break
    fi
done

ours=$(mktemp)
theirs=$(mktemp)
trap 'rm -f "$ours" "$theirs"' EXIT

echo "== machine"
if command -v lscpu >/dev/null 2>&1; then
    lscpu | grep -E "^(Model name|CPU family|Model:|CPU\(s\)|Thread|L1d|L2|L3)" || true
fi
getconf -a 2>/dev/null | grep -E "^LEVEL[123]_D?CACHE_SIZE" || true
echo "== gradflow: $pin $build/bench_gradflow $flags"
# shellcheck disable=SC2086
$pin "$build/bench_gradflow" $flags | tee "$ours"
echo "== pytorch: $pin ${python:-python3} $here/peer_torch.py $flags"
if [ -n "$python" ]; then
    # shellcheck disable=SC2086
    $pin "$python" "$here/peer_torch.py" $flags | tee "$theirs"
else
    echo "# peer_torch: skipped: no python3 here imports torch (Debian: apt-get install python3-torch)"
fi

echo "== ratios (targets of issue 4 in brackets)"
backend=$(grep -o 'GEMM backend: [a-z]*' "$ours" | head -1 | sed 's/.*: //')
awk -v real="$(grep -o 'float\|double' "$ours" | head -1)" -v backend="$backend" '
    # The targets other than dgemm are for the float build (the peer runs float32); with
    # the CBLAS backend, only L has a target of its own (>= 0.95), S and M are the
    # built-in kernel'"'"'s.
    function verdict(ok) {
        return real == "double" ? "(target is for the float build)" : (ok ? "met" : "NOT met")
    }
    function train_verdict(s, ok) {
        if (backend == "cblas" && s != "L" && real != "double")
            return "(target is for the built-in GEMM)"
        return verdict(ok)
    }
    FNR == 1 { file++ }
    file == 1 && /^gemm NN/ && /openblas/ {
        n = $3; sub("n=", "", n)
        want = real == "double" ? 0.6 : 0.7
        note = (n + 0 < 256) ? "(no target below n = 256)" : (($NF + 0 >= want) ? "met" : "NOT met")
        if (backend == "cblas")
            note = "(the target is the built-in kernel'"'"'s; this build calls CBLAS)"
        printf "gemm n=%-5s gradflow / openblas %5.2f  [>= %.1f at n >= 256]  %s\n", n, $NF, want, note
    }
    file == 1 && /^train/ { ours[$2] = $6 }
    file == 2 && /^train/ { theirs[$2] = $6 }
    file == 1 && /^telemetry M/ { rec = $4; chk = $8 }
    file == 1 && /^memory L/ { split($0, parts, "ratio "); coreratio = parts[2] + 0; engratio = parts[3] + 0 }
    END {
        split("S M L", names, " ")
        split(backend == "cblas" ? "10 1.2 0.95" : "10 1.2 0.7", wants, " ")
        for (i = 1; i <= 3; i++) {
            s = names[i]
            if (s in ours && s in theirs && theirs[s] > 0) {
                r = ours[s] / theirs[s]
                printf "train %s gradflow / torch %7.2f  [>= %s]  %s\n", s, r, wants[i], train_verdict(s, r >= wants[i])
            } else if (s in ours) {
                printf "train %s gradflow %s steps/s (no torch figure)\n", s, ours[s]
            }
        }
        if (rec != "")
            printf "telemetry M recording %s %% (+ finiteness check %s %% on unrecorded steps)  [<= 3 %%]  %s\n", rec, chk, verdict(rec + 0 <= 3)
        if (coreratio > 0)
            printf "memory L peak / (params + grads + activations + optimiser state) %.2f  [<= 1.3]  %s; / all the engine keeps %.2f\n", coreratio, verdict(coreratio <= 1.3), engratio
    }' "$ours" "$theirs"
