#!/usr/bin/env python3
"""tests/bench/peer_torch.py: the PyTorch peer of bench_gradflow. Same networks (S, M, L:
tanh MLPs width -> ... -> width, MSE against a random target, plain SGD), one thread,
float32, recording every linear layer's weight-gradient norm at every step; prints the
same lines as bench_gradflow so that run_bench.sh can put them side by side.

    peer_torch.py [--quick] [--wall] [--only gemm|train|telemetry|memory]

Skipped (exit 0, with a message) when torch cannot be imported. Timings are the best of
several repetitions in CPU time of the process (--wall: wall time), as in bench_gradflow."""
import math
import os
import resource
import subprocess
import sys
import time

try:
    import torch
except ImportError:
    print("# peer_torch: skipped: PyTorch is not installed for %s "
          "(Debian: apt-get install python3-torch)" % sys.executable)
    sys.exit(0)

QUICK = "--quick" in sys.argv
clock = time.perf_counter if "--wall" in sys.argv else time.process_time
ONLY = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None

torch.set_num_threads(1)
torch.manual_seed(7)

CONFIGS = {"S": (50, 32, 32), "M": (20, 256, 128), "L": (8, 1024, 256)}
if QUICK:
    CONFIGS.update({"M": (20, 64, 32), "L": (8, 128, 64)})


def section(name):
    return ONLY is None or ONLY == name


class Trainer:
    """A tanh MLP with depth linear layers, Xavier init with tanh's gain 5/3 (gradflow's
    default for tanh), MSE loss, SGD with lr 0.01; records weight-gradient norms."""

    def __init__(self, depth, width, batch):
        layers = []
        for i in range(depth):
            lin = torch.nn.Linear(width, width)
            torch.nn.init.xavier_normal_(lin.weight, gain=5.0 / 3.0)
            torch.nn.init.zeros_(lin.bias)
            layers.append(lin)
            if i + 1 < depth:
                layers.append(torch.nn.Tanh())
        self.model = torch.nn.Sequential(*layers)
        self.weights = [m.weight for m in self.model if isinstance(m, torch.nn.Linear)]
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01)
        self.loss = torch.nn.MSELoss()
        self.x = torch.randn(batch, width)
        self.target = 0.5 * torch.randn(batch, width)
        self.history = []
        self.record = True

    def steps(self, n):
        for _ in range(n):
            self.opt.zero_grad()
            out = self.model(self.x)
            loss = self.loss(out, self.target)
            loss.backward()
            if self.record:
                # Every layer's weight-gradient norm, kept (as gradflow's telemetry keeps
                # its records).
                self.history.append(torch.stack([w.grad.norm() for w in self.weights]))
            self.opt.step()

    def time_chunk(self, n):
        self.history.clear()
        t0 = clock()
        self.steps(n)
        return (clock() - t0) / n

    def calibrate(self, seconds):
        self.steps(2)
        per_step = self.time_chunk(1)
        return max(1, int(seconds / per_step))


def bench_gemm():
    nmax = 256 if QUICK else 1024
    for n in (64, 128, 256, 512, 1024):
        if n > nmax:
            break
        a, b = torch.randn(n, n), torch.randn(n, n)
        c = torch.empty(n, n)
        best = 0.0
        for _ in range(1 if QUICK else 7):
            reps, t0 = 0, clock()
            while True:
                torch.mm(a, b, out=c)
                reps += 1
                t = clock() - t0
                if t >= (0.002 if QUICK else 0.05):
                    break
            best = max(best, 2.0 * n ** 3 * reps / t)
        print("gemm NN n=%-5d torch    %7.2f GFLOP/s" % (n, best * 1e-9), flush=True)


def bench_train(name):
    depth, width, batch = CONFIGS[name]
    tr = Trainer(depth, width, batch)
    steps = tr.calibrate(0.05 if QUICK else 0.2)
    best = min(tr.time_chunk(steps) for _ in range(1 if QUICK else 10))
    print("train %s depth=%d width=%d batch=%d  %10.1f steps/s  (%.3f ms/step, "
          "weight-gradient norms every step)" % (name, depth, width, batch, 1.0 / best,
                                                 1e3 * best), flush=True)


def bench_telemetry():
    depth, width, batch = CONFIGS["M"]
    tr = Trainer(depth, width, batch)
    steps = tr.calibrate(0.05 if QUICK else 0.3)
    rec, bare = math.inf, math.inf
    for _ in range(1 if QUICK else 7):
        tr.record = True
        rec = min(rec, tr.time_chunk(steps))
        tr.record = False
        bare = min(bare, tr.time_chunk(steps))
    print("telemetry M  recording %.2f %%  of a step (%.3f ms with norms, %.3f ms without)"
          % (100 * (rec - bare) / rec, 1e3 * rec, 1e3 * bare), flush=True)


def memory_child():
    depth, width, batch = CONFIGS["L"]
    tr = Trainer(depth, width, batch)
    tr.steps(3)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0  # KiB on Linux
    params = 4.0 * sum(p.numel() for p in tr.model.parameters())
    print("memory L peak %.1f MB  (params %.1f MB; the process includes libtorch)"
          % (peak * 1e-6, params * 1e-6), flush=True)


def main():
    if "--memory-child" in sys.argv:
        memory_child()
        return
    print("# torch %s, float32, %d thread(s); %s; %s time" % (torch.__version__,
          torch.get_num_threads(), sys.executable, "wall" if "--wall" in sys.argv else "CPU"),
          flush=True)
    if section("gemm"):
        bench_gemm()
    if section("train"):
        for name in ("S", "M", "L"):
            bench_train(name)
    if section("telemetry"):
        bench_telemetry()
    if section("memory"):
        args = [sys.executable, os.path.abspath(__file__), "--memory-child"]
        subprocess.run(args + (["--quick"] if QUICK else []), check=True)


if __name__ == "__main__":
    main()
