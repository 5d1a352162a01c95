"""Every path that loads weights refuses a checkpoint that does not fit, in a few lines.

Before: tools/test.py loaded a checkpoint of another architecture non-strictly, printed
one ``size mismatch`` line per tensor and reported mAP 0.000 with exit 0; ``--resume``
gave ``KeyError: 'epoch'``; the demo a bare ``AssertionError``.
"""
import warnings

import pytest
import torch
from mmengine.config import Config

from mmcenternet.apis import init_detector
from mmcenternet.checkpoint import CheckpointMismatchWarning, load_weights
from mmcenternet.errors import CheckpointError
from mmcenternet.registry import MODELS
from test_engine.conftest import run_main
from test_tools.toy_workspace import make_workspace

OTHER_ARCH = dict(backbone=dict(base_channels=16), neck=dict(in_channels=64))


def _save_model(cfg_path, path, meta=True, **model_overrides):
    cfg = Config.fromfile(cfg_path)
    cfg.merge_from_dict({f'model.{k}': v for k, v in model_overrides.items()})
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    ckpt = {'state_dict': model.state_dict()}
    if meta:
        ckpt['meta'] = {'epoch': 2, 'iter': 4,
                        'dataset_meta': {'classes': ('circle', 'square', 'triangle',
                                                     'cross')}}
        ckpt['message_hub'] = {}
    torch.save(ckpt, path)
    return str(path)


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('weights')
    cfg = make_workspace(tmp, num_train=4, num_val=2, epochs=1)
    fits = _save_model(cfg, tmp / 'fits.pth')
    other = _save_model(cfg, tmp / 'other_arch.pth', **OTHER_ARCH)
    weights_only = _save_model(cfg, tmp / 'weights_only.pth', meta=False)
    return tmp, cfg, dict(fits=fits, other=other, weights_only=weights_only)


def _assert_explained(err, ckpt):
    line = err.strip().splitlines()[0]
    assert line.startswith(f'error: {ckpt}: the checkpoint does not fit the model CenterNet:')
    assert 'shape mismatches: backbone.conv1.weight: checkpoint (16, 3, 7, 7) vs model ' \
        '(8, 3, 7, 7)' in line
    assert 'by module: backbone.conv1 (1), backbone.bn1 (4), backbone.layer1' in line
    assert '--no-strict-load' in line and len(line) < 1500
    assert 'size mismatch' not in err and 'Traceback' not in err


def test_test_tool_refuses_another_architecture(workspace, capsys, monkeypatch):
    tmp, cfg, ckpts = workspace
    code, out, err = run_main('tools/test.py', [cfg, ckpts['other'], '--work-dir',
                                                 tmp / 'test'], capsys, monkeypatch)
    assert code == 2, err[-2000:]
    _assert_explained(err, ckpts['other'])
    assert 'size mismatch' not in out and 'bbox_mAP' not in out


def test_test_tool_no_strict_load_is_explicit(workspace, capsys, monkeypatch):
    tmp, cfg, ckpts = workspace
    with pytest.warns(CheckpointMismatchWarning, match='Non-strict loading') as record:
        code, _, err = run_main('tools/test.py', [cfg, ckpts['other'], '--no-strict-load',
                                                   '--work-dir', tmp / 'test_ns'],
                                 capsys, monkeypatch)
    assert code == 0, err[-2000:]
    message = next(str(w.message) for w in record
                   if issubclass(w.category, CheckpointMismatchWarning))
    ours = MODELS.build(Config.fromfile(cfg).model).state_dict()
    theirs = torch.load(ckpts['other'], weights_only=True)['state_dict']
    fitting = sum(theirs[k].shape == v.shape for k, v in ours.items())
    assert 0 < fitting < len(ours)  # the heads fit, the backbone does not
    assert f'loaded {fitting} of {len(ours)} model tensors' in message
    assert 'size mismatch' not in err


def test_train_resume_from_weights_only_file(workspace, capsys, monkeypatch):
    tmp, cfg, ckpts = workspace
    code, _, err = run_main('tools/train.py', [cfg, '--work-dir', tmp / 'resume',
                                                '--resume', ckpts['weights_only']],
                             capsys, monkeypatch)
    assert code == 2, err[-2000:]
    assert f"error: {ckpts['weights_only']}: cannot resume from it: it is not a training " \
        'checkpoint' in err
    assert f"--cfg-options load_from={ckpts['weights_only']}" in err
    assert not (tmp / 'resume' / 'epoch_1.pth').exists()


def test_train_load_from_another_architecture(workspace, capsys, monkeypatch):
    tmp, cfg, ckpts = workspace
    code, _, err = run_main('tools/train.py', [cfg, '--work-dir', tmp / 'load_from',
                                                '--cfg-options', f"load_from={ckpts['other']}"],
                             capsys, monkeypatch)
    assert code == 2, err[-2000:]
    _assert_explained(err, ckpts['other'])
    assert not (tmp / 'load_from' / 'epoch_1.pth').exists()


@pytest.mark.parametrize('script', ['demo/image_demo.py',
                                    'tools/analysis_tools/benchmark.py'])
def test_demo_and_benchmark_refuse_another_architecture(workspace, capsys, monkeypatch,
                                                        script):
    tmp, cfg, ckpts = workspace
    argv = ([tmp / 'toy' / 'val', cfg, ckpts['other'], '--out-dir', tmp / 'demo']
            if script.startswith('demo') else [cfg, ckpts['other'], '--repeat', 1])
    code, _, err = run_main(script, argv, capsys, monkeypatch)
    assert code == 2, err[-2000:]
    _assert_explained(err, ckpts['other'])


def test_init_detector_strict_and_meta(workspace):
    _, cfg, ckpts = workspace
    with pytest.raises(CheckpointError, match='does not fit the model CenterNet'):
        init_detector(cfg, ckpts['other'])
    with pytest.warns(CheckpointMismatchWarning):
        model = init_detector(cfg, ckpts['other'], strict=False)
    assert model.backbone.conv1.weight.shape[0] == 8  # the config's model, partly loaded
    # a checkpoint without class names takes those of the config's test dataset
    with warnings.catch_warnings():
        warnings.simplefilter('error', CheckpointMismatchWarning)
        model = init_detector(cfg, ckpts['weights_only'])
    assert model.dataset_meta['classes'] == ('circle', 'square', 'triangle', 'cross')


def test_official_checkpoint_gets_the_converter_hint(tmp_path):
    """An official CenterNet file (``hm.*`` heads, torchvision ResNet-18 names)."""
    state = {'conv1.weight': torch.zeros(1), 'hm.0.weight': torch.zeros(1),
             'wh.0.weight': torch.zeros(1), 'deconv_layers.0.weight': torch.zeros(1)}
    for stage in range(1, 5):
        for block in range(2):
            state[f'layer{stage}.{block}.conv1.weight'] = torch.zeros(1)
    path = tmp_path / 'ctdet_coco_resdcn18.pth'
    torch.save({'epoch': 140, 'state_dict': {f'module.{k}': v for k, v in state.items()}},
               path)
    with pytest.raises(CheckpointError) as info:
        load_weights(torch.nn.Linear(2, 2), str(path))
    message = str(info.value)
    assert 'look like an official CenterNet checkpoint (arch res_18)' in message
    assert f'python tools/model_converters/centernet_official2mmcn.py {path} ' \
        'CONVERTED.pth' in message
