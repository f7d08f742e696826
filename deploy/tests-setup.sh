#!/usr/bin/env bash
# Installs what tests/deploy runs: nginx (`nginx -t` and a live gateway), promtool (Debian's prometheus
# package), openssl, and the pinned PyPI validators of deploy/requirements-tests.txt. Idempotent; CI calls it
# before pytest. PYTHON picks the interpreter whose environment gets the PyPI packages (default: the
# repository's .venv, else python3).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v nginx >/dev/null 2>&1 || missing+=(nginx)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if ((${#missing[@]})); then
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
    export DEBIAN_FRONTEND=noninteractive
    # Other installs may hold the dpkg lock for a while: wait for it rather than fail.
    "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
    "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
    # The packages' services are not wanted here: only their binaries. (Where systemd runs, stop them.)
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        for unit in prometheus nginx; do
            "${sudo[@]}" systemctl disable --now "$unit" >/dev/null 2>&1 || true
        done
    fi
fi

python="${PYTHON:-}"
if [ -z "$python" ]; then
    if [ -x .venv/bin/python ]; then python=.venv/bin/python; else python=python3; fi
fi
"$python" -m pip install --quiet --disable-pip-version-check -r deploy/requirements-tests.txt

nginx -v 2>&1
promtool --version 2>&1 | head -1
"$python" -c 'import kubernetes_validate, sys; print("kubernetes-validate", kubernetes_validate.__version__)' 2>/dev/null \
    || "$python" -m pip show kubernetes-validate | head -2
