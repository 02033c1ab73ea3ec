"""Teacher console: the live class board, lessons, students, control of the queue and care of the class's data.

Shown only after the teacher PIN (the environment variable MNIST_LAB_TEACHER_PIN;
there is no default, and without it the page says how to set it).
"""
import streamlit as st

from ui.sidebar import current_config
from ui.teacher_views import (adopt_new_class, choose_class, class_board, control_panel, data_panel, lessons_editor,
                              students_panel, unlock_or_stop)

st.title("Teacher console")
unlock_or_stop()
adopt_new_class()
code = choose_class()
board, lesson, students, control, data = st.tabs(["Class board", "Lesson", "Students", "Control", "Class data"])
with board:
    class_board(code)
with lesson:
    lessons_editor(code, current_config())
with students:
    students_panel(code)
with control:
    control_panel(code)
with data:
    data_panel(code)
