"""What the tests of mnist_core/experiments/ share: the study names, a tiny base config and a weight recorder."""
from mnist_core.callbacks import Callback
from mnist_core.config import TrainConfig

QUICK_NAMES = {"lr-sweep", "l2-sweep", "activation", "dropout", "capacity", "model-family", "overfitting"}
CLASSIC_NAMES = {"classic-lr", "classic-l2", "classic-overfitting", "classic-dropout", "classic-model-family",
                 "classic-from-scratch"}  # the faithful studies (experiments/classic.py)
CLI_NAMES = QUICK_NAMES | CLASSIC_NAMES
# A tiny base for runs on the synthetic set (50 images per class, 45 after validation).
TINY = TrainConfig(arch="mlp", hidden=(16,), optimizer="sgd", schedule="constant", lr=0.1,
                   batch_size=20, epochs=1, subset=10)


class InitialWeights(Callback):
    """Keeps a copy of the model's weights as training starts."""

    def __init__(self):
        self.states = []

    def on_train_start(self, info):
        self.states.append({k: v.detach().clone() for k, v in self.model.state_dict().items()})
