"""What one page needs to know about another: page paths for links and switches, and the drawing
the Draw page leaves for the Weights page. app.py's router lists the same paths."""

TRAIN_PAGE = "pages/train.py"
RUNS_PAGE = "pages/runs.py"
DRAWING_KEY = "last_drawing_28x28"  # session_state, set by the Draw page: float (28, 28) in [0, 1], ink = 1
