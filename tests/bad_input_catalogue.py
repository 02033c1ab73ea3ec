"""The bad-input catalogue (issue 7, item 1): what a class may type, click or leave on disk,
and the exact sentence MNIST Lab answers with.

Each case names where it is tried (the command line, a page of the app, or the engine),
the input in words, and the message the user must see. tests/test_bad_input.py drives every
case through the real surface (`python -m mnist_core` in a subprocess, app.py in AppTest,
or mnist_core called directly), checks that the message appears and that no traceback does.

Braces in a message are filled in by the test with the case's own paths and ids:
{data_dir} and {raw} (a damaged copy of MNIST and its MNIST/raw folder), {runs} (the run
store), {run_id} (the damaged run's id), {path} (a path given on the command line),
{label} (the running job's label). A message with `pattern=True` is a regular expression,
for numbers that vary (the step at which a loss became NaN).
"""
from __future__ import annotations

from dataclasses import dataclass

# The lines of the list; every one must have at least one case.
BULLETS = {
    "lr": "lr 0, negative, and huge enough to give NaN",
    "batch": "batch size larger than the training set",
    "epochs": "0 epochs",
    "dropout": "dropout 1",
    "hidden-zero": "a hidden size of 0",
    "hidden-empty": "an empty hidden-layer list for the deep MLP",
    "canvas": "a blank canvas",
    "mnist-file": "a corrupt, truncated or missing MNIST file",
    "run-folder": "an unreadable or hostile run folder (bad JSON, weights of the wrong shape, a path with ..)",
    "run-name": "a run name with slashes or markup",
    "twice": "Stop pressed twice, Train pressed twice",
    "reload": "reload mid-run",
    "delete-training": "deleting a run that is training",
    "save": "disk full or a read-only runs folder when saving",
    "crash": "a worker that crashes mid-run (item 3)",
    "upload": "an uploaded run (issue 15): not a zip, zip bomb, ../ entries, a pickle in the weights, wrong shapes, "
              "unknown architecture, oversized",
    "engine": "a setting the NumPy engine cannot train (issue 11): a CNN, Adam",
    # Issue 12: the class at once.
    "names": "a taken name, a wrong PIN, five wrong PINs, a PIN that is not 4 digits, an invisible name",
    "ownership": "renaming or deleting someone else's run",
    "caps": "a model, a queue or a disk over the class's caps",
    "teacher": "the teacher console with no teacher PIN set, or a wrong teacher PIN",
    "link": "a bad or hostile value in a shared link",
    "invisible-name": "a run name of only zero-width characters, a blank --name",
    "seed": "a seed outside 0 to 2^32-1",
    "bomb": "a picture whose header claims 20000x20000 pixels, and an oversized canvas image",
    "experiment-folder": "experiment with an output folder that cannot be written",
    "guess": "a guess that is not a fraction from 0 to 1",
}

HOSTILE_NAME = "../../etc/<script>alert(1)</script> **bold**"
RUNS_NOT_WRITABLE = ("Could not save the run in {runs}: {why}. Check that the folder is writable and the disk "
                     "is not full (the folder is set by MNIST_LAB_RUNS).")
NOT_SAVED = " The trained model is kept in this session until the server restarts, but it is not in the run history."
HOW_TO_GET_MNIST = ("Put the four MNIST files in {raw}, or set the environment variable MNIST_DATA_DIR to a folder "
                    "that has them (for example MNIST_DATA_DIR=../shared/mnist), or run once on a machine with "
                    "internet so that MNIST can be downloaded.")
DAMAGED_WEIGHTS = ("The weights file of run {run_id} is damaged or holds more than plain weights "
                   "(it may have been tampered with), so it was not loaded.")
WRONG_SHAPE = ("The weights of run {run_id} do not fit its architecture or are damaged "
               "(Error(s) in loading state_dict for SoftmaxRegression:).")
NOTHING_DRAWN = "Nothing drawn yet: draw a digit with the mouse or a finger."
DIVERGED = (r"Diverged: loss (became NaN|became infinite|exploded to \S+) at step \d+: "
            r"the learning rate 10 is too large for SGD — try 0\.1\.")

# An uploaded run (tests/hostile_zips.py builds each file) -> the exact sentence it gets.
UPLOAD_REFUSED = {
    "not-a-zip": "This file is not a .zip archive: upload a .zip made by MNIST Lab's Download button.",
    "zip-bomb": "The zip would unpack to far more than a run holds (it looks like a zip bomb), so it was not opened.",
    "dotdot": "The zip holds a path outside its folder ('../../evil.txt'), so it was not opened.",
    "absolute": "The zip holds a path outside its folder ('/etc/cron.d/evil'), so it was not opened.",
    "pickle": "The weights.pt in the zip holds more than plain tensors (it could run code when loaded), "
              "so it was not loaded.",
    "wrong-shapes": "The weights in the zip do not fit the Shallow MLP its config.json describes: layers.0.weight "
                    "is 16×784 where the model has 32×784.",
    "unknown-architecture": "The settings in the zip's config.json are not valid: Unknown architecture 'resnet': "
                            "choose one of softmax, mlp, deep-mlp, cnn, deep-cnn.",
    "oversized": "The file is 51.0 MB, more than the 50 MB an uploaded run may have.",
    "too-many-entries": "The zip holds 500 entries, more than the 16 a run has, so it was not opened.",
    "no-config": "The zip has no config.json, so it is not a run made by MNIST Lab's Download button.",
    "bad-json": "The config.json in the zip is not valid JSON.",
}
UPLOAD_GIVEN = {
    "not-a-zip": "a PNG picture renamed .zip",
    "zip-bomb": "a run whose history.json is 20 MB of zeros packed into 20 kB",
    "dotdot": "a run zip with an extra entry ../../evil.txt",
    "absolute": "a run zip with an extra entry /etc/cron.d/evil",
    "pickle": "a run zip whose weights.pt holds an object that creates a file when unpickled",
    "wrong-shapes": "an MLP 32 run zip holding an MLP 16's weights",
    "unknown-architecture": "a run zip whose config.json says arch resnet",
    "oversized": "a run zip padded to 51 MB",
    "too-many-entries": "a zip of 500 empty files",
    "no-config": "a run zip without config.json",
    "bad-json": "a run zip whose config.json is not JSON",
}


@dataclass(frozen=True)
class Case:
    id: str
    bullet: str  # a key of BULLETS
    where: str  # "cli", "page" or "engine"
    given: str  # the bad input, in words
    message: str  # the exact sentence the user sees
    scenario: str  # how tests/test_bad_input.py builds and drives the case
    args: tuple = ()  # what the scenario needs (the CLI's arguments, widget values, ...)
    exit_code: int = 2  # cli: the exit status
    pattern: bool = False  # the message is a regular expression
    needs_mnist: bool = False  # reads real MNIST: the case is marked integration


CASES = [
    # --- the learning rate -------------------------------------------------------------------
    Case("cli-lr-zero", "lr", "cli", "train --lr 0",
         "The learning rate must be greater than 0 (got 0): with a step of zero or less the network never "
         "moves downhill.", "cli", ("train", "--lr", "0")),
    Case("cli-lr-negative", "lr", "cli", "train --lr -0.5",
         "The learning rate must be greater than 0 (got -0.5): with a step of zero or less the network never "
         "moves downhill.", "cli", ("train", "--lr", "-0.5")),
    Case("cli-lr-nan", "lr", "cli", "train --lr nan", "The learning rate must be a number, not nan.",
         "cli", ("train", "--lr", "nan")),
    Case("cli-lr-above-maximum", "lr", "cli", "train --lr 1e9",
         "The learning rate 1e+09 is above the maximum of 100.", "cli", ("train", "--lr", "1e9")),
    Case("page-lr-diverges", "lr", "page", "deep MLP, plain SGD, constant learning rate 10, then Train",
         DIVERGED, "page_diverge", pattern=True, needs_mnist=True),
    Case("engine-lr-diverges", "lr", "engine", "fit() with plain SGD at a constant learning rate of 10",
         r"loss (became NaN|became infinite|exploded to \S+) at step \d+: the learning rate 10 is too large "
         r"for SGD — try 0\.1\.", "engine_diverge", pattern=True),
    Case("engine-lr-infinite", "lr", "engine", "TrainConfig(lr=inf)",
         "The learning rate must be a number, not inf.", "engine_config", (("lr", float("inf")),)),

    # --- batch size, epochs, dropout, hidden sizes ------------------------------------------------
    Case("page-batch-larger-than-training-set", "batch", "page", "Training images 200, batch size 256",
         "The batch size 256 is larger than the training set (200 images): choose at most 200.",
         "page_sidebar", (("select_slider", "cfg_subset", "200"), ("select_slider", "cfg_batch_size", 256)),
         needs_mnist=True),
    Case("cli-batch-larger-than-training-set", "batch", "cli", "train --subset 2 --batch-size 64",
         "The batch size 64 is larger than the training set (20 images): choose at most 20.", "cli",
         ("train", "--subset", "2", "--batch-size", "64", "--out", "{tmp}/runs"), needs_mnist=True),
    Case("cli-zero-epochs", "epochs", "cli", "train --epochs 0",
         "Train for at least 1 epoch (got 0): with 0 epochs the network never sees an image.", "cli",
         ("train", "--epochs", "0")),
    Case("cli-dropout-one", "dropout", "cli", "train --dropout 1",
         "Dropout must be at least 0 and below 1 (got 1): dropout 1 would switch off every hidden unit, so "
         "nothing could be learned.", "cli", ("train", "--dropout", "1")),
    Case("page-hidden-size-zero", "hidden-zero", "page", "deep MLP with hidden layer sizes “0, 64”",
         "A hidden layer needs between 1 and 8192 units (got 0).", "page_sidebar",
         (("selectbox", "cfg_arch", "deep-mlp"), ("text_input", "cfg_hidden_deep", "0, 64")), needs_mnist=True),
    Case("cli-hidden-size-zero", "hidden-zero", "cli", "train --arch mlp --hidden 0",
         "A hidden layer needs between 1 and 8192 units (got 0).", "cli", ("train", "--arch", "mlp", "--hidden", "0")),
    Case("page-deep-mlp-no-hidden-layers", "hidden-empty", "page", "deep MLP with the hidden layer sizes left empty",
         "A deep MLP needs at least two hidden layers (got 0): give two or more sizes, such as 512 256.",
         "page_sidebar", (("selectbox", "cfg_arch", "deep-mlp"), ("text_input", "cfg_hidden_deep", "")),
         needs_mnist=True),
    Case("page-deep-mlp-sizes-with-markup", "hidden-empty", "page",
         "deep MLP with hidden layer sizes “512, **lots**”",
         "Hidden sizes must be whole numbers separated by commas, such as 512, 256 (got '512, **lots**').",
         "page_sidebar", (("selectbox", "cfg_arch", "deep-mlp"), ("text_input", "cfg_hidden_deep", "512, **lots**")),
         needs_mnist=True),
    Case("cli-deep-mlp-no-hidden-layers", "hidden-empty", "cli", "train --arch deep-mlp --hidden (no sizes)",
         "A deep MLP needs at least two hidden layers (got 0): give two or more sizes, such as 512 256.", "cli",
         ("train", "--arch", "deep-mlp", "--hidden")),
    Case("cli-numpy-engine-cnn", "engine", "cli", "train --engine numpy --arch cnn",
         "The NumPy engine trains softmax regression and MLPs, not CNN: choose the PyTorch engine for it.", "cli",
         ("train", "--engine", "numpy", "--arch", "cnn")),
    Case("cli-numpy-engine-adam", "engine", "cli", "train --engine numpy (with the default Adam)",
         "The NumPy engine does plain SGD or SGD with momentum at a constant learning rate: choose optimizer "
         "sgd or momentum and schedule constant.", "cli", ("train", "--engine", "numpy")),

    # --- the canvas ----------------------------------------------------------------------------------
    Case("page-blank-canvas", "canvas", "page", "Draw page: the canvas sends an all-black (reset) picture",
         NOTHING_DRAWN, "page_blank_canvas", needs_mnist=True),
    Case("cli-predict-blank-picture", "canvas", "cli", "predict RUN blank.png (an all-black picture)",
         NOTHING_DRAWN, "cli_predict_blank", exit_code=1),

    # --- MNIST files ---------------------------------------------------------------------------------
    Case("cli-mnist-truncated", "mnist-file", "cli", "train with train-labels-idx1-ubyte cut to 100 bytes",
         "The MNIST file {raw}/train-labels-idx1-ubyte is 100 bytes instead of 60,008: it is truncated or "
         "corrupt. Delete it and download MNIST again.", "cli_mnist", ("truncate", "train-labels-idx1-ubyte"),
         needs_mnist=True),
    Case("cli-mnist-corrupt-header", "mnist-file", "cli", "train with t10k-labels-idx1-ubyte's header overwritten",
         "The MNIST file {raw}/t10k-labels-idx1-ubyte has a damaged header: it is corrupt. Delete it and "
         "download MNIST again.", "cli_mnist", ("header", "t10k-labels-idx1-ubyte"), needs_mnist=True),
    Case("cli-mnist-missing-offline", "mnist-file", "cli", "train with t10k-labels-idx1-ubyte missing and no internet",
         "MNIST is not in {data_dir} and could not be downloaded (no internet? URLError). " + HOW_TO_GET_MNIST,
         "cli_mnist", ("missing", "t10k-labels-idx1-ubyte"), needs_mnist=True),
    Case("page-mnist-truncated", "mnist-file", "page", "Home page with train-images-idx3-ubyte cut short",
         "MNIST is not available. The MNIST file {raw}/train-images-idx3-ubyte is 1,000 bytes instead of "
         "47,040,016: it is truncated or corrupt. Delete it and download MNIST again.",
         "page_mnist", ("truncate", "train-images-idx3-ubyte"), needs_mnist=True),
    Case("page-mnist-corrupt-header", "mnist-file", "page",
         "Home page with t10k-images-idx3-ubyte's header overwritten",
         "MNIST is not available. The MNIST file {raw}/t10k-images-idx3-ubyte has a damaged header: it is "
         "corrupt. Delete it and download MNIST again.", "page_mnist", ("header", "t10k-images-idx3-ubyte"),
         needs_mnist=True),

    # --- run folders ---------------------------------------------------------------------------------
    Case("cli-run-bad-json", "run-folder", "cli", "evaluate a run whose meta.json is not JSON",
         "The file meta.json of run {run_id} is damaged (not valid JSON).", "cli_run", ("bad-json",)),
    Case("cli-run-wrong-shape", "run-folder", "cli", "evaluate a softmax run holding an MLP's weights",
         WRONG_SHAPE, "cli_run", ("wrong-shape",)),
    Case("cli-run-pickle-bomb", "run-folder", "cli", "evaluate a run whose weights.pt would run code when unpickled",
         DAMAGED_WEIGHTS, "cli_run", ("pickle",)),
    Case("cli-run-path-with-dotdot", "run-folder", "cli", "evaluate RUNS/RUN/../.. (a path with ..)",
         "{path} is not a run folder: a run folder is named like 20261122-193000-mlp-3f9a1c and holds "
         "meta.json, config.json and weights.pt.", "cli_run", ("dotdot",)),
    Case("engine-run-id-with-dotdot", "run-folder", "engine", "RunStore.get / load / delete of '../../etc'",
         "'../../etc' is not a valid run id.", "engine_run_id", ("../../etc",)),
    Case("page-history-skips-bad-json", "run-folder", "page",
         "Run history with a bad-JSON run, a wrong-shape run and a pickle bomb beside a good run",
         "Skipped a damaged run folder: The file meta.json of run {run_id} is damaged (not valid JSON).",
         "page_hostile_runs", ("pages/runs.py", "bad-json"), needs_mnist=True),
    Case("page-history-skips-bad-metrics", "run-folder", "page",
         "Run history with a run whose metrics.json says test_accuracy is “lots”",
         "Skipped a damaged run folder: The metrics.json of run {run_id} is damaged (test_accuracy is not a number).",
         "page_hostile_runs", ("pages/runs.py", "bad-metrics"), needs_mnist=True),
    Case("page-history-skips-bad-date", "run-folder", "page", "Run history with a run dated 1e30 seconds after 1970",
         "Skipped a damaged run folder: The meta.json of run {run_id} is damaged (its date is not a valid time).",
         "page_hostile_runs", ("pages/runs.py", "bad-date"), needs_mnist=True),
    Case("page-history-bad-event-types", "run-folder", "page",
         "Run history, one run chosen whose history.json holds text where the charts need numbers",
         "This run cannot be opened: The history of run {run_id} is damaged.", "page_hostile_runs",
         ("pages/runs.py", "bad-events"), needs_mnist=True),
    Case("page-draw-wrong-shape", "run-folder", "page", "Draw page with the wrong-shape run chosen",
         "This run cannot be opened: " + WRONG_SHAPE, "page_hostile_runs", ("pages/draw.py", "wrong-shape"),
         needs_mnist=True),
    Case("page-draw-pickle-bomb", "run-folder", "page", "Draw page with the pickle-bomb run chosen",
         "This run cannot be opened: " + DAMAGED_WEIGHTS, "page_hostile_runs", ("pages/draw.py", "pickle"),
         needs_mnist=True),
    Case("page-mistakes-bad-history", "run-folder", "page", "Mistakes page with a run whose history.json is not JSON",
         "This run cannot be opened: The file history.json of run {run_id} is damaged (not valid JSON).",
         "page_hostile_runs", ("pages/mistakes.py", "bad-history"), needs_mnist=True),

    # --- run names -------------------------------------------------------------------------------------
    Case("page-run-name-with-slashes-and-markup", "run-name", "page", f"Run name “{HOSTILE_NAME}”, then Train",
         HOSTILE_NAME, "page_run_name", needs_mnist=True),
    Case("cli-run-name-with-slashes-and-markup", "run-name", "cli", f"train --name '{HOSTILE_NAME}'",
         HOSTILE_NAME, "cli_run_name", exit_code=0, needs_mnist=True),

    # --- clicks and sessions ----------------------------------------------------------------------------
    Case("page-train-pressed-twice", "twice", "page",
         "Train pressed again in a second tab (or a double click) while the first run trains",
         "Training: watch it on this page.", "page_train_twice", ("second-tab",), needs_mnist=True),
    Case("page-train-pressed-twice-at-once", "twice", "page",
         "Train pressed in two tabs at the same moment (both still showed Train enabled)",
         "“{label}” is still running: stop it or wait for it before starting another.", "page_train_twice",
         ("race",), needs_mnist=True),
    Case("page-stop-pressed-twice", "twice", "page", "Stop pressed in two tabs (a double click) on one run",
         r"Stopped by the user at step \d+ \(epoch 1\)\.", "page_stop_twice", pattern=True, needs_mnist=True),
    Case("page-reload-mid-run", "reload", "page", "the page reloaded (a new session, same ?user=) mid-run",
         "Training: watch it on this page.", "page_reload", needs_mnist=True),
    Case("page-delete-while-training", "delete-training", "page", "Run history opened while a run trains",
         "It joins the run history when it ends.", "page_delete_training", needs_mnist=True),

    # --- saving ------------------------------------------------------------------------------------------
    Case("page-disk-full", "save", "page", "Train while the disk is full (ENOSPC when saving)",
         RUNS_NOT_WRITABLE.format(runs="{runs}", why="No space left on device") + NOT_SAVED, "page_save_error",
         ("disk-full",), needs_mnist=True),
    Case("page-runs-folder-read-only", "save", "page", "Train with a read-only runs folder",
         RUNS_NOT_WRITABLE.format(runs="{runs}", why="Permission denied") + NOT_SAVED, "page_save_error",
         ("read-only",), needs_mnist=True),
    Case("cli-runs-folder-not-writable", "save", "cli", "train --out FILE/runs (a folder that cannot be made)",
         RUNS_NOT_WRITABLE.format(runs="{path}", why="Not a directory"), "cli_runs_not_writable", needs_mnist=True),

    # --- faults ------------------------------------------------------------------------------------------
    Case("page-worker-crashes", "crash", "page", "an exception injected into the training worker at its first report",
         "The training crashed: RuntimeError: injected fault", "page_crash", needs_mnist=True),

    # --- uploaded runs (issue 15) -------------------------------------------------------------------
    *[Case(f"cli-import-{kind}", "upload", "cli", f"import FILE.zip, FILE being {UPLOAD_GIVEN[kind]}",
           UPLOAD_REFUSED[kind], "cli_upload", (kind,))
      for kind in ("not-a-zip", "zip-bomb", "dotdot", "pickle", "wrong-shapes", "unknown-architecture", "oversized")],
    *[Case(f"page-upload-{kind}", "upload", "page", f"Run history: upload {UPLOAD_GIVEN[kind]}",
           UPLOAD_REFUSED[kind], "page_upload", (kind,), needs_mnist=True)
      for kind in ("not-a-zip", "zip-bomb", "pickle", "wrong-shapes")],
    *[Case(f"engine-upload-{kind}", "upload", "engine", f"import_run_zip of {UPLOAD_GIVEN[kind]}", message,
           "engine_upload", (kind,)) for kind, message in UPLOAD_REFUSED.items()],
    # --- issue 12: names and PINs ------------------------------------------------------------------------
    Case("engine-name-taken", "names", "engine", "join the class as “ada” when “Ada” has joined",
         "The name “Ada” is taken in this class: choose another one, or sign in if it is yours.",
         "engine_classroom", ("taken",)),
    Case("engine-wrong-pin", "names", "engine", "sign in as Ada with a wrong PIN",
         "That PIN is not right for this name. 4 more tries before a one-minute wait.", "engine_classroom",
         ("wrong-pin",)),
    Case("engine-five-wrong-pins", "names", "engine", "five wrong PINs in a row on one name",
         "That PIN is not right for this name. That was 5 wrong tries: wait 60 s, then try again.",
         "engine_classroom", ("five-wrong",)),
    Case("engine-pin-not-four-digits", "names", "engine", "join with the PIN “12a”",
         "A PIN is exactly 4 digits, such as 2580.", "engine_classroom", ("bad-pin",)),
    Case("page-name-invisible", "names", "page", "join with a name of zero-width spaces",
         "Type a name (a first name or a nickname).", "page_sign_in", ("\u200b\u200b", "1234", "sign_in_join")),
    Case("page-wrong-pin", "names", "page", "sign in again as Ada with a wrong PIN",
         "That PIN is not right for this name. 4 more tries before a one-minute wait.", "page_sign_in",
         ("Ada", "9999", "sign_in_again")),
    Case("page-name-taken", "names", "page", "join as “ADA” when Ada has joined",
         "The name “Ada” is taken in this class: choose another one, or sign in if it is yours.", "page_sign_in",
         ("ADA", "1111", "sign_in_join")),

    # --- issue 12: ownership in the engine ---------------------------------------------------------------
    Case("engine-rename-someone-elses-run", "ownership", "engine", "RunStore.rename of another student's run",
         "You cannot rename “theirs”: it belongs to someone else. Only its owner or the teacher can.",
         "engine_ownership", ("rename",)),
    Case("engine-delete-someone-elses-run", "ownership", "engine", "RunStore.delete of another student's run",
         "You cannot delete the run {run_id}: it belongs to someone else. Only its owner or the teacher can.",
         "engine_ownership", ("delete",)),

    # --- issue 12: caps ------------------------------------------------------------------------------------
    Case("engine-model-over-the-cap", "caps", "engine", "a deep MLP 2048-2048 (5.8 M parameters) submitted",
         "This model has 5.8 M parameters, more than the class's limit of 5 M: choose fewer or smaller hidden "
         "layers.", "engine_caps", ("model",)),
    Case("engine-queue-full", "caps", "engine", "a run submitted while 60 wait for the one slot",
         "The server's queue is full: 60 runs are waiting for 1 training slot, the most it takes at once. Try "
         "again in a minute, when some have finished.", "engine_caps", ("queue",)),
    Case("engine-quota-full", "caps", "engine", "a run saved by a student whose quota is 1 MB",
         "Your runs take 0 MB of your 1 MB, and this one needs about 2 MB more: delete some runs in Run history "
         "first.", "engine_caps", ("quota",)),
    Case("engine-disk-nearly-full", "caps", "engine", "a run saved with 0.5 GB free on the disk",
         "The server's disk is nearly full (0.50 GB free; at least 1 GB must stay free), so this run cannot be "
         "saved. Ask your teacher to delete old runs.", "engine_caps", ("disk",)),

    # --- issue 12: the teacher console ---------------------------------------------------------------------
    Case("page-teacher-pin-not-set", "teacher", "page", "the Teacher console on a server without MNIST_LAB_TEACHER_PIN",
         "The console is off on this server: it has no teacher PIN.", "page_teacher", ("unset",)),
    Case("page-teacher-wrong-pin", "teacher", "page", "a wrong teacher PIN",
         "That is not the teacher PIN. 4 more tries before a one-minute wait.", "page_teacher", ("wrong",)),

    # --- issue 12: shared links ------------------------------------------------------------------------------
    Case("page-link-not-a-number", "link", "page", "a link with lr=abc",
         "Ignored lr=abc from the link: it is not a number.", "page_link", (("lr", "abc"),)),
    Case("page-link-script", "link", "page", "a link with arch=<script>alert(1)</script>",
         "Ignored arch=<script>alert(1)</sc… from the link: unknown architecture '<script>alert(1)</script>': "
         "choose one of softmax, mlp, deep-mlp, cnn, deep-cnn.", "page_link", (("arch", "<script>alert(1)</script>"),)),
    Case("page-link-huge-seed", "link", "page", "a link with seed=18446744073709551614",
         "Ignored seed=18446744073709551614 from the link: the seed must be a whole number from 0 to 4294967295 "
         "(got 18446744073709551614).", "page_link", (("seed", "18446744073709551614"),)),

    # --- issue 12, item 9: defects closed --------------------------------------------------------------------
    Case("cli-run-name-zero-width", "invisible-name", "cli", "train --name of U+200B U+FEFF",
         "A run name cannot be only invisible characters (such as zero-width spaces): type a name, or leave it "
         "empty for the default.", "cli", ("train", "--name", "\u200b\ufeff")),
    Case("cli-run-name-blank", "invisible-name", "cli", "train --name ''", "A run name cannot be empty.", "cli",
         ("train", "--name", "")),
    Case("page-run-name-zero-width", "invisible-name", "page", "Run name of zero-width spaces, then Train",
         "A run name cannot be only invisible characters (such as zero-width spaces): type a name, or leave it "
         "empty for the default.", "page_run_name_invisible", needs_mnist=True),
    Case("cli-seed-too-large", "seed", "cli", "train --seed 18446744073709551614",
         "The seed must be a whole number from 0 to 4294967295 (got 18446744073709551614).", "cli",
         ("train", "--seed", "18446744073709551614")),
    Case("cli-seed-negative", "seed", "cli", "train --seed -1",
         "The seed must be a whole number from 0 to 4294967295 (got -1).", "cli", ("train", "--seed", "-1")),
    Case("cli-predict-decompression-bomb", "bomb", "cli", "predict on a PNG whose header claims 20000x20000",
         "The file bomb.png is too large (over 25,000,000 pixels): scale it down first.",
         "cli_predict_bomb", exit_code=1),
    Case("engine-canvas-too-large", "bomb", "engine", "a 6000x6000 RGBA canvas image",
         "The picture is too large (6000x6000 pixels, over 25,000,000): scale it down first.",
         "engine_canvas_size"),
    Case("cli-experiment-folder-not-writable", "experiment-folder", "cli", "experiment --out FILE/runs",
         RUNS_NOT_WRITABLE.format(runs="{path}", why="Not a directory"), "cli_experiment_not_writable",
         needs_mnist=True),
    Case("cli-guess-not-a-fraction", "guess", "cli", "train --student Ada --guess 90",
         "--guess: A guess is a fraction from 0 to 1, such as 0.9 for 90% (got 90.0).", "cli",
         ("train", "--student", "Ada", "--guess", "90", "--out", "{tmp}/runs"), needs_mnist=True),
]
