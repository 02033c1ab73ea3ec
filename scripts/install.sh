#!/usr/bin/env bash
# Create .venv (if missing) and install MNIST Lab's Python requirements into it.
#   bash scripts/install.sh          app only
#   bash scripts/install.sh --dev    plus pytest, Playwright, Debian's Chromium and axe-core (npm) for the browser tests
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv ..."
    "$PYTHON" -m venv .venv
fi
# torch's CUDA build is a few GB: pip keeps no second copy in its cache, and unpacks beside .venv
# rather than in /tmp (which is a small RAM disk on some machines).
export PIP_NO_CACHE_DIR=1
export TMPDIR="$PWD/.venv/tmp"
mkdir -p "$TMPDIR"
trap 'rm -rf "$PWD/.venv/tmp"' EXIT
if [ "${1:-}" = "--dev" ]; then
    .venv/bin/pip install --quiet -r requirements-dev.txt
    # Debian packages for the tests: chromium for the browser tests, postgresql for the database
    # tests (tests/postgres_server.py starts a throwaway server on loopback and stops it).
    PACKAGES=""
    { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; } && PACKAGES="chromium chromium-driver"
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || PACKAGES="$PACKAGES postgresql"
    if [ -n "$PACKAGES" ]; then
        echo "Installing Debian's $PACKAGES for the tests ..."
        SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $PACKAGES >/dev/null
    fi
    # axe-core (npm) checks every page's accessibility in the browser tests.
    if [ ! -f node_modules/axe-core/axe.min.js ]; then
        echo "Installing axe-core for the accessibility tests ..."
        if ! command -v npm >/dev/null; then
            SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
            $SUDO apt-get update -qq
            DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm >/dev/null
        fi
        npm install --no-save --no-audit --no-fund --silent axe-core@4
    fi
else
    .venv/bin/pip install --quiet -r requirements.txt
fi
