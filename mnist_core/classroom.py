"""Classes, student names with PINs, and the teacher PIN: who is acting, in the run store's database.

A teacher creates a class; it gets a short join code (e.g. `K7QX2M`). A student
joins with a name and a 4-digit PIN they choose, and later signs in again with
the same two on any tab, device or day. Runs and drawings belong to the
student's owner id (`student-<n>`), which a URL token can never spell (tokens
are letters and digits only), so a link or the address bar on the projector
acts for nobody.

PINs are stored salted and hashed with `hashlib.scrypt`, never in plain text.
A wrong PIN changes nothing; after `MAX_WRONG_PINS` wrong tries on one name
that name waits `LOCK_SECONDS`, and so does the teacher PIN
(`MNIST_LAB_TEACHER_PIN`, no default). Without `--class` or a join code,
everything uses the default class, so a single-class server needs no code.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
import unicodedata
from dataclasses import dataclass

from .database import Database, IntegrityError, read_memo

TEACHER_PIN_ENV = "MNIST_LAB_TEACHER_PIN"
TEACHER_OWNER = "teacher"  # the acting user of the teacher console (owner ids are never user text)
STUDENT_OWNER_PREFIX = "student-"
DEFAULT_CLASS_CODE = "DEFAULT"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes are read aloud and typed
CODE_LENGTH = 6
MAX_NAME_LENGTH = 30
MAX_WRONG_PINS = 5
LOCK_SECONDS = 60
_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}  # about 16 MB and a few tens of ms per check
# One scrypt at a time per process: 30 students joining within two seconds took both cores
# for over a second (40 ms each here) and every page waited; queued, they leave a core to the pages.
_PIN_WORK = threading.Lock()

SCHEMA = [
    """CREATE TABLE classes (
        id {serial_id},
        code TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        current_lesson TEXT,
        reveal_names INTEGER NOT NULL DEFAULT 0,
        caps TEXT NOT NULL DEFAULT '{}')""",
    """CREATE TABLE students (
        id {serial_id},
        class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        name_key TEXT NOT NULL,
        pin_hash TEXT,
        created DOUBLE PRECISION NOT NULL,
        UNIQUE (class_id, name_key))""",
    """CREATE TABLE sign_in_failures (
        who TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        locked_until DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE lessons (
        id {serial_id},
        class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        spec TEXT NOT NULL,
        UNIQUE (class_id, name))""",
]


class ClassroomError(ValueError):
    """A join, sign-in or class action cannot be done; the message is for the person at the screen."""


class NameTakenError(ClassroomError):
    """Another student of the class already has this name."""


class WrongPinError(ClassroomError):
    """The PIN does not match; nothing was changed."""


class LockedError(ClassroomError):
    """Too many wrong PINs on this name (or the teacher PIN): it waits a minute."""


class TeacherPinNotSetError(ClassroomError):
    """The server was started without MNIST_LAB_TEACHER_PIN."""


@dataclass(frozen=True)
class ClassInfo:
    class_id: int
    code: str
    name: str
    current_lesson: str | None
    reveal_names: bool


@dataclass(frozen=True)
class Student:
    student_id: int
    class_code: str
    name: str
    has_pin: bool

    @property
    def owner(self) -> str:
        """The owner id of this student's runs, drawings and jobs."""
        return f"{STUDENT_OWNER_PREFIX}{self.student_id}"


def hash_pin(pin: str) -> str:
    """A salted scrypt hash of a PIN, as one string that `pin_matches` reads back.

    >>> stored = hash_pin("1234")
    >>> stored.startswith("scrypt$") and "1234" not in stored.split("$"), pin_matches("1234", stored), pin_matches("4321", stored)
    (True, True, False)
    """
    salt = secrets.token_bytes(16)
    with _PIN_WORK:
        digest = hashlib.scrypt(pin.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def pin_matches(pin: str, stored: str | None) -> bool:
    """Whether `pin` is the one `stored` was made from (constant-time comparison)."""
    try:
        kind, n, r, p, salt, digest = (stored or "").split("$")
        if kind != "scrypt":
            return False
        with _PIN_WORK:
            trial = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    except ValueError:
        return False
    return hmac.compare_digest(trial.hex(), digest)


def check_pin(pin) -> str:
    """The PIN if it is exactly 4 digits; ClassroomError otherwise.

    >>> check_pin("0420")
    '0420'
    """
    if not (isinstance(pin, str) and len(pin) == 4 and all(ch in "0123456789" for ch in pin)):
        raise ClassroomError("A PIN is exactly 4 digits, such as 2580.")
    return pin


def clean_student_name(text) -> str:
    """A name as shown: printable, one line, at most 30 characters; ClassroomError if nothing is left.

    Zero-width and other invisible characters do not count as a name.

    >>> clean_student_name("  Ada\\u200b  Lovelace ")
    'Ada Lovelace'
    """
    text = unicodedata.normalize("NFKC", str(text))
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    text = " ".join(text.split())
    if not text:
        raise ClassroomError("Type a name (a first name or a nickname).")
    if len(text) > MAX_NAME_LENGTH:
        raise ClassroomError(f"A name has at most {MAX_NAME_LENGTH} characters.")
    return text


def name_key(name: str) -> str:
    """What makes two names the same in a class: 'Ada', 'ada' and 'ＡＤＡ' are one name."""
    return clean_student_name(name).casefold()


def clean_class_code(code) -> str:
    """A join code as stored: upper case, no spaces; ClassroomError if it cannot be one."""
    text = "".join(str(code or "").split()).upper()
    if not (4 <= len(text) <= 12 and text.isascii() and text.isalnum()):
        raise ClassroomError("A class code is 4 to 12 letters and digits, such as K7QX2M.")
    return text


class Classroom:
    """Classes, students and PIN checks on one Database (see mnist_core/database.py)."""

    def __init__(self, db: Database, clock=time.time):
        self.db = db
        self.clock = clock  # injectable, so tests can step past a lock without sleeping
        db.migrate("classroom", SCHEMA)
        self.memo = read_memo(db)  # class rows and lessons, reused between pages for a moment

    # --- classes ---------------------------------------------------------------
    def create_class(self, name: str, code: str | None = None) -> ClassInfo:
        """A new class with a fresh join code (or `code`, if free)."""
        name = clean_student_name(name) if str(name).strip() else "Class"
        for _ in range(20):
            chosen = clean_class_code(code) if code else "".join(secrets.choice(CODE_ALPHABET)
                                                                  for _ in range(CODE_LENGTH))
            try:
                self.db.execute("INSERT INTO classes (code, name, created) VALUES (?, ?, ?)",
                                (chosen, name, self.clock()))
                return self.get_class(chosen)  # not in the memo yet: a missing class is never kept
            except IntegrityError:
                if code:
                    raise ClassroomError(f"There is already a class with the code {chosen}.") from None
        raise ClassroomError("Could not find a free class code; try again.")

    def get_class(self, code: str | None = None) -> ClassInfo:
        """The class with this join code; without a code, the default class (made on first use)."""
        row = self._class_row(code)
        return ClassInfo(row["id"], row["code"], row["name"], row["current_lesson"], bool(row["reveal_names"]))

    def _class_row(self, code: str | None) -> dict:
        code = clean_class_code(code) if code else DEFAULT_CLASS_CODE
        row = self.memo.get(("class", code), lambda: self._read_class_row(code))
        return dict(row)

    def _read_class_row(self, code: str) -> tuple:
        row = self.db.query_one("SELECT * FROM classes WHERE code = ?", (code,))
        if row is None and code == DEFAULT_CLASS_CODE:
            try:
                self.db.execute("INSERT INTO classes (code, name, created) VALUES (?, ?, ?)",
                                (DEFAULT_CLASS_CODE, "Default class", self.clock()))
            except IntegrityError:
                pass  # another session made it at the same moment
            row = self.db.query_one("SELECT * FROM classes WHERE code = ?", (code,))
        if row is None:
            raise ClassroomError(f"There is no class with the code {code}: check it with your teacher.")
        return tuple(row.items())  # immutable: the memo shares it between pages

    def list_classes(self) -> list[ClassInfo]:
        self.get_class()  # the default class always exists
        return [ClassInfo(r["id"], r["code"], r["name"], r["current_lesson"], bool(r["reveal_names"]))
                for r in self.db.query("SELECT * FROM classes ORDER BY id")]

    def set_reveal_names(self, code: str, reveal: bool) -> None:
        self.db.execute("UPDATE classes SET reveal_names = ? WHERE id = ?", (int(reveal), self.get_class(code).class_id))
        self.memo.forget()

    def class_setting(self, code: str, column: str) -> str:
        """The raw text of `caps` or `current_lesson` (read by caps.py and lessons.py)."""
        assert column in ("caps", "current_lesson")
        return self._class_row(code)[column]

    def set_class_setting(self, code: str, column: str, value: str | None) -> None:
        assert column in ("caps", "current_lesson")
        self.db.execute(f"UPDATE classes SET {column} = ? WHERE id = ?", (value, self.get_class(code).class_id))
        self.memo.forget()

    # --- students ----------------------------------------------------------------
    def _student(self, row: dict, code: str) -> Student:
        return Student(row["id"], code, row["name"], row["pin_hash"] is not None)

    def find_student(self, code: str | None, name: str) -> Student | None:
        info = self.get_class(code)
        row = self.db.query_one("SELECT * FROM students WHERE class_id = ? AND name_key = ?",
                                (info.class_id, name_key(name)))
        return self._student(row, info.code) if row else None

    def students(self, code: str | None = None) -> list[Student]:
        """The class's students, in the order they joined."""
        info = self.get_class(code)
        return [self._student(r, info.code) for r in
                self.db.query("SELECT * FROM students WHERE class_id = ? ORDER BY id", (info.class_id,))]

    def student_by_owner(self, owner: str) -> Student | None:
        """The student whose owner id this is (None for a URL token, the teacher or the CLI)."""
        if not (isinstance(owner, str) and owner.startswith(STUDENT_OWNER_PREFIX)
                and owner[len(STUDENT_OWNER_PREFIX):].isdigit()):
            return None
        row = self.db.query_one("SELECT s.*, c.code FROM students s JOIN classes c ON c.id = s.class_id "
                                "WHERE s.id = ?", (int(owner[len(STUDENT_OWNER_PREFIX):]),))
        return self._student(row, row["code"]) if row else None

    def join(self, code: str | None, name: str, pin: str) -> Student:
        """A new student of the class. NameTakenError if the name is someone else's.

        A name that was filed from the CLI (`train --student`) has no PIN yet:
        the first join with that name sets it.
        """
        info, name, pin = self.get_class(code), clean_student_name(name), check_pin(pin)
        stored = hash_pin(pin)
        with self.db.transaction() as tx:
            row = tx.query_one("SELECT * FROM students WHERE class_id = ? AND name_key = ?",
                               (info.class_id, name_key(name)))
            if row is not None and row["pin_hash"] is not None:
                raise NameTakenError(f"The name “{row['name']}” is taken in this class: choose another one, "
                                     "or sign in if it is yours.")
            if row is None:
                row = tx.query_one("INSERT INTO students (class_id, name, name_key, pin_hash, created) "
                                   "VALUES (?, ?, ?, ?, ?) RETURNING *",
                                   (info.class_id, name, name_key(name), stored, self.clock()))
            else:
                tx.execute("UPDATE students SET pin_hash = ? WHERE id = ?", (stored, row["id"]))
                row = dict(row, pin_hash=stored)
        return self._student(row, info.code)

    def sign_in(self, code: str | None, name: str, pin: str) -> Student:
        """The student with this name and PIN. A wrong PIN raises WrongPinError and changes nothing
        but the count of wrong tries; the fifth one locks the name for a minute."""
        info = self.get_class(code)
        key = f"student:{info.class_id}:{name_key(name)}"
        self._check_not_locked(key, "This name")
        student = self.find_student(info.code, name)
        row = student and self.db.query_one("SELECT pin_hash FROM students WHERE id = ?", (student.student_id,))
        if student is None or not student.has_pin:
            raise ClassroomError(f"Nobody called “{clean_student_name(name)}” has joined this class yet: "
                                 "check the spelling, or join with that name.")
        if not pin_matches(str(pin), row["pin_hash"]):
            self._count_wrong_try(key, "That PIN is not right for this name.")
        self.db.execute("DELETE FROM sign_in_failures WHERE who = ?", (key,))
        return student

    def reset_pin(self, code: str | None, name: str, new_pin: str) -> Student:
        """The teacher sets a new PIN for a student who forgot theirs (and lifts any wait)."""
        info, pin = self.get_class(code), check_pin(new_pin)
        student = self.find_student(info.code, name)
        if student is None:
            raise ClassroomError(f"There is no student called “{clean_student_name(name)}” in this class.")
        self.db.execute("UPDATE students SET pin_hash = ? WHERE id = ?", (hash_pin(pin), student.student_id))
        self.db.execute("DELETE FROM sign_in_failures WHERE who = ?",
                        (f"student:{info.class_id}:{name_key(name)}",))
        return self.find_student(info.code, name)

    def student_for_cli(self, code: str | None, name: str) -> Student:
        """The student `train --student NAME` files a run under; made (with no PIN) if new."""
        info, name = self.get_class(code), clean_student_name(name)
        try:
            self.db.execute("INSERT INTO students (class_id, name, name_key, pin_hash, created) "
                            "VALUES (?, ?, ?, NULL, ?)", (info.class_id, name, name_key(name), self.clock()))
        except IntegrityError:
            pass  # already there
        return self.find_student(info.code, name)

    def remove_student(self, student: Student) -> None:
        """Forget the student's name and PIN (erase.py removes their runs and drawings first)."""
        self.db.execute("DELETE FROM students WHERE id = ?", (student.student_id,))

    # --- the teacher ---------------------------------------------------------------
    def teacher_sign_in(self, pin: str) -> None:
        """Nothing if `pin` is the teacher PIN; TeacherPinNotSetError, LockedError or WrongPinError otherwise."""
        expected = os.environ.get(TEACHER_PIN_ENV, "")
        if not expected:
            raise TeacherPinNotSetError(f"The teacher console is off: start the server with the environment "
                                        f"variable {TEACHER_PIN_ENV} set to a PIN of your choice, e.g. "
                                        f"{TEACHER_PIN_ENV}=4821 streamlit run app.py")
        self._check_not_locked("teacher", "The teacher PIN")
        if not hmac.compare_digest(str(pin).encode(), expected.encode()):
            self._count_wrong_try("teacher", "That is not the teacher PIN.")
        self.db.execute("DELETE FROM sign_in_failures WHERE who = 'teacher'")

    # --- wrong tries -----------------------------------------------------------------
    def _check_not_locked(self, key: str, what: str) -> None:
        row = self.db.query_one("SELECT locked_until FROM sign_in_failures WHERE who = ?", (key,))
        wait = (row["locked_until"] - self.clock()) if row else 0
        if wait > 0:
            raise LockedError(f"{what} had {MAX_WRONG_PINS} wrong PINs in a row: wait {int(wait) + 1} s, "
                              "then try again.")

    def _count_wrong_try(self, key: str, message: str) -> None:
        with self.db.transaction() as tx:
            row = tx.query_one("SELECT failures FROM sign_in_failures WHERE who = ?", (key,))
            failures = (row["failures"] if row else 0) + 1
            locked_until = self.clock() + LOCK_SECONDS if failures >= MAX_WRONG_PINS else 0.0
            tx.execute("INSERT INTO sign_in_failures (who, failures, locked_until) VALUES (?, ?, ?) "
                       "ON CONFLICT (who) DO UPDATE SET failures = excluded.failures, "
                       "locked_until = excluded.locked_until",
                       (key, 0 if locked_until else failures, locked_until))
        if locked_until:
            raise LockedError(f"{message} That was {MAX_WRONG_PINS} wrong tries: wait {LOCK_SECONDS} s, "
                              "then try again.")
        left = MAX_WRONG_PINS - failures
        raise WrongPinError(f"{message} {left} more {'try' if left == 1 else 'tries'} before a one-minute wait.")


def is_teacher(owner: str) -> bool:
    return owner == TEACHER_OWNER
