"""The six classic studies over seeds 0-2: reported / yours / difference / seconds, as a Markdown table.

    python bench/classic_studies.py --threads 2                  # all six, seeds 0-2 (about 30-60 min)
    python bench/classic_studies.py classic-lr --seeds 1          # one study, seed 0

Each seed of a study runs as `python -m mnist_core experiment NAME` would run it
(same studies, same runner); the seconds are the wall time of that seed's whole
study, and its CPU time (with --threads 1 that is about the wall time on one free
core, whatever else the machine is doing). The last line is one JSON object with every figure. The within-3-points
band of tests/test_classic_studies.py is checked against these figures.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from mnist_core.data import load_mnist  # noqa: E402
from mnist_core.experiments import get_study, run_experiment, summarize  # noqa: E402
from mnist_core.experiments.classic import CLASSIC_STUDIES, reproduction  # noqa: E402
from mnist_core.metrics import top_confusions  # noqa: E402


def print_epochs(summaries: list[list[dict]]) -> None:
    """For a study compared at its best validation epoch: that epoch, and the final figures beside it."""
    print("\n| setting | seed | best val epoch | test % there | final test % | test loss there | final test loss |")
    print("|---|---|---|---|---|---|---|")
    for seed, seed_summaries in enumerate(summaries):
        for s in seed_summaries:
            if s.get("reported_test_accuracy") is None:
                continue
            epoch, curve = (s["best_val_epochs"] or [None])[0], s.get("test_loss_curve") or []
            there = curve[epoch - 1] if epoch and epoch <= len(curve) else None
            cells = (epoch, s.get("test_accuracy_at_best_val"), s.get("test_accuracy"), there, s.get("test_loss"))
            print(f"| {s['label']} | {seed} | " + " | ".join(
                "n/a" if v is None else str(v) if i == 0 else f"{100 * v:.2f}" if i < 3 else f"{v:.4f}"
                for i, v in enumerate(cells)) + " |")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("studies", nargs="*", default=[s.name for s in CLASSIC_STUDIES])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0 .. N-1 (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--data-dir", default=os.environ.get("MNIST_DATA_DIR") or str(REPO.parent / "shared" / "mnist"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = load_mnist(args.data_dir, download=False)
    figures = []
    for name in args.studies:
        study = get_study(name)
        per_seed, summaries, seconds, cpu = [], [], [], []
        for seed in range(args.seeds):
            start, start_cpu = time.perf_counter(), time.process_time()
            rows = run_experiment(study, data, seeds=(seed,))
            seconds.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            summaries.append(summarize(rows))
            per_seed.append(reproduction(summaries[-1], study.compare, study.reported_confusions))
            # Each seed's figures at once: a long study on a busy machine may be stopped before the table.
            print(f"{name} seed {seed}: {seconds[-1]:.0f} s wall, {cpu[-1]:.0f} s CPU; " + "; ".join(
                f"{r['label']} {r['yours']:.2f} at {r['measured_at']} (reported {r['reported']:.2f})"
                for r in per_seed[-1]["rows"] if r["yours"] is not None), file=sys.stderr, flush=True)
        print(f"\n### {name} (wall {', '.join(f'{s:.0f}' for s in seconds)} s; CPU "
              f"{', '.join(f'{s:.0f}' for s in cpu)} s for seeds 0-{args.seeds - 1})\n")
        print("| setting | reported | " + " | ".join(f"seed {s}" for s in range(args.seeds))
              + " | largest difference |")
        print("|---|---|" + "---|" * args.seeds + "---|")
        for i, row in enumerate(per_seed[0]["rows"]):
            yours = [p["rows"][i]["yours"] for p in per_seed]
            differences = [p["rows"][i]["difference"] for p in per_seed]
            largest = max(differences, key=lambda d: abs(d) if d is not None else -1)
            label = f"{row['group']} · {row['label']}" if row["group"] else row["label"]
            print(f"| {label} | {row['reported']:.2f} | " + " | ".join(
                "n/a" if y is None else f"{y:.2f}" for y in yours) + f" | {largest:+.2f} |")
        where = sorted({r["measured_at"].split(" epoch")[0] for p in per_seed for r in p["rows"]})
        print(f"\n'yours' is the test accuracy at: {' / '.join(where)}.")
        if study.compare != "final":
            print_epochs(summaries)
        print("\nMost common test confusions of the final weights, settings with a reported number "
              "(true -> read as: count):")
        for seed, seed_summaries in enumerate(summaries):
            for s in seed_summaries:
                if s.get("reported_test_accuracy") is not None and s.get("confusion") is not None:
                    print(f"- seed {seed}, {s['label']}: " + ", ".join(
                        f"{t['true']} -> {t['predicted']}: {t['count']}" for t in top_confusions(s["confusion"], 8)))
        for seed, p in enumerate(per_seed):
            for c in p["confusions"]:
                print(f"- seed {seed}, reported settings pooled: {c['digit']} read as {c['reported']}: "
                      f"{'held' if c['held'] else 'did NOT hold'} (most common: {c['yours']})")
        broken = [(seed, o) for seed, p in enumerate(per_seed) for o in p["orderings"] if o["held"] is False]
        print("\nOrderings (reported gap ≥ 1 point): " + (
            "all held for every seed." if not broken else "; ".join(
                f"seed {seed}: {o['higher']} > {o['lower']} did not hold" for seed, o in broken)))
        figures.append({"study": name, "seconds": [round(s, 1) for s in seconds], "cpu_seconds": [round(s, 1) for s in cpu],
                        "rows": [p["rows"] for p in per_seed], "broken_orderings": len(broken),
                        "summaries": [[{k: v.tolist() if k == "confusion" and v is not None else v
                                        for k, v in s.items() if not k.endswith("_curve")} for s in seed_summaries]
                                      for seed_summaries in summaries]})
    print(json.dumps({"threads": args.threads, "seeds": args.seeds, "studies": figures}))


if __name__ == "__main__":
    main()
