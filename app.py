"""MNIST Lab: the router. `streamlit run app.py`

It sets the page up once, gives every visitor a user token (kept in the URL so
a reload finds the same runs), draws the shared sidebar and runs the chosen page.
Each page lives in pages/ and is thin: widgets in, mnist_core call, drawing out.
"""
import streamlit as st

st.set_page_config(page_title="MNIST Lab", page_icon="🔢", layout="wide",
                   menu_items={"About": "MNIST Lab: watch a neural network learn to read handwritten digits."})

from ui.projector import apply_projector_mode  # noqa: E402  (set_page_config must come first)
from ui.session import user_token  # noqa: E402
from ui.sidebar import render_sidebar  # noqa: E402

PAGES_KEY = "app_pages"  # session_state: this session's st.Page objects


def make_pages() -> dict[str, list]:
    """The pages by section. Made once per session: each st.Page resolves and checks its file,
    about 10 system calls a page, which under a class's load wait for the GIL on every rerun."""
    return {
        "Learn": [
            st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
            st.Page("pages/train.py", title="Train", icon=":material/monitoring:"),
            st.Page("pages/runs.py", title="Run history", icon=":material/history:"),
        ],
        "Look inside": [
            st.Page("pages/mistakes.py", title="Mistakes", icon=":material/error:"),
            st.Page("pages/confusion_matrix.py", title="Confusion matrix", icon=":material/grid_on:"),
            st.Page("pages/per_class.py", title="Per-class scores", icon=":material/bar_chart:"),
            st.Page("pages/weights.py", title="Weights and activations", icon=":material/biotech:"),
        ],
        "Play": [
            st.Page("pages/draw.py", title="Draw a digit", icon=":material/draw:"),
            st.Page("pages/experiments.py", title="Experiments", icon=":material/science:"),
        ],
        "Teach": [
            st.Page("pages/teacher.py", title="Teacher console", icon=":material/co_present:"),
        ],
    }


if PAGES_KEY not in st.session_state:
    st.session_state[PAGES_KEY] = make_pages()

# Material icons ship with Streamlit, so they render the same on every machine (emoji need a font).
navigation = st.navigation(st.session_state[PAGES_KEY])
user_token()
apply_projector_mode()
render_sidebar(on_train_page=navigation.url_path == "train")
navigation.run()
