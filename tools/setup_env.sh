#!/usr/bin/env bash
# Creates .venv in the repository root (if missing) with the pinned stack, idempotently:
#   torch 2.13.0 (the machine's CUDA torch if one is installed system-wide; else the CPU wheel
#   on a machine without an NVIDIA GPU, PyPI's CUDA wheel on one with a GPU),
#   mmcv 2.1.0 built from source with its compiled ops (CUDA ops when CUDA is there),
#   mmengine 0.10.7, mmdet 3.3.0, pycocotools, test tools, and mmcenternet (editable).
# A second run checks the stamp and the imports and returns in seconds.
#   bash tools/setup_env.sh --print-torch   # prints the pip arguments used for torch
# TORCH_CPU_INDEX (default PyTorch's CPU index) is where the +cpu wheel comes from; set it
# empty when a local wheel / mirror provides torch==2.13.0+cpu.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.mmcenternet-stack
TORCH_VERSION=2.13.0
TORCH_CPU_INDEX=${TORCH_CPU_INDEX-https://download.pytorch.org/whl/cpu}

has_nvidia_gpu() {
  command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1
}

torch_pip_args() {  # PyPI's torch wheel for Linux pulls ~3 GB of CUDA packages: not on CPU
  if has_nvidia_gpu; then
    echo "torch==$TORCH_VERSION"
  else
    echo "torch==$TORCH_VERSION+cpu${TORCH_CPU_INDEX:+ --extra-index-url $TORCH_CPU_INDEX}"
  fi
}

if [ "${1:-}" = "--print-torch" ]; then
  torch_pip_args
  exit 0
fi

want=$(cat requirements/*.txt setup.py | sha1sum | cut -c1-16)

cuda_torch() {  # prints the system torch's CUDA version when there is a CUDA torch
  "$PY" - <<'PYEOF' 2>/dev/null
import torch
print(torch.version.cuda or '')
PYEOF
}

one_opencv() {  # mmengine requires opencv-python; a second cv2 wheel (headless, contrib)
  # writes the same cv2 folder, and uninstalling either one later breaks cv2.
  local others version
  others=$($PIP list --format=freeze 2>/dev/null | cut -d= -f1 | \
           grep -i -x -E 'opencv-python-headless|opencv-contrib-python(-headless)?' || true)
  version=$($PIP list --format=freeze 2>/dev/null | grep -i '^opencv-python==' | \
            cut -d= -f3 || true)
  if [ -n "$others" ] && [ -n "$version" ]; then
    echo "[setup] removing the second OpenCV wheel ($others); keeping opencv-python $version"
    $PIP uninstall -q -y $others
    $PIP install -q --force-reinstall --no-deps "opencv-python==$version"
  fi
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && \
   $VENV/bin/python -c "import mmcenternet, mmcv.ops" 2>/dev/null; then
  echo "[setup] .venv is ready (stack $want)"
  exit 0
fi

SYSTEM_CUDA=$(cuda_torch || true)
if [ ! -x $VENV/bin/python ]; then
  if [ -n "$SYSTEM_CUDA" ]; then
    echo "[setup] using the system's CUDA torch (CUDA $SYSTEM_CUDA)"
    "$PY" -m venv --system-site-packages $VENV
  else
    "$PY" -m venv $VENV
  fi
fi
PIP="$VENV/bin/python -m pip"
if ! $VENV/bin/python -c "import torch" 2>/dev/null; then
  # without a GPU: a +cpu wheel that pip already finds (a local wheel folder or mirror) needs
  # no round trip to PyTorch's index; otherwise the index (TORCH_CPU_INDEX)
  if has_nvidia_gpu || ! $PIP install -q "torch==$TORCH_VERSION+cpu" 2>/dev/null; then
    # shellcheck disable=SC2046
    $PIP install -q $(torch_pip_args)
  fi
fi
# mmcv's build and the editable install run with --no-build-isolation: they use the venv's
# torch and build tools (requirements/build.txt says why setuptools is bounded).
# mmengine (and so opencv-python) first: mmcv's setup.py adds opencv-python-headless to its
# requirements when no cv2 is importable at build time, a second OpenCV wheel.
$PIP install -q -r requirements/build.txt mmengine==0.10.7
if ! $VENV/bin/python -c "import mmcv.ops" 2>/dev/null; then
  if $VENV/bin/python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    export FORCE_CUDA=1
    echo "[setup] building mmcv 2.1.0 with CUDA ops"
  else
    echo "[setup] building mmcv 2.1.0 with CPU ops (about 10-20 minutes on 2 cores; pip caches it)"
  fi
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} $PIP install --no-build-isolation mmcv==2.1.0
fi
$PIP install -q -r requirements/runtime.txt -r requirements/tests.txt mmengine==0.10.7 \
  mmdet==3.3.0
one_opencv
$PIP install -q --no-build-isolation --no-deps -e .
$VENV/bin/python -c "import mmcenternet, mmcv.ops; print('[setup] mmcenternet', mmcenternet.__version__, 'ready')"
echo "$want" > "$STAMP"
