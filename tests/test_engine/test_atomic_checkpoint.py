"""A kill while a checkpoint is written never leaves a torn file behind a pointer.

CenterNetRunner writes every checkpoint atomically and resumes past a torn / dangling
``last_checkpoint``; AtomicCheckpointHook deletes outdated checkpoints only after the save.
"""
import os
import time

import pytest
from mmengine.fileio import LocalBackend
from mmengine.hooks import Hook

from mmcenternet.checkpoint import atomic_write_text, load_weights
from mmcenternet.engine.hooks import AtomicCheckpointHook
from mmcenternet.errors import CheckpointError, CheckpointNotFoundError
from mmcenternet.registry import HOOKS

from .conftest import run_tiny
from .tiny_runner import TinyModel, build_runner


def _pointer(work_dir):
    return (work_dir / 'last_checkpoint').read_text().strip()


def _temp_files(work_dir):
    return [n for n in os.listdir(work_dir) if '.tmp-' in n]


def test_registered():
    assert HOOKS.get('AtomicCheckpointHook') is AtomicCheckpointHook


def test_kill_during_save_keeps_a_valid_checkpoint(tmp_path):
    """SIGKILL halfway through writing epoch_2.pth with max_keep_ckpts=1."""
    proc = run_tiny(tmp_path, '--max-epochs', 3, '--max-keep-ckpts', 1,
                    '--kill-in-save', 2)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert not (tmp_path / 'epoch_2.pth').exists()
    assert _pointer(tmp_path) == str(tmp_path / 'epoch_1.pth')
    assert len(_temp_files(tmp_path)) == 1  # the partial write, hidden
    load_weights(TinyModel(), _pointer(tmp_path))  # still valid

    runner = build_runner(str(tmp_path), max_epochs=3, resume=True,
                          max_keep_ckpts=1)
    runner.train()  # resumes at epoch 1, cleans up the partial file
    assert runner.epoch == 3
    assert _temp_files(tmp_path) == []
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == ['epoch_3.pth']
    assert _pointer(tmp_path) == str(tmp_path / 'epoch_3.pth')


def test_vanilla_hook_loses_the_run(tmp_path):
    """The same kill with mmengine's CheckpointHook (why the hook exists): the runner's
    atomic write leaves no torn epoch_2.pth, but mmengine deleted epoch_1.pth before the
    save, so nothing is left to resume from."""
    proc = run_tiny(tmp_path, '--max-epochs', 3, '--max-keep-ckpts', 1,
                    '--kill-in-save', 2, '--hook', 'vanilla')
    assert proc.returncode == -9
    pointer = _pointer(tmp_path)
    assert pointer == str(tmp_path / 'epoch_1.pth')
    assert not os.path.exists(pointer)  # deleted before the new save
    assert not (tmp_path / 'epoch_2.pth').exists()  # written atomically: not torn
    with pytest.raises(CheckpointNotFoundError, match='no other epoch_N.pth'):
        build_runner(str(tmp_path), max_epochs=3, resume=True, hook='vanilla').train()


class _StartEpoch(Hook):
    def before_train(self, runner):
        self.epoch = runner.epoch


@pytest.mark.parametrize('pointer', ['', 'epoch_', 'epoch_9.pth'])
def test_resume_survives_a_torn_or_dangling_pointer(tmp_path, pointer):
    """mmengine writes last_checkpoint in place: a kill can leave it empty or cut, and a
    removed file leaves it dangling. Resume then starts from the newest checkpoint."""
    build_runner(str(tmp_path), max_epochs=2).train()
    os.utime(tmp_path / 'epoch_1.pth', (time.time() - 60, ) * 2)  # epoch_2 is newer
    (tmp_path / 'last_checkpoint').write_text(pointer and str(tmp_path / pointer))
    start = _StartEpoch()
    runner = build_runner(str(tmp_path), max_epochs=3, resume=True, extra_hooks=[start])
    runner.train()
    assert start.epoch == 2 and runner.epoch == 3


def test_atomic_write_text_failure_keeps_old_content(tmp_path, monkeypatch):
    path = tmp_path / 'last_checkpoint'
    atomic_write_text(str(path), 'epoch_1.pth')

    def crash(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, 'replace', crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(str(path), 'epoch_2.pth')
    assert path.read_text() == 'epoch_1.pth'
    assert _temp_files(tmp_path) == []


def test_outdated_best_checkpoint_removed_after_the_new_one(tmp_path, monkeypatch):
    """mmengine removes the previous best before saving the new one; the hook waits."""
    runner = build_runner(str(tmp_path), max_epochs=1)
    runner.train()
    hook = AtomicCheckpointHook(interval=1, save_best='acc', rule='greater')
    hook.before_train(runner)
    events = []
    original_save, original_remove = runner.save_checkpoint, LocalBackend.remove
    monkeypatch.setattr(runner, 'save_checkpoint', lambda *a, **k: (
        events.append(('save', k.get('filename') or a[1])), original_save(*a, **k))[1])
    monkeypatch.setattr(LocalBackend, 'remove', lambda self, path: (
        events.append(('remove', os.path.basename(path))), original_remove(self, path))[1])
    for epoch, acc in ((1, 0.5), (2, 0.7)):
        runner.train_loop._epoch = epoch
        hook.after_val_epoch(runner, {'acc': acc})
    assert events == [('save', 'best_acc_epoch_1.pth'), ('save', 'best_acc_epoch_2.pth'),
                      ('remove', 'best_acc_epoch_1.pth')]
    assert sorted(n for n in os.listdir(tmp_path) if n.startswith('best')) == [
        'best_acc_epoch_2.pth']


def test_best_checkpoint_is_written_atomically(tmp_path, monkeypatch):
    runner = build_runner(str(tmp_path), max_epochs=1)
    runner.train()
    written = []
    original = LocalBackend.put

    def put(self, obj, filepath):
        written.append(os.path.basename(filepath))
        original(self, obj, filepath)

    monkeypatch.setattr(LocalBackend, 'put', put)
    hook = AtomicCheckpointHook(interval=1, save_best='acc', rule='greater')
    hook.before_train(runner)
    hook._save_best_checkpoint(runner, {'acc': 0.5})
    best = [n for n in os.listdir(tmp_path) if n.startswith('best_acc')]
    assert len(best) == 1 and written[0].startswith(f'.{best[0]}.tmp-')
    assert _temp_files(tmp_path) == []
    assert 'save_checkpoint' not in vars(runner)  # the shadowing is undone
