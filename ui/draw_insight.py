"""The Draw page's looks inside the model, for the drawing on the canvas: saliency, "flip the digit",
the nearest MNIST training images and the map of the hidden layer.

Everything here is drawn from mnist_core: `saliency`, `flip`, `neighbours`,
`embedding_map`. Light work (a heat map, one flip search, a neighbour query) runs in
the page; heavy work (the neighbour index of a run, the t-SNE map, the flip comparison
across models) is an ANALYSIS job in the one job queue, with its progress shown
through `ui.job_view`, and its result cached per run.
"""
from __future__ import annotations

import base64
import hashlib

import numpy as np
import pandas as pd
import streamlit as st
import torch

from mnist_core.analysis_jobs import ANALYSIS, cached_flip_comparison, cached_map, neighbour_key
from mnist_core.chart_summaries import hidden_map_summary
from mnist_core.data import normalize
from mnist_core.embedding_map import METHODS as MAP_METHODS
from mnist_core.flip import CHANGE_LEVEL, changed_pixels, flip_search
from mnist_core.jobs import JobError
from mnist_core.neighbours import DEFAULT_K, cached_index, hidden_features
from mnist_core.pictures import diverging_rgb, digit_png, png_bytes, upscale
from mnist_core.predict import predict_probabilities
from mnist_core.saliency import METHODS as SALIENCY_METHODS, saliency

from .charts.draw import hidden_map_chart
from .image_grid import show_picture
from .job_view import SLOW, job_view
from .projector import chart_summary
from .identity import current_owner
from .session import get_jobs, get_store
from .text import plain

HEAT_SCALE = 8  # 28 x 8 = 224 px heat maps
FLIP_KEY = "draw_flip"  # session_state: {"image": the drawing flipped, "result": FlipResult}


def _as_tensor(image: np.ndarray) -> torch.Tensor:
    pixels = np.clip(np.floor(np.asarray(image) * 255 + 0.5), 0, 255).astype(np.uint8)
    return normalize(torch.from_numpy(pixels).unsqueeze(0))  # (1, 1, 28, 28)


def heatmap_png(values: np.ndarray, image: np.ndarray) -> bytes:
    """Attribution on the blue-white-orange scale, with the digit's ink as a dark outline."""
    rgb = diverging_rgb(values).astype(np.float32)
    ink = np.asarray(image, np.float32)[..., None]
    rgb = rgb * (1 - 0.35 * ink)  # the drawing shows through, darker where the ink is
    return png_bytes(upscale(np.clip(rgb, 0, 255).astype(np.uint8), HEAT_SCALE))


def _analysis_progress(job) -> None:
    snapshot = job.progress.snapshot()
    st.progress(snapshot["share"], text=plain(f"{job.label}: {snapshot['text']}…"))


def _start(task: str, data, key: str, **options) -> None:
    try:
        get_jobs().submit_analysis(task, data, owner=current_owner(), **options)
    except JobError as error:
        st.error(plain(str(error)))
        return
    st.rerun()


def _active_analysis(task: str, key: str) -> bool:
    """Draw this user's running job of `task`, if any; True while one is active."""
    job = get_jobs().active_job(current_owner(), kind=ANALYSIS)
    if job is None or job.spec.options.get("task") != task:
        return False
    job_view(job, running=_analysis_progress, finished=lambda j: None, refresh=SLOW, key=key)
    return True


# ---------------------------------------------------------------- saliency

def saliency_view(model, image: np.ndarray, top_digit: int) -> None:
    st.markdown("**Which pixels made it say that?** Orange pixels pushed the model toward the digit, "
                "blue ones against it.")
    method = st.radio("Method", list(SALIENCY_METHODS), format_func=SALIENCY_METHODS.get, horizontal=True,
                      key="draw_saliency_method",
                      help="Integrated gradients adds up the gradient along the way from a blank image to "
                           "your drawing; gradient × input uses the gradient at your drawing only.")
    chosen = st.pills("Explain another digit", list(range(10)), default=(top_digit + 1) % 10,
                      key="draw_saliency_digit", help="See the evidence for any digit, e.g. the runner-up.")
    chosen = top_digit if chosen is None else int(chosen)
    x = _as_tensor(image)
    left, right = st.columns(2)
    for column, digit, title in ((left, top_digit, f"Why it says {top_digit}"),
                                 (right, chosen, f"Evidence for {chosen}")):
        result = saliency(model, x, digit, method)
        with column:
            show_picture(heatmap_png(result.values, image), caption=title, width=28 * HEAT_SCALE, alt=title)
            st.caption(f"The map adds up to {result.values.sum():+.2f}; the logit of {digit} moved "
                       f"{result.logit_change:+.2f} from a blank image.")


# ---------------------------------------------------------------- flip the digit

def _flip_png(original: np.ndarray, changed: np.ndarray) -> bytes:
    """The changed image in grey, added ink in orange and removed ink in blue."""
    rgb = np.repeat((np.clip(changed, 0, 1) * 255)[..., None], 3, axis=2).astype(np.uint8)
    moved = np.abs(changed - original) > CHANGE_LEVEL
    rgb[moved & (changed > original)] = (230, 159, 0)
    rgb[moved & (changed < original)] = (86, 180, 233)
    return png_bytes(upscale(rgb, HEAT_SCALE))


def flip_view(model, image: np.ndarray, reading: int) -> None:
    st.markdown("**Flip the digit.** The model can be fooled by a few pixels. Choose a digit: a greedy "
                "search changes one pixel at a time until the model reads it.")
    targets = [d for d in range(10) if d != reading]
    target = st.pills("Make it read", targets, default=targets[0], key="draw_flip_target")
    if st.button("Find a flip", icon=":material/swap_horiz:", key="draw_flip_run", disabled=target is None):
        st.session_state[FLIP_KEY] = {"image": image.copy(), "result": flip_search(model, image, int(target))}
    saved = st.session_state.get(FLIP_KEY)
    if not saved:
        return
    result = saved["result"]
    left, right = st.columns(2)
    with left:
        show_picture(_flip_png(result.original, result.image), width=28 * HEAT_SCALE,
                     caption=f"{result.changed} pixels changed: reads {result.reading}",
                     alt=f"The drawing with {result.changed} pixels changed, read as {result.reading}")
        if result.flipped:
            st.caption(f"The search flipped it to **{result.target}** with **{result.changed}** changed pixels "
                       "(orange: ink added, blue: ink removed).")
        else:
            st.caption(f"The search gave up after {result.changed} changes: this drawing is hard to flip.")
    with right:
        # The student's challenge: edit the drawing on the canvas, compared with the one that was flipped.
        yours = changed_pixels(saved["image"], image)
        now = int(predict_probabilities(model, _as_tensor(image)).argmax())
        st.markdown(f"**Beat it.** Edit your drawing so the model reads {result.target}, changing fewer "
                    f"than {result.changed} pixels of the 28 × 28 input.")
        st.metric("Your edit", f"{yours} pixels", delta=f"reads {now}", delta_color="off")
        if now == result.target and yours < result.changed:
            st.success(f"You beat the search: {yours} pixels instead of {result.changed}!")
    comparison_view()


def _latest_run_per_arch() -> dict[str, str]:
    runs = get_store().list()
    latest = {}
    for arch in ("softmax", "mlp", "cnn"):
        mine = [r for r in runs if r.config.arch == arch and r.status != "diverged"]
        if mine:
            latest[arch] = max(mine, key=lambda r: r.created).run_id
    return latest


def comparison_view() -> None:
    """Softmax, MLP and CNN: the median number of pixels each needs to flip 100 test images."""
    from .session import data_or_stop

    with st.expander("Which model is easiest to fool? (100 test images)"):
        run_ids = _latest_run_per_arch()
        if len(run_ids) < 2:
            st.caption("Train at least two of softmax, MLP and CNN to compare them.")
            return
        report = cached_flip_comparison(run_ids)
        if report is None:
            if _active_analysis("flip-comparison", "flip_comparison"):
                return
            if st.button("Compare the models", key="draw_flip_compare",
                         help="Runs the flip search on 100 MNIST test images for each model, as a background job."):
                _start("flip-comparison", data_or_stop(), "flip_comparison", run_ids=run_ids)
            return
        st.dataframe(pd.DataFrame([{"model": arch, "median pixels to flip": row["median_pixels"],
                                    "flipped": f"{row['flipped']} of {row['images']}"}
                                   for arch, row in report.items()]), hide_index=True)


# ---------------------------------------------------------------- nearest images

def _tiles_html(neighbours, train_images: torch.Tensor) -> str:
    tiles = []
    for index, label, distance in zip(neighbours.indices, neighbours.labels, neighbours.distances):
        picture = base64.b64encode(digit_png(train_images[index].numpy(), scale=2)).decode("ascii")
        tiles.append(f'<div style="text-align:center;font-size:0.85rem;"><img src="data:image/png;base64,{picture}" '
                     f'width="56" height="56" style="image-rendering:pixelated;" alt="a {label}"><br>'
                     f'<b>{label}</b> · {distance:.2f}</div>')
    return '<div style="display:flex;flex-wrap:wrap;gap:8px;">' + "".join(tiles) + "</div>"


def nearest_view(model, run_id: str, image: np.ndarray, data) -> None:
    st.markdown("**How MNIST-like is my drawing?** The 8 nearest MNIST training images, with their labels "
                "and distances.")
    index = cached_index(neighbour_key(run_id, data))
    if index is None:
        if _active_analysis("neighbours", "neighbours"):
            return
        if st.button("Find the nearest MNIST images", icon=":material/grid_view:", key="draw_nearest_build",
                     help="Once per run: the last hidden layer of all 54,000 training images, as a background job."):
            _start("neighbours", data, "neighbours", run_id=run_id)
        return
    found = index.nearest(_as_tensor(image), k=DEFAULT_K)
    st.markdown("By pixels (what a nearest-neighbour classifier sees):")
    st.html(_tiles_html(found["pixels"], data.train_images))
    st.markdown("By the last hidden layer (what this network sees):")
    st.html(_tiles_html(found["hidden"], data.train_images))


# ---------------------------------------------------------------- hidden-layer map

def _point_images(hidden_map, test_images: torch.Tensor) -> list[str]:
    return ["data:image/png;base64," + base64.b64encode(digit_png(test_images[i].numpy(), scale=2)).decode("ascii")
            for i in hidden_map.indices]


@st.cache_data(show_spinner=False, max_entries=8)
def _map_frame(run_id: str, method: str, stamp: str, _hidden_map, _test_images) -> pd.DataFrame:
    return pd.DataFrame({"x": _hidden_map.points[:, 0], "y": _hidden_map.points[:, 1],
                         "digit": _hidden_map.labels.astype(str), "image": _point_images(_hidden_map, _test_images)})


def map_view(model, run_id: str, image: np.ndarray, data) -> None:
    st.markdown("**A map of the hidden layer.** 2,000 test images placed so that images the network finds "
                "alike sit together; the black diamond is your drawing. Hover over a point to see its image.")
    method = st.radio("Map", list(MAP_METHODS), format_func=MAP_METHODS.get, horizontal=True, key="draw_map_method")
    hidden_map = cached_map(get_store(), run_id, method)
    if hidden_map is None:
        if _active_analysis("hidden-map", "hidden_map"):
            return
        if st.button("Compute the map", icon=":material/scatter_plot:", key="draw_map_build",
                     help="Once per run, as a background job (t-SNE takes up to a minute)."):
            _start("hidden-map", data, "hidden_map", run_id=run_id, method=method)
        return
    stamp = hashlib.md5(hidden_map.points.tobytes()).hexdigest()
    frame = _map_frame(run_id, method, stamp, hidden_map, data.test_images)
    x, y = hidden_map.place(hidden_features(model, _as_tensor(image))[0].numpy())
    st.altair_chart(hidden_map_chart(frame, x, y), width="stretch", key="draw_hidden_map")
    chart_summary(hidden_map_summary(hidden_map.points, hidden_map.labels, x, y), always=True)
    if method == "tsne":
        st.caption("t-SNE cannot place a new image exactly: the diamond sits among your drawing's 5 nearest test images.")


# ---------------------------------------------------------------- all of it

def insight_tabs(model, run_id: str | None, prediction) -> None:
    """The four looks inside the model, for a drawing the model has read."""
    from .session import data_or_stop

    if model is None or prediction is None or prediction.blank or prediction.digit is None or run_id is None:
        st.caption("Draw a digit to see which pixels made the model say it, flip it, and find its "
                   "nearest MNIST images.")
        return
    data = data_or_stop()
    image = prediction.preprocessed.image
    tabs = st.tabs(["Saliency", "Flip the digit", "Nearest MNIST images", "Hidden-layer map"])
    with tabs[0]:
        saliency_view(model, image, prediction.digit)
    with tabs[1]:
        flip_view(model, image, prediction.digit)
    with tabs[2]:
        nearest_view(model, run_id, image, data)
    with tabs[3]:
        map_view(model, run_id, image, data)
