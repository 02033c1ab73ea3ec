"""Experiments: the classic MNIST studies, one knob at a time, run as a queue and laid side by side.

The page reads the study choice, shows what to expect, queues the study as a
background job and draws its results; the studies themselves live in
mnist_core/experiments/ and the drawing in ui/experiment_views.py.
"""
import streamlit as st

from ui.experiment_views import choose_study, draw_study_intro, results_view, start_controls
from ui.job_view import interrupted_notices
from ui.session import data_or_stop

st.title("Experiments")
st.caption("Change one knob, keep everything else fixed, and compare. Every run of an experiment starts "
           "from the same initial weights and sees the training images in the same order.")

data = data_or_stop()
interrupted_notices("study")
study, options = choose_study()
seeds = 3 if st.session_state.get("experiment_three_seeds") else 1
if study is not None:
    draw_study_intro(study, seeds)
start_controls(study, options, data)

st.divider()
results_view()
