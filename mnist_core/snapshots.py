"""Time travel: copies of a run's weights after chosen epochs, taken by a callback.

Every run keeps at most `MAX_SNAPSHOTS` snapshots, evenly spaced over its
epochs and always including the last epoch it ran. The run store saves them
in the run folder (`snapshots.pt`, plain tensors), so a page can rebuild the
model as it was after epoch t and show its mistakes, templates or its reading
of a drawing then.
"""
from __future__ import annotations

from .callbacks import Callback

MAX_SNAPSHOTS = 30  # per run: 30 copies of an MLP 784-512-10 are about 50 MB


def snapshot_epochs(epochs: int, max_snapshots: int = MAX_SNAPSHOTS) -> list[int]:
    """The epochs (1-based) whose weights are kept: every one, or `max_snapshots` evenly spaced ending at the last.

    >>> snapshot_epochs(3), snapshot_epochs(100, 4)
    ([1, 2, 3], [25, 50, 75, 100])
    """
    if epochs <= max_snapshots:
        return list(range(1, epochs + 1))
    return sorted({max(1, round(k * epochs / max_snapshots)) for k in range(1, max_snapshots + 1)})


def _thin(epochs: list[int], max_snapshots: int) -> list[int]:
    """At most `max_snapshots` of the given epochs, evenly spread, keeping the first and the last.

    >>> _thin([1, 2, 3, 4, 5], 3)
    [1, 3, 5]
    """
    if len(epochs) <= max_snapshots:
        return list(epochs)
    if max_snapshots == 1:
        return [epochs[-1]]
    picks = {round(i * (len(epochs) - 1) / (max_snapshots - 1)) for i in range(max_snapshots)}
    return [epochs[i] for i in sorted(picks)]


class SnapshotCallback(Callback):
    """Copies the model's weights at the end of the planned epochs (and of the last epoch run).

    It reads the weights of the live model (`set_model`; the NumPy engine gives
    its torch twin, synced at every epoch end). At the
    end it hands the snapshots to the result as `result.snapshots`
    ({epoch: state_dict}), which the run store saves with the run.
    """

    def __init__(self, max_snapshots: int = MAX_SNAPSHOTS):
        self.max_snapshots = max_snapshots
        self.snapshots: dict[int, dict] = {}
        self._planned: set[int] = set()
        self._latest: tuple[int, dict] | None = None

    def on_train_start(self, info: dict) -> None:
        self.snapshots, self._latest = {}, None
        self._planned = set(snapshot_epochs(info["epochs"], self.max_snapshots))
        self._state = self.model.state_dict

    def on_epoch_end(self, event) -> None:
        state = {name: tensor.detach().clone() for name, tensor in self._state().items()}
        if event.epoch in self._planned:
            self.snapshots[event.epoch] = state
        self._latest = (event.epoch, state)  # the run may end here (early stopping, stop, max_steps)

    def on_train_end(self, result) -> None:
        if self._latest is not None and self._latest[0] not in self.snapshots:
            epoch, state = self._latest
            self.snapshots[epoch] = state
            keep = _thin(sorted(self.snapshots), self.max_snapshots)
            self.snapshots = {e: self.snapshots[e] for e in keep}
        result.snapshots = dict(sorted(self.snapshots.items()))
