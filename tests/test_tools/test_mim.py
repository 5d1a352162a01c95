"""``mim train mmcenternet CONFIG`` (openmim) on a tiny toy config, when openmim is installed
(it is optional: ``pip install openmim``, then ``mim install -e .`` in the repository)."""
import os.path as osp
import shutil
import subprocess
import sys

import pytest

from test_tools.toy_workspace import ROOT, make_workspace

MIM = shutil.which('mim', path=osp.dirname(sys.executable))


@pytest.mark.skipif(MIM is None, reason='openmim is not installed')
def test_mim_train_runs_our_train_tool(tmp_path):
    import mmcenternet
    package = osp.dirname(mmcenternet.__file__)
    if not osp.isfile(osp.join(package, '.mim', 'tools', 'train.py')):
        pytest.skip(f'mmcenternet at {package} was not installed with its .mim folder '
                    '(mim install -e .)')
    cfg = make_workspace(tmp_path, num_train=4, num_val=2, epochs=1)
    work = tmp_path / 'work'
    proc = subprocess.run([MIM, 'train', 'mmcenternet', cfg, '--gpus', '0', '--work-dir',
                           str(work)], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert osp.isfile(work / 'epoch_1.pth')
    assert 'Training finished successfully' in proc.stdout + proc.stderr
