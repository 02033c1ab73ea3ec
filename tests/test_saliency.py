"""Tests for mnist_core.saliency: attributions add up to the logit change they explain.

On a linear model gradient x input is exact, so its sum equals the logit change
between the blank image and the drawing; integrated gradients has the same
completeness for any model, checked on a small trained MLP and CNN.
"""
import numpy as np
import pytest
import torch

from mnist_core.config import TrainConfig
from mnist_core.models import SoftmaxRegression, create_model
from mnist_core.saliency import BLANK, METHODS, gradient_x_input, integrated_gradients, logit_change, saliency


@pytest.fixture
def drawing():
    return torch.randn(1, 1, 28, 28, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("digit", [0, 4, 9])
def test_gradient_x_input_sums_to_the_logit_change_on_a_linear_model(drawing, digit):
    torch.manual_seed(1)
    model = SoftmaxRegression()
    m = gradient_x_input(model, drawing, digit)
    with torch.no_grad():
        change = model(drawing)[0, digit] - model(torch.full_like(drawing, BLANK))[0, digit]
    assert m.values.shape == (28, 28)
    assert m.values.sum() == pytest.approx(float(change), abs=1e-3)
    assert m.logit_change == pytest.approx(float(change), abs=1e-4)
    # and each pixel's share is its weight times its distance from blank
    weights = model.linear.weight[digit].detach().view(28, 28).numpy()
    assert np.allclose(m.values, weights * (drawing[0, 0].numpy() - BLANK), atol=1e-5)


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_integrated_gradients_is_complete_on_nonlinear_models(drawing, arch):
    model = create_model(TrainConfig(arch=arch, seed=3)).eval()
    m = integrated_gradients(model, drawing * 0.3, 2, steps=64)
    assert m.values.sum() == pytest.approx(m.logit_change, abs=0.05 * abs(m.logit_change) + 0.02)


def test_saliency_checks_its_arguments(drawing):
    model = SoftmaxRegression()
    assert set(METHODS) == {"gradient-x-input", "integrated-gradients"}
    with pytest.raises(ValueError, match="Unknown saliency method"):
        saliency(model, drawing, 1, method="magic")
    with pytest.raises(ValueError, match="0 to 9"):
        saliency(model, drawing, 12)
    assert saliency(model, drawing, 3, "gradient-x-input").digit == 3
    assert logit_change(model, torch.full_like(drawing, BLANK), 5) == 0.0
