#!/usr/bin/env bash
# Build a virtual environment with the pinned OpenMMLab stack (mmcv with compiled ops) and
# litehrnet-mm installed in editable mode. Safe to run again: finished steps are skipped.
#
#   bash tools/install.sh            # creates ./.venv
#   LITEHRNET_VENV=/path/venv bash tools/install.sh
#   bash tools/install.sh --print-wheelhouse   # where this environment's mmcv wheel is cached
#
# Why each step is here: see README "Install" and the notes in requirements/constraints.txt.
# On a failure the script names the step, and removes its temporary build folder.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${LITEHRNET_VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}
TORCH_VERSION=2.14.1
MMCV_VERSION=2.1.0
# Built mmcv wheels are kept under here, in a folder per Python tag and torch build (the ops
# are compiled against both), so that a second environment skips the ~16 minute compile.
WHEEL_CACHE=${LITEHRNET_WHEELHOUSE:-$HOME/.cache/litehrnet-mm/wheels}
CONSTRAINTS=$ROOT/requirements/constraints.txt

STEP="starting"
BUILD=""
log() { STEP="$*"; printf '[install %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
on_error() {
    [ "$BASH_SUBSHELL" -eq 0 ] || return 0  # said once, by the script itself
    printf '[install] FAILED at step "%s" (tools/install.sh line %s, exit status %s): the cause is in the messages above; fix it and run the script again.\n' \
        "$STEP" "$1" "$2" >&2
}
cleanup() { if [ -n "$BUILD" ]; then rm -rf "$BUILD"; fi; }
trap 'on_error $LINENO $?' ERR
trap cleanup EXIT
start=$(date +%s)

PY="$VENV/bin/python"
PIP=("$PY" -m pip install --quiet -c "$CONSTRAINTS")
export PIP_NO_WARN_SCRIPT_LOCATION=1

wheelhouse() {  # the mmcv wheel folder of this environment's Python tag and torch build
    local key
    key=$("$PY" -c 'import sys, torch; print(f"cp{sys.version_info[0]}{sys.version_info[1]}-torch-{torch.__version__}")')
    echo "$WHEEL_CACHE/$key"
}

if [ "${1:-}" = --print-wheelhouse ]; then
    STEP="reading the Python tag and torch build of $VENV"
    wheelhouse
    exit 0
fi

if [ ! -x "$PY" ]; then
    log "creating virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
fi

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
build_mmcv() {
    log "compiling mmcv $MMCV_VERSION with ops (about 16 minutes on 2 cores)"
    BUILD=$(mktemp -d)
    "$PY" -m pip download --quiet --no-deps --no-binary :all: "mmcv==$MMCV_VERSION" -d "$BUILD"
    tar -xzf "$BUILD"/mmcv-$MMCV_VERSION.tar.gz -C "$BUILD"
    sed -i 's/-std=c++17/-std=c++20/g; s/-std=c++14/-std=c++20/g' "$BUILD/mmcv-$MMCV_VERSION/setup.py"
    (cd "$BUILD/mmcv-$MMCV_VERSION" && MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} \
        "$PY" -m pip wheel --no-deps --no-build-isolation -w "$BUILD/dist" .)
    log "caching the mmcv wheel in $WHEELHOUSE"
    mkdir -p "$WHEELHOUSE"
    local wheel
    wheel=$(ls "$BUILD"/dist/mmcv-*.whl)
    # copied under a temporary name, then renamed: a partly copied wheel is never found
    cp "$wheel" "$WHEELHOUSE/.$(basename "$wheel").part"
    mv "$WHEELHOUSE/.$(basename "$wheel").part" "$WHEELHOUSE/$(basename "$wheel")"
    rm -rf "$BUILD"
    BUILD=""
}
works() {  # install the wheel $1 and check that mmcv imports with its compiled ops
    "${PIP[@]}" --no-deps --force-reinstall "$1" && "${PIP[@]}" "$1" \
        && "$PY" -c "import mmcv._ext"
}
WHEELHOUSE=$(wheelhouse)
mmcv_wheel=$(ls "$WHEELHOUSE"/mmcv-$MMCV_VERSION-*.whl 2>/dev/null | head -n 1 || true)
if [ -n "$mmcv_wheel" ]; then
    log "installing the cached mmcv wheel $mmcv_wheel"
    if ! works "$mmcv_wheel"; then
        log "the cached mmcv wheel does not install or lacks its ops: removing it, rebuilding"
        rm -f "$mmcv_wheel"
        mmcv_wheel=""
    fi
fi
if [ -z "$mmcv_wheel" ]; then
    build_mmcv
    mmcv_wheel=$(ls "$WHEELHOUSE"/mmcv-$MMCV_VERSION-*.whl | head -n 1)
    log "installing the mmcv wheel just built, $mmcv_wheel"
    works "$mmcv_wheel"
fi

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

log "checking that the environment imports"
"$PY" -c "import litehrnet_mm, mmcv._ext, mmpose.models, mmseg.models, xtcocotools._mask"
log "done in $(( $(date +%s) - start )) s: $VENV"
