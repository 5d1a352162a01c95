import os
import subprocess
import sys

import torch

from mmcenternet.checkpoint import safe_load
from test_tools.toy_workspace import run_main  # noqa: F401  (the tool-running helper)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TINY_RUNNER = os.path.join(HERE, 'tiny_runner.py')


def run_tiny(work_dir, *args, timeout=120):
    """Run tiny_runner.py in a subprocess; return the CompletedProcess."""
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    return subprocess.run(
        [sys.executable, TINY_RUNNER, str(work_dir), *map(str, args)],
        capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)


def weights_of(path):
    """The state dict of a checkpoint file (loaded weights-only)."""
    return safe_load(str(path))['state_dict']


def assert_same_tensors(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
