"""Placeholder page: being built."""
import streamlit as st

st.title("per_class")
st.info("This page is being built.")
