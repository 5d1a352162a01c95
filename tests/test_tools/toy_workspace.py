"""A tiny generated toy dataset and a config that trains on it in seconds (test helper)."""
import importlib.util
import os.path as osp
import sys
import textwrap

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
