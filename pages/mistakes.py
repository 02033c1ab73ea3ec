"""Placeholder page: being built."""
import streamlit as st

st.title("mistakes")
st.info("This page is being built.")
