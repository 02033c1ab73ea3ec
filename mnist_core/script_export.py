"""A run as plain PyTorch a student can take home: a training script and a notebook.

`training_script(config)` returns the source of one file, `train_<run>.py`, that
reads top to bottom like pytorch/examples' mnist/main.py and imports nothing
from MNIST Lab. It holds the run's exact settings (model, optimizer, schedule,
L1/L2, dropout, seed, pixel scaling, validation split) and does what the
engine does: MNIST is read once into tensors and batched from memory, the
split and the batch order come from the same seeded generators, and L2 is
weight decay on the weights only (not on the biases). Its last line is
`test accuracy: 0.XXXX`.

`training_notebook(config)` holds the same code as notebook cells (nbformat).
"""
from __future__ import annotations

import re
from string import Template
from textwrap import indent

from .config import ACTIVATIONS, ARCHITECTURES, TrainConfig
from .data import MNIST_MEAN, MNIST_STD

_ACTIVATION_LAYER = {"relu": "nn.ReLU", "tanh": "nn.Tanh", "sigmoid": "nn.Sigmoid"}
assert set(_ACTIVATION_LAYER) == set(ACTIVATIONS)


def export_file_name(run_id: str, kind: str) -> str:
    """The file a download gets: the zip keeps the run id, the code is train_<run>.py/.ipynb.

    >>> export_file_name("20261122-193000-mlp-3f9a1c", "script")
    'train_20261122_193000_mlp_3f9a1c.py'
    """
    stem = re.sub(r"[^A-Za-z0-9_]", "_", run_id)
    return {"zip": f"{run_id}.zip", "script": f"train_{stem}.py", "notebook": f"train_{stem}.ipynb"}[kind]


# ---------------------------------------------------------------- the pieces of code

_IMPORTS = """\
import argparse
import math
import time

import torch
import torch.nn.functional as F
from torch import nn
from torchvision import datasets
"""

_SETTINGS = Template("""\
# The run's settings. The seed fixes the initial weights, the validation split and the batch order.
SEED = $seed
# Optimizer: $optimizer_help (see create_optimizer). Schedule: $schedule_help (see main).
LR = $lr  # $lr_help
${momentum}BATCH_SIZE = $batch_size  # examples per gradient step
EPOCHS = $epochs  # passes over the training set
L2 = $l2  # weight decay on the weights (not the biases): pulls every weight toward zero
L1 = $l1  # adds L1 * sum|w| over the weights to the loss: pushes weights to exactly zero
DROPOUT = $dropout  # fraction of hidden units zeroed while training
EARLY_STOPPING = $early_stopping  # stop after this many epochs without a better validation loss (0 = off)
VAL_FRACTION = $val_fraction  # share of each digit's training images held out for validation
SUBSET = $subset  # training images per digit (0 = all of them)
MAX_STEPS = $max_steps  # stop after this many batches in all (0 = no limit)
# Pixels are scaled to [0, 1], then by MNIST's mean and standard deviation, in training and test alike.
MNIST_MEAN, MNIST_STD = $mean, $std
""")

_DATA = """\
def load_mnist(data_dir):
    \"\"\"All 70,000 images, read once into memory: no DataLoader, a batch is just images[index].\"\"\"
    train = datasets.MNIST(data_dir, train=True, download=True)
    test = datasets.MNIST(data_dir, train=False, download=True)

    def scale(images):  # uint8 (N, 28, 28) -> float32 (N, 1, 28, 28)
        return images.float().div(255).sub(MNIST_MEAN).div(MNIST_STD).unsqueeze(1)

    return scale(train.data), train.targets, scale(test.data), test.targets


def split_train_val(labels, val_fraction, subset, seed):
    \"\"\"Indices of the training and validation images: the same share of every digit is held out.\"\"\"
    generator = torch.Generator().manual_seed(seed)
    shuffled = torch.randperm(len(labels), generator=generator)
    train_parts, val_parts = [], []
    for digit in range(10):
        members = shuffled[labels[shuffled] == digit]
        n_val = int(round(len(members) * val_fraction))
        val_parts.append(members[:n_val])
        rest = members[n_val:]
        train_parts.append(rest[:subset] if subset else rest)
    train_index = torch.cat(train_parts)
    train_index = train_index[torch.randperm(len(train_index), generator=generator)]  # mix the digits again
    return train_index, torch.cat(val_parts).sort().values


def batch_count(n, batch_size):
    \"\"\"Batches in one epoch: a left-over smaller than half a batch joins the batch before it,
    so that no step is taken on a handful of images.\"\"\"
    full, rest = divmod(n, batch_size)
    return max(1, full + (1 if 2 * rest >= batch_size else 0))


def batches(n, batch_size, generator):
    \"\"\"Index tensors of one epoch, in a fresh random order.\"\"\"
    order = torch.randperm(n, generator=generator)
    count = batch_count(n, batch_size)
    for i in range(count):
        stop = n if i == count - 1 else (i + 1) * batch_size
        yield order[i * batch_size:stop]
"""

_MODELS = {
    "softmax": """\
class SoftmaxRegression(nn.Module):
    \"\"\"One linear layer 784 -> 10: each digit has a 28x28 weight 'template'.\"\"\"

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(28 * 28, 10)

    def forward(self, x):
        return self.linear(x.flatten(1))  # (N, 1, 28, 28) -> (N, 784) -> (N, 10)


def create_model():
    torch.manual_seed(SEED)  # the same initial weights as the run
    return SoftmaxRegression()
""",
    "mlp": Template("""\
HIDDEN = $hidden  # sizes of the hidden layers


class MLP(nn.Module):
    \"\"\"Fully connected layers 784 -> $widths -> 10, with $activation_label and dropout.\"\"\"

    def __init__(self, hidden=HIDDEN, dropout=DROPOUT):
        super().__init__()
        layers, width = [], 28 * 28
        for size in hidden:
            layers += [nn.Linear(width, size), $activation_layer()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, 10))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x.flatten(1))  # (N, 784) -> (N, 10)


def create_model():
    torch.manual_seed(SEED)  # the same initial weights as the run
    return MLP()
"""),
    "cnn": """\
class SmallCNN(nn.Module):
    \"\"\"Two conv+pool blocks and a dense layer.\"\"\"

    def __init__(self, dropout=DROPOUT, channels=(16, 32), dense=128):
        super().__init__()
        c1, c2 = channels
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (N, c1, 14, 14)
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (N, c2, 7, 7)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),  # (N, c2 * 49)
            nn.Linear(c2 * 7 * 7, dense), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(dense, 10),  # (N, 10)
        )

    def forward(self, x):
        x = x.contiguous(memory_format=torch.channels_last)  # the faster layout for convolutions on a CPU
        return self.classifier(self.features(x))


def create_model():
    torch.manual_seed(SEED)  # the same initial weights as the run
    return SmallCNN().to(memory_format=torch.channels_last)
""",
}

_OPTIMIZERS = {
    "sgd": "torch.optim.SGD(groups, lr=LR)",
    "momentum": "torch.optim.SGD(groups, lr=LR, momentum=MOMENTUM)",
    "adam": "torch.optim.Adam(groups, lr=LR, fused=True)  # fused: the same maths, a faster step on a CPU",
}
_OPTIMIZER_HELP = {"sgd": "plain SGD", "momentum": "SGD with momentum", "adam": "Adam"}

_TRAINING = Template("""\
def create_optimizer(model):
    # Weight decay (L2) applies to the weights, not the biases: a bias does not make a template noisy.
    weights = [p for p in model.parameters() if p.dim() > 1]
    biases = [p for p in model.parameters() if p.dim() <= 1]
    groups = [{"params": weights, "weight_decay": L2}, {"params": biases, "weight_decay": 0.0}]
    return $optimizer


def train(model, optimizer, scheduler, x, y, index_batches):
    \"\"\"One epoch; returns the mean loss and the accuracy on the batches as they were trained.\"\"\"
    model.train()
    weights = [p for p in model.parameters() if p.dim() > 1]
    total_loss, correct, seen = 0.0, 0, 0
    for index in index_batches:
        logits = model(x[index])
        loss = F.cross_entropy(logits, y[index])
        objective = loss + L1 * sum(w.abs().sum() for w in weights) if L1 else loss
        optimizer.zero_grad()
        objective.backward()
        optimizer.step()
$scheduler_step        total_loss += loss.item() * len(index)
        correct += (logits.argmax(1) == y[index]).sum().item()
        seen += len(index)
    return total_loss / max(seen, 1), correct / max(seen, 1)


@torch.no_grad()
def test(model, x, y, batch_size=1000):
    \"\"\"Mean loss and accuracy of the model on (x, y), dropout off.\"\"\"
    model.eval()
    total_loss, correct = 0.0, 0
    for i in range(0, len(x), batch_size):
        logits = model(x[i:i + batch_size])
        total_loss += F.cross_entropy(logits, y[i:i + batch_size], reduction="sum").item()
        correct += (logits.argmax(1) == y[i:i + batch_size]).sum().item()
    return total_loss / max(len(x), 1), correct / max(len(x), 1)
""")

# The body of main(): top-level cells in the notebook, one indented function in the script.
_MAIN_STEPS = [
    ("Read MNIST once and hold out the validation images.", """\
train_x, train_y, test_x, test_y = load_mnist(data_dir)
train_index, val_index = split_train_val(train_y, VAL_FRACTION, subset, SEED)
x, y = train_x[train_index], train_y[train_index]
val_x, val_y = train_x[val_index], train_y[val_index]
print(f"{len(x):,} training images, {len(val_x):,} for validation, {len(test_x):,} for the test")
"""),
    ("Build the model, the optimizer and the learning-rate schedule.", Template("""\
model = create_model()
optimizer = create_optimizer(model)
total_steps = epochs * batch_count(len(x), BATCH_SIZE)
if MAX_STEPS:
    total_steps = min(total_steps, MAX_STEPS)
$scheduler
order = torch.Generator().manual_seed(SEED + 1)  # the batch order
torch.manual_seed(SEED + 2)  # the dropout masks
""")),
    ("Train, one epoch at a time, and watch the validation set.", """\
best_val_loss, best_state, stale, step = math.inf, None, 0, 0
for epoch in range(1, epochs + 1):
    index_batches = list(batches(len(x), BATCH_SIZE, order))
    if MAX_STEPS:
        index_batches = index_batches[:max(0, total_steps - step)]
    step += len(index_batches)
    started = time.perf_counter()
    train_loss, train_accuracy = train(model, optimizer, scheduler, x, y, index_batches)
    seconds = time.perf_counter() - started
    val_loss, val_accuracy = test(model, val_x, val_y) if len(val_x) else (math.nan, math.nan)
    print(f"epoch {epoch}: train loss {train_loss:.4f}, train accuracy {train_accuracy:.4f}, "
          f"validation accuracy {val_accuracy:.4f} ({seconds:.1f} s of training)")
    if MAX_STEPS and step >= MAX_STEPS:
        break
    if EARLY_STOPPING and len(val_x):
        if val_loss < best_val_loss - 1e-6:
            best_val_loss, stale = val_loss, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
            if stale >= EARLY_STOPPING:
                print("early stopping: restoring the weights of the best epoch")
                model.load_state_dict(best_state)
                break
"""),
    ("Test on the 10,000 images the model has never seen.", """\
test_loss, test_accuracy = test(model, test_x, test_y)
print(f"test accuracy: {test_accuracy:.4f}")
"""),
]

_ARGUMENTS = """\
if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="./data", help="folder holding MNIST (downloaded there if missing)")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"passes over the training set (default {EPOCHS})")
    parser.add_argument("--subset", type=int, default=SUBSET, metavar="PER_CLASS",
                        help="train on this many images per digit, to shorten a try (0 = all)")
    args = parser.parse_args()
    main(args.data_dir, args.epochs, args.subset)
"""


# ---------------------------------------------------------------- putting them together

def _settings(config: TrainConfig) -> str:
    lr_help = ("the peak learning rate: one-cycle warms up to it, then anneals"
               if config.schedule == "onecycle" else "the size of each step downhill")
    schedule_help = ("one-cycle, warming up then annealing" if config.schedule == "onecycle"
                     else "constant, the same learning rate throughout")
    return _SETTINGS.substitute(
        seed=config.seed, optimizer_help=_OPTIMIZER_HELP[config.optimizer], lr=repr(config.lr), lr_help=lr_help,
        momentum=(f"MOMENTUM = {config.momentum!r}  # how much of the last step is kept\n"
                  if config.optimizer == "momentum" else ""),
        schedule_help=schedule_help, batch_size=config.batch_size, epochs=config.epochs, l2=repr(config.l2),
        l1=repr(config.l1), dropout=repr(config.dropout), early_stopping=config.early_stopping,
        val_fraction=repr(config.val_fraction), subset=config.subset, max_steps=config.max_steps,
        mean=MNIST_MEAN, std=MNIST_STD)


def _model(config: TrainConfig) -> str:
    if config.arch in ("mlp", "deep-mlp"):
        sizes = config.hidden_sizes
        return _MODELS["mlp"].substitute(
            hidden=repr(tuple(sizes)), widths=" -> ".join(str(s) for s in sizes),
            activation_label=ACTIVATIONS[config.activation], activation_layer=_ACTIVATION_LAYER[config.activation])
    return _MODELS[config.arch]


def _training(config: TrainConfig) -> str:
    step = "        scheduler.step()\n" if config.schedule == "onecycle" else ""
    return _TRAINING.substitute(optimizer=_OPTIMIZERS[config.optimizer], scheduler_step=step)


def _main_steps(config: TrainConfig) -> list[tuple[str, str]]:
    scheduler = ("scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=LR, total_steps=total_steps)"
                 if config.schedule == "onecycle" else "scheduler = None  # a constant learning rate")
    return [(title, code.substitute(scheduler=scheduler) if isinstance(code, Template) else code)
            for title, code in _MAIN_STEPS]


def _title(config: TrainConfig, name: str | None, run_id: str | None) -> tuple[str, str]:
    first = f"Train {name or ARCHITECTURES[config.arch]} again with plain PyTorch."
    where = f"Exported from MNIST Lab run {run_id}" if run_id else "Exported from MNIST Lab"
    second = f"{where}: {config.short_description()}."
    if config.augment:  # the recipe (mnist_core/augment.py) is not part of the plain script
        second += ("\nThe run was trained on augmented batches (random slant, bend and pen width); this script "
                   "trains without them,\nso it reads drawings a little worse than the run did.")
    return first, second


def training_script(config: TrainConfig, name: str | None = None, run_id: str | None = None) -> str:
    """The source of a script that trains `config` again with plain PyTorch and prints its test accuracy.

    >>> source = training_script(TrainConfig(arch="softmax", optimizer="sgd", lr=0.1))
    >>> "mnist_core" in source, source.splitlines()[-1].strip()
    (False, 'main(args.data_dir, args.epochs, args.subset)')
    """
    first, second = _title(config, name, run_id)
    doc = (f'"""{first}\n\n{second}\nIt needs only torch and torchvision:\n\n'
           "    python THIS_FILE.py --data-dir DIR                       # the run's own settings\n"
           "    python THIS_FILE.py --data-dir DIR --epochs 1 --subset 100  # a quick try\n\n"
           "The weights.pt in the run's zip fits the model below:\n"
           "    model.load_state_dict(torch.load(\"weights.pt\", weights_only=True))\n"
           'The last line printed is the test accuracy.\n"""\n')
    main = (f"def main(data_dir, epochs=EPOCHS, subset=SUBSET):\n"
            + "\n".join(f"    # {title}\n" + indent(code, "    ") for title, code in _main_steps(config)))
    parts = [doc + _IMPORTS, _settings(config), _DATA, _model(config), _training(config), main, _ARGUMENTS]
    return "\n\n".join(part.rstrip("\n") + "\n" for part in parts)


def training_notebook(config: TrainConfig, name: str | None = None, run_id: str | None = None,
                      data_dir: str = "./data") -> str:
    """The same code as a Jupyter notebook (JSON text), one cell per step, with the settings up front."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    first, second = _title(config, name, run_id)
    cells = [
        new_markdown_cell(f"# {first}\n\n{second} It needs only `torch` and `torchvision`; run the cells "
                          "from top to bottom. The last cell prints the test accuracy."),
        new_code_cell(_IMPORTS.replace("import argparse\n", "")),
        new_markdown_cell("## The run's settings\n\nChange `epochs` or `subset` below for a shorter try."),
        new_code_cell(_settings(config).rstrip("\n") + "\n\n"
                      f"data_dir = {data_dir!r}  # MNIST is read from here (downloaded if missing)\n"
                      "epochs = EPOCHS\n"
                      "subset = SUBSET  # training images per digit (0 = all)"),
        new_markdown_cell("## The data, read once into memory"),
        new_code_cell(_DATA.rstrip("\n")),
        new_markdown_cell("## The model\n\nIts layers have the same names as in the run, so the run's "
                          "`weights.pt` loads into it: "
                          "`model.load_state_dict(torch.load(\"weights.pt\", weights_only=True))`."),
        new_code_cell(_model(config).rstrip("\n")),
        new_markdown_cell("## Training and testing"),
        new_code_cell(_training(config).rstrip("\n")),
    ]
    for title, code in _main_steps(config):
        cells += [new_markdown_cell(f"**{title}**"), new_code_cell(code.rstrip("\n"))]
    notebook = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    nbformat.validate(notebook)
    return nbformat.writes(notebook)
