"""Config / CLI mistakes give a one-paragraph `error:` and exit code 2."""
import os
import runpy
import subprocess
import sys

import pytest
from mmengine.config import Config

from mmcenternet.utils.checkpoint import CheckpointError
from mmcenternet.utils.cli import (ConfigError, format_error, friendly_errors,
                                   load_config, validate_cfg_options)

from .conftest import ROOT

CFG = Config(dict(
    model=dict(type='CenterNet', test_cfg=dict(topk=100),
               backbone=dict(type='mmdet.ResNet', depth=18)),
    train_dataloader=dict(batch_size=2, dataset=dict(
        type='CenterNetCocoDataset',
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='CenterAffine', input_size=(512, 512))])),
    optim_wrapper=dict(optimizer=dict(type='Adam', lr=1e-3)),
    train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=3),
    load_from=None))


@pytest.mark.parametrize('key', [
    'model.test_cfg.topk', 'model.test_cfg.new_option',
    'train_dataloader.dataset.pipeline.1.input_size',
    'model.backbone.frozen_stages', 'load_from', 'resume', 'randomness.seed',
    'model.non_finite_loss', 'train_cfg.val_begin', 'optim_wrapper.clip_grad',
    'optim_wrapper.optimizer.weight_decay',
])
def test_valid_options(key):
    validate_cfg_options(CFG, {key: 1})


@pytest.mark.parametrize('key, expected', [
    ('modle.backbone.depth', "key 'modle' does not exist at the top level"
     " of the config. Did you mean 'model'?"),
    ('train_dataloader.batch_szie', "key 'batch_szie' does not exist under "
     "'train_dataloader' of the config. Did you mean 'batch_size'?"),
    ('train_dataloader.dataset.pipeline.7.input_size', "index '7' does not "
     "exist under 'train_dataloader.dataset.pipeline'"),
    ('laod_from', "Did you mean 'load_from'?"),
    ('optim_wrapper.optimizer.lr.x', "'optim_wrapper.optimizer.lr' is a float"),
    ('train_cfg.max_epoch', "'max_epoch' is not an argument of "
     "EpochBasedTrainLoop (the type of 'train_cfg'). Did you mean 'max_epochs'?"),
    ('model.backbone.deepth', "'deepth' is not an argument of ResNet (the "
     "type of 'model.backbone'). Did you mean 'depth'?"),
    ('model.non_finite', "'non_finite' is not an argument of CenterNet"),
])
def test_unknown_option_named(key, expected):
    with pytest.raises(ConfigError) as info:
        validate_cfg_options(CFG, {key: 1})
    assert str(info.value).startswith(f'--cfg-options {key}: ')
    assert expected in str(info.value)


def test_new_type_is_used_for_its_arguments():
    validate_cfg_options(CFG, {'optim_wrapper.optimizer.type': 'SGD',
                               'optim_wrapper.optimizer.momentum': 0.9})
    with pytest.raises(ConfigError, match='not an argument of Adam'):
        validate_cfg_options(CFG, {'optim_wrapper.optimizer.momentum': 0.9})


def test_load_config_names_missing_base(tmp_path):
    cfg = tmp_path / 'child.py'
    cfg.write_text("_base_ = ['./missing_base.py']\nx = 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(str(cfg))
    assert str(cfg) in str(info.value) and 'missing_base.py' in str(info.value)
    with pytest.raises(ConfigError, match='nope.py does not exist'):
        load_config(str(tmp_path / 'nope.py'))


@pytest.mark.parametrize('exc, expected', [
    (ConfigError('--cfg-options a.b: bad'), 'error: --cfg-options a.b: bad'),
    (CheckpointError('x.pth: bad'), 'error: x.pth: bad'),
    (FileNotFoundError(2, 'No such file or directory', 'cfg.py'),
     'error: [Errno 2] No such file or directory: \'cfg.py\''),
    (KeyError('Foo is not in the mmcenternet::model registry. Please check'),
     'error: Foo is not in the mmcenternet::model registry. Please check'),
])
def test_friendly_errors_exit_2(capsys, monkeypatch, exc, expected):
    monkeypatch.delenv('MMCN_DEBUG', raising=False)
    with pytest.raises(SystemExit) as info:
        with friendly_errors():
            raise exc
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(expected + '\n') and 'Traceback' not in err


def test_worker_errors_keep_the_worker_message():
    exc = FileNotFoundError(
        'Caught FileNotFoundError in DataLoader worker process 0.\n'
        'Original Traceback (most recent call last):\n  File "x.py", line 1\n'
        'FileNotFoundError: image file /data/img/0001.png does not exist.\n')
    assert format_error(exc) == 'image file /data/img/0001.png does not exist.'


def test_other_errors_propagate():
    with pytest.raises(KeyError):
        with friendly_errors():
            raise KeyError('a plain missing key')

    @friendly_errors()
    def main():
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        main()


def test_debug_shows_traceback(capsys, monkeypatch):
    monkeypatch.setenv('MMCN_DEBUG', '1')
    with pytest.raises(SystemExit):
        with friendly_errors():
            raise ConfigError('bad key')
    err = capsys.readouterr().err
    assert 'Traceback' in err and err.rstrip().endswith('error: bad key')


# ------------------------------------------------------- the real tools
def _train(capsys, monkeypatch, *argv):
    monkeypatch.delenv('MMCN_DEBUG', raising=False)
    monkeypatch.setattr(sys, 'argv', ['tools/train.py', *argv])
    with pytest.raises(SystemExit) as info:
        runpy.run_path(os.path.join(ROOT, 'tools/train.py'), run_name='__main__')
    return info.value.code, capsys.readouterr().err


def _toy_config():
    for name in sorted(os.listdir(os.path.join(ROOT, 'configs/quickstart'))):
        if name.endswith('_toy.py'):  # the 2D toy set (other quickstarts: other tasks)
            return os.path.join(ROOT, 'configs/quickstart', name)
    pytest.skip('no quickstart config')


@pytest.fixture
def tools_train():
    if not os.path.exists(os.path.join(ROOT, 'tools/train.py')):
        pytest.skip('tools/train.py missing')


def test_train_missing_config(tools_train, capsys, monkeypatch, tmp_path):
    code, err = _train(capsys, monkeypatch, str(tmp_path / 'nope.py'))
    assert code == 2 and err.startswith('error: ') and 'nope.py' in err
    assert 'Traceback' not in err


def test_train_missing_base(tools_train, capsys, monkeypatch, tmp_path):
    cfg = tmp_path / 'child.py'
    cfg.write_text("_base_ = ['./missing_base.py']\n")
    code, err = _train(capsys, monkeypatch, str(cfg))
    assert code == 2 and 'missing_base.py' in err and 'Traceback' not in err


def test_train_bad_cfg_option(tools_train, capsys, monkeypatch, tmp_path):
    code, err = _train(capsys, monkeypatch, _toy_config(), '--work-dir',
                       str(tmp_path), '--cfg-options', 'train_cfg.max_epoch=1')
    assert code == 2
    assert "error: --cfg-options train_cfg.max_epoch: 'max_epoch' is not an " \
        'argument of EpochBasedTrainLoop' in err
    assert "Did you mean 'max_epochs'?" in err and 'Traceback' not in err


def test_train_unknown_registry_type_subprocess(tools_train, tmp_path):
    """The real exit status and stderr, with an unknown model type."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop('MMCN_DEBUG', None)
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', _toy_config(), '--work-dir',
         str(tmp_path), '--cfg-options', 'model.type=CenterNett'],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert 'error: ' in proc.stderr and 'CenterNett is not in the' in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_train_broken_annotation_file(tools_train, capsys, monkeypatch,
                                      tmp_path):
    ann = tmp_path / 'instances_train.json'
    ann.write_text('{"images": [}')
    code, err = _train(capsys, monkeypatch, _toy_config(), '--work-dir',
                       str(tmp_path / 'wd'), '--cfg-options',
                       f'train_dataloader.dataset.ann_file={ann}')
    assert code == 2 and 'Traceback' not in err
    assert f'{ann} is not valid JSON' in err and 'line 1 column 13' in err
