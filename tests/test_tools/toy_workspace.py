"""A tiny generated toy dataset and a config that trains on it in seconds, a randomly
initialised model of it (fixtures ``toy_model``, ``score_thr``: import them into a test
module) and :func:`run_main` to run a script in-process (test helpers)."""
import importlib.util
import os
import os.path as osp
import sys
import textwrap

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
QUICKSTART = osp.join(ROOT, 'configs', 'quickstart', 'centernet_r18w16_1xb8-70e_toy.py')


def load_generator(name: str = 'gen_toy_dataset'):
    """Imports tools/misc/<name>.py (a script, not a package module)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, osp.join(ROOT, 'tools', 'misc', f'{name}.py'))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def make_workspace(tmp_path, num_train=8, num_val=4, img_size=64, epochs=2,
                   extra: str = '') -> str:
    """Generates the data and writes a config inheriting the quickstart; returns its path."""
    data_root = tmp_path / 'toy'
    load_generator().generate(str(data_root), num_train, num_val, img_size, 0)
    cfg = tmp_path / 'tiny_toy.py'
    cfg.write_text(textwrap.dedent(f'''
        _base_ = [{QUICKSTART!r}]
        data_root = {str(data_root) + '/'!r}
        train_dataloader = dict(batch_size=4, dataset=dict(data_root=data_root))
        val_dataloader = dict(dataset=dict(data_root=data_root))
        test_dataloader = val_dataloader
        val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
        test_evaluator = val_evaluator
        input_size = ({img_size}, {img_size})
        ''') + tiny_overrides(epochs) + extra)
    return str(cfg)


def tiny_overrides(epochs: int, head: str = '') -> str:
    """Config lines that shrink a quickstart model and schedule to seconds of training
    (``head``: more ``bbox_head`` arguments, e.g. ``"codec=dict(topk=300)"``)."""
    head = f', {head}' if head else ''
    return textwrap.dedent(f'''
        model = dict(backbone=dict(base_channels=8), neck=dict(in_channels=32,
                     num_filters=(16, 16)), bbox_head=dict(in_channels=16,
                     feat_channels=16{head}))
        train_cfg = dict(max_epochs={epochs}, val_interval={epochs})
        param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0)]
        default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1,
                             max_keep_ckpts=5))
        randomness = dict(seed=0, deterministic=True)
        ''')


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


@pytest.fixture(scope='session')
def toy_model(tmp_path_factory):
    """``(tmp, config path, checkpoint path)``: 4 + 4 toy images of 64 px and a randomly
    initialised model with boxes about 12 px wide."""
    import torch
    from mmengine.config import Config

    from mmcenternet.registry import MODELS
    tmp = tmp_path_factory.mktemp('ux')
    cfg = make_workspace(tmp, num_train=4, num_val=4, epochs=1)
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(cfg).model)
    model.init_weights()
    with torch.no_grad():
        model.bbox_head.branches['wh'][0][2].bias.fill_(3.)
    ckpt = tmp / 'model.pth'
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': {'classes': ('circle', 'square', 'triangle',
                                                      'cross')}}}, ckpt)
    return tmp, cfg, ckpt


@pytest.fixture(scope='session')
def score_thr(toy_model):
    """A score threshold between the 3rd and 4th best scores of val image 000001 (so that
    a drawing shows 3 boxes, not a wall of labels)."""
    from mmcenternet.apis import inference_detector, init_detector
    tmp, cfg, ckpt = toy_model
    scores = inference_detector(init_detector(cfg, ckpt),
                                str(tmp / 'toy' / 'val' / '000001.png')).pred_instances.scores
    top = scores.sort(descending=True).values
    return float(top[2] + top[3]) / 2
