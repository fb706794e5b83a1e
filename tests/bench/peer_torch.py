#!/usr/bin/env python3
"""tests/bench/peer_torch.py: the PyTorch peers of bench_gradflow. Same networks (S, M, L:
tanh MLPs width -> ... -> width, MSE against a random target, plain SGD), float32; prints
the same lines as bench_gradflow so that run_bench.sh can put them side by side. Three
peers train:
  train        nn.Sequential and autograd, every linear layer's weight-gradient norm kept
               at every step (the peer of issue 4);
  train-hooks  peer (a): the same per-layer figures as gradflow's telemetry, taken as a
               user would, with forward and backward hooks (output mean, std, zero and
               non-finite counts; dL/dy and dL/dx norms; weight, bias and weight-gradient
               norms; the update ratio; tanh's mean |f'|, saturated and dead fractions);
  train-lean   peer (b): the leanest reasonable PyTorch: no autograd, every buffer
               preallocated (out= everywhere), weight-gradient norms only.

    peer_torch.py [--quick] [--wall] [--threads N] [--only gemm|train|telemetry|memory|probe]
                  [--size S|M|L] [--against PATH [--against-threads N]]

--size X trains network X only.

--against PATH [--against-threads N]: train in a duel with gradflow: PATH is bench_gradflow,
run as `PATH --only serve --size X --threads N` (N default 1; with --quick and --wall passed
on), and one chunk of gradflow's training and of each peer's alternate, the order rotated
each turn, so that the two sides of a ratio are measured a fraction of a second apart
(run_bench.sh does this). gradflow's lines come out prefixed "ours ".

--threads N: torch.set_num_threads(N) (default 1; inter-op threads stay 1). OpenBLAS, which
torch calls for its GEMMs, has its own threads: OPENBLAS_NUM_THREADS. run_bench.sh --threads
all tries torch's threads at every core and at 1 on each network (--only probe --size X:
train-lean on X) and runs the peers of each network with the faster.

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

THREADS = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 1
SIZES = sys.argv[sys.argv.index("--size") + 1] if "--size" in sys.argv else "SML"
if SIZES not in ("S", "M", "L", "SML"):
    sys.exit("peer_torch.py: --size takes S, M or L")
AGAINST = sys.argv[sys.argv.index("--against") + 1] if "--against" in sys.argv else None
AGAINST_THREADS = (int(sys.argv[sys.argv.index("--against-threads") + 1])
                   if "--against-threads" in sys.argv else 1)
BLAS_THREADS = int(os.environ.get("OPENBLAS_NUM_THREADS", "1") or 1)
torch.set_num_threads(THREADS)
torch.manual_seed(7)
SATURATION = 0.05  # gradflow's GF_SATURATION_FRACTION of sup |tanh'| = 1

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
        # x does not require a gradient: no dL/dx for the first layer (bench_gradflow
        # skips that product too: gf_net_set_input_grad(net, 0)).
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


class HookTrainer(Trainer):
    """Peer (a): Trainer plus gradflow's per-layer figures, taken with module hooks and
    kept every step as one tensor per step (as gradflow keeps its records)."""

    def __init__(self, depth, width, batch):
        super().__init__(depth, width, batch)
        self.fig = {}
        self.lr = 0.01
        for i, m in enumerate(self.model):
            m.register_forward_hook(self._forward_hook(i))
            m.register_full_backward_hook(self._backward_hook(i))

    def _forward_hook(self, i):
        def hook(module, inputs, y):
            y = y.detach()
            self.fig[("y", i)] = y
            self.fig[("out", i)] = torch.stack((y.mean(), y.std(unbiased=False),
                                                (y == 0).sum() / y.numel(),
                                                (~torch.isfinite(y)).sum().float()))
        return hook

    def _backward_hook(self, i):
        def hook(module, grad_in, grad_out):
            gin = grad_in[0]
            self.fig[("grad", i)] = torch.stack((
                grad_out[0].norm(),
                gin.norm() if gin is not None else torch.tensor(float("nan"))))
            if isinstance(module, torch.nn.Tanh):
                d = 1 - self.fig[("y", i)] ** 2  # f' from the output
                self.fig[("deriv", i)] = torch.stack((
                    d.abs().mean(), (d.abs() < SATURATION).sum() / d.numel(),
                    (d.abs().sum(0) == 0).sum() / d.shape[1]))
        return hook

    def steps(self, n):
        for _ in range(n):
            self.opt.zero_grad()
            out = self.model(self.x)
            loss = self.loss(out, self.target)
            loss.backward()
            if self.record:
                rows = [loss.detach().reshape(1)]
                for i, m in enumerate(self.model):
                    rows += [self.fig[("out", i)], self.fig[("grad", i)]]
                    if isinstance(m, torch.nn.Linear):
                        gw = m.weight.grad.norm()
                        wn = m.weight.detach().norm()
                        rows.append(torch.stack((gw, m.bias.grad.norm(), wn,
                                                 self.lr * gw / wn)))
                    else:
                        rows.append(self.fig[("deriv", i)])
                self.history.append(torch.cat(rows))
            self.opt.step()


class LeanTrainer:
    """Peer (b): the same network and SGD written out without autograd: forward,
    backward and update into preallocated buffers, weight-gradient norms kept."""

    def __init__(self, depth, width, batch):
        torch.set_grad_enabled(False)
        ref = Trainer(depth, width, batch)  # the same initial weights and data
        self.w = [w.detach().clone() for w in ref.weights]
        self.b = [m.bias.detach().clone() for m in ref.model
                  if isinstance(m, torch.nn.Linear)]
        self.x, self.target = ref.x, ref.target
        self.depth, self.lr = depth, 0.01
        self.h = [torch.empty(batch, width) for _ in range(depth + 1)]  # layer inputs
        self.gw = [torch.empty_like(w) for w in self.w]
        self.gb = [torch.empty_like(b) for b in self.b]
        self.d = torch.empty(batch, width)
        self.dh = torch.empty(batch, width)
        self.tmp = torch.empty(batch, width)
        self.norms = torch.empty(depth)
        self.history = []
        self.record = True

    def steps(self, n):
        h, d, dh, tmp = self.h, self.d, self.dh, self.tmp
        for _ in range(n):
            h[0].copy_(self.x)
            for i in range(self.depth):
                torch.addmm(self.b[i], h[i], self.w[i].t(), out=h[i + 1])
                if i + 1 < self.depth:
                    torch.tanh(h[i + 1], out=h[i + 1])
            # MSE: dL/dy = 2 (y - t) / numel
            torch.sub(h[self.depth], self.target, out=d)
            d.mul_(2.0 / d.numel())
            for i in range(self.depth - 1, -1, -1):
                torch.mm(d.t(), h[i], out=self.gw[i])
                torch.sum(d, 0, out=self.gb[i])
                if i > 0:
                    torch.mm(d, self.w[i], out=dh)
                    torch.mul(h[i], h[i], out=tmp)  # tanh' = 1 - y^2
                    torch.addcmul(dh, dh, tmp, value=-1.0, out=d)
            if self.record:
                for i in range(self.depth):
                    torch.linalg.vector_norm(self.gw[i], out=self.norms[i])
                self.history.append(self.norms.clone())
            for i in range(self.depth):
                self.w[i].add_(self.gw[i], alpha=-self.lr)
                self.b[i].add_(self.gb[i], alpha=-self.lr)

    time_chunk = Trainer.time_chunk
    calibrate = Trainer.calibrate


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


PEERS = {"train": (Trainer, "weight-gradient norms every step"),
         "train-hooks": (HookTrainer, "gradflow's per-layer figures by hooks every step"),
         "train-lean": (LeanTrainer, "no autograd, weight-gradient norms every step")}


def bench_train(name, peer="train"):
    depth, width, batch = CONFIGS[name]
    cls, what = PEERS[peer]
    tr = cls(depth, width, batch)
    steps = tr.calibrate(0.05 if QUICK else 0.2)
    best = min(tr.time_chunk(steps) for _ in range(1 if QUICK else 10))
    torch.set_grad_enabled(True)
    print("%s %s depth=%d width=%d batch=%d  %10.1f steps/s  (%.3f ms/step, %s)"
          % (peer, name, depth, width, batch, 1.0 / best, 1e3 * best, what), flush=True)


class Ours:
    """gradflow's side of a duel: bench_gradflow --only serve, which times one chunk of its
    own calibrated length per request and, at the end of its input, prints its train
    line. Its lines are passed on prefixed "ours "."""

    def __init__(self, cmd):
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        for line in self.proc.stdout:
            if line.strip() == "ready":
                return
            print("ours " + line, end="", flush=True)
        sys.exit("peer_torch.py: %s ended before it was ready" % " ".join(cmd))

    def time_chunk(self):
        self.proc.stdin.write("chunk\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def finish(self):
        out, _ = self.proc.communicate()
        for line in out.splitlines():
            print("ours " + line, flush=True)
        if self.proc.returncode != 0:
            sys.exit("peer_torch.py: bench_gradflow --only serve failed (%d)"
                     % self.proc.returncode)


def duel(name, against):
    """Network `name` trained by gradflow (the program `against`) and by the three peers,
    one chunk of each in turn, the order rotated every turn, 10 turns (1 with --quick):
    the two sides of a ratio are then measured a fraction of a second apart, each the best
    of its chunks. The lines are those of bench_train and bench_gradflow's."""
    depth, width, batch = CONFIGS[name]
    cmd = [against, "--only", "serve", "--size", name, "--threads", str(AGAINST_THREADS)]
    cmd += [f for f in ("--quick", "--wall") if f in sys.argv]
    sides = ["ours", "train-lean", "train-hooks", "train"]
    trainers, steps, best = {}, {}, dict.fromkeys(sides, math.inf)
    for peer in sides[1:]:
        torch.set_grad_enabled(peer != "train-lean")
        trainers[peer] = PEERS[peer][0](depth, width, batch)
        steps[peer] = trainers[peer].calibrate(0.05 if QUICK else 0.2)
    ours = Ours(cmd)
    for turn in range(1 if QUICK else 10):
        for side in sides[turn % 4:] + sides[:turn % 4]:
            if side == "ours":
                t = ours.time_chunk()
            else:
                torch.set_grad_enabled(side != "train-lean")
                t = trainers[side].time_chunk(steps[side])
                if BLAS_THREADS > 1:
                    # OpenBLAS's idle threads poll for about a tenth of a second after a
                    # call: let them sleep before gradflow's chunk (bench_gradflow.c).
                    time.sleep(0.2)
            best[side] = min(best[side], t)
    torch.set_grad_enabled(True)
    ours.finish()
    for peer in sides[1:]:
        print("%s %s depth=%d width=%d batch=%d  %10.1f steps/s  (%.3f ms/step, %s)"
              % (peer, name, depth, width, batch, 1.0 / best[peer], 1e3 * best[peer],
                 PEERS[peer][1]), flush=True)


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
    print("# torch %s, float32, %d thread(s), OpenBLAS %s thread(s); %s; %s time"
          % (torch.__version__, torch.get_num_threads(),
             os.environ.get("OPENBLAS_NUM_THREADS", "(its default)"), sys.executable,
             "wall" if "--wall" in sys.argv else "CPU"), flush=True)
    # Which kernels torch uses: its CPU capability (ATen's vectorised loops) and the
    # BLAS and threading it was built with.
    cap = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", None)
    config = torch.__config__.show()
    usage = [l.strip(" -") for l in config.splitlines() if "CPU capability" in l]
    blas = [w.strip(",") for w in config.split() if w.startswith(("BLAS_INFO=", "USE_MKLDNN="))]
    print("# torch kernels: %s; %s; %s; %s" % (
        "cpu capability " + cap() if cap else "; ".join(usage) or "cpu capability unknown",
        " ".join(blas) or "BLAS not listed",
        "OpenBLAS core " + os.environ.get("OPENBLAS_CORETYPE", "chosen by OpenBLAS"),
        " ".join(l.strip() for l in torch.__config__.parallel_info().splitlines()[1:3])),
        flush=True)
    if section("gemm"):
        bench_gemm()
    if section("train"):
        for name in SIZES:
            if AGAINST:
                duel(name, AGAINST)
                continue
            for peer in ("train-lean", "train-hooks", "train"):
                bench_train(name, peer)
    if ONLY == "probe":
        for name in SIZES:
            bench_train(name, "train-lean")
    if section("telemetry"):
        bench_telemetry()
    if section("memory"):
        args = [sys.executable, os.path.abspath(__file__), "--memory-child"]
        subprocess.run(args + (["--quick"] if QUICK else []), check=True)


if __name__ == "__main__":
    main()
