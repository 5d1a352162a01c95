"""SIGKILL mid-epoch, restart with resume: the result equals an uninterrupted run."""
import glob
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from .conftest import ROOT, assert_same_tensors, run_tiny, weights_of
from .tiny_runner import ITERS_PER_EPOCH, build_runner


def test_tiny_runner_resume_is_exact(tmp_path):
    reference = tmp_path / 'reference'
    build_runner(str(reference), max_epochs=3).train()

    work = tmp_path / 'killed'
    # SIGKILL after the 2nd iteration of epoch 2 (epoch_1.pth is on disk)
    proc = run_tiny(work, '--max-epochs', 3, '--kill-at-iter',
                    ITERS_PER_EPOCH + 2)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert (work / 'last_checkpoint').read_text() == str(work / 'epoch_1.pth')
    assert not (work / 'epoch_2.pth').exists()

    proc = run_tiny(work, '--max-epochs', 3, '--resume')
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f'START epoch=1 iter={ITERS_PER_EPOCH}' in proc.stdout
    assert 'FINISHED epoch=3 iter=12' in proc.stdout

    for name in ('epoch_2.pth', 'epoch_3.pth'):
        assert_same_tensors(weights_of(reference / name), weights_of(work / name))
    ref_opt = torch.load(reference / 'epoch_3.pth', weights_only=True)['optimizer']
    new_opt = torch.load(work / 'epoch_3.pth', weights_only=True)['optimizer']
    for key, state in ref_opt['state'].items():
        for name, value in state.items():
            assert torch.equal(value, new_opt['state'][key][name]), (key, name)


# --------------------------------------------------------------------------
# The same with the real tools/train.py on a generated toy set
# --------------------------------------------------------------------------
TOY_CONFIG_CANDIDATES = (
    'configs/centernet/centernet_r18-half_1xb32-toy.py',
    'configs/centernet/*toy*.py',
    'configs/quickstart/*_toy.py',  # the 2D toy set (other quickstarts: other tasks)
)


def _toy_config():
    for pattern in TOY_CONFIG_CANDIDATES:
        hits = sorted(glob.glob(os.path.join(ROOT, pattern)))
        hits = [h for h in hits if 'dcn' not in os.path.basename(h)] or hits
        if hits:
            return hits[0]
    return None


def _train_cmd(config, work_dir, *extra):
    options = [
        'train_cfg.max_epochs=2', 'train_cfg.val_begin=100',
        'train_dataloader.batch_size=4', 'train_dataloader.num_workers=1',
        # fresh workers per epoch are seeded per epoch by mmengine, so the
        # augmentation of an epoch does not depend on what ran before it
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
        'randomness.seed=0', 'randomness.deterministic=True',
        'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.type=AtomicCheckpointHook',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=-1',
        'default_hooks.visualization.draw=False',
    ]
    return [sys.executable, os.path.join(ROOT, 'tools/train.py'), config,
            '--work-dir', str(work_dir), *extra, '--cfg-options', *options]


def _env():
    return dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory):
    config = _toy_config()
    generator = os.path.join(ROOT, 'tools/misc/gen_toy_dataset.py')
    if config is None or not os.path.exists(generator):
        pytest.skip('toy config or tools/misc/gen_toy_dataset.py missing')
    sys.path.insert(0, os.path.dirname(generator))
    try:
        from gen_toy_dataset import generate
    finally:
        sys.path.pop(0)
    root = tmp_path_factory.mktemp('toy')
    generate(str(root / 'data' / 'toy'), num_train=8, num_val=2, img_size=64,
             seed=0)
    return root, config


def _kill_mid_second_epoch(cmd, cwd):
    """Start training, SIGKILL it once an iteration of epoch 2 is logged."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines, deadline = [], time.time() + 300
    try:
        for line in proc.stdout:
            lines.append(line)
            if 'Epoch(train) [2][' in line:
                os.kill(proc.pid, signal.SIGKILL)
                break
            assert time.time() < deadline, 'training too slow'
    finally:
        proc.stdout.close()
        proc.wait()
    return proc.returncode, ''.join(lines)


def test_toy_train_kill_and_resume_is_exact(toy_root):
    root, config = toy_root
    ref, work = root / 'ref', root / 'killed'
    # the uninterrupted reference runs alongside the run that gets killed
    reference = subprocess.Popen(_train_cmd(config, ref), cwd=root, env=_env(),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True)
    code, log = _kill_mid_second_epoch(_train_cmd(config, work), root)
    ref_log = reference.communicate(timeout=600)[0]
    assert reference.returncode == 0, ref_log[-3000:]
    assert code == -signal.SIGKILL, log[-3000:]
    assert (work / 'epoch_1.pth').exists() and not (work / 'epoch_2.pth').exists()

    resumed = subprocess.run(_train_cmd(config, work, '--resume'), cwd=root,
                             env=_env(), capture_output=True, text=True,
                             timeout=600)
    out = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, out[-3000:]
    assert 'resumed epoch: 1' in out
    assert_same_tensors(weights_of(ref / 'epoch_2.pth'),
                        weights_of(work / 'epoch_2.pth'))
