#!/usr/bin/env bash
# Build a virtual environment with the pinned OpenMMLab stack (mmcv with compiled ops) and
# litehrnet-mm installed in editable mode. Safe to run again: finished steps are skipped.
#
#   bash tools/install.sh            # creates ./.venv
#   LITEHRNET_VENV=/path/venv bash tools/install.sh
#
# Why each step is here: see README "Install" and the notes in requirements/constraints.txt.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${LITEHRNET_VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}
TORCH_VERSION=2.14.1
MMCV_VERSION=2.1.0
# Built mmcv wheels are kept here, keyed by the torch they were compiled against, so that a
# second environment on the same machine skips the ~16 minute compile.
WHEELHOUSE=${LITEHRNET_WHEELHOUSE:-$HOME/.cache/litehrnet-mm/wheels/torch-$TORCH_VERSION}
CONSTRAINTS=$ROOT/requirements/constraints.txt

log() { printf '[install %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
start=$(date +%s)

if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --quiet -c "$CONSTRAINTS")
export PIP_NO_WARN_SCRIPT_LOCATION=1

if "$PY" -c "import litehrnet_mm, mmcv._ext, mmpose.models, mmseg.models, xtcocotools._mask" 2>/dev/null \
   && [ "${LITEHRNET_REINSTALL:-0}" != 1 ]; then
    log "environment already complete: $VENV"
    "${PIP[@]}" --no-deps --no-build-isolation -e "$ROOT"
    exit 0
fi

# Build tools first. setuptools < 81 keeps pkg_resources (mmengine, openmim and mmcv's
# setup.py import it); torch wants >= 77.0.3.
log "build tools"
"${PIP[@]}" setuptools wheel ninja cython numpy

# torch and torchvision as a matched pair (the torch 2.13 CPU wheel on disk cannot import
# PyPI's torchvision). They must be in place before mmcv is compiled against them.
log "torch $TORCH_VERSION + torchvision"
"${PIP[@]}" torch torchvision

# mmcv 2.1.0: the newest release that MMSeg 1.2.2 and mmdet accept (< 2.2.0); PyPI has only
# its source. Built without isolation (so it sees torch and compiles its ops) and with
# -std=c++20, which torch 2.14's headers require (mmcv's setup.py hard-codes c++17).
mmcv_wheel=$(ls "$WHEELHOUSE"/mmcv-$MMCV_VERSION-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$mmcv_wheel" ]; then
    log "compiling mmcv $MMCV_VERSION with ops (about 16 minutes on 2 cores)"
    build=$(mktemp -d)
    "$PY" -m pip download --quiet --no-deps --no-binary :all: "mmcv==$MMCV_VERSION" -d "$build"
    tar -xzf "$build"/mmcv-$MMCV_VERSION.tar.gz -C "$build"
    sed -i 's/-std=c++17/-std=c++20/g; s/-std=c++14/-std=c++20/g' "$build/mmcv-$MMCV_VERSION/setup.py"
    mkdir -p "$WHEELHOUSE"
    (cd "$build/mmcv-$MMCV_VERSION" && MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} \
        "$PY" -m pip wheel --no-deps --no-build-isolation -w "$build/dist" .)
    cp "$build"/dist/mmcv-*.whl "$WHEELHOUSE"/
    rm -rf "$build"
    mmcv_wheel=$(ls "$WHEELHOUSE"/mmcv-$MMCV_VERSION-*.whl | head -n 1)
else
    log "using cached mmcv wheel $mmcv_wheel"
fi
"${PIP[@]}" "$mmcv_wheel"
"$PY" -c "import mmcv" || { echo "mmcv does not import (see above)" >&2; exit 1; }
"$PY" -c "import mmcv._ext" || { echo "mmcv was built without its compiled ops" >&2; exit 1; }

# chumpy (a declared requirement of mmpose, never imported) has a setup.py that imports pip;
# xtcocotools' wheel is built against NumPy 1, so it is compiled here against NumPy 2.
log "chumpy and xtcocotools from source"
"${PIP[@]}" --no-build-isolation chumpy
"${PIP[@]}" --no-build-isolation --no-binary xtcocotools xtcocotools

# The OpenMMLab packages, plus what they import at run time without declaring it
# (six: mmpose; ftfy, regex: mmseg's tokenizer).
log "mmengine, mmdet, mmpose, mmsegmentation"
"${PIP[@]}" --no-build-isolation mmengine mmdet mmpose mmsegmentation pycocotools six ftfy regex

# openmim without opendatalab/openxlab, which pin old setuptools, requests and rich.
log "openmim"
"${PIP[@]}" --no-deps openmim
"${PIP[@]}" click colorama model-index pandas requests rich tabulate

log "litehrnet-mm (editable)"
"${PIP[@]}" --no-build-isolation -e "$ROOT"

"$PY" -c "import litehrnet_mm, mmcv._ext, mmpose.models, mmseg.models, xtcocotools._mask"
log "done in $(( $(date +%s) - start )) s: $VENV"
