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


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL server on loopback for this test session (tests/postgres_server.py).

    Without PostgreSQL installed the tests that need it are skipped, except under CI=true,
    where they fail: CI installs it (scripts/install.sh --dev).
    """
    from postgres_server import PostgresServer, binaries
    from preconditions import require

    require(binaries() is not None, "PostgreSQL is not installed here (bash scripts/install.sh --dev installs it)")
    server = PostgresServer()
    url = server.start()
    yield url
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """An empty database of each backend: a SQLite file, and a new PostgreSQL database."""
    if request.param == "sqlite":
        from mnist_core.database import Database
        yield Database(tmp_path / "test.sqlite3")
        return
    import secrets

    import psycopg
    from mnist_core.database_postgres import PostgresDatabase

    server_url = request.getfixturevalue("postgres_url")
    name = f"test_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    db = PostgresDatabase(server_url.rsplit("/", 1)[0] + "/" + name)
    yield db
    db.close()
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
