"""Train page tools: the learning-rate range test and the NumPy network's backward pass.

The range test runs in the page's own script run (about 300 batches, a few
seconds for the default MLP) and "Use this learning rate" sets the sidebar's
learning rate. The NumPy panel shows the real backward pass of
mnist_core/numpy_network.py (inspect.getsource) and checks it against torch
autograd on one batch.
"""
from __future__ import annotations

import functools
import inspect

import streamlit as st

from mnist_core.chart_summaries import lr_range_summary
from mnist_core.config import ConfigError, TrainConfig
from mnist_core.lr_range_test import HOW_TO_READ, lr_range_test
from mnist_core.numpy_engine import gradient_check
from mnist_core.numpy_network import NumpyNetwork

from .charts.training import lr_range_chart
from .projector import chart_summary
from .session import get_data
from .sidebar import learning_rate_choice
from .text import plain

RANGE_KEY = "lr_range_result"  # session_state: (config description, RangeTestResult)
GRADIENT_KEY = "gradient_check_result"


def _use_learning_rate(lr: float) -> None:
    # An on_click callback runs before the sidebar is drawn again, so it may set the widget's value.
    st.session_state["cfg_lr"] = learning_rate_choice(lr)


def range_test_panel(config: TrainConfig) -> None:
    """One click: the loss over growing learning rates, a suggested lr, and a button that uses it."""
    with st.expander("Find a good learning rate (range test)", icon=":material/search:"):
        st.markdown("One short run in which the learning rate grows at every batch, from 0.00001 to 10 over "
                    "300 batches, with the sidebar's model, optimizer and batch size.")
        if st.button("Run the range test", key="lr_range_run", icon=":material/play_arrow:"):
            try:
                with st.spinner("Trying 300 learning rates ..."):
                    st.session_state[RANGE_KEY] = (config.short_description(), lr_range_test(config, get_data()))
            except ConfigError as error:
                st.error(plain(str(error)))
        stored = st.session_state.get(RANGE_KEY)
        if stored is None:
            return
        described, result = stored
        st.altair_chart(lr_range_chart(result.rows(), result.suggested_lr), width="stretch")
        chart_summary(lr_range_summary(result.rows(), result.suggested_lr))
        st.markdown(plain(f"{HOW_TO_READ} Lowest loss at lr {result.min_loss_lr:.2g}, so the suggestion is ")
                    + f"**{result.suggested_lr:.2g}**"
                    + plain(f" (measured in {result.seconds:.1f} s for {described})."))
        nearest = learning_rate_choice(result.suggested_lr)
        st.button(f"Use this learning rate ({nearest:g})", key="lr_range_use", icon=":material/check:",
                  on_click=_use_learning_rate, args=(result.suggested_lr,),
                  help="Sets the sidebar's learning rate to the nearest value it offers.")


@functools.cache
def _backward_source() -> str:
    # Read once per server: inspect.getsource tokenizes the whole file, on every Train page visit otherwise.
    return inspect.getsource(NumpyNetwork.backward)


def numpy_panel(config: TrainConfig) -> None:
    """The from-scratch network's backward pass (its real source) and a gradient check on one batch."""
    with st.expander("NumPy from scratch: the backward pass", icon=":material/function:",
                     expanded=config.engine == "numpy"):
        st.markdown("With the **NumPy from scratch** engine no autograd computes the gradients: this is the "
                    "code that does (mnist_core/numpy_network.py). It walks from the output layer back to the "
                    "first, applying the chain rule to every layer.")
        st.code(_backward_source(), language="python")
        numpy_config = config if config.engine == "numpy" else None
        if numpy_config is None:
            st.caption("Choose the engine “NumPy from scratch” (softmax or MLP) to check its gradients.")
            return
        if st.button("Check the gradients on one batch", key="gradient_check", icon=":material/rule:"):
            st.session_state[GRADIENT_KEY] = gradient_check(numpy_config, get_data())
        check = st.session_state.get(GRADIENT_KEY)
        if check is not None:
            st.metric("Largest difference, NumPy vs torch autograd", f"{check['max_difference']:.1e}")
            st.caption(plain(f"Over all {check['parameters']:,} weights and biases, on one batch of "
                             f"{check['batch_size']} images (largest gradient {check['largest_gradient']:.2g}): "
                             "the two agree to the rounding of 64-bit floats."))
