"""App tests of the class at once: names and PINs, caps, lessons, the board, guesses and shared links (AppTest).

The whole app runs from app.py. Each test has its own run store, hence its own
database and job queue. Training uses real MNIST on tiny subsets.
"""
import json

import pytest
from streamlit.testing.v1 import AppTest

from mnist_core.caps import Caps, set_class_caps
from mnist_core.class_board import Guess
from mnist_core.classroom import TEACHER_PIN_ENV, Classroom
from mnist_core.config import TrainConfig
from mnist_core.database import open_database
from mnist_core.lessons import CONTROLS, FREE, LOCKED, Lesson, LessonBook
from mnist_core.runs import RunStore

from test_app import APP, texts, unescape, wait_for_end

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("router_mode")]


def fresh(page: str | None = None, **params) -> AppTest:
    """A new browser session (a new tab, device or day)."""
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def name_form(at: AppTest, name: str, pin: str, button: str, code: str = "") -> AppTest:
    at.text_input(key="sign_in_class").input(code)
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_pin").input(pin)
    at.button(key=button).click().run()
    assert not at.exception, at.exception
    return at


def student_of(at: AppTest):
    return at.session_state["signed_in_student"] if "signed_in_student" in at.session_state else None


def room_at(runs_dir) -> Classroom:
    return Classroom(open_database(runs_dir))


def save_run(runs_dir, owner: str, lr: float = 0.1, extra: dict | None = None, synthetic=None):
    from mnist_core.train import fit
    result = fit(TrainConfig(arch="softmax", epochs=1, batch_size=100, lr=lr, seed=0), synthetic)
    return RunStore(runs_dir).save(result, owner=owner, extra=extra)


def test_the_name_panel_is_one_form_so_typing_reruns_nothing():
    """Name, PIN and class code travel with the Join or Sign in press: one script run per try, not one per field."""
    at = fresh()
    fields = [at.text_input(key=k) for k in ("sign_in_class", "sign_in_name", "sign_in_pin")]
    buttons = [b for b in at.button if b.key in ("sign_in_join", "sign_in_again")]
    form_ids = {w.proto.form_id for w in fields + buttons}
    assert len(buttons) == 2 and len(form_ids) == 1 and form_ids != {""}, form_ids


def test_join_then_sign_in_again_on_a_new_session_with_the_right_pin_and_a_wrong_one(runs_dir, synthetic):
    at = name_form(fresh(), "Ada", "2580", "sign_in_join")
    ada = student_of(at)
    assert ada is not None and ada.name == "Ada"
    assert any("Ada" in m.value for m in at.sidebar.markdown)
    saved = save_run(runs_dir, ada.owner, synthetic=synthetic)  # as if her run had finished

    wrong = name_form(fresh("pages/runs.py"), "Ada", "1111", "sign_in_again")
    assert student_of(wrong) is None
    assert any("That PIN is not right for this name. 4 more tries" in unescape(t) for t in texts(wrong.error))
    assert not [b for b in wrong.button if b.key in ("rename_button", "delete_button")], "hers, so read-only here"
    assert any("You have not trained a run yet" in t for t in texts(wrong.caption))

    again = name_form(wrong, "Ada", "2580", "sign_in_again")
    assert student_of(again) == ada
    again.switch_page("pages/runs.py").run()
    assert not again.exception
    mine = again.dataframe[0].value  # "Your runs"
    assert list(mine["Name"]) == [saved.name]
    assert [b.key for b in again.button if b.key == "rename_button"], "her own run: she may rename it"


def test_the_url_token_alone_does_not_act_for_a_named_student(runs_dir, synthetic):
    at = name_form(fresh(), "Ada", "2580", "sign_in_join")
    token = at.query_params["user"]
    ada = student_of(at)
    save_run(runs_dir, ada.owner, synthetic=synthetic)
    stranger = fresh("pages/runs.py", user=token)  # the address bar copied from the projector
    assert student_of(stranger) is None
    assert any("You have not trained a run yet" in t for t in texts(stranger.caption))


def test_a_taken_name_asks_for_another(runs_dir):
    name_form(fresh(), "Ada", "2580", "sign_in_join")
    other = name_form(fresh(), "ada", "1111", "sign_in_join")
    assert student_of(other) is None
    assert any("is taken in this class: choose another one" in unescape(t) for t in texts(other.error))
    bo = name_form(other, "Bo", "1111", "sign_in_join")
    assert student_of(bo).name == "Bo"


def test_the_caps_refuse_a_long_run_and_a_big_model_with_a_sentence(runs_dir):
    room = room_at(runs_dir)
    set_class_caps(room, None, Caps(max_epochs=2, max_parameters=500_000))
    at = name_form(fresh(), "Ada", "2580", "sign_in_join")
    at.select_slider(key="cfg_subset").set_value("200").run()
    at.slider(key="cfg_epochs").set_value(3).run()
    at.button(key="sidebar_train").click().run()
    assert any("This class allows at most 2 epochs per run" in unescape(t) for t in texts(at.error))
    at.slider(key="cfg_epochs").set_value(1).run()
    at.select_slider(key="cfg_hidden_mlp").set_value(1024).run()
    at.button(key="sidebar_train").click().run()
    assert any("more than the class's limit of 0.5 M" in unescape(t) for t in texts(at.error))
    from ui.session import get_jobs
    assert get_jobs().latest_job(student_of(at).owner) is None, "nothing was queued"


def test_one_training_run_per_student_however_many_tabs(runs_dir):
    first = name_form(fresh(), "Ada", "2580", "sign_in_join")
    first.select_slider(key="cfg_subset").set_value("10k").run()
    first.slider(key="cfg_epochs").set_value(30).run()
    first.button(key="sidebar_train").click().run()
    from ui.session import get_jobs
    job = get_jobs().active_job(student_of(first).owner)
    assert job is not None
    try:
        second = name_form(fresh(), "Ada", "2580", "sign_in_again")  # another tab
        assert second.button(key="sidebar_train").disabled, "Train waits while her run trains"
        from mnist_core.jobs import JobError
        with pytest.raises(JobError, match="is still (queued|running): stop it or wait for it before starting another"):
            get_jobs().submit_training(TrainConfig(subset=20, epochs=1), None, owner=student_of(second).owner)
    finally:
        job.stop()
        wait_for_end(job)


def test_a_lesson_locks_and_hides_controls_and_the_sidebar_follows_it(runs_dir):
    book = LessonBook(room_at(runs_dir))
    at = fresh()
    assert not at.selectbox(key="cfg_arch").disabled
    modes = {c: LOCKED for c in CONTROLS} | {"lr": FREE, "seed": "hidden"}
    book.save(None, Lesson("Only lr", modes=modes, values={"arch": "cnn", "epochs": 1, "subset": 20, "seed": 7}))
    book.set_current(None, "Only lr")
    at.run()  # the next redraw (a real sidebar polls every 3 s)
    assert not at.exception
    assert at.selectbox(key="cfg_arch").disabled and at.selectbox(key="cfg_arch").value == "cnn"
    assert not at.select_slider(key="cfg_lr").disabled
    at.session_state["sidebar_more_open"] = True  # open "Regularisation and seed": the seed is still not there
    at.run()
    assert at.select_slider(key="cfg_l2").disabled and "cfg_seed" not in [n.key for n in at.number_input]
    at.select_slider(key="cfg_lr").set_value(0.01).run()
    at.session_state["cfg_epochs"] = 30  # even a forged widget value is put back to the lesson's
    at.run()
    config = at.session_state["sidebar_config"]
    assert (config.arch, config.lr, config.epochs, config.subset, config.seed) == ("cnn", 0.01, 1, 20, 7)
    assert any("Today's lesson: Only lr" in unescape(t) for t in texts(at.caption))
    book.set_current(None, None)
    at.run()
    assert not at.selectbox(key="cfg_arch").disabled


def board_points(at: AppTest) -> tuple[dict, list[dict]]:
    """The class board's spec and its dots (Streamlit sends an Altair chart's data as Arrow)."""
    import pyarrow as pa

    chart = at.get("vega_lite_chart")[0].proto
    rows = [row for named in chart.datasets
            for row in pa.ipc.open_stream(named.data.data).read_pandas().to_dict("records")]
    return json.loads(chart.spec), rows


def test_the_board_shows_each_student_s_latest_run_and_reveals_names(runs_dir, monkeypatch, synthetic):
    room = room_at(runs_dir)
    ada, bo = room.join(None, "Ada", "1111"), room.join(None, "Bo", "2222")
    save_run(runs_dir, ada.owner, lr=0.01, synthetic=synthetic)
    save_run(runs_dir, ada.owner, lr=0.1, extra=Guess(0.5).to_extra(), synthetic=synthetic)
    save_run(runs_dir, bo.owner, lr=0.03, synthetic=synthetic)
    monkeypatch.delenv(TEACHER_PIN_ENV, raising=False)
    off = fresh("pages/teacher.py")
    assert any(f"{TEACHER_PIN_ENV}=4821 streamlit run app.py" in unescape(t) for t in texts(off.info))
    monkeypatch.setenv(TEACHER_PIN_ENV, "4821")
    at = fresh("pages/teacher.py")
    at.text_input(key="teacher_pin").input("0000")
    at.button(key="teacher_unlock").click().run()
    assert any("That is not the teacher PIN" in unescape(t) for t in texts(at.error))
    at.text_input(key="teacher_pin").input("4821")
    at.button(key="teacher_unlock").click().run()
    assert not at.exception
    board, points = board_points(at)
    assert sorted((p["student"], p["x"]) for p in points) == [("Student 1", 0.1), ("Student 2", 0.03)]
    assert all(p["state"] == "finished" for p in points)
    tooltips = [t["field"] for layer in board["layer"] for t in layer["encoding"]["tooltip"]]
    assert "student" in tooltips and "val_accuracy" in tooltips
    assert any("2 students have a run" in unescape(t) for t in texts(at.caption))
    at.button(key="board_reveal").click().run()
    assert sorted(p["student"] for p in board_points(at)[1]) == ["Ada", "Bo"]
    csv = at.get("download_button")[0]
    assert csv is not None


def test_a_guess_before_train_is_scored_after_the_run(runs_dir):
    book = LessonBook(room_at(runs_dir))
    book.save(None, Lesson("Guess day", guesses=True, modes={c: LOCKED for c in CONTROLS},
                           values={"arch": "softmax", "subset": 20, "epochs": 1, "batch_size": 50}))
    book.set_current(None, "Guess day")
    at = name_form(fresh(), "Ada", "2580", "sign_in_join")
    assert at.button(key="sidebar_train").disabled, "Train waits for the guess"
    assert any("Type your guess to unlock Train" in t for t in texts(at.caption))
    at.number_input(key="guess_accuracy").set_value(60.0).run()
    at.checkbox(key="guess_diverges").check().run()
    assert not at.button(key="sidebar_train").disabled
    at.button(key="sidebar_train").click().run()
    from ui.session import get_jobs
    job = get_jobs().latest_job(student_of(at).owner)
    wait_for_end(job)
    at.run()
    assert not at.exception
    val = job.result.val_accuracy
    expected = round(max(0.0, 100 - abs(0.6 - val) * 100), 1)
    message = next(unescape(t) for t in texts(at.success) if "You guessed 60%" in unescape(t))
    assert f"Score: {expected:g} out of 100" in message and "diverge, and it did not: wrong" in message
    saved = RunStore(runs_dir).get(job.run_info.run_id)
    assert saved.extra["guess"] == {"val_accuracy": 0.6, "diverges": True}
    assert at.number_input(key="guess_accuracy").value is None, "the next run needs a new guess"


def test_a_hostile_link_is_ignored_with_one_line_notes_and_the_rest_applies(runs_dir):
    at = fresh(arch="cnn", lr="abc", batch_size="<script>alert(1)</script>", epochs="2",
               seed="18446744073709551614", dropout="0.25", projector="1")
    notes = [unescape(t) for t in texts(at.warning)]
    assert any(n.startswith("Ignored lr=abc from the link: it is not a number") for n in notes)
    assert any(n.startswith("Ignored batch_size=&lt;script&gt;alert(1)&lt;/sc… from the link: it is not a whole")
               for n in notes), notes
    assert any(n.startswith("Ignored seed=18446744073709551614 from the link") for n in notes)
    assert all("\n" not in n for n in notes)
    config = at.session_state["sidebar_config"]
    assert (config.arch, config.epochs, config.dropout, config.lr, config.seed) == ("cnn", 2, 0.25, TrainConfig().lr, 0)
    at.run()
    assert not at.warning, "the notes are said once"


def test_copy_link_shows_a_link_with_the_settings_and_no_identity(runs_dir):
    at = fresh()
    at.slider(key="cfg_epochs").set_value(5).run()
    at.button(key="copy_settings_link").click().run()
    link = at.code[0].value
    assert "epochs=5" in link and "user=" not in link
    from urllib.parse import parse_qs, urlsplit

    from mnist_core.share_links import config_from_query
    settings, notes = config_from_query({k: v for k, v in parse_qs(urlsplit(link).query).items()})
    assert notes == [] and TrainConfig(**settings).to_dict() == at.session_state["sidebar_config"].to_dict()
