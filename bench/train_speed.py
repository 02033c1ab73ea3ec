"""Training speed of MNIST Lab's engine, printed as figures (a benchmark, not a test).

One run prints:
  1. the machine's fp32 matmul peak (a big torch matmul), the yardstick for GFLOP/s;
  2. one epoch of MLP 784-512-10 (Adam, batch 64) with the engine against the classic
     torchvision pipeline (datasets.MNIST + ToTensor + Normalize + DataLoader), and the ratio;
  3. the engine's epoch time for every architecture (batch 128), and the MLP and CNN again at
     their race batch and 256, with the achieved GFLOP/s of the MLP and CNN epochs as a share of the peak;
  4. one epoch of the NumPy softmax regression (one BLAS thread, and NumPy's default);
  5. the time to reach 92% (softmax), 98% (MLP) and 99% (CNN) test accuracy with
     OneCycle schedules, evaluation time excluded from the clock, against the goals of
     1.3 s (MLP 98%) and 6 s (CNN 99%) on 2 cores.

    python bench/train_speed.py --threads 2          # the full run, a few minutes
    python bench/train_speed.py --quick              # a smoke run on subsets, no CNN target
    python bench/train_speed.py --malloc-check       # CNN epoch: GLIBC_TUNABLES vs mallopt vs neither

The machine is shared: quote ratios from one run, absolute times move 2-10x with load.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

# glibc must keep big activation buffers instead of unmapping them every step (~2x on the
# CNN). mnist_core sets that with mallopt when the environment does not; this script still
# re-launches itself with the environment setting unless told --no-relaunch, so that
# `--malloc-check` can show that both ways give the same speed.
_MALLOC_SETTING = "glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=17179869184"
if ("mmap_threshold" not in os.environ.get("GLIBC_TUNABLES", "") and os.name == "posix"
        and "--no-relaunch" not in sys.argv):
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "GLIBC_TUNABLES": _MALLOC_SETTING})

import mnist_core  # noqa: E402,F401  (first: it applies the malloc setting before torch allocates)
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from mnist_core.callbacks import Callback  # noqa: E402
from mnist_core.config import TrainConfig  # noqa: E402
from mnist_core.data import MNIST_MEAN, MNIST_STD, batch_count, load_mnist  # noqa: E402
from mnist_core.models import MLP, create_model  # noqa: E402
from mnist_core.numpy_network import NumpyNetwork, images_to_features  # noqa: E402
from mnist_core.predict import predict_probabilities  # noqa: E402
from mnist_core.train import fit  # noqa: E402

# The targets the issue asks the figures to show.
TARGET_SPEEDUP_OVER_CLASSIC = 8.0
TARGET_SECONDS = {"mlp": 30.0, "cnn": 120.0}

# Issue 14 point 6: goals for single runs on 2 cores, each figure against the peak measured in the
# same run. The small CNN's first convolution, ReLU and pooling are memory-bound (`--cnn-limits`).
EFFICIENCY_GOALS = {"mlp": 0.70, "cnn": 0.60}  # share of the fp32 matmul peak for one engine epoch
RACE_GOAL_SECONDS = {"mlp": 1.3, "cnn": 6.0}  # time to 98% (MLP) and 99% (CNN)

# Time-to-accuracy settings: OneCycle, with the batch, peak lr and schedule length per
# architecture that reached the target fastest in a search on this machine (issue 14 point 6,
# /work/notes/s2-issue-14-p6.md). MLP: batch 192, lr 5e-3, 2-epoch schedule (98% at 1.74 epochs,
# against 2.14 for the old batch 128 lr 3e-3 over 3 epochs; 0.90x the time of batch 128 lr 4e-3 over
# 2 epochs, which reaches it at 1.76). Its crossing is narrow (98.02%): another thread count can move it.
# CNN: batch 256, lr 1e-2, 2-epoch schedule (99% at 1.61 epochs, against 2.14 for batch 128 lr 5e-3
# over 3 epochs; batch 256 is also ~9% faster per image). Softmax uses lr 0.05: at lr 0.5 plain SGD
# overshoots and peaked at 91.9% here, never 92%.
ACCURACY_RUNS = [
    ("softmax", 0.92, TrainConfig(arch="softmax", optimizer="sgd", lr=0.05, batch_size=128, epochs=3)),
    ("mlp", 0.98, TrainConfig(arch="mlp", optimizer="adam", lr=5e-3, batch_size=192, epochs=2)),
    ("cnn", 0.99, TrainConfig(arch="cnn", optimizer="adam", lr=1e-2, batch_size=256, epochs=2)),
]
# Test-accuracy evaluations per epoch while racing to a target (not timed). 8, not 4: with 4 the
# figure is rounded up to the next quarter epoch, up to 0.25 epoch (~0.2 s MLP, ~1 s CNN) late.
CHECKS_PER_EPOCH = 8
REPEATS = 2  # epoch timings keep the best of this many runs: other jobs only ever add time


def default_data_dir() -> Path:
    return Path(os.environ.get("MNIST_DATA_DIR") or REPO_ROOT.parent / "shared" / "mnist")


def say(text: str = "") -> None:
    print(text, flush=True)


def mark(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


# ---------------------------------------------------------------- peak and FLOPs

def measure_matmul_peak(n: int = 2048, repeats: int = 10) -> float:
    """Best GFLOP/s of an (n x n) @ (n x n) fp32 matmul at the current thread count."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):  # warm-up: the first calls allocate, pick kernels and wake the threads
        torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def training_flops_per_image(model: nn.Module) -> float:
    """FLOPs to train on one image: forward, weight gradient and input gradient of every
    conv/linear layer (the first layer needs no input gradient). Activations, pooling and
    the optimizer are left out: they are a few percent."""
    layer_macs = []

    def count(module, inputs, output):
        weight = module.weight
        if isinstance(module, nn.Conv2d):
            # each output value is a dot product over in_channels/groups * kernel area
            layer_macs.append(output[0].numel() * weight[0].numel())
        else:
            layer_macs.append(output[0].numel() * weight.shape[1])

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model.eval()
        model(torch.zeros(1, 1, 28, 28).contiguous(memory_format=torch.channels_last))
    for hook in hooks:
        hook.remove()
    passes = [2] + [3] * (len(layer_macs) - 1)  # first layer: forward + weight grad only
    return float(sum(2 * macs * p for macs, p in zip(layer_macs, passes)))


# ---------------------------------------------------------------- engine vs classic

def classic_pipeline_epoch(data_dir: Path, limit: int | None) -> tuple[float, float]:
    """(seconds for one epoch of MLP 784-512-10, Adam, batch 64, the way tutorials do it;
    seconds for the same DataLoader pass alone, with no model)."""
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms

    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))])
    dataset = datasets.MNIST(root=str(data_dir), train=True, download=False, transform=transform)
    if limit:
        dataset = Subset(dataset, range(limit))
    loader = DataLoader(dataset, batch_size=64, shuffle=True)
    t0 = time.perf_counter()
    for _ in loader:
        pass
    loading_seconds = time.perf_counter() - t0
    torch.manual_seed(0)
    model = MLP(hidden=(512,))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    t0 = time.perf_counter()
    for x, y in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - t0, loading_seconds


def engine_epoch(data, config: TrainConfig) -> tuple[float, float]:
    """(seconds inside the training batches, wall seconds of fit) for one epoch, no test pass."""
    result = fit(config.replace(epochs=1, val_fraction=0.0), data, evaluate_test=False)
    return result.train_seconds, result.total_seconds


# ---------------------------------------------------------------- time to accuracy

class TimeToAccuracy(Callback):
    """Checks test accuracy a few times per epoch and stops the run once it reaches `target`.

    The clock runs from on_train_start and leaves out the time spent evaluating, so
    the figure is training time only.
    """

    def __init__(self, data, target: float, stop: threading.Event, checks_per_epoch: int = CHECKS_PER_EPOCH):
        self.data, self.target, self.stop, self.checks_per_epoch = data, target, stop, checks_per_epoch
        self.checks: list[tuple[float, float, float]] = []  # (epochs done, training seconds, accuracy)
        self.reached: tuple[float, float, float] | None = None

    def on_train_start(self, info):
        self.steps_per_epoch = info["steps_per_epoch"]
        self.check_every = max(1, round(self.steps_per_epoch / self.checks_per_epoch))
        self.eval_seconds = 0.0
        self.start = time.perf_counter()

    def on_batch_end(self, event):
        if event.step % self.check_every and event.step != event.total_steps:
            return
        t0 = time.perf_counter()
        training_seconds = t0 - self.start - self.eval_seconds
        predictions = predict_probabilities(self.model, self.data.test_x).argmax(1)
        accuracy = (predictions == self.data.test_labels).float().mean().item()
        self.eval_seconds += time.perf_counter() - t0
        check = (event.step / self.steps_per_epoch, training_seconds, accuracy)
        self.checks.append(check)
        if accuracy >= self.target and self.reached is None:
            self.reached = check
            self.stop.set()  # the target is reached: no need to train on


def time_to_accuracy(data, config: TrainConfig, target: float) -> TimeToAccuracy:
    stop = threading.Event()
    race = TimeToAccuracy(data, target, stop)
    fit(config.replace(val_fraction=0.0), data, callbacks=[race], stop=stop, log_every=1, evaluate_test=False)
    return race


# ---------------------------------------------------------------- NumPy softmax

def numpy_softmax_epoch(data, limit: int | None) -> dict:
    """Seconds for one epoch of the NumPy softmax: `fit` (with its end-of-epoch accuracy pass),
    and the bare batch loop with one BLAS thread and with NumPy's default thread count."""
    from threadpoolctl import threadpool_limits

    X, y = images_to_features(data.train_images[:limit]), data.train_labels[:limit].numpy()
    model = NumpyNetwork()
    t0 = time.perf_counter()
    model.fit(X, y, lr=0.01, momentum=0.9, batch_size=128, epochs=1)  # fit itself uses one BLAS thread
    figures = {"fit": time.perf_counter() - t0,
               "accuracy": model.accuracy(images_to_features(data.test_images), data.test_labels.numpy())}
    order = np.random.default_rng(1).permutation(len(y))
    for name, threads in (("loop_1_thread", 1), ("loop_default_threads", None)):
        loop_model = NumpyNetwork()
        with threadpool_limits(limits=threads, user_api="blas"):
            t0 = time.perf_counter()
            for start in range(0, len(y), 128):
                rows = order[start:start + 128]
                loop_model.step(X[rows], y[rows], lr=0.01, momentum=0.9)
            figures[name] = time.perf_counter() - t0
    return figures


# ---------------------------------------------------------------- malloc setting

MALLOC_WAYS = {  # how the child process gets (or does not get) the malloc setting
    "GLIBC_TUNABLES in the environment": {"GLIBC_TUNABLES": _MALLOC_SETTING},
    "mallopt inside the process": {},
    "neither (glibc defaults)": {"MNIST_LAB_MALLOC_TUNING": "0"},
}


def cnn_epoch_child(data_dir: Path, threads: int, subset_per_class: int) -> None:
    """Child mode: print the CNN epoch's seconds in the batches (best of REPEATS) as the last line."""
    from mnist_core.runtime import apply_malloc_tuning

    torch.set_num_threads(threads)
    data = load_mnist(data_dir, download=False)
    config = TrainConfig(arch="cnn", subset=subset_per_class)
    fit(config.replace(epochs=1, val_fraction=0.0, max_steps=5), data, evaluate_test=False)  # warm-up
    import resource

    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    seconds = min(engine_epoch(data, config)[0] for _ in range(REPEATS))
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / REPEATS
    steps = batch_count(10 * subset_per_class or len(data.train_labels), config.batch_size)
    say(f"{apply_malloc_tuning()} {seconds:.3f} {faults / steps:.1f}")


def malloc_check(args, subset_per_class: int) -> None:
    """The CNN epoch in a fresh process per way of setting malloc, run in turns, best of two rounds."""
    import subprocess

    say(f"\n[malloc setting] CNN epoch ({60_000 if not subset_per_class else 10 * subset_per_class:,} images, "
        f"batch 128, {args.threads} thread(s)), seconds in the batches, each in a fresh process")
    best = {way: float("inf") for way in MALLOC_WAYS}
    for _ in range(2):  # alternate, so a burst of load from other jobs hits every way alike
        for way, env_changes in MALLOC_WAYS.items():
            env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "MNIST_LAB_MALLOC_TUNING")}
            env.update(env_changes)
            command = [sys.executable, __file__, "--no-relaunch", "--cnn-epoch-child", "--threads",
                       str(args.threads), "--data-dir", str(args.data_dir)] + (["--quick"] if args.quick else [])
            out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            how, seconds, faults = out.stdout.strip().splitlines()[-1].split()
            best[way] = min(best[way], float(seconds))
            say(f"  {way:36s} {float(seconds):6.2f} s, {float(faults):7.1f} page faults per step "
                f"(the process reports: {how})")
    reference = best["GLIBC_TUNABLES in the environment"]
    for way, seconds in best.items():
        say(f"  best {way:31s} {seconds:6.2f} s = {seconds / reference:.2f}x the environment setting")
    inside = best["mallopt inside the process"] / reference
    say(f"  mallopt / environment = {inside:.2f} (goal: within 10%: "
        f"{mark(abs(inside - 1) <= 0.10)})")


# ---------------------------------------------------------------- main

def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir(),
                        help="folder holding MNIST/raw (default: $MNIST_DATA_DIR or ../shared/mnist)")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: subsets of 10,000 images, no CNN time-to-accuracy")
    parser.add_argument("--no-relaunch", action="store_true",
                        help="do not re-launch with GLIBC_TUNABLES set (mnist_core's mallopt applies instead)")
    parser.add_argument("--malloc-check", action="store_true",
                        help="only compare the CNN epoch with the environment setting, mallopt, and neither")
    parser.add_argument("--cnn-epoch-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    limit = 10_000 if args.quick else None  # images per "epoch" in quick mode
    subset_per_class = limit // 10 if limit else 0
    if args.cnn_epoch_child:
        return cnn_epoch_child(args.data_dir, args.threads, subset_per_class)
    if args.malloc_check:
        say(f"MNIST Lab malloc check — {args.threads} thread(s), load average {os.getloadavg()[0]:.2f}")
        return malloc_check(args, subset_per_class)
    n_images = limit or 60_000

    say(f"MNIST Lab training speed — torch {torch.__version__}, {args.threads} thread(s), "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, "
        f"malloc tuning {'on' if 'mmap_threshold' in os.environ.get('GLIBC_TUNABLES', '') else 'off'}"
        f"{', QUICK (epochs of 10,000 images)' if args.quick else ''}")
    data = load_mnist(args.data_dir, download=False)

    # 1. Peak.
    peak = measure_matmul_peak()
    say(f"\n[peak] fp32 matmul 2048x2048: {peak:.0f} GFLOP/s")

    # A few steps of every model first, so that no timing below pays for first-call set-up.
    for arch in ("softmax", "mlp", "deep-mlp", "cnn"):
        fit(TrainConfig(arch=arch, epochs=1, val_fraction=0.0, subset=100, max_steps=5), data, evaluate_test=False)

    # 2. Engine vs classic DataLoader pipeline, same model, optimizer and batch size.
    mlp_adam_64 = TrainConfig(arch="mlp", optimizer="adam", lr=1e-3, schedule="constant", batch_size=64,
                              epochs=1, val_fraction=0.0, subset=subset_per_class)
    engine_seconds, classic_seconds, loading_seconds = (float("inf"),) * 3
    for _ in range(REPEATS):  # alternate the two, so a burst of load hits both alike
        engine_seconds = min(engine_seconds, engine_epoch(data, mlp_adam_64)[1])
        classic, loading = classic_pipeline_epoch(args.data_dir, limit)
        classic_seconds, loading_seconds = min(classic_seconds, classic), min(loading_seconds, loading)
    speedup = classic_seconds / engine_seconds
    say(f"\n[engine vs classic] one epoch ({n_images:,} images) of MLP 784-512-10, Adam, batch 64")
    say(f"  classic (datasets.MNIST + ToTensor + Normalize + DataLoader): {classic_seconds:6.2f} s "
        f"({loading_seconds:.2f} s of it is the DataLoader pass alone, "
        f"{1e6 * loading_seconds / n_images:.0f} us per image)")
    say(f"  engine  (mnist_core.train.fit, tensors in memory):             {engine_seconds:6.2f} s")
    say(f"  engine is {speedup:.1f}x faster (target >= {TARGET_SPEEDUP_OVER_CLASSIC:g}x: "
        f"{mark(speedup >= TARGET_SPEEDUP_OVER_CLASSIC)})")

    # 3. Engine epoch per architecture (the config defaults: Adam, OneCycle, batch 128).
    say(f"\n[engine epochs] one epoch of {n_images:,} images, batch 128, Adam; "
        "GFLOP/s = training FLOPs / time in the batches")
    achieved_gflops = {}
    for arch in ("softmax", "mlp", "deep-mlp", "cnn"):
        config = TrainConfig(arch=arch, subset=subset_per_class)
        batch_seconds, wall_seconds = min(engine_epoch(data, config) for _ in range(REPEATS))
        flops = training_flops_per_image(create_model(config)) * n_images
        achieved_gflops[arch] = flops / batch_seconds / 1e9
        say(f"  {arch:8s} {wall_seconds:6.2f} s wall, {batch_seconds:6.2f} s in batches, "
            f"{flops / 1e9:6.1f} GFLOP -> {achieved_gflops[arch]:5.1f} GFLOP/s")
    # The MLP and CNN again at the batch size of their time-to-accuracy race and at 256: a bigger
    # batch gives the matmuls more rows per call and the fused Adam step fewer calls per image.
    race_batch = {arch: config.batch_size for arch, _, config in ACCURACY_RUNS}
    for arch, batch_size in sorted({(a, b) for a in ("mlp", "cnn") for b in (race_batch[a], 256) if b != 128}):
        config = TrainConfig(arch=arch, batch_size=batch_size, subset=subset_per_class)
        batch_seconds, wall_seconds = min(engine_epoch(data, config) for _ in range(REPEATS))
        flops = training_flops_per_image(create_model(config)) * n_images
        achieved_gflops[f"{arch} @{batch_size}"] = flops / batch_seconds / 1e9
        say(f"  {arch + ' @' + str(batch_size):8s} {wall_seconds:6.2f} s wall, {batch_seconds:6.2f} s in batches, "
            f"{flops / 1e9:6.1f} GFLOP -> {flops / batch_seconds / 1e9:5.1f} GFLOP/s (batch {batch_size})")

    # 4. The NumPy reference.
    numpy_figures = numpy_softmax_epoch(data, limit)
    say(f"\n[numpy softmax] one epoch ({n_images:,} images), SGD+momentum, batch 128")
    say(f"  fit(), 1 BLAS thread, end-of-epoch accuracy pass included: {numpy_figures['fit']:.3f} s "
        f"(test accuracy {numpy_figures['accuracy']:.2%})")
    say(f"  bare batch loop: {numpy_figures['loop_1_thread']:.3f} s with 1 BLAS thread, "
        f"{numpy_figures['loop_default_threads']:.3f} s with NumPy's default BLAS threads")

    # 5. Time to accuracy.
    say(f"\n[time to accuracy] OneCycle, batch and lr per architecture, all 60,000 training images, test accuracy checked "
        f"{CHECKS_PER_EPOCH}x per epoch (evaluation not timed)")
    for arch, target, config in ACCURACY_RUNS:
        label = f"{arch} {target:.0%}"
        if args.quick and arch == "cnn":
            say(f"  {label:12s} skipped in --quick")
            continue
        race = time_to_accuracy(data, config, target)
        settings = f"({config.optimizer} lr {config.lr:g}, batch {config.batch_size}, {config.epochs}-epoch schedule)"
        if race.reached is None:
            best = max(race.checks, key=lambda c: c[2])
            say(f"  {label:12s} NOT reached {settings}: best {best[2]:.2%} after {race.checks[-1][1]:.1f} s")
            continue
        epochs_done, seconds, accuracy = race.reached
        line = f"  {label:12s} {seconds:6.1f} s at {epochs_done:.2f} epochs ({accuracy:.2%}) {settings}"
        if arch in TARGET_SECONDS:
            line += f" target < {TARGET_SECONDS[arch]:g} s: {mark(seconds < TARGET_SECONDS[arch])}"
        if arch in RACE_GOAL_SECONDS:
            goal = RACE_GOAL_SECONDS[arch]
            line += f"; goal <= {goal:g} s on 2 cores: {seconds / goal:.2f}x the goal, {mark(seconds <= goal)}"
        say(line)
    # 6. Efficiency, against the better of two peak measurements (load only ever lowers one).
    peak = max(peak, measure_matmul_peak())
    mlp_epoch_flops = training_flops_per_image(MLP(hidden=(512,))) * n_images
    compute_floor = mlp_epoch_flops / (peak * 1e9)  # an MLP epoch if every FLOP ran at peak
    say(f"\n[efficiency] fp32 matmul peak, best of start and end: {peak:.0f} GFLOP/s")
    for name in ("mlp", "cnn", *(k for k in achieved_gflops if "@" in k)):
        share, goal = achieved_gflops[name] / peak, EFFICIENCY_GOALS[name.split()[0]]
        say(f"  {name:8s} epoch: {achieved_gflops[name]:5.1f} GFLOP/s = {100 * share:3.0f}% of peak "
            f"(goal >= {goal:.0%}: {mark(share >= goal)})")
    say(f"  ceiling of the engine-vs-classic ratio: an MLP epoch at peak takes {compute_floor:.2f} s "
        f"({mlp_epoch_flops / 1e9:.0f} GFLOP), so the engine can be at most "
        f"{classic_seconds / compute_floor:.1f}x faster than the classic {classic_seconds:.2f} s")
    say(f"\nload average at the end: {os.getloadavg()[0]:.2f} (other jobs on this machine slow every figure)")


if __name__ == "__main__":
    main()
