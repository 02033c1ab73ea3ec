"""AppTests of issue 15's buttons: download a run (zip, script, notebook) and upload one on Run history.

Refused uploads on the page are cases of the bad-input catalogue (tests/bad_input_catalogue.py, page-upload-*).
"""
from __future__ import annotations

import pytest

from hostile_zips import exported_mlp_zip
from mnist_core.runs import RunStore
from test_app import open_app
from test_bad_input import shown

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("router_mode")]
DOWNLOADS = ["Download run (.zip)", "Script (.py)", "Notebook (.ipynb)"]


@pytest.fixture(scope="module")
def good_zip(tmp_path_factory, mnist):
    return exported_mlp_zip(tmp_path_factory.mktemp("home"), mnist)  # a run on MNIST: every page can open it


def upload(at, data: bytes, name="run.zip"):
    (box,) = at.get("file_uploader")
    box.set_value((name, data, "application/zip"))
    at.run()
    assert not at.exception, at.exception
    return at


def test_an_uploaded_run_becomes_mine_and_every_page_opens_it(runs_dir, good_zip):
    at = open_app("pages/runs.py")
    me = at.query_params["user"]
    assert any("No runs yet" in i.value for i in at.info)
    upload(at, good_zip)
    assert [shown(s.value) for s in at.success] == ["Uploaded “taken home”: it is now one of your runs."]
    (info,) = RunStore(runs_dir).list()
    assert info.owner == me and at.selectbox(key="manage_run").value == info.run_id
    assert [b.label for b in at.get("download_button")][:3] == DOWNLOADS
    assert list(at.dataframe[0].value["Name"]) == ["taken home"]
    at.run()
    assert not at.success, "the upload is imported once, not at every rerun"
    assert len(RunStore(runs_dir).list()) == 1
    for page in ("pages/weights.py", "pages/mistakes.py", "pages/confusion_matrix.py", "pages/per_class.py",
                 "pages/draw.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert not [e.value for e in at.error], (page, [e.value for e in at.error])
