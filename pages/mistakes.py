"""Mistakes: the test images the chosen run gets wrong, most confident mistakes first.

Filters narrow the gallery by true digit, predicted digit and confidence; the
gallery pages 40 tiles at a time, so a model with 1,000 errors stays fast.
"""
import streamlit as st

from mnist_core.pictures import contact_sheet, png_bytes
from mnist_core.metrics import misclassified
from ui.image_grid import paged_gallery
from ui.inspect_views import inspected_run

st.title("Mistakes")
st.caption("Which test images does the model get wrong, and how sure was it? "
           "The most confident mistakes come first: they are the most surprising.")

run = inspected_run()
mistakes = misclassified(run.labels, run.probabilities)
total_tested = len(run.labels)

left, middle, right = st.columns(3)
left.metric("Mistakes in all", f"{len(mistakes):,}", f"of {total_tested:,} test images", delta_color="off",
            delta_arrow="off")
middle.metric("Test accuracy", f"{100 * (1 - len(mistakes) / total_tested):.2f}%")
if len(mistakes):
    right.metric("Made with over 90% confidence", f"{int((mistakes.confidence > 0.9).sum()):,}")
if not len(mistakes):
    st.success("No mistakes at all on the test set.")
    st.stop()

any_digit = "Any"
digits = [any_digit] + list(range(10))
true_col, predicted_col, confidence_col = st.columns([1, 1, 2])
true_label = true_col.selectbox("True digit", digits, key="mistakes_true")
predicted_label = predicted_col.selectbox("Read as", digits, key="mistakes_predicted")
low, high = confidence_col.slider("Confidence of the wrong answer (%)", 0, 100, (0, 100), step=5,
                                  key="mistakes_confidence")
shown = mistakes.filter(true_label=None if true_label == any_digit else true_label,
                        predicted_label=None if predicted_label == any_digit else predicted_label,
                        min_confidence=low / 100, max_confidence=high / 100)
if len(shown) != len(mistakes):
    st.markdown(f"**{len(shown):,}** of the {len(mistakes):,} mistakes match these filters.")

paged_gallery(run.images, shown, key=f"mistakes_page-{true_label}-{predicted_label}-{low}-{high}")

if len(shown):
    sheet_size = min(len(shown), 500)
    st.download_button(f"Contact sheet of {'these' if sheet_size == len(shown) else 'the first'} "
                       f"{sheet_size:,} mistakes (PNG)",
                       data=lambda: png_bytes(contact_sheet(run.images, shown, max_tiles=sheet_size)),
                       file_name=f"mistakes-{run.info.run_id}.png", mime="image/png", on_click="ignore",
                       icon=":material/download:", key="mistakes_sheet")
