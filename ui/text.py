"""Showing user or engine text safely: never as HTML, never as Markdown it did not mean."""
import html

_MARKDOWN_SPECIALS = set("\\`*_{}[]()#+-.!|~$:")


def plain(text: str) -> str:
    r"""User or engine text made safe for st.markdown (and st.info, st.error, ...).

    HTML is escaped, and so is every Markdown character, so a run named
    "**x**" or ":red[x]" shows exactly as typed.

    >>> plain("<b>*hi*</b>")
    '&lt;b&gt;\\*hi\\*&lt;/b&gt;'
    """
    text = html.escape(str(text), quote=False)
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIALS else ch for ch in text)
