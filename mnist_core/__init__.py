"""MNIST Lab's engine: plain Python and PyTorch, no Streamlit.

config (TrainConfig), data (MNIST in memory), models (registry), train (fit),
callbacks (progress events), metrics (pure functions), runs (run store),
jobs (background queue), preprocess (canvas -> MNIST), experiments (studies),
cli (`python -m mnist_core`), runtime (threads and malloc), device (CPU or CUDA),
workers (the training processes).
"""
from .runtime import apply_malloc_tuning

# Before torch allocates anything: big activation buffers stay on the heap (~2x CNN speed).
apply_malloc_tuning()
