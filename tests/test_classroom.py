"""Classes, names and PINs: join, sign in again, wrong PINs, the one-minute wait, the teacher PIN."""
import hashlib
import sqlite3

import pytest

from mnist_core.classroom import (DEFAULT_CLASS_CODE, LOCK_SECONDS, MAX_WRONG_PINS, TEACHER_PIN_ENV, Classroom,
                                  ClassroomError, LockedError, NameTakenError, TeacherPinNotSetError,
                                  WrongPinError, check_pin, clean_student_name, hash_pin, pin_matches)
from mnist_core.database import Database


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def room(tmp_path, clock):
    return Classroom(Database(tmp_path / "lab.sqlite3"), clock=clock)


def test_a_class_gets_a_short_code_and_students_join_and_sign_in_again(room, tmp_path):
    maths = room.create_class("Maths 9B")
    assert len(maths.code) == 6 and maths.code.isalnum() and maths.code.isupper()
    ada = room.join(maths.code, "Ada", "2580")
    assert ada.owner == f"student-{ada.student_id}" and ada.has_pin
    # Another tab, device or day: a fresh Classroom on the same file, as after a restart.
    again = Classroom(Database(tmp_path / "lab.sqlite3")).sign_in(maths.code.lower(), " ada ", "2580")
    assert again == ada  # the same owner id, so the same runs, drawings and job


def test_a_taken_name_asks_for_another_in_that_class_only(room):
    first, second = room.create_class("A"), room.create_class("B")
    room.join(first.code, "Ada", "1111")
    for same in ("Ada", "ADA", " ada ", "Ａｄａ"):
        with pytest.raises(NameTakenError, match="is taken in this class: choose another"):
            room.join(first.code, same, "2222")
    assert room.join(second.code, "Ada", "2222").class_code == second.code  # other classes have their own names
    assert room.sign_in(first.code, "Ada", "1111").class_code == first.code


def test_a_wrong_pin_says_so_and_changes_nothing(room):
    code = room.create_class("A").code
    ada = room.join(code, "Ada", "1234")
    stored = room.db.query_one("SELECT pin_hash FROM students WHERE id = ?", (ada.student_id,))["pin_hash"]
    with pytest.raises(WrongPinError, match="That PIN is not right for this name. 4 more tries"):
        room.sign_in(code, "Ada", "4321")
    assert room.db.query_one("SELECT pin_hash FROM students WHERE id = ?", (ada.student_id,))["pin_hash"] == stored
    assert room.sign_in(code, "Ada", "1234") == ada


def test_five_wrong_tries_make_that_name_wait_a_minute(room, clock):
    code = room.create_class("A").code
    room.join(code, "Ada", "1234")
    room.join(code, "Bo", "5678")
    for _ in range(MAX_WRONG_PINS - 1):
        with pytest.raises(WrongPinError):
            room.sign_in(code, "Ada", "0000")
    with pytest.raises(LockedError, match="wait 60 s"):
        room.sign_in(code, "Ada", "0000")
    with pytest.raises(LockedError, match="wait"):
        room.sign_in(code, "Ada", "1234")  # even the right PIN waits
    assert room.sign_in(code, "Bo", "5678").name == "Bo"  # other names are not held up
    clock.now += LOCK_SECONDS + 1
    assert room.sign_in(code, "Ada", "1234").name == "Ada"
    with pytest.raises(WrongPinError, match="4 more tries"):  # a right PIN starts the count again
        room.sign_in(code, "Ada", "0000")


def test_the_teacher_resets_a_forgotten_pin_and_lifts_the_wait(room):
    code = room.create_class("A").code
    room.join(code, "Ada", "1234")
    for _ in range(MAX_WRONG_PINS - 1):
        with pytest.raises(WrongPinError):
            room.sign_in(code, "Ada", "9999")
    with pytest.raises(LockedError):
        room.sign_in(code, "Ada", "9999")
    room.reset_pin(code, "ada", "7777")
    assert room.sign_in(code, "Ada", "7777").name == "Ada"
    with pytest.raises(WrongPinError):
        room.sign_in(code, "Ada", "1234")


def test_pins_are_stored_salted_and_hashed(room, tmp_path):
    code = room.create_class("A").code
    room.join(code, "Ada", "1234")
    room.join(code, "Bo", "1234")
    hashes = [r["pin_hash"] for r in room.db.query("SELECT pin_hash FROM students")]
    assert len(set(hashes)) == 2, "the same PIN gives different hashes (a salt)"
    raw = (tmp_path / "lab.sqlite3").read_bytes() + (tmp_path / "lab.sqlite3-wal").read_bytes()
    for stored in hashes:  # the PIN can turn up by chance inside a hash's random hex; look everywhere else
        raw = raw.replace(stored.encode(), b"")
    assert b"1234" not in raw
    assert all(h.startswith("scrypt$") for h in hashes)
    assert pin_matches("1234", hashes[0]) and not pin_matches("1235", hashes[0])
    assert not pin_matches("1234", None) and not pin_matches("1234", "md5$abc")


@pytest.mark.parametrize("pin", ["123", "12345", "abcd", "12 4", "١٢٣٤", "", None, 1234])
def test_a_pin_is_exactly_four_digits(pin):
    with pytest.raises(ClassroomError, match="exactly 4 digits"):
        check_pin(pin)


@pytest.mark.parametrize("name", ["", "   ", "\u200b\u200b", "\ufeff", "\n\t"])
def test_an_empty_or_invisible_name_is_refused(room, name):
    with pytest.raises(ClassroomError, match="Type a name"):
        room.join(None, name, "1234")


def test_names_are_one_printable_line():
    assert clean_student_name("  Ada\u200b \n Lovelace ") == "Ada Lovelace"
    with pytest.raises(ClassroomError, match="at most 30"):
        clean_student_name("x" * 31)


def test_an_unknown_class_code_says_so(room):
    with pytest.raises(ClassroomError, match="There is no class with the code ZZZZ99"):
        room.join("zzzz99", "Ada", "1234")
    with pytest.raises(ClassroomError, match="4 to 12 letters"):
        room.get_class("../etc")


def test_without_a_code_everything_uses_the_default_class(room):
    ada = room.join(None, "Ada", "1234")
    assert ada.class_code == DEFAULT_CLASS_CODE
    assert room.sign_in("", "Ada", "1234") == ada
    assert [c.code for c in room.list_classes()] == [DEFAULT_CLASS_CODE]


def test_a_name_filed_from_the_cli_is_claimed_by_the_first_join(room):
    seeded = room.student_for_cli(None, "Demo")
    assert not seeded.has_pin and room.student_for_cli(None, "demo") == seeded
    with pytest.raises(ClassroomError, match="Nobody called “Demo” has joined"):
        room.sign_in(None, "Demo", "1234")
    joined = room.join(None, "Demo", "1234")
    assert joined.owner == seeded.owner  # the seeded runs become the student's
    with pytest.raises(NameTakenError):
        room.join(None, "Demo", "9999")


def test_student_by_owner_only_reads_student_owner_ids(room):
    ada = room.join(None, "Ada", "1234")
    assert room.student_by_owner(ada.owner) == ada
    for other in ("teacher", "cli", "abcdef12", "student-", "student-x", "student-999", ""):
        assert room.student_by_owner(other) is None


def test_the_teacher_pin_comes_from_the_environment_with_no_default(room, monkeypatch, clock):
    monkeypatch.delenv(TEACHER_PIN_ENV, raising=False)
    with pytest.raises(TeacherPinNotSetError, match=f"{TEACHER_PIN_ENV}=4821 streamlit run app.py"):
        room.teacher_sign_in("")
    monkeypatch.setenv(TEACHER_PIN_ENV, "4821")
    room.teacher_sign_in("4821")
    for _ in range(MAX_WRONG_PINS - 1):
        with pytest.raises(WrongPinError, match="not the teacher PIN"):
            room.teacher_sign_in("0000")
    with pytest.raises(LockedError, match="wait 60 s"):
        room.teacher_sign_in("0000")
    with pytest.raises(LockedError, match="The teacher PIN had 5 wrong PINs"):
        room.teacher_sign_in("4821")
    clock.now += LOCK_SECONDS + 1
    room.teacher_sign_in("4821")


def test_joining_at_the_same_moment_with_one_name_gives_it_to_one_student(tmp_path):
    import threading

    path = tmp_path / "lab.sqlite3"
    Classroom(Database(path))
    outcomes = []

    def join(pin):
        try:
            outcomes.append(Classroom(Database(path)).join(None, "Ada", pin).name)
        except NameTakenError:
            outcomes.append("taken")

    threads = [threading.Thread(target=join, args=(f"{i:04d}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["Ada", "taken", "taken", "taken"]
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM students").fetchone()[0] == 1


def test_hash_pin_is_not_the_pin():
    # The PIN may turn up by chance inside the random hex of salt or digest (about 1 in 300),
    # so check the fields instead: none of them is the PIN, and the digest is scrypt(PIN, salt).
    kind, n, r, p, salt, digest = hash_pin("2580").split("$")
    assert kind == "scrypt" and "2580" not in (n, r, p, salt, digest)
    assert len(bytes.fromhex(salt)) == 16
    assert digest == hashlib.scrypt(b"2580", salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p)).hex()
    assert hash_pin("2580").split("$")[4] != salt, "a new salt every time"
