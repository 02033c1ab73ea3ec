"""The six classic MNIST studies, re-lived faithfully: the setups that land each reported table.

Each study trains on the full training set with the setup that was measured
(bench/classic_studies.py, seeds 0-2) to reproduce its reported test
accuracies within 2 points; the setup is stated on the page, and every
variant carries the number the study reported (`Variant.reported`, 0-1).
The quick studies in studies.py stay as they are, for a short demo.

`reproduction` compares a finished study with what was reported: the
difference of every number, and whether each reported ordering (a gap of at
least one point) held.
"""
from __future__ import annotations

from ..config import TrainConfig
from ..metrics import misread_as
from .studies import Study, Variant, _sweep

# The reported test accuracy of each study's settings (0-1), as the class has read them.
REPORTED_CLASSIC_LR = {1.0: 0.952, 0.1: 0.927, 0.05: 0.914, 0.01: 0.762}
REPORTED_CLASSIC_L2 = {1.0: 0.103, 0.1: 0.360, 0.01: 0.892, 1e-3: 0.926, 1e-4: 0.934}
TOLERANCE = 0.02  # "reproduced" means within 2 points of the reported number
ORDERING_GAP = 0.01  # an ordering counts when the reported gap is at least 1 point

# Pixels in [0, 1] and all 60,000 training images, as in the classic studies.
_FULL = dict(val_fraction=0.0, subset=0, pixels="unit")


def _classic_lr() -> Study:
    base = TrainConfig(arch="mlp", hidden=(128,), activation="sigmoid", optimizer="sgd", schedule="constant",
                       batch_size=26, epochs=1, **_FULL)
    variants = _sweep("lr", (1.0, 0.1, 0.05, 0.01), base, lambda v: f"lr {v:g}", reported=REPORTED_CLASSIC_LR)
    return Study(
        name="classic-lr", title="Classic: learning rate (2-layer MLP, plain SGD)", knob="lr",
        knob_label="learning rate", variants=tuple(variants), takeaway="lr",
        reported="Reported: 95.2 / 92.7 / 91.4 / 76.2% test accuracy at lr 1 / 0.1 / 0.05 / 0.01.",
        explanation=(
            "The classic study trained a 2-layer MLP with plain SGD for one short run per learning rate. "
            "The setup that lands its table here: **784-128-10 with sigmoid units, pixels in [0, 1], "
            "batch 26, one epoch over all 60,000 training images**, constant learning rate.\n\n"
            "**What to expect:** the biggest step, lr 1, learns most in one epoch; lr 0.01 has barely "
            "started (about 76%). With pixels in [0, 1] and sigmoid units, lr 1 is still stable; "
            "with standardized pixels every step would be about 3x stronger. Softmax regression cannot "
            "reach 95% at all, so the reported table is an MLP's."))


def _classic_l2() -> Study:
    base = TrainConfig(arch="mlp", hidden=(128,), activation="sigmoid", optimizer="sgd", schedule="constant",
                       lr=0.1, batch_size=64, epochs=5, **_FULL)
    variants = _sweep("l2", (1.0, 0.1, 0.01, 1e-3, 1e-4), base, lambda v: f"L2 {v:g}", group="lr 0.1",
                      reported=REPORTED_CLASSIC_L2)
    variants.append(Variant(label="L2 0.0001 (its best)", value=1e-4, group="lr 1",
                            config=base.replace(l2=1e-4, lr=1.0), reported=0.971))
    return Study(
        name="classic-l2", title="Classic: L2 from collapse to none", knob="l2", knob_label="L2",
        variants=tuple(variants), takeaway="l2", views=("templates",),
        reported="Reported: 10.3 / 36.0 / 89.2 / 92.6 / 93.4% at L2 = 1 / 0.1 / 0.01 / 1e-3 / 1e-4; "
                 "its best setting, L2 1e-4 with lr 1 and batch 64, reached 97.1%.",
        explanation=(
            "The same sigmoid MLP (784-128-10, pixels in [0, 1]) with weight decay: after every step each "
            "weight is pulled toward zero (gradient += L2 × weight). **SGD lr 0.1, batch 64, 5 epochs over "
            "all 60,000 images**; then the study's best setting, L2 1e-4 at lr 1.\n\n"
            "**What to expect:** L2 = 1 pulls so hard that the hidden layer's weights vanish: every image "
            "gives the same hidden activity, and the network collapses to guessing (10%). L2 = 0.1 is on the "
            "edge (its result changes a lot with the seed); from 0.01 down, L2 costs little. The collapse "
            "needs the hidden layer and [0, 1] pixels: softmax regression on standardized pixels does "
            "not collapse (the quick L2 study shows that)."))


def _classic_overfitting() -> Study:
    base = TrainConfig(arch="mlp", hidden=(512,), optimizer="adam", schedule="onecycle", lr=1e-3,
                       batch_size=128, epochs=20, val_fraction=0.1)
    short = dict(epochs=5)
    variants = (
        Variant(label="Linear (softmax), no L2", value="linear", config=base.replace(arch="softmax", **short)),
        Variant(label="Shallow MLP 512, no L2", value="shallow", config=base, reported=0.9805),
        Variant(label="Shallow MLP 512, L2 3e-5", value="shallow-l2", config=base.replace(l2=3e-5),
                reported=0.985),
        Variant(label="Deep MLP 512-512, no L2", value="deep",
                config=base.replace(arch="deep-mlp", hidden=(512, 512), **short)),
    )
    return Study(
        name="classic-overfitting", title="Classic: shallow MLP and overfitting (Adam)", knob="model",
        knob_label="model", variants=variants, takeaway="overfitting", views=("test-loss",),
        track_test_loss=True, compare="best_val", reported_confusions=((9, (3, 4, 7)), (5, (3,))),
        reported="Reported: the shallow MLP (784-512-10) was best at 98.05% without L2; with L2 λ = 3e-5 it "
                 "reached 98.5% (test loss ≈ 0.048) near epoch 89 and overfit less.",
        explanation=(
            "A linear model, a shallow MLP (784-512-10) and a deep MLP (two hidden layers of 512) train "
            "with Adam; the shallow MLP once more with L2 λ = 3e-5. After every epoch the loss is measured "
            "on the training images and on the 10,000 test images. **Adam with a one-cycle learning rate (peak "
            "0.001), batch 128, 20 epochs** (the linear and deep models 5), 10% of the training images held out "
            "for validation. As the study did, the number set beside its figures is the test accuracy at the "
            "epoch with the best validation accuracy.\n\n"
            "**What to expect:** the training loss keeps falling while the test loss turns up after a few "
            "epochs: the model starts to memorise. L2 keeps the test loss lower for longer (measured here, "
            "seeds 0-2: 0.060-0.063 against 0.065-0.066 at the best validation epoch), but here it does not "
            "buy the half point of accuracy the study reported (98.25-98.31% against 98.29-98.35%). The study found 9 "
            "most often read as 3, 4 or 7, and 5 as 3: the comparison below checks that on your test "
            "confusions, and a run's confusion matrix shows them."))


def _classic_dropout() -> Study:
    base = TrainConfig(arch="mlp", hidden=(512,), optimizer="adam", schedule="onecycle", lr=3e-3,
                       batch_size=128, epochs=3, val_fraction=0.1)
    variants = (
        Variant(label="Linear (softmax)", value="linear", config=base.replace(arch="softmax"), reported=0.921),
        Variant(label="MLP 512 ReLU", value="mlp", config=base, reported=0.981),
        Variant(label="MLP 512 ReLU, dropout 0.2", value="dropout", config=base.replace(dropout=0.2),
                reported=0.979),
        Variant(label="MLP 512 Tanh", value="tanh", config=base.replace(activation="tanh")),
        Variant(label="MLP 64 ReLU (smaller)", value="small", config=base.replace(hidden=(64,))),
    )
    return Study(
        name="classic-dropout", title="Classic: linear vs MLP vs dropout", knob="model", knob_label="model",
        variants=variants, takeaway="activation", views=("generalization",),
        reported="Reported: linear 92.1%, MLP 98.1%, MLP with dropout 97.9%; ReLU converged faster than "
                 "Tanh, and a smaller network was more stable but slower.",
        explanation=(
            "Softmax regression, an MLP (784-512-10) with ReLU, the same MLP with dropout 0.2, the MLP with "
            "Tanh, and a smaller MLP (64 units). **Adam with a one-cycle learning rate (peak 0.003), batch "
            "128, 3 epochs.**\n\n"
            "**What to expect:** the MLP beats the linear model by about 6 points; dropout costs a little in "
            "a short run (it pays off in long ones). Compare the loss curves: ReLU's falls faster than "
            "Tanh's, and the small MLP's is smoother but ends higher."))


def _classic_model_family() -> Study:
    adam = TrainConfig(optimizer="adam", schedule="onecycle", lr=3e-3, batch_size=128, epochs=3, val_fraction=0.0)
    variants = [
        Variant(label="Logistic regression", value="logistic-regression", config=adam,
                baseline="logistic-regression", reported=0.92),
        Variant(label="Random forest", value="random-forest", config=adam, baseline="random-forest", reported=0.97),
        Variant(label="Fully connected (MLP 512)", value="mlp", config=adam.replace(arch="mlp", hidden=(512,)),
                reported=0.97),
        Variant(label="CNN", value="cnn", config=adam.replace(arch="cnn", epochs=1), reported=0.986),
        Variant(label="Deeper CNN (3 conv + pool)", value="deep-cnn", config=adam.replace(arch="deep-cnn", epochs=2),
                reported=0.993),
    ]
    sweep = adam.replace(arch="mlp", hidden=(512,), schedule="constant", epochs=1)
    variants += _sweep("lr", (0.1, 0.01, 1e-3, 1e-4, 1e-5), sweep, lambda v: f"lr {v:g}",
                       group="MLP lr sweep (Adam, 1 epoch)")
    return Study(
        name="classic-model-family", title="Classic: model families", knob="model", knob_label="model",
        variants=tuple(variants), takeaway="family", views=("metrics",),
        reported="Reported: logistic regression 92%, random forest 97%, fully connected network 97%, "
                 "CNN 98.6%, and 99.3% with one more convolution + pooling layer. Its lr sweep: at 0.1 the loss "
                 "stalls; 0.01 and 0.001 converge fastest; 1e-4 and 1e-5 are slow; 1e-3 is best.",
        explanation=(
            "Two scikit-learn baselines (logistic regression, a random forest of 100 trees) and three "
            "networks on all 60,000 training images: an MLP (784-512-10), the small CNN (1 epoch) and "
            "the deeper CNN with a third convolution + pooling block (2 epochs), Adam with a one-cycle "
            "learning rate. Then the MLP once per learning rate, for the loss curves.\n\n"
            "**What to expect:** CNN > fully connected ≈ random forest > logistic regression. The study "
            "said the random forest was faster to train; the table shows the measured seconds of each "
            "model instead."))


def _classic_from_scratch() -> Study:
    base = TrainConfig(engine="numpy", arch="mlp", hidden=(128,), optimizer="momentum", momentum=0.9,
                       schedule="constant", lr=0.01, batch_size=128, l2=1e-3, early_stopping=3, epochs=100,
                       val_fraction=0.1)
    variants = (
        Variant(label="NumPy from scratch", value="numpy", config=base, reported=0.9759),
        Variant(label="PyTorch, same settings", value="torch", config=base.replace(engine="torch")),
    )
    return Study(
        name="classic-from-scratch", title="Classic: a network from scratch in NumPy", knob="engine",
        knob_label="engine", variants=variants, takeaway="",
        reported="Reported: 97.59% test accuracy for a NumPy network (softmax output, ReLU hidden layer, "
                 "SGD with momentum 0.9, lr 0.01, batch 128, L2 1e-3, early stopping with patience 3).",
        explanation=(
            "A network written in plain NumPy (mnist_core/numpy_network.py): 784-128-10 with ReLU, softmax "
            "output, SGD with momentum 0.9, lr 0.01, batch 128, L2 1e-3, and early stopping with patience 3 "
            "(up to 100 epochs). Then the same settings in PyTorch.\n\n"
            "**What to expect:** both land near 97.6%, because they compute the same thing: the NumPy "
            "backward pass is the chain rule that torch's autograd applies for you."))


CLASSIC_STUDIES = (_classic_lr(), _classic_l2(), _classic_overfitting(), _classic_dropout(),
                   _classic_model_family(), _classic_from_scratch())


COMPARES = ("final", "best_val")


def measured_figure(summary: dict, compare: str = "final") -> tuple[float | None, str]:
    """The test accuracy a study compares with its reported number, and where it was measured.

    "final": the final weights' test accuracy. "best_val": the test accuracy after the epoch with
    the highest validation accuracy (its epoch in the text; the mean over seeds); without a
    validation curve it falls back to the final figure and says so.

    >>> measured_figure({"test_accuracy": 0.98, "test_accuracy_at_best_val": 0.981, "best_val_epochs": [17]},
    ...                 "best_val")
    (0.981, 'best validation epoch 17')
    >>> measured_figure({"test_accuracy": 0.98}, "best_val")
    (0.98, 'final (no validation curve)')
    """
    if compare not in COMPARES:
        raise ValueError(f"Unknown figure to compare {compare!r}: choose one of {', '.join(COMPARES)}.")
    if compare == "best_val":
        epochs = summary.get("best_val_epochs") or []
        if summary.get("test_accuracy_at_best_val") is not None and epochs:
            where = "best validation epoch" + ("s " if len(epochs) > 1 else " ") + ", ".join(map(str, epochs))
            return summary["test_accuracy_at_best_val"], where
        return summary.get("test_accuracy"), "final (no validation curve)"
    return summary.get("test_accuracy"), "final"


def reproduction(summaries: list[dict], compare: str = "final", confusions=()) -> dict:
    """Reported vs measured for every variant with a reported number, and the reported orderings.

    `compare` is the study's `Study.compare`: which measured figure stands beside the reported one
    (`measured_figure`). `confusions` is its `Study.reported_confusions`, checked on the test
    confusions of the variants with a reported number, pooled (`metrics.misread_as`). Returns
    {"rows": [{label, group, reported, yours, difference, within, measured_at}], "orderings":
    [{higher, lower, reported_gap, held}], "confusions": [{digit, reported, yours, held}]};
    accuracies and differences in points.

    >>> out = reproduction([{"label": "a", "group": "", "reported_test_accuracy": 0.95, "test_accuracy": 0.94},
    ...                     {"label": "b", "group": "", "reported_test_accuracy": 0.90, "test_accuracy": 0.91}])
    >>> [r["within"] for r in out["rows"]], out["orderings"][0]["held"], out["rows"][0]["measured_at"]
    ([True, True], True, 'final')
    """
    reported = [s for s in summaries if s.get("reported_test_accuracy") is not None]
    figures = {id(s): measured_figure(s, compare) for s in reported}
    rows = []
    for s in reported:
        yours, where = figures[id(s)]
        difference = None if yours is None else 100 * (yours - s["reported_test_accuracy"])
        rows.append({"label": s["label"], "group": s.get("group", ""), "reported": 100 * s["reported_test_accuracy"],
                     "yours": None if yours is None else 100 * yours, "difference": difference,
                     "within": difference is not None and abs(difference) <= 100 * TOLERANCE, "measured_at": where})
    orderings = []
    for a in reported:
        for b in reported:
            if a["reported_test_accuracy"] - b["reported_test_accuracy"] >= ORDERING_GAP - 1e-12:
                mine_a, mine_b = figures[id(a)][0], figures[id(b)][0]
                held = None if mine_a is None or mine_b is None else mine_a > mine_b
                orderings.append({"higher": a["label"], "lower": b["label"],
                                  "reported_gap": 100 * (a["reported_test_accuracy"] - b["reported_test_accuracy"]), "held": held})
    matrices = [s["confusion"] for s in reported if s.get("confusion") is not None]
    pooled = sum(matrices[1:], matrices[0]) if matrices else None
    checked = [misread_as(pooled, digit, read_as) for digit, read_as in confusions] if pooled is not None else []
    return {"rows": rows, "orderings": orderings, "confusions": checked}


# Why a number can miss the reported one, from what was measured here (bench/classic_studies.py);
# shown beside a row that lands more than 2 points away. Keyed by (study, variant label).
MISS_NOTES = {
    ("classic-l2", "L2 0.1"): (
        "L2 = 0.1 sits on the edge of the collapse, where the seed decides how far the hidden layer "
        "collapses: measured here over seeds 0, 1 and 2 it gave 38.3%, 34.4% and 39.8% (reported 36.0%), "
        "so a single run can land more than 2 points away."),
}


def miss_note(study_name: str, label: str, difference_points: float) -> str:
    """The sentence for a number more than 2 points from the reported one (what was measured, or a plain fact)."""
    note = MISS_NOTES.get((study_name, label))
    if note:
        return note
    return (f"This run landed {difference_points:+.1f} points from the reported number. Seeds 0-2 of this "
            "setup all landed within 2 points when it was measured (bench/classic_studies.py), so this is "
            "most likely seed noise: repeat over 3 seeds to see the spread.")
