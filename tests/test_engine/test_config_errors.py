"""Config / CLI mistakes give a one-paragraph `error:` and exit code 2."""
import os
import subprocess
import sys

import pytest
from mmengine.config import Config

from mmcenternet.engine.config import load_config, validate_cfg_options
from mmcenternet.errors import ConfigError

from .conftest import ROOT, run_main

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


# ------------------------------------------------------- the real tools
def _train(capsys, monkeypatch, *argv):
    code, _, err = run_main('tools/train.py', argv, capsys, monkeypatch)
    return code, err


def _toy_config():
    from test_tools.toy_workspace import QUICKSTART  # the 2D toy set
    return QUICKSTART


def test_train_missing_config(capsys, monkeypatch, tmp_path):
    code, err = _train(capsys, monkeypatch, str(tmp_path / 'nope.py'))
    assert code == 2 and err.startswith('error: ') and 'nope.py' in err
    assert 'Traceback' not in err


def test_train_missing_base(capsys, monkeypatch, tmp_path):
    cfg = tmp_path / 'child.py'
    cfg.write_text("_base_ = ['./missing_base.py']\n")
    code, err = _train(capsys, monkeypatch, str(cfg))
    assert code == 2 and 'missing_base.py' in err and 'Traceback' not in err


def test_train_bad_cfg_option(capsys, monkeypatch, tmp_path):
    code, err = _train(capsys, monkeypatch, _toy_config(), '--work-dir',
                       str(tmp_path), '--cfg-options', 'train_cfg.max_epoch=1')
    assert code == 2
    assert "error: --cfg-options train_cfg.max_epoch: 'max_epoch' is not an " \
        'argument of EpochBasedTrainLoop' in err
    assert "Did you mean 'max_epochs'?" in err and 'Traceback' not in err


def test_train_unknown_registry_type_subprocess(tmp_path):
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


def test_train_broken_annotation_file(capsys, monkeypatch, tmp_path):
    ann = tmp_path / 'instances_train.json'
    ann.write_text('{"images": [}')
    code, err = _train(capsys, monkeypatch, _toy_config(), '--work-dir',
                       str(tmp_path / 'wd'), '--cfg-options',
                       f'train_dataloader.dataset.ann_file={ann}')
    assert code == 2 and 'Traceback' not in err
    assert f'{ann} is not valid JSON' in err and 'line 1 column 13' in err


# ------------------------------------------- whole-config checks at start-up
@pytest.fixture(scope='module')
def tiny_toy(tmp_path_factory):
    from test_tools.toy_workspace import make_workspace
    tmp = tmp_path_factory.mktemp('cfgcheck')
    return tmp, make_workspace(tmp, num_train=4, num_val=2, epochs=1)


def test_class_count_mismatch_named_at_start_up(tiny_toy, capsys, monkeypatch):
    """Before: the training failed deep in the focal loss (``size of tensor a (3) must
    match the size of tensor b (4)``)."""
    tmp, cfg = tiny_toy
    work = tmp / 'classes'
    code, _, err = run_main('tools/train.py', [cfg, '--work-dir', work, '--cfg-options',
                                               'model.bbox_head.codec.num_classes=3'],
                            capsys, monkeypatch)
    assert code == 2, err[-2000:]
    assert err.startswith(
        f'error: config {cfg}: the class counts disagree: '
        'model.bbox_head.codec.num_classes = 3, '
        'train_dataloader/val_dataloader/test_dataloader.dataset classes = 4 '
        '(circle, square, triangle, cross).')
    assert not work.exists()  # refused before the runner made anything
    code, _, err = run_main('tools/test.py', [cfg, tmp / 'none.pth', '--work-dir', work,
                                              '--cfg-options',
                                              'model.bbox_head.codec.num_classes=5'],
                            capsys, monkeypatch)
    assert code == 2 and 'model.bbox_head.codec.num_classes = 5' in err


def test_config_with_encoder_and_decoder_names_the_codec(tiny_toy, capsys, monkeypatch):
    """A config written before the codecs (``bbox_head.encoder`` / ``decoder``)."""
    tmp, cfg = tiny_toy
    old = tmp / 'old_head.py'
    old.write_text(f'_base_ = [{str(cfg)!r}]\n'
                   'model = dict(bbox_head=dict(branches=dict(heatmap=dict(out_channels=4)),\n'
                   '                            encoder=dict(num_classes=4)))\n')
    code, _, err = run_main('tools/train.py', [old, '--work-dir', tmp / 'old'], capsys,
                            monkeypatch)
    assert code == 2 and err.startswith('error: model.bbox_head: encoder= replaced by codec= '
                                        '(one object per task'), err[-2000:]
    assert len(err.strip().splitlines()) <= 2  # the line (and the MMCN_DEBUG hint)


def test_typo_inside_a_config_dict_refused_before_training(tiny_toy, capsys, monkeypatch):
    """Before: ``checkpoint=dict(intervel=5)`` trained a whole epoch, then failed at the
    first save (``CheckpointHook`` hands unknown keys on to ``save_checkpoint``)."""
    tmp, cfg = tiny_toy
    typo = tmp / 'typo.py'
    typo.write_text(f'_base_ = [{cfg!r}]\ndefault_hooks = dict(checkpoint=dict(intervel=5))\n')
    work = tmp / 'typo'
    code, _, err = run_main('tools/train.py', [typo, '--work-dir', work], capsys, monkeypatch)
    assert code == 2, err[-2000:]
    assert err.startswith(f"error: config {typo}: 'intervel' is not an argument of "
                          "AtomicCheckpointHook (the type of 'default_hooks.checkpoint'). "
                          "Did you mean 'interval'? Its arguments: backend_args, by_epoch,")
    assert 'self' not in err.split('Its arguments:')[1]
    assert not work.exists()


def test_type_check_leaves_forwarded_kwargs_alone():
    """Keys a class hands on to another one (EMAHook -> its EMA model) and builder keys
    (a hook's ``priority``) are not errors; a typo under them still is elsewhere."""
    from mmcenternet.engine.config import check_config_types
    cfg = Config(dict(custom_hooks=[dict(type='EMAHook', ema_type='ExpMomentumEMA',
                                         momentum=0.0002, update_buffers=True,
                                         priority=49)],
                      default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                                         interval=1, priority=50))))
    check_config_types(cfg)
    cfg.default_hooks.checkpoint.max_keep = 2
    with pytest.raises(ConfigError, match="'max_keep' is not an argument of CheckpointHook"):
        check_config_types(cfg)


def test_every_bundled_config_passes_the_start_up_checks():
    import glob

    from mmcenternet.engine.config import check_config
    configs = [p for p in glob.glob(os.path.join(ROOT, 'configs', '**', '*.py'),
                                    recursive=True) if '_base_' not in p]
    assert configs
    for path in configs:
        check_config(Config.fromfile(path))


def test_class_counts_read_the_codec():
    """A head configured with one codec (``codec=dict(num_classes=...)``) is counted there;
    the encoder / decoder pair is counted otherwise."""
    from mmcenternet.engine.config import check_class_counts
    head = dict(type='CenterNetHead', codec=dict(type='CTDetCodec', num_classes=3),
                branches=dict(heatmap=dict(out_channels=4)))
    with pytest.raises(ConfigError, match=r'heatmap.out_channels = 4, '
                                          r'model.bbox_head.codec.num_classes = 3\.'):
        check_class_counts(Config(dict(model=dict(bbox_head=head))))
    head['codec']['num_classes'] = 4
    check_class_counts(Config(dict(model=dict(bbox_head=head))))
