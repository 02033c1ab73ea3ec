"""Draw a digit: the model reads your handwriting as you draw, and shows what it sees.

Choose a run (the latest by default; with none yet, one button trains a CNN),
draw on the canvas, and watch the 28x28 input and the ten probabilities follow
the pen. Toggles show what each MNIST preprocessing step is worth; labelled
drawings are saved into the class's own handwriting test set, scored below.
"""
import streamlit as st

from ui.class_handwriting import handwriting_report
from ui.draw_views import default_model_panel, drawing_area
from ui.run_picker import load_run, pick_run
from ui.time_travel import epoch_slider, loaded_at

st.title("Draw a digit")
st.caption("Draw a digit from 0 to 9 and watch the model read it each time you lift the pen.")

model, run_id, run_name, epoch = None, None, "", None
# One container whatever it holds (the picker, or the default-model button): the canvas below
# keeps its place in the page, so the browser never remounts it and loses the drawing.
with st.container():
    picker = st.empty()
    info = pick_run("Model that reads your drawing", key="draw_run", container=picker)
    if info is None:
        picker.empty()  # instead of the picker's "train one first", the button that does it
        default_model_panel()
    else:
        loaded = load_run(info, with_model=True)
        if loaded is not None:
            epoch = epoch_slider(info, key="draw_epoch", label="Read my drawing with the model as it was "
                                                                "after epoch")
            model, run_id, run_name = loaded_at(info, loaded, epoch, True).model, info.run_id, info.name

drawing_area(model, run_id)
st.divider()
# The report is cached per model: an earlier epoch's model is another model.
handwriting_report(model, run_id if epoch is None else f"{run_id}@epoch{epoch}", run_name)
