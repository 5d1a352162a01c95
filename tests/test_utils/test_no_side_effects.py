"""Importing mmcenternet (and registering its modules) changes nothing outside the package."""
import json
import subprocess
import sys

import pytest

from test_engine.conftest import ROOT

SNAPSHOT = '''
import os, torch
from mmengine.runner.checkpoint import CheckpointLoader
def snapshot():
    return (list(CheckpointLoader._schemes.items()), dict(os.environ),
            list(torch.serialization.get_safe_globals()))
before = snapshot()
'''

CHECK = '''
after = snapshot()
import json
print(json.dumps(dict(
    schemes=after[0] == before[0], scheme_names=[p for p, _ in after[0]],
    environ=sorted(set(after[1].items()) ^ set(before[1].items())),
    safe_globals=after[2] == before[2])))
'''


@pytest.mark.parametrize('code', [
    'import mmcenternet',
    'from mmcenternet.utils import register_all_modules; register_all_modules()',
    'import mmcenternet.checkpoint, mmcenternet.engine, mmcenternet.apis',
])
def test_import_and_registration_change_nothing_outside(code):
    """mmengine's checkpoint schemes (same functions, same order), ``os.environ`` and
    torch's safe-globals list are exactly as before, in a fresh interpreter."""
    proc = subprocess.run([sys.executable, '-c', SNAPSHOT + code + CHECK], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == dict(schemes=True, scheme_names=result['scheme_names'], environ=[],
                          safe_globals=True)
    assert '' in result['scheme_names'] and 'http://' in result['scheme_names']


def test_register_all_modules_fills_every_registry_through_locations():
    """``register_all_modules`` imports none of our subpackages itself: each registry's
    ``locations`` does (the ONNX Runtime detector's ``mmcenternet.deploy`` included)."""
    code = ('from mmcenternet.utils import register_all_modules; register_all_modules()\n'
            'import sys\n'
            'from mmcenternet.registry import MODELS, HOOKS, OPTIM_WRAPPERS, DATASETS\n'
            'print(all(r._imported for r in (MODELS, HOOKS, OPTIM_WRAPPERS, DATASETS)),\n'
            '      MODELS.get("ONNXRuntimeDetector").__name__, "mmcenternet.deploy" in '
            'sys.modules)')
    proc = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ['True', 'ONNXRuntimeDetector', 'True']
