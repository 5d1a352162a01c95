"""Packaging: install_requires is what the code imports; numpy 1.x checkpoints load; one
OpenCV wheel; the torch wheel the setup script picks."""
import ast
import io
import os
import os.path as osp
import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch

from test_tools.toy_workspace import ROOT

#: Import name -> distribution name, where they differ.
DISTRIBUTIONS = {'cv2': 'opencv-python', 'PIL': 'Pillow', 'yaml': 'PyYAML'}
#: Optional imports (guarded, extras_require).
OPTIONAL = {'tensorboard', 'onnx', 'onnxruntime'}


def requirement_names(path):
    names = set()
    for line in open(osp.join(ROOT, path)):
        line = line.split('#')[0].strip()
        if line and not line.startswith('-r'):
            names.add(re.split(r'[<>=!~; \[]', line, maxsplit=1)[0])
    return names


def imported_distributions(folders):
    """Top-level third-party modules imported anywhere under ``folders``."""
    found = set()
    for folder in folders:
        for root, _, files in os.walk(osp.join(ROOT, folder)):
            for name in files:
                if not name.endswith('.py'):
                    continue
                siblings = {f[:-3] for f in os.listdir(root) if f.endswith('.py')}
                tree = ast.parse(open(osp.join(root, name)).read())
                for node in ast.walk(tree):
                    if isinstance(node, ast.Import):
                        modules = [a.name for a in node.names]
                    elif isinstance(node, ast.ImportFrom) and node.level == 0:
                        modules = [node.module]
                    else:
                        continue
                    # a script's own folder is on its path (tools/misc/gen_toy_*.py)
                    found |= {m.split('.')[0] for m in modules} - siblings
    third_party = found - set(sys.stdlib_module_names) - {'mmcenternet', '__future__'}
    return {DISTRIBUTIONS.get(m, m) for m in third_party}


def test_install_requires_is_what_the_code_imports():
    required = requirement_names('requirements/runtime.txt')
    imported = imported_distributions(['mmcenternet', 'tools', 'demo'])
    assert imported - OPTIONAL == required, (
        f'imported, not required: {sorted(imported - OPTIONAL - required)}; '
        f'required, not imported: {sorted(required - imported)}')
    assert 'opencv-python-headless' not in required  # mmengine requires opencv-python


def test_no_second_opencv_wheel():
    from importlib import metadata
    installed = {d.metadata['Name'].lower() for d in metadata.distributions()}
    opencv = sorted(n for n in installed if n.startswith('opencv'))
    if len(opencv) > 1:
        pytest.xfail(f'this environment has {opencv}: tools/setup_env.sh removes the '
                     'extra ones on its next run')
    assert opencv == ['opencv-python']


def _with_numpy1_names(path):
    """Rewrites a torch checkpoint as numpy 1.x writes it (``numpy.core.multiarray``)."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, 'w') as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith('data.pkl'):
                assert b'numpy._core.multiarray' in data
                data = data.replace(b'numpy._core.multiarray', b'numpy.core.multiarray')
            dst.writestr(item, data)
    return out.getvalue()


@pytest.mark.filterwarnings('ignore::DeprecationWarning')
def test_checkpoints_of_numpy_1_and_2_load(tmp_path):
    """Runner checkpoints hold numpy arrays; numpy 2 pickles them as numpy._core, numpy 1.x
    as numpy.core: the safe loader takes both (so numpy 1.26 is supported)."""
    from mmcenternet.checkpoint.io import NUMPY_MULTIARRAY_NAMES, safe_load
    assert NUMPY_MULTIARRAY_NAMES == ('numpy._core.multiarray', 'numpy.core.multiarray')
    path = tmp_path / 'ckpt.pth'
    meta = {'a': np.arange(3), 's': np.float64(2.5), 'd': np.dtype('int64')}
    torch.save({'state_dict': {'w': torch.ones(2)}, 'meta': meta}, path)
    old = tmp_path / 'numpy1.pth'
    old.write_bytes(_with_numpy1_names(path))
    for source in (path, old):
        loaded = safe_load(str(source))['meta']
        np.testing.assert_array_equal(loaded['a'], [0, 1, 2])
        assert loaded['s'] == 2.5 and loaded['d'] == np.dtype('int64')


def setup_script(*args, path=None):
    env = dict(os.environ)
    if path is not None:
        env['PATH'] = path
    return subprocess.run(['bash', osp.join(ROOT, 'tools', 'setup_env.sh'), *args],
                          capture_output=True, text=True, env=env, timeout=60)


def test_setup_picks_the_cpu_torch_wheel_without_a_gpu(tmp_path):
    fake = tmp_path / 'bin'
    fake.mkdir()
    (fake / 'nvidia-smi').write_text('#!/bin/sh\necho "GPU 0: fake"\n')
    (fake / 'nvidia-smi').chmod(0o755)
    no_gpu = setup_script('--print-torch', path='/usr/bin:/bin')
    assert no_gpu.stdout.split() == ['torch==2.13.0+cpu', '--extra-index-url',
                                     'https://download.pytorch.org/whl/cpu'], no_gpu.stderr
    gpu = setup_script('--print-torch', path=f'{fake}:/usr/bin:/bin')
    assert gpu.stdout.split() == ['torch==2.13.0']


def test_setuptools_bound_is_for_mmcv_only():
    build = open(osp.join(ROOT, 'requirements', 'build.txt')).read()
    assert 'setuptools>=77.0.3,<80' in build and 'pkg_resources' in build
    assert not any('setuptools' in n for n in requirement_names('requirements/runtime.txt'))
