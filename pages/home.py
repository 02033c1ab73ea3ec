"""Home page: what MNIST Lab teaches, a grid of real MNIST digits and how many there are of each."""
import numpy as np
import streamlit as st

from mnist_core.chart_summaries import class_counts_summary
from mnist_core.pictures import png_bytes, upscale
from ui.charts.dataset import class_counts_spec
from ui.page_links import TRAIN_PAGE
from ui.projector import chart_summary
from ui.session import data_or_stop, user_params

SAMPLES_PER_DIGIT = 12
SCALE = 2  # each MNIST pixel drawn as 2x2 screen pixels, so the 28x28 digits are readable


@st.cache_resource(show_spinner=False)
def sample_grid(source: str, _images, _labels, per_digit: int = SAMPLES_PER_DIGIT) -> bytes:
    """One row per digit 0-9 of its first `per_digit` training images, with 2 px gaps, as a PNG.

    `source` is the cache key: the image tensors are the shared dataset and are not hashed.
    Encoded once for every session (bytes are immutable): handing st.image an array made it
    encode a JPEG on each of 30 students' visits.
    """
    labels = _labels.numpy()
    pad, size = 2, 28
    grid = np.full((10 * (size + pad) + pad, per_digit * (size + pad) + pad), 40, dtype=np.uint8)
    for digit in range(10):
        for column, index in enumerate(np.flatnonzero(labels == digit)[:per_digit]):
            top, left = pad + digit * (size + pad), pad + column * (size + pad)
            grid[top:top + size, left:left + size] = _images[index].numpy()
    return png_bytes(upscale(grid, SCALE))


st.title("MNIST Lab")
st.markdown(
    "Teach a computer to read handwritten digits, and watch how it learns.\n\n"
    "- **Train** a network, from a single layer (softmax regression) to a small CNN, and watch its loss and "
    "accuracy change batch by batch.\n"
    "- **Change one setting at a time** (learning rate, batch size, depth, regularisation) and compare the runs.\n"
    "- **Look inside**: the digits it gets wrong, which digits it confuses, and what its weights look like.\n"
    "- **Draw a digit** and see what your network reads.")
st.page_link(TRAIN_PAGE, label="Start on the Train page", icon=":material/arrow_forward:",
             query_params=user_params())

data = data_or_stop()
# Side by side on a wide screen, one above the other on a narrow one.
row = st.container(horizontal=True, gap="large")
images, counts = row.container(width=460), row.container(width=360)
with images:
    st.subheader("The data")
    st.image(sample_grid(data.source, data.train_images, data.train_labels),
             caption=f"The first {SAMPLES_PER_DIGIT} training images of each digit, 0 (top) to 9 (bottom). "
                     "Each is 28 × 28 grey pixels.",
             alt=f"A grid of handwritten digits: {SAMPLES_PER_DIGIT} examples of each digit, one row per digit "
                 "from 0 to 9.")
with counts:
    st.subheader("How many of each")
    test_counts = data.test_class_counts
    st.vega_lite_chart(class_counts_spec(data.class_counts, test_counts), width="stretch")
    chart_summary(class_counts_summary(data.class_counts, test_counts))
    st.caption(f"{data.description}: {len(data.train_labels):,} training and {len(data.test_labels):,} test "
               "images. The digits are nearly balanced, so a model that guesses is right about 10% of the time.")
