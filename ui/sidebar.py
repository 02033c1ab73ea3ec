"""The shared sidebar (placeholder: the training controls are being built)."""
import streamlit as st


def render_sidebar() -> None:
    st.sidebar.caption("MNIST Lab")
