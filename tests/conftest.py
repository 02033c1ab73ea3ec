"""Shared fixtures: tiny synthetic data for unit tests, real MNIST for integration tests.

Real MNIST is read from $MNIST_DATA_DIR (CI sets it to ../shared/mnist), falling back
to ../shared/mnist beside the repository. Tests marked `integration` need it: without it
they are skipped, and under CI=true they fail (see preconditions.py). Torch uses one
thread so tests running beside the app or other jobs do not oversubscribe the two cores.

The fast suite is `bash test.sh -m "not integration and not e2e"`.
"""
import pytest
import torch

from preconditions import have_mnist, mnist_data_dir, require

torch.set_num_threads(1)
# Read once, before any test points MNIST_DATA_DIR at an empty folder of its own.
HAVE_MNIST = have_mnist()


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: trains or evaluates on real MNIST (needs it; see preconditions.py)")
    config.addinivalue_line("markers", "e2e: drives the real app in headless Chromium")


def pytest_runtest_setup(item):
    # Runs before the test's fixtures, so a test that moves MNIST_DATA_DIR is judged by the real one.
    if item.get_closest_marker("integration"):
        require(HAVE_MNIST, "real MNIST is not available (set MNIST_DATA_DIR)")


@pytest.fixture(scope="session")
def mnist():
    """All of MNIST in memory, loaded once per test session (never downloaded)."""
    from mnist_core.data import load_mnist
    return load_mnist(mnist_data_dir(), download=False)


@pytest.fixture(scope="session")
def synthetic():
    """A small seeded synthetic dataset (500 train, 100 test images) that models can learn."""
    from mnist_core.data import make_synthetic
    return make_synthetic(n_train_per_class=50, n_test_per_class=10, seed=0)


@pytest.fixture
def router_mode(monkeypatch):
    """Run app.py as the router it is, on every AppTest run.

    AppTest resets Streamlit's "pages/ folder" flag before each run, and a folder
    named pages/ beside app.py switches it on, so from the second run on AppTest
    would run the page alone (no sidebar, no st.navigation). A real server keeps
    the flag off after the first st.navigation call (see ui/__init__.py); this
    does the same here.
    """
    from streamlit.runtime.pages_manager import PagesManager

    original_init = PagesManager.__init__

    def init_in_router_mode(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init_in_router_mode)


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    """A run store (and so a job queue: the app caches one per folder) of this test's own."""
    monkeypatch.setenv("MNIST_LAB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("MNIST_DATA_DIR", str(mnist_data_dir()))
    return tmp_path / "runs"
