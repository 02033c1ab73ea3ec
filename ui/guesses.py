"""Predict, then observe: the guess a student makes before Train, and its score after the run.

When the class's current lesson turns guesses on, the sidebar asks for the
final validation accuracy (a percentage) and whether the run will diverge;
Train waits until the accuracy is given. The guess travels with the job and
is saved in the run, so the board and the student see it against the outcome.
"""
from __future__ import annotations

import streamlit as st

from mnist_core.class_board import Guess, guess_score

from .text import plain

GUESS_KEY = "guess_accuracy"  # session_state: the percentage typed (None until typed)
DIVERGES_KEY = "guess_diverges"
PENDING_KEY = "guess_pending"  # session_state: (ready, extra) as the sidebar read them in this script run


def set_pending(ready: bool, extra: dict | None) -> None:
    """What the sidebar read, for every Train button of this run (the Train page has one too)."""
    st.session_state[PENDING_KEY] = (ready, extra)


def pending() -> tuple[bool, dict | None]:
    return st.session_state.get(PENDING_KEY, (True, None))


def guess_inputs() -> tuple[bool, dict | None]:
    """Draw the guess (in the current container). Returns (ready, extra): ready is False until a
    percentage is given; extra is what the run keeps."""
    st.markdown("**Your guess, before you train**")
    percent = st.number_input("Final validation accuracy (%)", min_value=0.0, max_value=100.0, value=None,
                              step=1.0, key=GUESS_KEY, placeholder="e.g. 90",
                              help="What do you expect the validation accuracy to be when the run ends?")
    diverges = st.checkbox("I think this run will diverge", key=DIVERGES_KEY,
                           help="Diverging: the loss explodes and the network stops learning.")
    if percent is None:
        st.caption("Type your guess to unlock Train.")
        return False, None
    return True, Guess(percent / 100.0, bool(diverges)).to_extra()


def forget_guess() -> None:
    """After Train: the next run needs a new guess."""
    st.session_state.pop(GUESS_KEY, None)
    st.session_state.pop(DIVERGES_KEY, None)


def draw_guess_outcome(extra: dict | None, val_accuracy: float | None, status: str) -> None:
    """The guess against the result, with its score (nothing if the run had no guess)."""
    guess = Guess.from_extra(extra)
    if guess is None:
        return
    diverged = status == "diverged"
    actual = val_accuracy if val_accuracy is not None else (0.0 if diverged else None)
    if actual is None:
        st.caption("This run has no validation accuracy, so the guess cannot be scored.")
        return
    score = guess_score(guess.val_accuracy, actual)
    right = guess.diverges == diverged
    st.success(plain(f"You guessed {100 * guess.val_accuracy:.0f}%; the run reached {100 * actual:.1f}%. "
                     f"Score: {score:g} out of 100. You said it would {'' if guess.diverges else 'not '}diverge, and "
                     f"it {'did' if diverged else 'did not'}: {'right' if right else 'wrong'}."),
               icon=":material/psychology:")
