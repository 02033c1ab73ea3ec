#!/usr/bin/env bash
# Install (first time) and run every test: unit, integration on real MNIST, AppTest and browser.
# Extra arguments go to pytest, e.g. `bash test.sh -m "not integration"`.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/install.sh --dev
source scripts/env.sh
exec .venv/bin/python -m pytest "$@"
