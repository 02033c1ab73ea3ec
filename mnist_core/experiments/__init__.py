"""Controlled experiments: the classic MNIST studies, one knob at a time.

Where each part lives:
- `studies.py`: the ready-made studies, as data (with what known studies reported);
- `custom.py`: a student's own one-knob study and the parsing of typed values;
- `estimates.py`: rough time estimates for the page and the progress bar;
- `runner.py`: running a study (scikit-learn baselines included), its progress, rows and saving;
- `takeaways.py`: the one sentence each study ends with.
The command `python -m mnist_core experiment NAME` is in mnist_core/cli/experiment.py,
and a study runs in the background through `mnist_core.jobs.JobManager.submit_study`.
The names below are the package's public face, so `experiments.STUDIES` etc. read as before.
"""
from .custom import KNOBS, custom_study, parse_values
from .estimates import estimate_seconds, estimate_study_seconds
from .runner import (RunRow, StudyProgress, TestLossTracker, planned_runs, rows_to_csv, run_and_save,
                     run_baseline, run_experiment, run_extra, run_name, run_plan, study_for, summarize)
from .studies import (BASELINES, MAX_SEEDS, MAX_VALUES, REPORTED_L2, REPORTED_LR, STUDIES, Study, Variant,
                      get_study, model_name, value_text, with_budget)
from .takeaways import (TAKEAWAYS, activation_takeaway, capacity_takeaway, dropout_takeaway, family_takeaway,
                        generic_takeaway, l2_takeaway, lr_takeaway, overfitting_takeaway, seed_noise_note, takeaway)

__all__ = [name for name in dir() if not name.startswith("_")]
