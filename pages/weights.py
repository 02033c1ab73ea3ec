"""Weights and activations: what the chosen model learned, and what it does with one input.

Softmax regression: the 10 digit templates (and runs with other L2 beside them).
MLP: the first-layer units as 28x28 pictures. CNN: the first-layer filters.
For every model: each layer's output for one input (a CNN's feature maps among
them) and a histogram of the weights of each layer.
"""
import streamlit as st

from mnist_core.inspection import InspectError
from ui.inspect_views import (choose_input, inspected_run, model_kind, show_activations, show_conv_filters,
                              show_first_layer_units, show_softmax_templates, show_weight_histograms)

TABS = ["What the first layer learned", "One input through the network", "Weight histograms"]

st.title("Weights and activations")
st.caption("Open the model up: the numbers it learned, and how one picture flows through it.")

run = inspected_run(with_model=True, need_probabilities=False)
model, arch = run.loaded.model, run.info.config.arch
# Only the open tab runs (on_change="rerun"): each view is drawn when it is looked at.
learned, flow, spread = st.tabs(TABS, on_change="rerun", key="weights_tab")

try:
    if learned.open:
        with learned:
            if arch == "softmax":
                show_softmax_templates(run)
            elif arch in ("mlp", "deep-mlp"):
                show_first_layer_units(model)
            elif arch in ("cnn", "deep-cnn"):
                show_conv_filters(model)
            else:
                st.info(f"There is no picture of the weights of a {model_kind(run.info)} yet.")
    if flow.open:
        with flow:
            image, caption = choose_input(run)
            show_activations(model, image, caption)
    if spread.open:
        with spread:
            show_weight_histograms(model)
except InspectError as error:
    st.error(f"This view does not fit this model: {error}")
