"""The shared sidebar: the training controls, Train and Stop, and this user's job status.

`render_sidebar()` runs on every page (app.py calls it). The controls are built
from `TrainConfig`: every default comes from the dataclass and every range
from mnist_core/config.py, so a default lives in one place. `read_config()`
turns the widgets into a validated TrainConfig; pages get the latest one with
`current_config()`.

Controls that do not apply to the chosen architecture or optimizer are
hidden or disabled with a one-line note saying why. Widget values persist
across pages (persist_state="session") so a page switch never resets them.
"""
from __future__ import annotations

import dataclasses

import streamlit as st

from mnist_core.config import (ACTIVATIONS, ARCHITECTURES, BATCH_SIZE_RANGE, DEFAULT_HIDDEN, DEVICES, ENGINES,
                               EPOCHS_RANGE, HIDDEN_SIZE_RANGE, LR_RANGE, NUMPY_ARCHITECTURES, OPTIMIZERS, SCHEDULES,
                               ConfigError, TrainConfig, parse_hidden)
from mnist_core.pixels import PIXEL_SCALINGS
from mnist_core.data import DataError
from mnist_core.device import resolve_device
from mnist_core.jobs import TRAIN, JobError
from mnist_core.lessons import HIDDEN, LOCKED, Lesson
from mnist_core.runs import RunStoreError

from .guesses import forget_guess, guess_inputs, set_pending
from .identity import current_class_code, current_owner, lesson_book, signed_in
from .job_view import alone_on_the_server, wait_for_first_point
from .live_training import sidebar_status
from .page_links import TRAIN_PAGE
from .projector import projector_toggle
from .share_link import apply_link_settings, copy_link_button, show_link_notes, widget_state
from .sign_in import render_sign_in
from .text import plain
from .session import DATA_ERROR_KEY, explain_missing_data, get_jobs, stand_in_badge, use_stand_in, user_params

DEFAULTS = TrainConfig()
_FIELD_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
CONFIG_KEY = "sidebar_config"  # session_state: the last TrainConfig the sidebar built
RUN_NAME_KEY = "cfg_run_name"
MORE_OPEN_KEY, HARDWARE_OPEN_KEY = "sidebar_more_open", "sidebar_hardware_open"  # the lazy expanders' state

# Training-set size label -> images per class (TrainConfig.subset; 0 = every image).
TRAINING_SET_SIZES = {"200": 20, "1k": 100, "10k": 1000, "All 60k": 0}


def _log_choices(low: float, high: float) -> list[float]:
    """1-2-3-5 steps per decade between low and high, e.g. 0.001, 0.002, 0.003, 0.005, 0.01."""
    values = [float(f"{m}e{e}") for e in range(-6, 3) for m in (1, 2, 3, 5)]
    return [v for v in values if low <= v <= high]


# The sidebar offers 1e-4 ... 10, inside the range validation accepts (LR_RANGE);
# values above 1 are there on purpose, so a class can watch a run diverge.
LR_CHOICES = _log_choices(max(1e-4, LR_RANGE[0]), min(10.0, LR_RANGE[1]))
BATCH_SIZES = [b for b in (16, 32, 64, 128, 256, 512, 1024) if BATCH_SIZE_RANGE[0] <= b <= BATCH_SIZE_RANGE[1]]
HIDDEN_SIZES = [h for h in (16, 32, 64, 128, 256, 512, 1024, 2048) if HIDDEN_SIZE_RANGE[0] <= h <= HIDDEN_SIZE_RANGE[1]]
EPOCHS_UI_MAX = min(30, EPOCHS_RANGE[1])  # a lesson has no time for more; the CLI allows up to 200
L2_CHOICES = [0.0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1]
L1_CHOICES = [0.0, 1e-6, 1e-5, 1e-4, 1e-3]
DROPOUT_MAX = 0.8
PATIENCE_MAX = 10
SEED_MAX = 1_000_000

# One sentence per control, for its tooltip: what it does to learning.
HELP = {
    "arch": "Which network learns: softmax regression is one layer of 10 templates; an MLP adds hidden "
            "layers of units; a CNN looks at small patches with filters and is the most accurate, and the slowest.",
    "hidden_mlp": "How many units the hidden layer has: more units can learn more shapes but take longer and "
                  "overfit more easily.",
    "hidden_deep": "Sizes of the hidden layers, first to last, separated by commas (e.g. 512, 256): "
                   "depth lets the network build shapes out of simpler shapes.",
    "activation": "The bend each hidden unit applies to its input: ReLU learns fastest; sigmoid and tanh "
                  "flatten out for large inputs, which slows learning in deep networks.",
    "lr": "How big a step the weights take downhill on the loss at each batch: too small and learning "
          "crawls, too large and the loss jumps around or explodes.",
    "optimizer": "How a gradient becomes a step: SGD follows it directly, momentum keeps part of the last "
                 "step to roll through bumps, Adam scales each weight's step by its recent gradients.",
    "momentum": "How much of the previous step is kept in the next one: more momentum speeds up along "
                "steady slopes but can overshoot.",
    "schedule": "How the learning rate changes during the run: constant keeps it fixed; one-cycle warms up "
                "to the chosen rate, then lowers it, which usually reaches a good accuracy sooner.",
    "batch_size": "How many images are averaged for each step: small batches give more, noisier steps per "
                  "epoch; large batches give fewer, smoother steps and run faster per image.",
    "epochs": "How many times the network sees every training image: more epochs learn more, until the "
              "validation loss starts rising (overfitting).",
    "l2": "Weight decay: pulls every weight a little toward zero at each step, which keeps the model "
          "simple and often reduces overfitting.",
    "l1": "Adds the size of every weight to the loss, which pushes unimportant weights to exactly zero "
          "(sparse templates).",
    "dropout": "Switches off this share of hidden units at random at every step, so the network cannot "
               "rely on any single unit; it reduces overfitting but slows learning.",
    "early_stopping": "Stop when the validation loss has not improved for this many epochs and keep the "
                      "best weights (0 = off); it guards against overfitting.",
    "subset": "How many training images to use: small sets train in seconds (good for demos) but the "
              "network learns less and overfits more. 10% of the images are always kept for validation.",
    "seed": "Fixes the random starting weights and the order of the images: the same seed and settings "
            "give the same run; change it to see how much luck matters.",
    "augment": "Show the network every training image randomly rotated, sheared, scaled, bent and drawn with "
               "a thicker or thinner pen: it learns handwriting rather than one pen, and reads drawings on the "
               "Draw page better. Training takes about 10% longer.",
    "run_name": "A name for this run in the run history (optional; the settings are used if empty).",
    "pixels": "How pixel brightness is scaled before the network sees it. Standardized (mean 0, spread 1) "
              "inputs are about 3× larger than 0-1 ones, so the same learning rate takes a stronger step; "
              "the classic studies used 0-1 pixels.",
    "engine": "Who does the maths: PyTorch (autograd computes the gradients), or a network written from "
              "scratch in NumPy (the backward pass spelled out by hand). Same model, same steps.",
}

# Why a control is hidden or disabled, shown in its place.
NOT_FOR = {
    "softmax_hidden": "Softmax regression has no hidden layer, so there are no hidden sizes, activation or dropout.",
    "cnn_hidden": "The CNN's layers are fixed (16 and 32 filters, 128 dense units, ReLU); only dropout applies.",
    "momentum": "Momentum applies only to “SGD with momentum”.",
    "early_stopping": "Early stopping needs at least 2 epochs.",
    "engine": "NumPy from scratch trains softmax regression and MLPs; the CNN needs PyTorch.",
    "numpy": "NumPy from scratch: SGD or momentum at a constant learning rate, ReLU units, no dropout.",
}


def _fmt_lr(value: float) -> str:
    return f"{value:g}"


def _fmt_small(value: float) -> str:
    return "off" if value == 0 else f"{value:g}"


def _nearest(choices: list, value):
    return min(choices, key=lambda c: abs(c - value))


def learning_rate_choice(lr: float) -> float:
    """The sidebar's learning-rate choice nearest to `lr` (the range test's "Use this learning rate")."""
    return _nearest(LR_CHOICES, lr)


def _on_optimizer_change() -> None:
    # Each optimizer has its own good learning rate (config.OPTIMIZERS): switching
    # from Adam at 0.001 to plain SGD at 0.001 would make SGD look hopeless.
    usual = OPTIMIZERS[st.session_state["cfg_optimizer"]][1]
    st.session_state["cfg_lr"] = _nearest(LR_CHOICES, usual)


def _on_engine_change() -> None:
    # The NumPy network does SGD/momentum at a constant lr with ReLU and no dropout: switch to
    # settings it can train (momentum 0.9 at lr 0.01, as the classic from-scratch study) instead of an error.
    if st.session_state.get("cfg_engine") == "numpy":
        st.session_state["cfg_optimizer"] = "momentum"
        st.session_state["cfg_lr"] = _nearest(LR_CHOICES, 0.01)
        st.session_state["cfg_schedule"] = "constant"
        st.session_state["cfg_activation"] = "relu"
        st.session_state["cfg_dropout"] = 0.0
        st.session_state["cfg_augment"] = False


def _size_label(subset: int) -> str:
    for label, per_class in TRAINING_SET_SIZES.items():
        if per_class == subset:
            return label
    return "All 60k"


def _pin_lesson_values(lesson: Lesson | None) -> None:
    """Put the lesson's locked and hidden values into their widgets, at every run (students cannot move them)."""
    if lesson is None:
        return
    fixed = lesson.fixed_values()
    arch = fixed.get("arch", st.session_state.get("cfg_arch", DEFAULTS.arch))
    for field, value in fixed.items():
        if field == "hidden" and value is None:
            continue
        target = widget_state(field, value, arch)
        if target is not None:
            st.session_state[target[0]] = target[1]


def _lazy_expander(label: str, key: str):
    """An expander whose content is drawn only while open, and that stays open across pages.

    A page switch forgets an expander's state (it has no persist_state); the last state is kept
    under its own key and given back as `expanded`, which is part of the expander's identity, so a
    reopened page draws it as the student left it."""
    was_open = bool(st.session_state.get(f"{key}_was", False))
    expander = st.expander(label, expanded=was_open, key=key, on_change="rerun")
    st.session_state[f"{key}_was"] = expander.open
    return expander


def _kept_value(field: str):
    """A control's value while its expander is closed: what its widget (or a link or lesson) left in
    session state, else TrainConfig's default."""
    value = st.session_state.get(f"cfg_{field}", _FIELD_DEFAULTS[field])
    return int(value) if field == "seed" else value


def _controls(lesson: Lesson | None = None) -> dict:
    """Draw the controls (in the current container) and return their raw values.

    A lesson hides some controls (they take its values) and locks others (shown, disabled)."""
    _pin_lesson_values(lesson)
    mode = lesson.mode if lesson else (lambda field: "free")
    keep = {"persist_state": "session"}
    values = {}
    if lesson is not None:
        values.update({f: v for f, v in lesson.fixed_values().items() if mode(f) == HIDDEN and v is not None})

    def shown(field):
        return mode(field) != HIDDEN

    def lock(field):
        return {"disabled": True, "help": "Your teacher set this for today's lesson."} if mode(field) == LOCKED else {}

    st.markdown("**Model**")
    arch = values.get("arch", DEFAULTS.arch)
    if shown("arch"):
        arch = st.selectbox("Architecture", list(ARCHITECTURES), index=list(ARCHITECTURES).index(DEFAULTS.arch),
                            format_func=ARCHITECTURES.get, key="cfg_arch", **({"help": HELP["arch"]} | lock("arch")),
                            **keep)
    values["arch"] = arch
    if arch == "mlp" and shown("hidden"):
        values["hidden"] = (st.select_slider("Hidden units", HIDDEN_SIZES, value=DEFAULT_HIDDEN["mlp"][0],
                                             key="cfg_hidden_mlp", **({"help": HELP["hidden_mlp"]} | lock("hidden")),
                                             **keep),)
    elif arch == "deep-mlp" and shown("hidden"):
        text = st.text_input("Hidden layer sizes", value=", ".join(map(str, DEFAULT_HIDDEN["deep-mlp"])),
                             key="cfg_hidden_deep", **({"help": HELP["hidden_deep"]} | lock("hidden")), **keep)
        values["hidden_text"] = text
    if arch in DEFAULT_HIDDEN and shown("activation"):
        values["activation"] = st.selectbox("Activation", list(ACTIVATIONS), format_func=ACTIVATIONS.get,
                                            index=list(ACTIVATIONS).index(DEFAULTS.activation),
                                            key="cfg_activation", **({"help": HELP["activation"]} | lock("activation")),
                                            **keep)
    if arch != "softmax" and shown("dropout"):
        values["dropout"] = st.slider("Dropout", 0.0, DROPOUT_MAX, float(DEFAULTS.dropout), step=0.05,
                                      key="cfg_dropout", **({"help": HELP["dropout"]} | lock("dropout")), **keep)
    if arch == "softmax":
        st.caption(NOT_FOR["softmax_hidden"])
    elif arch in ("cnn", "deep-cnn"):
        st.caption(NOT_FOR["cnn_hidden"])
    if arch in NUMPY_ARCHITECTURES:
        values["engine"] = st.radio("Engine", list(ENGINES), format_func=ENGINES.get, horizontal=True,
                                    index=list(ENGINES).index(DEFAULTS.engine), key="cfg_engine",
                                    help=HELP["engine"], on_change=_on_engine_change, **keep)
        if values["engine"] == "numpy":
            st.caption(NOT_FOR["numpy"])
    else:
        st.caption(NOT_FOR["engine"])

    st.markdown("**Data**")
    if shown("subset"):
        values["subset"] = TRAINING_SET_SIZES[st.select_slider(
            "Training images", list(TRAINING_SET_SIZES), value=_size_label(DEFAULTS.subset), key="cfg_subset",
            **({"help": HELP["subset"]} | lock("subset")), **keep)]
    values["pixels"] = st.radio("Pixels", list(PIXEL_SCALINGS), format_func=PIXEL_SCALINGS.get,
                                index=list(PIXEL_SCALINGS).index(DEFAULTS.pixels), key="cfg_pixels",
                                help=HELP["pixels"], **keep)
    values["augment"] = st.toggle("Augment (slant, bend, re-ink)", value=DEFAULTS.augment, key="cfg_augment",
                                  help=HELP["augment"], **keep)

    st.markdown("**Optimisation**")
    if shown("optimizer"):
        values["optimizer"] = st.selectbox("Optimizer", list(OPTIMIZERS), format_func=lambda o: OPTIMIZERS[o][0],
                                           index=list(OPTIMIZERS).index(DEFAULTS.optimizer), key="cfg_optimizer",
                                           on_change=_on_optimizer_change,
                                           **({"help": HELP["optimizer"]} | lock("optimizer")), **keep)
    if shown("lr"):
        values["lr"] = st.select_slider("Learning rate", LR_CHOICES, value=_nearest(LR_CHOICES, DEFAULTS.lr),
                                        format_func=_fmt_lr, key="cfg_lr", **({"help": HELP["lr"]} | lock("lr")),
                                        **keep)
    uses_momentum = values.get("optimizer", DEFAULTS.optimizer) == "momentum"
    if shown("momentum"):
        values["momentum"] = st.slider("Momentum", 0.0, 0.99, float(DEFAULTS.momentum), step=0.01,
                                       key="cfg_momentum", **({"help": HELP["momentum"], "disabled": not uses_momentum}
                                                              | lock("momentum")), **keep)
        if not uses_momentum:
            st.caption(NOT_FOR["momentum"])
    if shown("schedule"):
        values["schedule"] = st.radio("Learning-rate schedule", list(SCHEDULES), format_func=SCHEDULES.get,
                                      index=list(SCHEDULES).index(DEFAULTS.schedule), key="cfg_schedule",
                                      **({"help": HELP["schedule"]} | lock("schedule")), **keep)
    if shown("batch_size"):
        values["batch_size"] = st.select_slider("Batch size", BATCH_SIZES, value=DEFAULTS.batch_size,
                                                key="cfg_batch_size", **({"help": HELP["batch_size"]} | lock("batch_size")),
                                                **keep)
    if shown("epochs"):
        values["epochs"] = st.slider("Epochs", EPOCHS_RANGE[0], EPOCHS_UI_MAX, DEFAULTS.epochs, key="cfg_epochs",
                                     **({"help": HELP["epochs"]} | lock("epochs")), **keep)

    # Drawn only while open (a lazy expander): most students never open these, and 30 students'
    # sidebars redraw on every page. Closed, their values come from session state, where the
    # widgets keep them (persist_state) and where shared links and lessons put them.
    too_short = values.get("epochs", DEFAULTS.epochs) < 2
    with _lazy_expander("Regularisation and seed", MORE_OPEN_KEY) as more:
        if more.open:
            if shown("l2"):
                values["l2"] = st.select_slider("L2 (weight decay)", L2_CHOICES, value=DEFAULTS.l2,
                                                format_func=_fmt_small, key="cfg_l2",
                                                **({"help": HELP["l2"]} | lock("l2")), **keep)
            if shown("l1"):
                values["l1"] = st.select_slider("L1", L1_CHOICES, value=DEFAULTS.l1, format_func=_fmt_small,
                                                key="cfg_l1", **({"help": HELP["l1"]} | lock("l1")), **keep)
            if shown("early_stopping"):
                values["early_stopping"] = st.slider("Early stopping patience (epochs)", 0, PATIENCE_MAX,
                                                     DEFAULTS.early_stopping, key="cfg_early_stopping",
                                                     **({"help": HELP["early_stopping"], "disabled": too_short}
                                                        | lock("early_stopping")), **keep)
            if too_short:
                st.caption(NOT_FOR["early_stopping"])
            if shown("seed"):
                values["seed"] = int(st.number_input("Seed", 0, SEED_MAX, DEFAULTS.seed, step=1, key="cfg_seed",
                                                     **({"help": HELP["seed"]} | lock("seed")), **keep))
        else:
            values.update({field: _kept_value(field) for field in ("l2", "l1", "early_stopping", "seed")
                           if shown(field)})
    if too_short:
        values["early_stopping"] = 0
    with _lazy_expander("Hardware", HARDWARE_OPEN_KEY) as hardware:
        if hardware.open:
            values["device"] = st.selectbox("Device", list(DEVICES), index=list(DEVICES).index(DEFAULTS.device),
                                            format_func=DEVICES.get, key="cfg_device", **keep,
                                            help="Where the network trains. Automatic uses a CUDA GPU when this "
                                                 "server has one, and the CPU otherwise.")
        else:
            values["device"] = _kept_value("device")
    return values


def config_from_values(values: dict) -> TrainConfig:
    """The TrainConfig for the raw widget values; ConfigError (a plain sentence) if they do not fit.

    Fields without a control (val_fraction, max_steps) keep their TrainConfig defaults.
    """
    values = dict(values)
    if "hidden_text" in values:
        values["hidden"] = parse_hidden(values.pop("hidden_text"))
    config = TrainConfig(**{k: v for k, v in values.items() if k in _FIELD_DEFAULTS})
    if config.subset:
        config.check_batch_size(10 * config.subset)  # said here rather than as a failed run
    resolve_device(config.device)  # "GPU" on a server without one: said here, in one sentence
    return config


def read_config(lesson: Lesson | None = None) -> TrainConfig | None:
    """Draw the controls and return the TrainConfig they describe (None, with the reason shown, if invalid)."""
    values = _controls(lesson)
    try:
        config = config_from_values(values)
    except ConfigError as error:
        st.error(plain(str(error)))  # it may quote what the user typed
        st.session_state[CONFIG_KEY] = None
        return None
    st.session_state[CONFIG_KEY] = config
    return config


def reset_settings() -> None:
    """Forget every control's value, so the next run draws them with TrainConfig's defaults."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith("cfg_")]:
        del st.session_state[key]


def current_config() -> TrainConfig | None:
    """The config the sidebar built in this script run (None if the controls hold an invalid value)."""
    return st.session_state.get(CONFIG_KEY)


def start_training(config: TrainConfig, name: str = "", step_mode: bool = False, extra: dict | None = None) -> bool:
    """Submit a training job for this user (a Step-mode session if `step_mode`); False, with the
    reason shown (st.error), if it cannot start. `extra` (a guess) is saved with the run."""
    from .session import get_data  # the dataset is loaded (once, for everyone) on the first Train

    student = signed_in()
    if student is not None:  # the run says whose it is, as `train --student` does
        extra = {"student": student.name, "class": student.class_code, **(extra or {})}
    jobs = get_jobs()
    try:
        if step_mode:
            jobs.submit_stepping(config, get_data(), owner=current_owner(), name=name.strip() or None)
        else:
            job = jobs.submit_training(config, get_data(), owner=current_owner(), name=name.strip() or None,
                                       extra=extra)
            if alone_on_the_server(jobs.stats()):
                wait_for_first_point(job)  # the page the student goes to shows the first point at once
    except DataError as error:
        st.session_state[DATA_ERROR_KEY] = str(error)
        explain_missing_data(str(error), key="train")
        return False
    except (JobError, ConfigError, RunStoreError) as error:
        st.error(plain(str(error)))  # the message may quote a run name the user typed
        return False
    except Exception as error:  # noqa: BLE001  a message, not a traceback
        st.error(plain(f"Training could not start: {error}"))
        return False
    return True


def render_sidebar(on_train_page: bool = False) -> TrainConfig | None:
    """The shared sidebar: Train / Stop, this user's job status, then the controls.

    On the Train page the live view is in the page itself, so the sidebar's
    status stays short there (and does not poll a second time).
    """
    sidebar = st.sidebar
    apply_link_settings()  # once per session: a shared link's settings, before the widgets are drawn
    lesson = lesson_book().current(current_class_code())
    with sidebar:
        render_sign_in()
        show_link_notes()
        if use_stand_in():
            stand_in_badge()
        guess_box = st.container()
        actions = st.container()
        status = st.container()
        st.text_input("Run name", key=RUN_NAME_KEY, max_chars=60, placeholder="optional",
                      help=HELP["run_name"], persist_state="session")
        if lesson is not None:
            st.caption(plain(f"Today's lesson: {lesson.name}. Controls your teacher set are locked or hidden."))
        config = read_config(lesson)
        with st.container(horizontal=True):
            st.button("Reset settings", key="reset_settings", icon=":material/restart_alt:", type="tertiary",
                      on_click=reset_settings, help="Put every control back to its default.")
            copy_link_button(config)
        projector_toggle()
        follow_lesson(lesson)
    guess_ready, guess = True, None
    if lesson is not None and lesson.guesses:
        with guess_box:
            guess_ready, guess = guess_inputs()
    set_pending(guess_ready, guess)
    jobs = get_jobs()
    job = jobs.active_job(current_owner(), kind=TRAIN)
    buttons = actions.container()  # the buttons first; a refusal to start is said under them
    # A Train press is handled before its button is drawn (its value is in session state already),
    # so this same run draws Train disabled and, on the Train page, the live view: one script run
    # per press instead of two (an st.rerun), which 30 students pressing at once feel.
    if st.session_state.get("sidebar_train") and config is not None and job is None and guess_ready:
        with actions:
            started = start_training(config, st.session_state.get(RUN_NAME_KEY) or "", extra=guess)
        if started:
            forget_guess()
            if not on_train_page:  # the student pressed Train to watch it learn: go to the Train page
                st.switch_page(TRAIN_PAGE, query_params=user_params())
            job = jobs.active_job(current_owner(), kind=TRAIN)
    with buttons:
        train_col, stop_col = st.columns(2)
        train_col.button("Train", type="primary", icon=":material/play_arrow:", key="sidebar_train",
                         disabled=config is None or job is not None or not guess_ready, width="stretch",
                         help="Start training with the settings below." if job is None else
                         "A run is already training: stop it or wait for it to finish.")
        stop = stop_col.button("Stop", icon=":material/stop:", key="sidebar_stop", disabled=job is None,
                               width="stretch", help="End the run after the current batch; "
                               "what it learned so far is kept.")
    if stop and job is not None:
        job.stop()
    with status:
        sidebar_status(live=not on_train_page)
    return config


LESSON_SEEN_KEY = "lesson_seen"  # session_state: the lesson (as JSON) this session's sidebar follows
LESSON_POLL = 3.0  # seconds: every student's sidebar follows a new lesson within this


def follow_lesson(lesson: Lesson | None) -> None:
    """Redraw the whole app when the teacher changes the class's lesson (polled, cheaply, by a fragment)."""
    st.session_state[LESSON_SEEN_KEY] = lesson.to_json() if lesson else ""
    _lesson_watch()


@st.fragment(run_every=LESSON_POLL)
def _lesson_watch() -> None:
    now = lesson_book().current(current_class_code())
    if (now.to_json() if now else "") != st.session_state.get(LESSON_SEEN_KEY, ""):
        st.rerun(scope="app")
