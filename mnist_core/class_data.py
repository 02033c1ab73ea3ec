"""Care of a class's data: erase one student, reset a class at the end of term, back a class up.

Nothing here leaves the server by itself: the backup is a zip the teacher
downloads from the console. Erasing acts as the teacher (the one user who may
delete anyone's runs), and removes the student's runs and drawings before the
name and PIN, so a crash half way leaves a name with fewer runs, never runs
with no name.
"""
from __future__ import annotations

import io
import json
import time
import zipfile

from .caps import Caps
from .classroom import TEACHER_OWNER, Classroom, Student
from .handwriting import HandwritingError, HandwritingStore
from .lessons import LessonBook
from .runs import RunStore, RunStoreError


def erase_student(room: Classroom, store: RunStore, student: Student) -> dict:
    """Delete the student's runs and drawings, then their name and PIN. Returns what was removed.

    Stop the student's job first (the page does, through the job queue): a job
    still running would save its run after this.
    """
    runs = drawings = 0
    for info in store.list(owner=student.owner):
        try:
            store.delete(info.run_id, actor=TEACHER_OWNER)
            runs += 1
        except RunStoreError:
            continue  # deleted meanwhile
    handwriting = HandwritingStore(store.root)
    for example in handwriting.list(owner=student.owner):
        try:
            handwriting.delete(example.example_id)
            drawings += 1
        except HandwritingError:
            continue
    room.remove_student(student)
    return {"student": student.name, "runs": runs, "drawings": drawings}


def reset_class(room: Classroom, store: RunStore, code: str | None) -> dict:
    """End of term: every student of the class erased, its own lessons deleted, caps and board back to default."""
    erased = [erase_student(room, store, student) for student in room.students(code)]
    LessonBook(room).delete_all(code)
    room.set_class_setting(code, "current_lesson", None)
    room.set_class_setting(code, "caps", Caps().to_json())
    room.set_reveal_names(code, False)
    return {"students": len(erased), "runs": sum(e["runs"] for e in erased),
            "drawings": sum(e["drawings"] for e in erased)}


def backup_zip(room: Classroom, store: RunStore, code: str | None) -> bytes:
    """A zip of the class: class.json (names, lessons, caps; no PINs), its students' run folders and drawings."""
    info = room.get_class(code)
    students = room.students(info.code)
    book = LessonBook(room)
    summary = {
        "class": {"code": info.code, "name": info.name, "current_lesson": info.current_lesson},
        "caps": json.loads(Caps.from_json(room.class_setting(info.code, "caps")).to_json()),
        "lessons": [json.loads(lesson.to_json()) for lesson in book.lessons(info.code)],
        "students": [], "made": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    buffer = io.BytesIO()
    handwriting = HandwritingStore(store.root)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for student in students:
            runs = store.list(owner=student.owner)
            drawings = handwriting.list(owner=student.owner)
            summary["students"].append({"name": student.name, "owner": student.owner,
                                        "runs": [r.run_id for r in runs],
                                        "drawings": [d.example_id for d in drawings]})
            for run in runs:
                for path in sorted(run.path.iterdir()):
                    if path.is_file():
                        archive.write(path, f"runs/{run.run_id}/{path.name}")
            for drawing in drawings:
                archive.write(handwriting.folder / f"{drawing.example_id}.png",
                              f"handwriting/{drawing.example_id}.png")
        archive.writestr("class.json", json.dumps(summary, indent=1))
    return buffer.getvalue()
