"""A checkpoint cannot run code: every load path is weights-only.

The project's own paths (``safe_load`` / ``load_weights``, the runner) are safe without
changing anything outside the package; mmengine's loaders become safe only through the
explicit, reversible opt-in ``enable_safe_checkpoint_loading``.
"""
import os

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

from mmcenternet.checkpoint import (checkpoint_safe_globals, disable_safe_checkpoint_loading,
                                    enable_safe_checkpoint_loading, load_weights, safe_load)
from mmcenternet.errors import CheckpointError
from test_engine.tiny_runner import TinyModel, build_runner


@pytest.fixture
def opt_in():
    """mmengine's loaders routed through the safe loader for one test, then restored."""
    enable_safe_checkpoint_loading()
    yield
    disable_safe_checkpoint_loading()


class Payload:
    """Pickles as a call of os.system (the classic malicious checkpoint)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'echo pwned > {self.marker}', ))


class AttributeWalk:
    """Pickles as getattr(np.ndarray, 'tofile'): abuses an allowed getattr."""

    def __reduce__(self):
        return (getattr, (np.ndarray, 'tofile'))


@pytest.fixture
def evil_ckpt(tmp_path):
    marker = tmp_path / 'pwned.txt'
    path = tmp_path / 'evil.pth'
    state = TinyModel().state_dict()
    torch.save({'meta': {'epoch': 1, 'iter': 4}, 'state_dict': state,
                'message_hub': {}, 'payload': Payload(marker)}, path)
    return path, marker


def test_strict_loader_refuses_code(evil_ckpt):
    path, marker = evil_ckpt
    with pytest.raises(CheckpointError) as info:
        load_weights(TinyModel(), str(path))
    message = str(info.value)
    assert str(path) in message
    assert "refused to unpickle 'posix.system' for safety" in message
    assert not marker.exists()


def test_runner_resume_refuses_code(evil_ckpt, tmp_path):
    path, marker = evil_ckpt
    runner = build_runner(str(tmp_path / 'wd'), resume=True,
                          load_from=str(path))
    with pytest.raises(CheckpointError, match='for safety') as info:
        runner.train()
    assert str(path) in str(info.value)
    assert not marker.exists()


def test_refused_even_if_env_disables_weights_only(evil_ckpt, monkeypatch, opt_in):
    """TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD only flips torch.load's *default*: our loader and,
    after the opt-in, mmengine's ``_load_checkpoint`` still refuse."""
    path, marker = evil_ckpt
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    with pytest.raises(CheckpointError, match='for safety'):
        safe_load(str(path))
    with pytest.raises(CheckpointError, match='for safety'):
        _load_checkpoint(str(path), map_location='cpu')
    assert not marker.exists()


def test_remote_loaders_are_forced_weights_only(evil_ckpt):
    """mmengine's http loader passes weights_only=False; after the opt-in the wrapper
    wins."""
    path, marker = evil_ckpt

    def load_from_fake(filename, map_location=None):
        return torch.load(filename[len('fake://'):], map_location=map_location,
                          weights_only=False)

    CheckpointLoader.register_scheme('fake://', load_from_fake, force=True)
    try:
        enable_safe_checkpoint_loading()
        with pytest.raises(CheckpointError, match='for safety') as info:
            _load_checkpoint(f'fake://{path}', map_location='cpu')
        assert 'evil.pth' in str(info.value)
        assert not marker.exists()
    finally:
        disable_safe_checkpoint_loading()
        CheckpointLoader._schemes.pop('fake://', None)
    assert os.environ.get('TORCH_FORCE_WEIGHTS_ONLY_LOAD') is None


def test_opt_in_is_explicit_and_can_be_undone(evil_ckpt):
    """Nothing is routed until the opt-in; it replaces every scheme's loader (keeping the
    name mmengine logs) by a safe one; the undo restores mmengine's exact table."""
    path, marker = evil_ckpt
    before = list(CheckpointLoader._schemes.items())
    assert not any(hasattr(loader, 'mmcn_original') for _, loader in before)
    enable_safe_checkpoint_loading()
    try:
        enable_safe_checkpoint_loading()  # idempotent
        after = list(CheckpointLoader._schemes.items())
        assert [p for p, _ in after] == [p for p, _ in before]
        for (_, old), (_, new) in zip(before, after):
            assert new is not old and new.mmcn_original is old
            assert new.__name__ == old.__name__
        with pytest.raises(CheckpointError, match='for safety'):
            _load_checkpoint(str(path), map_location='cpu')
        assert not marker.exists()
    finally:
        disable_safe_checkpoint_loading()
    assert list(CheckpointLoader._schemes.items()) == before


def test_getattr_allow_list_is_narrow(tmp_path):
    torch.save({'w': torch.zeros(1), 'x': AttributeWalk()}, tmp_path / 'g.pth')
    with pytest.raises(CheckpointError, match='for safety') as info:
        safe_load(str(tmp_path / 'g.pth'))
    assert 'tofile' in str(info.value)


def test_real_runner_checkpoint_loads_weights_only(tmp_path):
    runner = build_runner(str(tmp_path), max_epochs=1)
    runner.train()
    path = str(tmp_path / 'epoch_1.pth')
    allowed = torch.serialization.get_safe_globals()
    with pytest.raises(Exception, match='not an allowed global'):  # torch's list is untouched
        torch.load(path, map_location='cpu', weights_only=True)
    with checkpoint_safe_globals():
        checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    assert torch.serialization.get_safe_globals() == allowed  # allowed for the block only
    buffer = checkpoint['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert np.isfinite(buffer.mean())
    meta = checkpoint['meta']['dataset_meta']
    assert meta['weights'].dtype == np.float64
    assert meta['scale'] == np.float32(1.5) and meta['count'] == 7
    # and the Runner itself resumes from it
    resumed = build_runner(str(tmp_path), max_epochs=2, resume=True)
    resumed.train()
    assert resumed.epoch == 2


def test_every_project_load_path_refuses_code(evil_ckpt, tmp_path, capsys, monkeypatch):
    """tools/test.py, init_detector and the converters read the file with safe_load too,
    without any opt-in."""
    from mmcenternet.apis import init_detector
    from test_engine.conftest import run_main
    from test_tools.toy_workspace import make_workspace
    path, marker = evil_ckpt
    cfg = make_workspace(tmp_path / 'ws', num_train=2, num_val=2, epochs=1)
    with pytest.raises(CheckpointError, match='for safety'):
        init_detector(cfg, str(path))
    for script, argv in (('tools/test.py', [cfg, path, '--work-dir', tmp_path / 'test']),
                         ('tools/model_converters/centernet_official2mmcn.py',
                          [path, tmp_path / 'out.pth']),
                         ('tools/model_converters/mmdet2mmcn.py', [path, tmp_path / 'o.pth'])):
        code, _, err = run_main(script, argv, capsys, monkeypatch)
        assert code == 2 and "refused to unpickle 'posix.system' for safety" in err, script
    assert not marker.exists() and not (tmp_path / 'out.pth').exists()
