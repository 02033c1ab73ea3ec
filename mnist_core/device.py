"""Where a run trains: the CPU or a CUDA GPU, chosen once from `TrainConfig.device`.

`auto` picks CUDA when torch sees a GPU and the CPU otherwise; `cuda` on a machine
without one is a one-sentence `DeviceError` (a ConfigError, so the CLI and the
pages show it like any other bad setting). The training set moves to the device
once per process (`tensors_on`), never batch by batch. Inspection, drawing and
the run store always work on the CPU (`for_inspection`, and the run store loads
weights with map_location="cpu"), so a model trained on either device can be
looked at on any machine.
"""
from __future__ import annotations

import torch

import copy

from .config import DEVICES, ConfigError  # noqa: F401  (DEVICES: the choices, kept with the config)


class DeviceError(ConfigError):
    """The requested device does not exist on this machine; the message says what to choose."""


def cuda_available() -> bool:
    """True when torch can use a CUDA GPU here."""
    return torch.cuda.is_available()


def resolve_device(requested: str = "auto", has_cuda: bool | None = None) -> str:
    """The device a run trains on: "cpu" or "cuda".

    `has_cuda` defaults to what torch sees; tests pass it to cover both machines.

    >>> resolve_device("auto", has_cuda=False), resolve_device("auto", has_cuda=True)
    ('cpu', 'cuda')
    >>> resolve_device("cpu", has_cuda=True)
    'cpu'
    """
    if requested not in DEVICES:
        raise DeviceError(f"Unknown device {requested!r}: choose auto, cpu or cuda.")
    has_cuda = cuda_available() if has_cuda is None else has_cuda
    if requested == "cuda" and not has_cuda:
        raise DeviceError("This machine has no CUDA GPU that torch can use: choose the device cpu or auto.")
    if requested == "auto":
        return "cuda" if has_cuda else "cpu"
    return requested


def loading_device(requested: str = "auto", has_cuda: bool | None = None) -> str:
    """Where a saved model is put to be looked at or used: the GPU only if asked for and present.

    Unlike training, a "cuda" request on a machine without one is not an error here:
    the CPU reads every run, so inspecting and drawing keep working.

    >>> loading_device("cuda", has_cuda=False)
    'cpu'
    """
    has_cuda = cuda_available() if has_cuda is None else has_cuda
    return "cuda" if requested in ("auto", "cuda") and has_cuda else "cpu"


def tensors_on(data, device: str) -> dict[str, torch.Tensor]:
    """The training and test tensors of `data` on `device`, moved there once and kept on `data`.

    On the CPU these are the very tensors of `data` (no copy, shared memory stays shared).
    """
    cache = data.__dict__.setdefault("_device_tensors", {})
    if device not in cache:
        cache[device] = {name: getattr(data, name).to(device)
                         for name in ("train_x", "train_labels", "test_x", "test_labels")}
    return cache[device]


def on_device(data, device: str):
    """`data` itself on the CPU; on a GPU a shallow copy whose tensors live there (moved once)."""
    if device == "cpu":
        return data
    view = copy.copy(data)
    for name, tensor in tensors_on(data, device).items():
        setattr(view, name, tensor)
    return view


def for_inspection(model: torch.nn.Module) -> torch.nn.Module:
    """The model on the CPU in eval mode, where inspection, drawing and saving expect it."""
    return model.to("cpu").eval()
