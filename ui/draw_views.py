"""The Draw page's pieces: the canvas, what the model sees and reads, the preprocessing lesson,
saving a drawing to the class's handwriting test set, and the one-button default model
(how a model reads that test set is ui/class_handwriting.py).

The drawing area is one `st.fragment`: a stroke reruns only the canvas and what
depends on it, not the sidebar or the run list, so the reading follows the pen.
Reading a drawing (decode, MNIST preprocessing, model) is `mnist_core.predict.read_drawing`;
nothing here computes a prediction itself.

Session state used across reruns and pages:
    last_drawing_28x28      float (28, 28) in [0, 1], ink = 1: the last non-blank model input
                            (the Weights page sends it through the network)
    draw_canvas_generation  bumped to clear the canvas (a new canvas key mounts an empty canvas)
    draw_initial_drawing    what the canvas should redraw after Undo (the strokes minus the last)
"""
from __future__ import annotations

import base64
import time

import numpy as np
import streamlit as st
import torch

from mnist_core.chart_summaries import probability_summary
from mnist_core.config import ARCHITECTURES
from mnist_core.presets import preset_config
from mnist_core.handwriting import HandwritingError, HandwritingStore
from mnist_core.pictures import digit_png, upscale
from mnist_core.jobs import TRAIN, Job, JobError
from mnist_core.predict import (PREPROCESSING_STEPS, STEP_DEFAULTS, DigitPrediction, DrawingReading,
                                predict_probabilities, read_drawing)
from mnist_core.preprocess import PreprocessError, to_mnist

from .charts.draw import probability_chart
from .charts.palette import (BACKGROUND, BORDER, GREEN, GREY_DARK, GREY_LIGHT, GREY_MID, MNIST_INK, MNIST_PAPER,
                             VERMILLION)
from .draw_insight import insight_tabs
from .image_grid import crisp_images, show_picture
from .job_view import FAST, job_view
from .live_training import progress_text
from .page_links import DRAWING_KEY
from .projector import chart_summary
from .text import plain
from .session import data_or_stop, get_jobs, get_store, use_stand_in
from .identity import current_owner

CANVAS_PIXELS = 280  # 10x MNIST's 28: one canvas pixel per tenth of a model pixel
PEN_WIDTH_RANGE = (6, 40)  # px; a finger needs the wide end, a mouse is fine at the default
DEFAULT_PEN_WIDTH = 20  # about MNIST's stroke (2-3 px of a 20 px digit) on a digit drawn 200 px tall
MODEL_INPUT_SCALE = 10  # 28 x 10 = 280: the model's input shown as large as the canvas
CARD_SCALE = 4  # the small pictures of the preprocessing comparison

GENERATION_KEY = "draw_canvas_generation"
INITIAL_KEY = "draw_initial_drawing"
OBJECTS_KEY = "draw_last_objects"  # the strokes on the canvas (for Undo)
UNDONE_KEY = "draw_undo_pending"  # the strokes before an Undo, until the canvas sends its redrawn state
FLASH_KEY = "draw_flash"  # a message to show once after a rerun

# The model one button trains when there is no run yet: the "draw" preset (`python -m mnist_core
# train --preset draw`), a CNN trained on augmented MNIST, which reads drawings best (bench/README.md).
DEFAULT_MODEL_CONFIG = preset_config("draw")
DEFAULT_MODEL_NAME = "Default CNN (Draw page)"
DEFAULT_MODEL_SECONDS = "about a minute"  # 6 epochs: 53 s on one core of a quiet machine, more when others train

STEP_LABELS = {  # toggle name -> (toggle label, card title when the step is left out)
    "crop": ("Crop to the ink", "without cropping"),
    "scale": ("Scale to a 20 px box", "without scaling"),
    "center_of_mass": ("Centre by centre of mass", "without centring by mass"),
    "deskew": ("Deskew (remove the slant)", "with deskewing"),  # off by default: its card adds it
    "strokes": ("Normalize the pen width", "without pen-width normalization"),
}
STEP_HELP = {
    "crop": "Cut the drawing down to the box around the ink, so a digit drawn in a corner "
            "counts as much as one drawn in the middle.",
    "scale": "Resize the ink so its longer side is 20 px, as in MNIST: small and large "
             "drawings look alike to the model.",
    "center_of_mass": "Shift the digit so the centre of its ink sits at pixel (14, 14), "
                      "where every MNIST digit's centre of ink sits.",
    "deskew": "Straighten a leaning digit by its image moments (the classic MNIST trick). Off by default: "
              "it read our hard drawing set slightly worse, because MNIST's own digits lean too.",
    "strokes": "Thicken a thin pen and thin a very thick one toward MNIST's stroke width (2.6 px of a 20 px "
               "digit), so loops drawn with a fat pen do not fill up.",
}


# ---------------------------------------------------------------- canvas

def _generation() -> int:
    return st.session_state.setdefault(GENERATION_KEY, 0)


def canvas_key() -> str:
    """The canvas widget's key; a new key (after Clear or Save) mounts an empty canvas."""
    return f"draw_canvas_{_generation()}"


def clear_canvas() -> None:
    st.session_state[GENERATION_KEY] = _generation() + 1
    st.session_state[INITIAL_KEY] = None
    st.session_state[OBJECTS_KEY] = []
    st.session_state[UNDONE_KEY] = None


def undo_stroke() -> None:
    """Redraw the canvas without its last stroke (the canvas loads a changed initial drawing)."""
    objects = list(st.session_state.get(OBJECTS_KEY) or [])
    if not objects:
        return
    previous = st.session_state.get(INITIAL_KEY) or {}
    # The counter makes every Undo a new initial drawing, even when the strokes left are the
    # same as after an earlier Undo: the canvas only redraws when the drawing it is given changes.
    st.session_state[INITIAL_KEY] = {"objects": objects[:-1], "undoCount": previous.get("undoCount", 0) + 1}
    st.session_state[OBJECTS_KEY] = objects[:-1]
    if st.session_state.get(UNDONE_KEY) is None:
        st.session_state[UNDONE_KEY] = objects


def draw_canvas(pen_width: int):
    """The square canvas, white ink on black like MNIST. Returns its CanvasResult
    (`.image_data` decodes the drawing: an RGBA array, or None before the first stroke)."""
    # Imported here, inside a script run: the component registers its front-end files with the
    # running app, and importing it outside one (e.g. in a test) fails.
    from streamlit_drawable_canvas import st_canvas

    result = st_canvas(stroke_width=pen_width, stroke_color=MNIST_INK, background_color=MNIST_PAPER,
                       height=CANVAS_PIXELS, width=CANVAS_PIXELS, drawing_mode="freedraw",
                       initial_drawing=st.session_state.get(INITIAL_KEY), return_image_data=True,
                       key=canvas_key())
    raw = result.json_data if isinstance(result.json_data, dict) else {}
    objects = list(raw.get("objects") or [])
    if st.session_state.get(UNDONE_KEY) is not None and objects == st.session_state[UNDONE_KEY]:
        pass  # the canvas has not sent its redrawn state yet: keep the strokes Undo left, so a second quick Undo counts
    else:
        st.session_state[UNDONE_KEY] = None
        st.session_state[OBJECTS_KEY] = objects
    return result


def canvas_buttons() -> None:
    undo, clear = st.columns(2)
    undo.button("Undo stroke", icon=":material/undo:", on_click=undo_stroke, width="stretch", key="draw_undo",
                disabled=not st.session_state.get(OBJECTS_KEY), help="Remove the last stroke.")
    clear.button("Clear", icon=":material/delete:", on_click=clear_canvas, width="stretch", key="draw_clear",
                 help="Start again with an empty canvas.")


# ---------------------------------------------------------------- what the model sees and reads

def model_input_png(image: np.ndarray, scale: int = MODEL_INPUT_SCALE) -> bytes:
    """The 28x28 input enlarged pixel by pixel, with a thin grey frame so black-on-white pages show its edge."""
    big = upscale(np.clip(np.asarray(image) * 255 + 0.5, 0, 255).astype(np.uint8), scale)
    framed = np.pad(big, 1, constant_values=110)
    return digit_png(framed, scale=1)


def show_model_input(prediction: DigitPrediction | None) -> None:
    image = prediction.preprocessed.image if prediction is not None else np.zeros((28, 28), np.float32)
    alt = "Your drawing as the model sees it: 28 × 28 grey pixels, enlarged"
    if prediction is not None and not prediction.blank and prediction.digit is not None and prediction.probabilities:
        alt += f"; read as {prediction.digit} with {100 * max(prediction.probabilities):.0f}% confidence"
    show_picture(model_input_png(image), width=CANVAS_PIXELS + 2, alt=alt if prediction is not None else
                 "An empty 28 × 28 picture: nothing drawn yet")
    if prediction is not None and not prediction.blank:
        st.caption("28 × 28 pixels, enlarged. The drawing was cropped to its ink, scaled to fit 20 × 20 "
                   "and centred by its centre of ink, as every MNIST digit was.")
    else:
        st.caption("28 × 28 pixels: the model's whole view of your drawing appears here.")


def show_reading(prediction: DigitPrediction) -> None:
    """The top digit in large type with its probability, then the ten probabilities."""
    probabilities = prediction.probabilities
    digit, confidence = prediction.digit, prediction.confidence
    # Everything in this HTML is a number we format ourselves.
    st.markdown(f'<div class="draw-prediction" style="display:flex;align-items:baseline;gap:1rem;">'
                f'<span class="draw-top-digit" style="font-size:5.5rem;font-weight:700;line-height:1;'
                f'color:{VERMILLION}">{digit}</span>'
                f'<span style="font-size:1.3rem;">{100 * confidence:.0f}% sure</span></div>',
                unsafe_allow_html=True)
    runner_up = int(np.argsort(probabilities)[-2])
    st.altair_chart(probability_chart(probabilities), width="stretch", key="draw_probabilities")
    chart_summary(probability_summary(probabilities))
    if confidence < 0.6:
        st.caption(f"Not sure: {runner_up} gets {100 * probabilities[runner_up]:.0f}%. "
                   "Ambiguous drawings split the probability between digits.")


# ---------------------------------------------------------------- preprocessing lesson

def preprocessing_toggles() -> list[str]:
    """One toggle per MNIST step; returns the steps switched off."""
    st.markdown("**Why preprocessing matters.** MNIST's digits were cropped, scaled and centred before "
                "the model ever saw them. Switch a step off to see what the model reads without it.")
    changed = []
    for step in PREPROCESSING_STEPS:  # one under the other: side by side, the labels get cut off
        if st.toggle(STEP_LABELS[step][0], value=STEP_DEFAULTS[step], key=f"draw_step_{step}",
                     help=STEP_HELP[step]) != STEP_DEFAULTS[step]:
            changed.append(step)
    return changed


def _card_html(title: str, prediction: DigitPrediction, reference: int | None) -> str:
    picture = base64.b64encode(digit_png(prediction.preprocessed.image, scale=CARD_SCALE)).decode("ascii")
    if prediction.blank:
        verdict = f'<span style="color:{GREY_MID}">too small to read</span>'
    else:
        colour = GREEN if prediction.digit == reference else VERMILLION
        verdict = (f'reads <b style="font-size:1.6rem;color:{colour}">{prediction.digit}</b> '
                   f'· {100 * prediction.confidence:.0f}%')
    return (f'<div style="border:1px solid {BORDER};border-radius:8px;padding:8px;text-align:center;'
            f'min-width:130px;background:{BACKGROUND};"><div style="font-size:0.9rem;color:{GREY_DARK};margin-bottom:4px;">'
            f'{title}</div><img src="data:image/png;base64,{picture}" width="112" height="112" '
            f'style="image-rendering:pixelated;border:1px solid {GREY_LIGHT};" alt="{title}">'
            f'<div style="margin-top:4px;">{verdict}</div></div>')


def show_ablation_cards(reading: DrawingReading) -> None:
    """The full pipeline's reading beside the readings with steps left out."""
    if not reading.without:
        st.caption("Every step is at its default: this is exactly what the model sees above.")
        return
    reference = reading.prediction.digit
    cards = [_card_html("with every step", reading.prediction, reference)]
    for name, prediction in reading.without.items():
        steps = name.split("+")
        if set(steps) >= {"crop", "scale", "center_of_mass"}:
            title = "no step: shrunk to 28×28"
        else:
            title = " and ".join(STEP_LABELS[s][1] for s in steps)
        cards.append(_card_html(title, prediction, reference))
    st.html('<div style="display:flex;flex-wrap:wrap;gap:10px;">' + "".join(cards) + "</div>")
    changed = [n for n, p in reading.without.items() if p.digit != reference]
    if changed:
        st.caption("Orange: the model reads a different digit without that step.")
    else:
        st.caption("The reading survives here; try a small digit in a corner, where the steps matter most.")


# ---------------------------------------------------------------- save as a test example

def handwriting_store() -> HandwritingStore:
    return HandwritingStore(get_store().root)


def save_panel(prediction: DigitPrediction | None, run_id: str | None, predicted: int | None) -> bool:
    """Label the drawing and keep it in the class test set. Returns True when one was saved."""
    st.markdown("**Save as a test example.** Which digit did you draw? Labelled drawings build the "
                "class's own handwriting test set.")
    blank = prediction is None or prediction.blank
    label = st.pills("This drawing is a", list(range(10)), key=f"draw_label_{_generation()}",
                     label_visibility="collapsed", disabled=blank, wrap=True)
    clicked = st.button("Save as test example", icon=":material/add_photo_alternate:", key="draw_save",
                        disabled=blank or label is None,
                        help="Draw a digit and choose its label first." if blank or label is None else
                        "Keep this 28×28 image and its label for the class test set.")
    if not clicked:
        return False
    try:
        example = handwriting_store().save(prediction.preprocessed.image, int(label), owner=current_owner(),
                                           run_id=run_id or "", predicted=predicted)
    except HandwritingError as error:
        st.error(plain(str(error)))
        return False
    verdict = "and the model read it correctly" if predicted == example.label else (
        f"the model read it as {predicted}" if predicted is not None else "")
    st.session_state[FLASH_KEY] = f"Saved as a {example.label}{', ' + verdict if verdict else ''}. Draw the next one!"
    clear_canvas()
    return True


# ---------------------------------------------------------------- the drawing area

def _reading_for(model, canvas, steps_off: list[str]):
    """(canvas RGBA array or None, reading or None, seconds, error message or None).

    The time covers what the server does once a drawing arrives: decoding the canvas's
    PNG, the MNIST preprocessing and the model, for the main reading and every variant.
    """
    start = time.perf_counter()
    try:
        image = canvas.image_data
    except (ValueError, OSError) as error:  # a damaged PNG from the browser: say so, never crash
        return None, None, 0.0, f"The drawing could not be decoded ({error}). Press Clear and draw again."
    if image is None or model is None:
        return image, None, 0.0, None
    try:
        reading = read_drawing(model, image, steps_off=steps_off)
    except PreprocessError as error:
        return image, None, 0.0, str(error)
    return image, reading, time.perf_counter() - start, None


def _preview_only(image) -> DigitPrediction | None:
    """Without a model, still show what the model would see."""
    if image is None:
        return None
    try:
        result = to_mnist(image)
    except PreprocessError:
        return None
    return DigitPrediction(None, None, None, result.blank, result.message, result)


@st.cache_resource(show_spinner=False, max_entries=16)
def _warm_up(run_id: str, _model) -> bool:
    """One prediction on an empty input when a model is first used: torch's first call pays
    its one-off set-up (about 20 ms for the CNN), which the first drawing should not."""
    predict_probabilities(_model, torch.zeros(1, 1, 28, 28))
    return True


@st.fragment
def drawing_area(model, run_id: str | None) -> None:
    """Canvas | what the model sees | what it reads; then the steps lesson and Save.

    A fragment: a stroke reruns only this, so the reading follows the pen.
    `model` None (no run yet) still shows the canvas and the model's input.
    """
    crisp_images()
    if model is not None:
        _warm_up(run_id, model)
    flash = st.session_state.pop(FLASH_KEY, None)
    with st.container():  # always there, so a message never shifts (and remounts) the canvas
        if flash:
            st.success(flash, icon=":material/check_circle:")
    canvas_column, seen_column, read_column = st.columns([1.05, 1.0, 1.3], gap="medium")
    with canvas_column:
        # No text right above the canvas: its toolbar (send, undo, redo, edit, reset) floats there on hover.
        st.subheader("Your drawing", anchor=False)
        pen_width = st.session_state.get("draw_pen_width", DEFAULT_PEN_WIDTH)
        canvas = draw_canvas(pen_width)
        canvas_buttons()
        st.slider("Pen width", *PEN_WIDTH_RANGE, value=DEFAULT_PEN_WIDTH, step=2, key="draw_pen_width",
                  help="Wider suits a finger on a touch screen; the model copes with any width.")
        st.caption("Draw one digit, 0 to 9, big or small, anywhere on the square.")

    steps_off = [s for s in PREPROCESSING_STEPS  # the steps switched away from their default
                 if st.session_state.get(f"draw_step_{s}", STEP_DEFAULTS[s]) != STEP_DEFAULTS[s]]
    image, reading, seconds, error = _reading_for(model, canvas, steps_off)
    prediction = reading.prediction if reading is not None else _preview_only(image)
    if prediction is not None and not prediction.blank:
        st.session_state[DRAWING_KEY] = prediction.preprocessed.image.copy()

    with seen_column:
        st.subheader("What the model sees", anchor=False)
        show_model_input(prediction)
    with read_column:
        st.subheader("What the model reads", anchor=False)
        if error:
            st.error(error)
        elif prediction is None or prediction.blank:
            st.info(prediction.message if prediction is not None else
                    "Nothing drawn yet: draw a digit with the mouse or a finger.", icon=":material/draw:")
        elif model is None:
            st.info("No model yet: train the default model above and it will read your drawing.",
                    icon=":material/model_training:")
        elif not np.isfinite(prediction.probabilities).all():
            st.warning("This run's training diverged, so its outputs are not numbers. Choose another run.")
        else:
            show_reading(prediction)
            st.caption(f"Read in {1000 * seconds:.1f} ms on the server (decoding, preprocessing and the model).")

    st.divider()
    lesson_column, save_column = st.columns([1.25, 1], gap="large")
    with lesson_column:
        preprocessing_toggles()
        if reading is not None and not reading.prediction.blank and model is not None:
            show_ablation_cards(reading)
        else:
            st.caption("Draw a digit to compare.")
    with save_column:
        readable = model is not None and prediction is not None and prediction.digit is not None
        if save_panel(prediction, run_id, prediction.digit if readable else None):
            st.rerun()  # the whole page: the class set's scores below change too
    st.divider()
    insight_tabs(model, run_id, reading.prediction if reading is not None else None)


# ---------------------------------------------------------------- the default model

def _default_model_progress(job: Job) -> None:
    """The default model's progress bar (inside job_view's fragment); the Train page's wording."""
    if job.started is None:
        position = get_jobs().queue_position(job)
        st.progress(0.0, text=f"Waiting for a free training slot (number {position or 1} in line)…")
        return
    fraction, text = progress_text(job.progress.snapshot(), job.started, job.stop_event.is_set())
    st.progress(min(max(fraction, 0.0), 1.0), text=text)


def default_model_panel() -> None:
    """No run yet: one button trains a CNN that reads drawings well, with a progress bar."""
    jobs = get_jobs()
    job = jobs.active_job(current_owner(), kind=TRAIN)
    with st.container(border=True):
        if job is not None:
            st.markdown(f"**Training “{plain(job.label)}”.** The model will read your drawings as soon as it is saved.")
            # When it ends, the page reruns and the sidebar selects the new run (live_training._announce).
            job_view(job, running=_default_model_progress, finished=_default_model_progress,
                     queued=_default_model_progress, refresh=FAST, key="draw")
            return
        last = jobs.latest_job(current_owner(), kind=TRAIN)
        if last is not None and (last.error or last.save_error):
            st.error(plain(f"The last training did not give a saved run: {last.error or last.save_error}"))
        data_text = ("the small stand-in dataset" if use_stand_in() else
                     f"all 54,000 MNIST training images, {DEFAULT_MODEL_CONFIG.epochs} passes, each image randomly "
                     f"slanted, bent and re-inked so that it learns handwriting, not one pen. It takes "
                     f"{DEFAULT_MODEL_SECONDS} (longer when others train at the same time) and reads about 99% of "
                     "MNIST's test digits")
        st.markdown(f"**No trained model yet.** One click trains a small convolutional network (CNN) on "
                    f"{data_text}. Meanwhile you can already draw and see what the model will see.")
        if st.button("Train the default model", icon=":material/bolt:", type="primary", key="draw_train_default",
                     help=f"{ARCHITECTURES['cnn']}, {DEFAULT_MODEL_CONFIG.epochs} epochs on augmented MNIST "
                          "(the same as `python -m mnist_core train --preset draw`). "
                          "You can train other models on the Train page."):
            data = data_or_stop()
            try:
                jobs.submit_training(DEFAULT_MODEL_CONFIG, data, owner=current_owner(), name=DEFAULT_MODEL_NAME)
            except JobError as error:
                st.error(plain(str(error)))
                return
            st.rerun()
