"""Confusion matrix: which digit is read as which, for the chosen run.

Click a cell (or choose one of the largest confusions below the chart) to see
exactly those test images and their average image.
"""
import streamlit as st

from mnist_core.inspection import average_image, cell_examples

from mnist_core.pictures import digit_png
from mnist_core.metrics import describe_confusions, misclassified, top_confusions
from ui.image_grid import paged_gallery, show_picture
from ui.charts.inspection import CELL_SELECTION
from ui.inspect_views import inspected_run, show_confusion_downloads, show_confusion_heatmap

st.title("Confusion matrix")
st.caption("Rows are the true digit, columns the digit the model read. The diagonal counts the right "
           "answers; every other cell is one kind of mistake, coloured by how often it happens.")

run = inspected_run()
cm = run.confusion()
event = show_confusion_heatmap(cm)
st.markdown(f"#### {describe_confusions(cm, k=3)}")
show_confusion_downloads(cm, run.info.run_id)

# The select box offers the largest confusions; a click on the chart moves it to the clicked cell.
choices = [None] + [(c["true"], c["predicted"]) for c in top_confusions(cm, k=12)]
clicked = event.selection.get(CELL_SELECTION) if event else None
clicked = (int(clicked[0]["true"]), int(clicked[0]["predicted"])) if clicked else None
if clicked != st.session_state.get("cm_last_click"):
    st.session_state["cm_last_click"] = clicked
    if clicked is not None:
        if clicked not in choices:
            choices.append(clicked)
        st.session_state["cm_cell"] = clicked
if st.session_state.get("cm_cell") not in choices:
    choices.append(st.session_state.get("cm_cell"))


def cell_label(cell):
    if cell is None:
        return "— choose a cell —"
    t, p = cell
    return f"True {t}, read as {p} ({cm[t, p]:,} images)" if t != p else f"{t} read correctly ({cm[t, p]:,} images)"


cell = st.selectbox("Look at one cell (or click it in the chart)", choices, format_func=cell_label, key="cm_cell")
if cell is None:
    st.info("Click a cell of the matrix, or choose one of the most common confusions above.")
    st.stop()

true, predicted = cell
examples = cell_examples(run.labels, run.probabilities, true, predicted)
share = cm[true, predicted] / max(cm[true].sum(), 1)
st.subheader(f"True {true}, read as {predicted}: {len(examples):,} images ({100 * share:.1f}% of all {true}s)")
if true != predicted:
    averages = [("these images", examples.index),
                (f"{true}s read correctly", cell_examples(run.labels, run.probabilities, true, true).index),
                (f"{predicted}s read correctly",
                 cell_examples(run.labels, run.probabilities, predicted, predicted).index)]
else:
    averages = [("these images", examples.index),
                (f"{true}s read wrongly", misclassified(run.labels, run.probabilities).filter(true_label=true).index)]
for column, (title, index) in zip(st.columns(len(averages) + 1)[:len(averages)], averages):
    average = average_image(run.images, index)
    if average is not None:
        show_picture(digit_png(average, scale=5), caption=f"Average of {title} ({len(index):,})", width=140,
                     container=column)
st.caption("Average images show what the images of a cell have in common, e.g. a 4 whose top is closed.")
paged_gallery(run.images, examples, key=f"cm_page-{true}-{predicted}",
              what="images" if true == predicted else "mistakes")
