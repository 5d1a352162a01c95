import os
import subprocess
import sys

import torch

from mmcenternet.checkpoint import safe_load

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


def run_main(script, argv, capsys, monkeypatch):
    """Runs a tool's ``__main__`` (``ROOT/script``) in this process.

    Returns:
        ``(exit code, stdout, stderr)``; 0 when the script returns normally.
    """
    import runpy
    monkeypatch.delenv('MMCN_DEBUG', raising=False)
    monkeypatch.setattr(sys, 'argv', [script, *map(str, argv)])
    code = 0
    try:
        runpy.run_path(os.path.join(ROOT, script), run_name='__main__')
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err
