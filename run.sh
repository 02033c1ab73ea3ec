#!/usr/bin/env bash
# Install (first time) and start MNIST Lab on http://localhost:8501
# Extra arguments go to streamlit, e.g. `bash run.sh --server.address 0.0.0.0` to serve a classroom.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/install.sh
source scripts/env.sh
exec .venv/bin/streamlit run app.py "$@"
