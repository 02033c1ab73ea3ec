"""Placeholder page: being built."""
import streamlit as st

st.title("confusion_matrix")
st.info("This page is being built.")
