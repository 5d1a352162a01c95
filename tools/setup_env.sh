#!/usr/bin/env bash
# Creates .venv in the repository root (if missing) with the pinned stack, idempotently:
#   torch 2.13.0 (or the machine's CUDA torch, if one is installed system-wide),
#   mmcv 2.1.0 built from source with its compiled ops (CUDA ops when CUDA is there),
#   mmengine 0.10.7, mmdet 3.3.0, pycocotools, test tools, and mmcenternet (editable).
# A second run checks the stamp and the imports and returns in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.mmcenternet-stack
want=$(cat requirements/*.txt setup.py | sha1sum | cut -c1-16)

cuda_torch() {  # prints the system torch's CUDA version when there is a CUDA torch
  "$PY" - <<'PYEOF' 2>/dev/null
import torch
print(torch.version.cuda or '')
PYEOF
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
$PIP install -q -r requirements/build.txt
if ! $VENV/bin/python -c "import torch" 2>/dev/null; then
  $PIP install -q torch==2.13.0
fi
$PIP install -q -r requirements/runtime.txt -r requirements/tests.txt mmengine==0.10.7
# torch pulls a newer setuptools back in; mmcv's build needs the old one.
$PIP install -q -r requirements/build.txt

if ! $VENV/bin/python -c "import mmcv.ops" 2>/dev/null; then
  if $VENV/bin/python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    export FORCE_CUDA=1
    echo "[setup] building mmcv 2.1.0 with CUDA ops"
  else
    echo "[setup] building mmcv 2.1.0 with CPU ops (about 10-20 minutes on 2 cores; pip caches it)"
  fi
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} $PIP install --no-build-isolation mmcv==2.1.0
fi
$PIP install -q mmdet==3.3.0
$PIP install -q --no-build-isolation --no-deps -e .
$VENV/bin/python -c "import mmcenternet, mmcv.ops; print('[setup] mmcenternet', mmcenternet.__version__, 'ready')"
echo "$want" > "$STAMP"
