"""MNIST Lab's engine: plain Python and PyTorch, no Streamlit.

config (TrainConfig), data (MNIST in memory), models (registry), train (fit),
callbacks (progress events), metrics (pure functions), runs (run store),
jobs (background queue), preprocess (canvas -> MNIST), experiments (studies),
cli (`python -m mnist_core`).
"""
