"""The command line's `export` and `import`: take a run home, bring a run back.

    python -m mnist_core export RUN_DIR --out FILE.zip          # the run folder, without its owner
    python -m mnist_core export RUN_DIR --script FILE.py        # plain PyTorch that trains it again
    python -m mnist_core export RUN_DIR --notebook FILE.ipynb   # the same as a notebook
    python -m mnist_core import FILE.zip [--out RUNS_DIR]       # a new run of the CLI's

`export` prints one JSON line with the path it wrote; `import` prints the new
run's JSON with `run_dir`. A bad file exits 2 with one line (see mnist_core.cli).
"""
from __future__ import annotations

import os
from pathlib import Path

from ..run_export import export_run_zip
from ..run_import import import_run_zip
from ..runs import RunStore, RunStoreError, open_run_folder
from ..script_export import training_notebook, training_script
from .common import print_json

CLI_OWNER = "cli"  # the owner of runs the command line makes (as `train` does)


def _write_text(path: Path, text: str) -> Path:
    temporary = path.with_name(f".{path.name}.part")
    try:
        temporary.write_text(text)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise RunStoreError(f"Could not write {path}: {error.strerror or error}.") from None
    return path


def cmd_export(args) -> int:
    store, run_id = open_run_folder(args.run_dir)
    info = store.get(run_id)
    if args.out:
        path = export_run_zip(store, run_id, args.out)
    elif args.script:
        path = _write_text(Path(args.script), training_script(info.config, name=info.name, run_id=run_id))
    else:
        path = _write_text(Path(args.notebook), training_notebook(info.config, name=info.name, run_id=run_id))
    print_json({"path": str(path)})
    return 0


def cmd_import(args) -> int:
    store = RunStore(args.out)
    info = import_run_zip(args.file, store, owner=CLI_OWNER, name=args.name)
    print_json({"run_dir": str(info.path), "run_id": info.run_id, "name": info.name, "status": info.status,
                "test_accuracy": info.test_accuracy, "config": info.config.to_dict()})
    return 0


def add_commands(sub) -> None:
    """Register `export` and `import`."""
    export = sub.add_parser("export", help="write a run as a .zip, a plain-PyTorch script or a notebook",
                                   description="Write a saved run as a .zip (without its owner), or as a "
                                               "plain-PyTorch script or notebook that trains it again.")
    export.add_argument("run_dir", help="a run folder, e.g. runs/20261122-193000-mlp-3f9a1c")
    what = export.add_mutually_exclusive_group(required=True)
    what.add_argument("--out", metavar="FILE.zip", help="the run folder as a .zip")
    what.add_argument("--script", metavar="FILE.py", help="a plain-PyTorch script: python FILE.py --data-dir DIR")
    what.add_argument("--notebook", metavar="FILE.ipynb", help="the same code as a Jupyter notebook")
    export.set_defaults(func=cmd_export)

    imported = sub.add_parser("import", help="add a run from a .zip made by export (or the app's Download)",
                                     description="Check a run's .zip and add it to the run store as a new run.")
    imported.add_argument("file", metavar="FILE.zip")
    imported.add_argument("--out", default=None, metavar="RUNS_DIR",
                          help="run store folder (default: $MNIST_LAB_RUNS or ./runs)")
    imported.add_argument("--name", default=None, help="display name of the new run (default: the zip's)")
    imported.set_defaults(func=cmd_import)
