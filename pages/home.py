"""Home page: what MNIST Lab teaches, a grid of real MNIST digits and how many there are of each."""
import streamlit as st

from mnist_core.chart_summaries import class_counts_summary
from ui.charts.dataset import class_counts_spec
from ui.image_grid import sample_grid, show_picture
from ui.page_links import TRAIN_PAGE
from ui.projector import chart_summary
from ui.session import data_or_stop, user_params

SAMPLES_PER_DIGIT = 12

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
    show_picture(sample_grid(data.source, data.train_images, data.train_labels, SAMPLES_PER_DIGIT),
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
