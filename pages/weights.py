"""Placeholder page: being built."""
import streamlit as st

st.title("weights")
st.info("This page is being built.")
