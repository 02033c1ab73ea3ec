"""Care of a class's data: erase a student, end-of-term reset, backup zip."""
import io
import json
import re
import zipfile

import numpy as np
import pytest

from mnist_core.caps import Caps, class_caps, set_class_caps
from mnist_core.class_data import backup_zip, erase_student, reset_class
from mnist_core.classroom import Classroom, ClassroomError
from mnist_core.config import TrainConfig
from mnist_core.database import Database
from mnist_core.handwriting import HandwritingStore
from mnist_core.lessons import Lesson, LessonBook
from mnist_core.runs import RunStore
from mnist_core.train import fit


@pytest.fixture(scope="module")
def result(synthetic):
    return fit(TrainConfig(arch="softmax", epochs=1, batch_size=100, seed=0), synthetic)


@pytest.fixture
def world(tmp_path, result):
    store = RunStore(tmp_path / "runs")
    room = Classroom(Database(tmp_path / "runs" / "db.sqlite3"))
    other = room.create_class("Other")
    ada, bo = room.join(None, "Ada", "1111"), room.join(None, "Bo", "2222")
    zed = room.join(other.code, "Zed", "3333")
    drawing = np.zeros((28, 28), np.uint8)
    drawing[10:18, 12:16] = 255
    for student in (ada, bo, zed):
        store.save(result, owner=student.owner)
        HandwritingStore(store.root).save(drawing, 7, owner=student.owner)
    return store, room, (ada, bo, zed), other.code


def test_erasing_a_student_removes_their_runs_drawings_and_name_only(world):
    store, room, (ada, bo, zed), _ = world
    assert erase_student(room, store, ada) == {"student": "Ada", "runs": 1, "drawings": 1}
    assert store.list(owner=ada.owner) == [] and HandwritingStore(store.root).list(owner=ada.owner) == []
    assert room.find_student(None, "Ada") is None
    with pytest.raises(ClassroomError):
        room.sign_in(None, "Ada", "1111")
    assert len(store.list(owner=bo.owner)) == 1 and len(HandwritingStore(store.root).list()) == 2
    assert room.join(None, "Ada", "4444").owner != ada.owner  # a new Ada does not inherit anything


def test_end_of_term_reset_empties_one_class_only(world):
    store, room, (ada, bo, zed), other = world
    book = LessonBook(room)
    book.save(None, Lesson("Mine"))
    book.set_current(None, "Mine")
    set_class_caps(room, None, Caps(max_epochs=5))
    room.set_reveal_names(None, True)
    assert reset_class(room, store, None) == {"students": 2, "runs": 2, "drawings": 2}
    assert room.students(None) == [] and book.current(None) is None
    assert [l.name for l in book.lessons(None)] == ["Learning rate", "Regularisation and overfitting", "Model families"]
    assert class_caps(room, None) == Caps() and not room.get_class(None).reveal_names
    assert [s.name for s in room.students(other)] == ["Zed"] and len(store.list(owner=zed.owner)) == 1


def test_a_backup_holds_the_class_s_runs_and_drawings_and_no_pins(world):
    store, room, (ada, bo, zed), _ = world
    archive = zipfile.ZipFile(io.BytesIO(backup_zip(room, store, None)))
    names = archive.namelist()
    summary = json.loads(archive.read("class.json"))
    assert [s["name"] for s in summary["students"]] == ["Ada", "Bo"]
    ada_run = store.list(owner=ada.owner)[0].run_id
    assert f"runs/{ada_run}/weights.pt" in names and f"runs/{ada_run}/meta.json" in names
    assert store.list(owner=zed.owner)[0].run_id not in "".join(names), "another class's runs stay out"
    assert sum(n.startswith("handwriting/") for n in names) == 2
    everything = b"".join(archive.read(n) for n in names)
    assert b"scrypt$" not in everything

    def fields(node):  # every (key, value) in class.json; a run id's time of day may hold "1111", so compare whole values
        if isinstance(node, dict):
            for key, value in node.items():
                yield key, value
                yield from fields(value)
        elif isinstance(node, list):
            for value in node:
                yield from fields(value)

    found = list(fields(summary))
    assert ("name", "Ada") in found and "1111" not in [value for _, value in found]
    assert not any(re.search(r"(^|_)pin(_|$)", key.lower()) for key, _ in found), "no PIN field of any kind"
