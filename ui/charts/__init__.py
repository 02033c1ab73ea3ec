"""Every Altair chart of the app, one module per page family, all coloured from one palette.

    palette.py       the colours of .streamlit/config.toml's [theme] (read at import), and the few
                     colours the theme has no key for; nothing else in ui/ or pages/ writes a colour
    training.py      Train page: live loss/accuracy curves and the per-digit heatmap;
                     Run history: the runs overlay (all as cached Vega-Lite specs)
    dataset.py       Home page: images per digit
    inspection.py    Confusion matrix, Per-class and Weights pages
    experiments.py   Experiments page: live loss, accuracy bars, loss overlays, epoch curves,
                     accuracy against parameters
    draw.py          Draw page: the ten probabilities and the class set's accuracy per digit

Builders take plain rows or arrays and return a chart (or data and spec); none calls st.*,
so bench/ can time them. Show one with `st.altair_chart(chart, width="stretch")`.
"""
