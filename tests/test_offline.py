"""Offline and first start (issue 7, item 4), as a class would meet them, through app.py (AppTest).

- No MNIST and no internet: the app still opens, says in plain words where the files go
  (the folder and MNIST_DATA_DIR) and offers the small stand-in (scikit-learn's 8x8 digits,
  upscaled), which needs no download. On it the class can train, look at the mistakes and draw,
  and every page says that the stand-in is in use.
- A first start with internet downloads MNIST with its progress on the page. Here the
  download itself is faked: it copies the real files from ../shared/mnist into a temporary
  folder (never into the repository), one file at a time, as torchvision would write them.

The network is cut at name lookup (socket.getaddrinfo), as on a machine without internet.
"""
import shutil
import socket
from pathlib import Path

import pytest

from test_app import mnist_data_dir, open_app, texts, tiny, unescape, wait_for_end

# AppTests of app.py run as the router (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("router_mode")

STAND_IN_BADGE = "Small stand-in dataset"
REAL_MNIST = mnist_data_dir()  # read before any test points MNIST_DATA_DIR at an empty folder


@pytest.fixture
def no_internet(monkeypatch):
    """Every name lookup fails, as on a machine without internet; counts the attempts."""
    attempts = []

    def no_network(*args, **kwargs):
        attempts.append(args[:1])
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    return attempts


@pytest.fixture
def empty_data_dir(tmp_path, monkeypatch):
    """MNIST_DATA_DIR points at an empty folder; the run store is this test's own."""
    folder = tmp_path / "no-mnist-here"
    folder.mkdir()
    monkeypatch.setenv("MNIST_DATA_DIR", str(folder))
    monkeypatch.setenv("MNIST_LAB_RUNS", str(tmp_path / "runs"))
    return folder


def all_texts(at) -> str:
    """Everything written on the page and in the sidebar, Markdown escapes removed."""
    parts = [e.value for kind in ("error", "warning", "info", "success", "markdown", "caption", "text")
             for e in getattr(at, kind)]
    return unescape("\n".join(str(p) for p in parts))


def stand_in_badge_shown(at) -> bool:
    return any(STAND_IN_BADGE in m.value for m in at.sidebar.markdown)


# ---------------------------------------------------------------- no MNIST, no internet

def test_without_mnist_or_internet_the_app_opens_and_explains_where_the_files_go(empty_data_dir, no_internet):
    at = open_app()
    assert not at.exception
    assert texts(at.title) == ["MNIST Lab"]  # the page itself is there, above the explanation
    [error] = [unescape(e) for e in texts(at.error)]
    assert error.startswith("**MNIST is not available.** ")
    assert f"MNIST is not in {empty_data_dir} and could not be downloaded (no internet?" in error
    assert f"Put the four MNIST files in {empty_data_dir / 'MNIST' / 'raw'}" in error
    assert "set the environment variable MNIST_DATA_DIR to a folder that has them" in error
    assert any("stand-in" in t and "1,797" in t for t in texts(at.info))
    assert at.button(key="use_stand_in_button_data").label == "Use the small stand-in dataset"
    assert no_internet, "the app did try to download MNIST"
    assert not list(empty_data_dir.rglob("*-ubyte")), "a failed download leaves nothing that looks like data"
    assert not stand_in_badge_shown(at)


def test_a_failed_download_is_not_retried_at_every_click_only_on_try_again(empty_data_dir, no_internet):
    at = open_app()
    tried = len(no_internet)
    at.select_slider(key="cfg_lr").set_value(0.01).run()  # any widget: a rerun of the page
    at.switch_page("pages/experiments.py").run()
    assert not at.exception and len(no_internet) == tried
    assert any("MNIST is not available" in e for e in texts(at.error))  # the same explanation, from memory
    at.button(key="retry_mnist_button_data").click().run()
    assert len(no_internet) > tried
    assert any("MNIST is not available" in e for e in texts(at.error))


def test_train_pressed_without_mnist_explains_and_offers_the_stand_in_in_the_sidebar(empty_data_dir, no_internet):
    at = open_app("pages/train.py")  # straight to Train: the home page's explanation was never seen
    at.button(key="sidebar_train").click().run()
    assert not at.exception
    assert any("MNIST is not available" in e and "MNIST_DATA_DIR" in unescape(e) for e in texts(at.sidebar.error))
    at.button(key="use_stand_in_button_train").click().run()
    assert stand_in_badge_shown(at)
    at.button(key="sidebar_train").click().run()
    from ui.session import get_jobs
    job = get_jobs().latest_job(at.query_params["user"], kind="train")
    assert job is not None
    wait_for_end(job)
    assert job.state == "finished" and job.result.data_source == "sklearn-digits"


def test_on_the_stand_in_the_class_can_train_look_at_mistakes_and_draw(empty_data_dir, no_internet):
    from test_draw_page import canvas_of, inject

    at = open_app()
    at.button(key="use_stand_in_button_data").click().run()
    assert not at.exception and not at.error
    assert stand_in_badge_shown(at)
    assert len(at.image) == 1  # the home page's sample digits, now of the stand-in
    assert any("a small stand-in for MNIST" in c and "1,437 training and 360 test images" in c
               for c in texts(at.caption))

    tiny(at).button(key="sidebar_train").click().run()
    from ui.session import get_jobs
    job = get_jobs().latest_job(at.query_params["user"], kind="train")
    wait_for_end(job)
    at.run()
    assert not at.exception and job.state == "finished", job.error
    assert any("Completed 1 epoch" in unescape(t) for t in texts(at.success))
    assert job.run_info is not None and job.run_info.metrics["data_source"] == "sklearn-digits"
    assert stand_in_badge_shown(at)

    at.switch_page("pages/mistakes.py").run()
    assert not at.exception and not at.error, texts(at.error)
    assert stand_in_badge_shown(at)
    shown = {m.label: m for m in at.metric}
    assert shown["Mistakes in all"].delta == "of 360 test images"  # the stand-in's own test set

    at.switch_page("pages/draw.py").run()
    assert not at.exception and not at.error
    assert stand_in_badge_shown(at)
    assert at.selectbox(key="draw_run").value == job.run_info.run_id
    inject(at, canvas_of(1))
    at.run()
    assert not at.exception
    assert any("draw-top-digit" in m.value for m in at.markdown), "the drawing was read"

    at.button(key="leave_stand_in").click().run()  # back to MNIST: still offline, so the explanation again
    assert not stand_in_badge_shown(at)


# ---------------------------------------------------------------- first start with internet

def fake_download(monkeypatch, source: Path):
    """torchvision's download, replaced by a copy of one real MNIST file per call."""
    from torchvision.datasets import utils as download_utils

    fetched = []

    def copy_one(url, download_root, filename=None, md5=None, remove_finished=False, **kwargs):
        name = filename.removesuffix(".gz")
        shutil.copyfile(source / "MNIST" / "raw" / name, Path(download_root) / name)
        fetched.append(url)

    monkeypatch.setattr(download_utils, "download_and_extract_archive", copy_one)
    return fetched


@pytest.mark.integration
def test_a_first_start_with_internet_downloads_mnist_with_progress_on_the_page(empty_data_dir, monkeypatch):
    fetched = fake_download(monkeypatch, REAL_MNIST)
    at = open_app()
    assert not at.exception and not at.error, texts(at.error)
    assert len(fetched) == 4 and all(url.startswith("https://") for url in fetched)
    [status] = at.status
    assert status.state == "complete" and unescape(status.label) == f"MNIST downloaded into {empty_data_dir}."
    lines = [t.value for t in status.text]
    assert lines[0] == f"Downloading MNIST (about 11 MB) into {empty_data_dir} ..."
    assert lines[1] == "File 1 of 4: train-images-idx3-ubyte (47.04 MB unpacked) ..."
    assert "File 4 of 4: t10k-labels-idx1-ubyte done." in lines and lines[-1] == "MNIST is downloaded."
    assert len(at.image) == 1  # then the data loaded: the sample digits
    assert any("60,000 training and 10,000 test images" in c for c in texts(at.caption))
    at.run()  # the next visit finds the files: no second download, no progress box
    assert len(fetched) == 4 and not at.status


@pytest.mark.integration
def test_a_download_that_stops_halfway_keeps_the_files_it_got_and_explains(empty_data_dir, monkeypatch):
    fetched = fake_download(monkeypatch, REAL_MNIST)
    from torchvision.datasets import utils as download_utils
    copy_one = download_utils.download_and_extract_archive

    def fail_on_the_test_images(url, *args, **kwargs):
        if "t10k-images" in url:
            raise OSError("Connection reset by peer")
        copy_one(url, *args, **kwargs)

    monkeypatch.setattr(download_utils, "download_and_extract_archive", fail_on_the_test_images)
    at = open_app()
    assert not at.exception
    [status] = at.status
    assert status.state == "error" and status.label == "MNIST could not be downloaded."
    assert any("could not be downloaded (no internet? OSError)" in unescape(e) for e in texts(at.error))
    raw = empty_data_dir / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"]
    monkeypatch.setattr(download_utils, "download_and_extract_archive", copy_one)
    at.button(key="retry_mnist_button_data").click().run()  # only the two missing files are fetched
    assert not at.exception and not at.error
    assert [url.rsplit("/", 1)[1] for url in fetched[-2:]] == ["t10k-images-idx3-ubyte.gz",
                                                                "t10k-labels-idx1-ubyte.gz"]
    assert len(at.image) == 1
