"""Every module registered under the mmcenternet scope builds from a config here.

The table below, plus the ``CASES`` of every module in ``tests/registry_cases/`` (one file
per task, so that tasks add their cases without touching this file), must name every
registered module: a new module without an entry fails
``test_every_registered_module_has_a_build_case``.
"""
import copy
import glob
import importlib.util
import os.path as osp

import pytest
from mmengine.config import Config

import mmcenternet.registry as registries
from test_tools.toy_workspace import QUICKSTART, load_generator

REGISTRIES = ('MODELS', 'TASK_UTILS', 'TRANSFORMS', 'DATASETS', 'HOOKS', 'METRICS',
              'OPTIM_WRAPPERS', 'OPTIMIZERS', 'PARAM_SCHEDULERS', 'VISUALIZERS', 'LOOPS',
              'DATA_SAMPLERS', 'EVALUATOR', 'RUNNERS', 'MODEL_WRAPPERS', 'VISBACKENDS',
              'LOG_PROCESSORS', 'WEIGHT_INITIALIZERS', 'OPTIM_WRAPPER_CONSTRUCTORS')


def quickstart_model():
    return copy.deepcopy(Config.fromfile(QUICKSTART).model.to_dict())


def head_cfg():
    return dict(type='CenterNetHead', in_channels=8, feat_channels=8,
                codec=dict(type='CTDetCodec', num_classes=2),
                branches=dict(heatmap=dict(loss=dict(type='CenterNetFocalLoss')), wh=dict(),
                              offset=dict()))


BUILD_CASES = {
    ('MODELS', 'CenterNet'): lambda tmp: quickstart_model(),
    ('MODELS', 'CenterNetTTAModel'): lambda tmp: dict(type='CenterNetTTAModel',
                                                      module=quickstart_model()),
    ('MODELS', 'CenterNetHead'): lambda tmp: head_cfg(),
    ('MODELS', 'CenterNetDeconvNeck'): lambda tmp: dict(type='CenterNetDeconvNeck',
                                                        in_channels=16),
    ('MODELS', 'CenterNetFocalLoss'): lambda tmp: dict(type='CenterNetFocalLoss'),
    ('MODELS', 'RegL1Loss'): lambda tmp: dict(type='RegL1Loss', loss_weight=0.1),
    ('MODELS', 'DLA'): lambda tmp: dict(type='DLA', depth=34),
    ('MODELS', 'DLANeck'): lambda tmp: dict(type='DLANeck', use_dcn=False),
    ('MODELS', 'DCNv2Fast'): lambda tmp: dict(type='DCNv2Fast', in_channels=4, out_channels=4,
                                              kernel_size=3, padding=1),
    ('TASK_UTILS', 'CTDetCodec'): lambda tmp: dict(type='CTDetCodec', num_classes=3, topk=10),
    ('TRANSFORMS', 'CenterAffine'): lambda tmp: dict(type='CenterAffine', keep_res=True),
    ('TRANSFORMS', 'CenterNetColorAug'): lambda tmp: dict(type='CenterNetColorAug'),
    ('TRANSFORMS', 'PackCenterNetInputs'): lambda tmp: dict(type='PackCenterNetInputs'),
    ('TRANSFORMS', 'LoadImageFromFileSafe'): lambda tmp: dict(type='LoadImageFromFileSafe',
                                                             skip_bad=True),
    ('TRANSFORMS', 'LoadImageFromFile'): lambda tmp: dict(type='LoadImageFromFile',
                                                         size_check='error'),
    ('HOOKS', 'AtomicCheckpointHook'): lambda tmp: dict(type='AtomicCheckpointHook',
                                                       interval=1),
    ('DATASETS', 'CenterNetCocoDataset'): lambda tmp: toy_dataset_cfg(tmp),
    ('VISUALIZERS', 'CenterNetVisualizer'): lambda tmp: dict(type='CenterNetVisualizer',
                                                             name=f'vis-{tmp.name}'),
}


def _task_cases() -> dict:
    """``CASES`` of every ``tests/registry_cases/*.py``."""
    cases = {}
    folder = osp.join(osp.dirname(osp.abspath(__file__)), 'registry_cases')
    for path in sorted(glob.glob(osp.join(folder, '*.py'))):
        name = 'registry_cases_' + osp.splitext(osp.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        overlap = set(cases) & set(getattr(module, 'CASES', {}))
        assert not overlap, f'{path} repeats build cases {sorted(overlap)}'
        cases.update(getattr(module, 'CASES', {}))
    return cases


BUILD_CASES.update(_task_cases())


def toy_dataset_cfg(tmp):
    root = tmp / 'toy'
    load_generator().generate(str(root), 3, 2, 48, 0)
    return dict(type='CenterNetCocoDataset', data_root=str(root),
                ann_file='annotations/instances_val.json', data_prefix=dict(img='val/'),
                metainfo=dict(classes=('circle', 'square', 'triangle', 'cross')),
                test_mode=True, pipeline=[])


def registered():
    names = []
    for reg_name in REGISTRIES:
        reg = getattr(registries, reg_name)
        names += [(reg_name, name) for name in reg._module_dict]
    return names


def test_every_registered_module_has_a_build_case():
    missing = sorted(set(registered()) - set(BUILD_CASES))
    assert not missing, f'registered modules without a build case: {missing}'
    assert len(registered()) >= 15


@pytest.mark.parametrize('key', sorted(BUILD_CASES), ids=lambda k: f'{k[0]}.{k[1]}')
def test_builds_from_config(key, tmp_path):
    reg_name, name = key
    if key not in set(registered()):
        pytest.fail(f'{name} has a build case but is not registered in {reg_name}')
    cfg = BUILD_CASES[key](tmp_path)
    obj = getattr(registries, reg_name).build(cfg)
    assert type(obj) is getattr(registries, reg_name).get(name)  # aliases too
