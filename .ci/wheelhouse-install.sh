#!/bin/sh
# install.sh of the skoala-airgap wheelhouse (copied in by .ci/dist.py): installs the tool from the wheels
# next to this script into a new venv, with no package index and no network, e.g. on an air-gapped bastion.
#
# Usage: ./install.sh [VENV_DIR]     (default: ./venv beside this script; PYTHON=python3.12 picks another)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
venv=${1:-$here/venv}
python=${PYTHON:-python3}

# A clear one-line answer before venv or pip print something longer about the wrong Python.
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "install.sh: skoala-airgap needs Python >= 3.11; '$python' is $("$python" -V 2>&1 || echo 'not found')" >&2
  exit 1
fi
if ! "$python" -m venv "$venv"; then
  echo "install.sh: '$python -m venv' failed (Debian/Ubuntu: install python3-venv); or run: python3 skoala-airgap.pyz" >&2
  exit 1
fi
# --no-index: only the wheels shipped here are used; the site's pip configuration cannot send pip anywhere.
# The wheels are for this build's CPU and CPython versions; elsewhere the zipapp runs on any Python >= 3.11.
if ! "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-index --find-links "$here/wheels" skoala-airgap; then
  echo "install.sh: pip could not install from $here/wheels (other CPU or Python?); or run: python3 skoala-airgap.pyz" >&2
  exit 1
fi

echo "skoala-airgap $("$venv/bin/skoala-airgap" --version | sed 's/.* //') installed in $venv"
echo "run it as:  $venv/bin/skoala-airgap --help"
echo "or put it on PATH:  ln -s $venv/bin/skoala-airgap /usr/local/bin/skoala-airgap"
