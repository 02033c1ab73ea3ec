"""The building blocks of the "Look inside" pages (mistakes, confusion, per-class, weights).

Pages stay thin: they call `inspected_run()` to get the chosen run and its test
set, then one or two of the `show_*` views here. All numbers come from
mnist_core.metrics and mnist_core.inspection; this module only lays them out.
A damaged or mismatched run ends the page with a plain st.error, never a traceback.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from mnist_core import inspection, pictures, tables
from mnist_core.chart_summaries import (activation_summary, compare_runs_summary, confusion_summary,
                                       per_class_history_summary, per_class_summary, weight_histogram_summary)
from mnist_core.config import ARCHITECTURES
from mnist_core.metrics import confusion_matrix, per_class_accuracy, precision_recall_f1
from mnist_core.runs import LoadedRun, RunInfo

from .charts import inspection as charts
from .image_grid import crisp_images, show_picture, show_tiles
from .page_links import DRAWING_KEY
from .projector import chart_summary
from .time_travel import epoch_slider, loaded_at
from .run_picker import list_runs, load_run, pick_run, run_label
from .session import data_or_stop
from .text import plain


@dataclass
class InspectedRun:
    """The chosen run with what every view needs, read once per page run."""
    info: RunInfo
    loaded: LoadedRun
    images: np.ndarray  # (n_test, 28, 28) uint8 test images, shared read-only
    labels: np.ndarray  # (n_test,) int64
    probabilities: np.ndarray | None  # (n_test, 10) float32, None when the run saved none

    @property
    def predicted(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)

    def confusion(self) -> np.ndarray:
        return confusion_matrix(self.labels, self.predicted)


def inspected_run(with_model: bool = False, need_probabilities: bool = True) -> InspectedRun:
    """The run chosen at the top of the page and its test set; stops the page with a message if unusable."""
    crisp_images()
    info = pick_run("Run to look at", key="inspect_run")
    if info is None:
        st.stop()
    loaded = load_run(info, with_model=with_model)
    if loaded is None:  # load_run already showed the error
        st.stop()
    data = data_or_stop()
    loaded = loaded_at(info, loaded, epoch_slider(info, key="inspect_epoch"), with_model)
    images, labels = data.test_images.numpy(), data.test_labels.numpy()
    probabilities = loaded.test_probabilities
    if probabilities is not None and (probabilities.ndim != 2 or probabilities.shape != (len(labels), 10)):
        source = info.metrics.get("data_source", "another dataset")
        st.error(f"This run was tested on {len(probabilities):,} images of {source}, but the loaded test "
                 f"set ({data.description}) has {len(labels):,}. Choose a run trained on the same data.")
        st.stop()
    if probabilities is not None and not np.isfinite(probabilities).all():
        st.error("This run's saved test predictions are not numbers (the training probably diverged). "
                 "Choose another run.")
        st.stop()
    if probabilities is None and need_probabilities:
        st.warning("This run has no saved test predictions (it stopped before testing, or diverged), "
                   "so there is nothing to show here. Choose another run.")
        st.stop()
    return InspectedRun(info, loaded, images, labels, probabilities)


def show_confusion_heatmap(cm: np.ndarray):
    """The clickable confusion matrix and its summary; returns the chart's selection event."""
    event = st.altair_chart(charts.confusion_heatmap(cm), on_select="rerun", key="cm_chart",
                            selection_mode=charts.CELL_SELECTION)
    chart_summary(confusion_summary(cm))
    return event


def show_per_class_bars(values: np.ndarray, measure: str) -> None:
    """Accuracy or error rate of each digit, and the sentence naming the hardest and the easiest digit."""
    st.altair_chart(charts.per_class_bar_chart(values, measure), width="stretch")
    chart_summary(per_class_summary(values, measure), always=True)


def show_per_class_history(epochs: list[dict]) -> None:
    """Each digit's validation accuracy after every epoch; ten lines are hard to read, so the summary always shows."""
    st.altair_chart(charts.per_class_history_chart(epochs), width="stretch")
    chart_summary(per_class_history_summary(epochs), always=True)


def show_compare_runs(first: np.ndarray, second: np.ndarray, first_name: str, second_name: str, measure: str) -> None:
    """Two runs digit by digit, with its summary."""
    st.altair_chart(charts.compare_runs_chart(first, second, first_name, second_name, measure), width="stretch")
    chart_summary(compare_runs_summary(first, second, first_name, second_name, measure))


def _download_row(items: list[tuple[str, callable, str, str]], key: str) -> None:
    """Download buttons side by side; each file is made only when its button is clicked."""
    for column, (label, make, file_name, mime) in zip(st.columns(len(items)), items):
        column.download_button(label, data=make, file_name=file_name, mime=mime, on_click="ignore",
                               key=f"{key}-{file_name}", icon=":material/download:")


# ---------------------------------------------------------------- confusion matrix and per-class
def show_confusion_downloads(cm: np.ndarray, run_id: str) -> None:
    _download_row([
        ("Confusion matrix (PNG)", lambda: pictures.png_bytes(pictures.confusion_matrix_picture(cm)),
         f"confusion-{run_id}.png", "image/png"),
        ("Confusion matrix (CSV)", lambda: tables.confusion_matrix_csv(cm), f"confusion-{run_id}.csv", "text/csv"),
    ], key="cm")


def class_table(cm: np.ndarray) -> list[dict]:
    """Per-digit accuracy, precision, recall, F1, support and the macro row."""
    return tables.class_table_rows(precision_recall_f1(cm), per_class_accuracy(cm))


def show_class_table(cm: np.ndarray, run_id: str) -> None:
    rows = class_table(cm)
    measures = ("accuracy", "precision", "recall", "f1")
    shown = [{k: (100 * v if k in measures and v is not None else v) for k, v in row.items()} for row in rows]
    percent = {name: st.column_config.NumberColumn("F1" if name == "f1" else name.capitalize(), format="%.1f%%")
               for name in measures}
    st.dataframe(shown, hide_index=True, width="content", height=35 * 12 + 3,
                 column_order=["digit", *measures, "support"],
                 column_config={"digit": "Digit", **percent,
                                "support": st.column_config.NumberColumn("Test images", format="localized")})
    _download_row([
        ("Table (PNG)",
         lambda: pictures.png_bytes(pictures.class_table_picture(precision_recall_f1(cm), per_class_accuracy(cm))),
         f"per-class-{run_id}.png", "image/png"),
        ("Table (CSV)", lambda: tables.csv_text(rows), f"per-class-{run_id}.csv", "text/csv"),
    ], key="table")


def pick_other_run(current: RunInfo, label: str, key: str) -> RunInfo | None:
    """A second run to compare with (no side effect on the page's chosen run)."""
    others = [(r, mine) for r, mine in list_runs() if r.run_id != current.run_id]
    if not others:
        st.info("Train a second run to compare it here, digit by digit.")
        return None
    by_id = {r.run_id: (r, mine) for r, mine in others}
    chosen = st.selectbox(label, list(by_id), key=key, format_func=lambda i: run_label(*by_id[i]))
    return by_id[chosen][0]


# ---------------------------------------------------------------- weights
def show_softmax_templates(run: InspectedRun) -> None:
    """The 10 templates of this run, then the same for other softmax runs (different L2) below it."""
    st.markdown("Each picture is one digit's weights over the 28×28 pixels. **Orange** pixels are evidence "
                "*for* the digit when they have ink, **blue** pixels are evidence *against* it.")
    others = [r for r, _ in list_runs(archs=("softmax",)) if r.run_id != run.info.run_id]
    by_l2: dict[float, RunInfo] = {}
    for other in others:  # one default per L2 value, so the defaults show the effect of L2
        by_l2.setdefault(other.config.l2, other)
    defaults = [r.run_id for l2, r in sorted(by_l2.items()) if l2 != run.info.config.l2][:2]
    labels = {r.run_id: run_label(r) for r in others}
    compare = st.multiselect("Compare with other softmax runs (pick ones with different L2)", list(labels),
                             default=defaults, format_func=labels.get,
                             key=f"templates_compare-{run.info.run_id}",  # fresh defaults for each run
                             max_selections=3) if others else []
    rows = [(run.info, run.loaded.model)]
    for other in sorted((r for r in others if r.run_id in compare), key=lambda r: r.config.l2):
        loaded = load_run(other, with_model=True)
        if loaded is not None:
            rows.append((other, loaded.model))
    for info, model in rows:
        templates = inspection.softmax_templates(model)
        limit = pictures.symmetric_limit(templates)
        st.markdown(f"**L2 = {info.config.l2:g}** · {plain(info.name)} · roughness {inspection.roughness(templates):.2f} "
                    f"· colour scale ±{limit:.2g}")
        show_tiles([pictures.diverging_rgb(t, limit) for t in templates], [str(d) for d in range(10)], width=84)
    st.caption("Roughness compares neighbouring pixels: about 1 is pixel noise, 0 is perfectly smooth. "
               "Stronger L2 pulls every weight toward 0 (see the colour scales shrink); the weights that only "
               "fit a few training images fade first, which usually makes the templates smoother. "
               "Each row has its own colour scale.")
    show_picture(pictures.colour_legend(1.0), caption="−: evidence against · 0 · +: evidence for (scaled to each row)")


def show_first_layer_units(model) -> None:
    units = inspection.first_layer_units(model)
    left, right = st.columns(2)
    count = left.slider("Units to show", 8, min(len(units), 256), min(64, len(units)), step=8, key="units_count")
    order = right.radio("Order", ["Strongest weights first", "As numbered"], horizontal=True, key="units_order")
    chosen = inspection.strongest_units(units)[:count] if order.startswith("Strongest") else np.arange(count)
    tiles = [pictures.diverging_rgb(units[i], pictures.symmetric_limit(units[i])) for i in chosen]
    show_picture(pictures.tile_grid(tiles, columns=16, scale=2, gap=4),
                 alt=f"{count} pictures, one per unit of the first hidden layer: what each looks for in the pixels")
    st.caption(f"{count} of the {len(units)} units of the first hidden layer. Each picture is what one unit "
               "looks for in the pixels (orange: ink here excites it, blue: ink here inhibits it); each is "
               "scaled to its own largest weight.")


def show_conv_filters(model) -> None:
    filters = inspection.conv_filters(model)
    limit = pictures.symmetric_limit(filters, quantile=1.0)
    size = filters.shape[-1]
    show_tiles([pictures.diverging_rgb(f, limit) for f in filters], [f"filter {i + 1}" for i in range(len(filters))],
               width=84)
    st.caption(f"The {len(filters)} filters of the first conv layer, {size}×{size} weights each, on one colour "
               f"scale (±{limit:.2g}). A filter slides over the image and fires where the ink matches "
               "its orange part: edges and strokes in particular directions.")


def choose_input(run: InspectedRun) -> tuple[np.ndarray, str]:
    """A 28x28 picture to send through the network: a test image or the user's drawing."""
    drawing = st.session_state.get(DRAWING_KEY)
    has_drawing = isinstance(drawing, np.ndarray) and drawing.shape == (28, 28)
    if has_drawing:
        source = st.radio("Input", ["Your drawing", "A test image"], horizontal=True, key="input_source")
    else:
        source = "A test image"
        st.caption("Draw a digit on the **Draw a digit** page to send your own drawing through the network.")
    if source == "Your drawing":
        return np.clip(drawing, 0.0, 1.0).astype(np.float32), "your drawing"
    index = st.number_input(f"Test image number (0–{len(run.images) - 1:,})", 0, len(run.images) - 1, 0,
                            key="input_index")
    return run.images[index], f"test image #{index}, a {int(run.labels[index])}"


def show_activations(model, image: np.ndarray, caption: str) -> None:
    """Every layer's output for one input: feature-map grids for conv layers, bar charts otherwise."""
    activations = inspection.layer_activations(model, inspection.image_to_input(image))
    probabilities = activations[-1].values
    left, right = st.columns([1, 3])
    with left:
        show_picture(pictures.digit_png(image, scale=5), caption=caption.capitalize())
        st.metric("The model reads", str(int(probabilities.argmax())),
                  f"{pictures.confidence_text(float(probabilities.max()))} sure", delta_arrow="off",
                  delta_color="off")
    with right:
        st.altair_chart(charts.activation_chart(activations[-1]), width="stretch")
        chart_summary(activation_summary(activations[-1].label, activations[-1].values))
    for activation in activations[:-1]:
        if activation.is_feature_map:
            maps = activation.values
            scale = max(1, 84 // maps.shape[-1])
            high = float(maps.max()) or 1.0
            st.markdown(f"**{activation.label}**")
            show_picture(pictures.tile_grid([pictures.grey_rgb(m, high) for m in maps], columns=16 if len(maps) > 16 else 8,
                                        scale=scale, gap=4), alt=f"The {len(maps)} maps of {activation.label}")
            st.caption("Bright = the filter found its pattern there. All maps of this layer share one scale "
                       f"(white = {high:.2g}); a black map did not fire for this input.")
        else:
            st.altair_chart(charts.activation_chart(activation), width="stretch")
            chart_summary(activation_summary(activation.label, activation.values))


def show_weight_histograms(model) -> None:
    histograms = inspection.weight_histograms(model)
    columns = st.columns(2)
    for i, histogram in enumerate(histograms):
        with columns[i % 2]:
            st.markdown(f"**{histogram.label}**  \n{histogram.count:,} weights · mean {histogram.mean:+.3f} · "
                        f"spread (std) {histogram.std:.3f}")
            st.altair_chart(charts.weight_histogram_chart(histogram), width="stretch")
            chart_summary(weight_histogram_summary(histogram.counts, histogram.edges))
    st.caption("Most weights sit near 0. L2 squeezes the spread; L1 piles many weights at exactly 0.")


def model_kind(info: RunInfo) -> str:
    return ARCHITECTURES.get(info.config.arch, info.config.arch)

