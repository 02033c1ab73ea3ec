"""Per-class scores: how well the chosen run reads each digit, during and after training.

A bar chart and a table (precision, recall, F1, support) on the test set, the
validation accuracy of each digit after every epoch, and a digit-by-digit
comparison with a second run.
"""
import numpy as np
import streamlit as st

from mnist_core.metrics import confusion_matrix, per_class_accuracy
from ui.inspect_views import (inspected_run, pick_other_run, show_class_table, show_compare_runs, show_per_class_bars,
                              show_per_class_history)
from ui.run_picker import load_run

st.title("Per-class scores")
st.caption("Not every digit is equally easy. Which ones does this model find hard?")

run = inspected_run()
cm = run.confusion()
accuracy = per_class_accuracy(cm)

st.subheader("Test accuracy of each digit")
measure = st.radio("Show", ["Accuracy", "Error rate"], horizontal=True, key="per_class_measure",
                   help="Error rate = 1 − accuracy: small differences between digits are easier to see.")
values = accuracy if measure == "Accuracy" else 1 - accuracy
show_per_class_bars(values, measure.lower())

st.subheader("Precision, recall and F1")
st.caption("**Precision**: of the images read as this digit, the share that really are. "
           "**Recall** (= accuracy of the digit): of the images of this digit, the share read right. "
           "**F1** balances the two. The macro row is the plain average over the ten digits.")
show_class_table(cm, run.info.run_id)

st.subheader("During training: validation accuracy of each digit")
epochs = [row for row in run.loaded.history.get("epochs", []) if row.get("per_class_val_accuracy")]
if epochs:
    show_per_class_history(epochs)
    st.caption("Click a digit in the legend to highlight its line." +
               (" This run trained for one epoch, so there is one point per digit." if len(epochs) == 1 else ""))
else:
    st.info("This run has no per-epoch validation record (it stopped before the end of its first epoch).")

st.subheader("Compare with another run")
st.caption("Shows accuracy or error rate, as chosen above.")
other = pick_other_run(run.info, "Second run", key="per_class_other")
if other is not None:
    loaded = load_run(other, with_model=False)
    if loaded is not None and loaded.test_probabilities is not None \
            and loaded.test_probabilities.shape == run.probabilities.shape:
        other_accuracy = per_class_accuracy(confusion_matrix(run.labels, loaded.test_probabilities.argmax(axis=1)))
        shown = (accuracy, other_accuracy) if measure == "Accuracy" else (1 - accuracy, 1 - other_accuracy)
        show_compare_runs(*shown, f"This run: {run.info.name}", f"Second: {other.name}", measure.lower())
        gains, average = other_accuracy - accuracy, other_accuracy.mean() - accuracy.mean()
        biggest = int(np.abs(gains).argmax())
        st.markdown(f"On average the second run reads a digit {100 * abs(average):.1f} points "
                    f"{'better' if average >= 0 else 'worse'} than this one; the biggest difference is on "
                    f"digit **{biggest}** ({100 * gains[biggest]:+.1f} points for the second run).")
    elif loaded is not None:
        st.warning("The second run has no test predictions on this test set, so it cannot be compared.")
