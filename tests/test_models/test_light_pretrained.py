"""Pretrained backbones of the light configs (configs/centerface, configs/centernet_light).

Synthetic checkpoints in the layouts of the sources (torchvision's ImageNet MobileNetV2 and
ShuffleNetV2, written from torchvision's definitions below; mmdet's MobileNetV2 and
DarkNet-53, mmdet's own modules' key names) are served from a local HTTP server on
127.0.0.1 and loaded through each config's ``init_cfg``: every backbone tensor must come from
the file. Nothing reaches the internet.
"""
import os.path as osp
from collections import OrderedDict

import pytest
import torch
from _pretrained_sources import (FileServer, go_online, module_shapes, random_state,
                                 sha_name, torch_bytes)
from mmengine.config import Config

from mmcenternet.checkpoint import map_pretrained_backbone
from mmcenternet.errors import CheckpointError
from mmcenternet.models.utils.pretrained import OFFICIAL_PRETRAINED
from mmcenternet.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CENTERFACE = osp.join(ROOT, 'configs', 'centerface',
                      'centerface_mobilenetv2_8xb8-crop512-140e_widerface.py')
SHUFFLENET = osp.join(ROOT, 'configs', 'centernet_light',
                      'centernet_shufflenetv2-1x_1xb14-crop512-16e_widerface.py')
DARKNET = osp.join(ROOT, 'configs', 'centernet_light',
                   'centernet_darknet53_1xb8-crop512-18e_voc0712.py')


def _bn(shapes, name, channels):
    for p in ('weight', 'bias', 'running_mean', 'running_var'):
        shapes[f'{name}.{p}'] = (channels, )
    shapes[f'{name}.num_batches_tracked'] = ()


def torchvision_mobilenet_v2_shapes():
    """``torchvision.models.mobilenet_v2``: ``features.0`` ConvBNReLU(3, 32, stride 2),
    17 InvertedResidual blocks (t, c, n, s of the paper's table 2; ``conv`` = [ConvBNReLU
    expand (t != 1), ConvBNReLU depthwise, 1x1 conv, BN]), ``features.18`` ConvBNReLU(320,
    1280, 1), ``classifier.1`` Linear(1280, 1000)."""
    shapes = OrderedDict()
    shapes['features.0.0.weight'] = (32, 3, 3, 3)
    _bn(shapes, 'features.0.1', 32)
    cin, index = 32, 1
    for t, c, n, _ in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
        for _ in range(n):
            p, hidden, i = f'features.{index}.conv', cin * t, 0
            if t != 1:
                shapes[f'{p}.0.0.weight'] = (hidden, cin, 1, 1)
                _bn(shapes, f'{p}.0.1', hidden)
                i = 1
            shapes[f'{p}.{i}.0.weight'] = (hidden, 1, 3, 3)
            _bn(shapes, f'{p}.{i}.1', hidden)
            shapes[f'{p}.{i + 1}.weight'] = (c, hidden, 1, 1)
            _bn(shapes, f'{p}.{i + 2}', c)
            cin, index = c, index + 1
    shapes['features.18.0.weight'] = (1280, 320, 1, 1)
    _bn(shapes, 'features.18.1', 1280)
    shapes['classifier.1.weight'] = (1000, 1280)
    shapes['classifier.1.bias'] = (1000, )
    return shapes


def torchvision_shufflenet_v2_shapes(stages=(116, 232, 464)):
    """``torchvision.models.shufflenet_v2_x1_0`` (``stages`` of x1.0; x0.5 48, 96, 192):
    ``conv1`` [3x3/2 conv 24, BN], stage units with ``branch1`` [dw 3x3, BN, 1x1, BN] in
    the first (stride 2) unit and ``branch2`` [1x1, BN, -, dw 3x3, BN, 1x1, BN], then
    ``conv5`` [1x1 conv 1024, BN] and ``fc``."""
    shapes = OrderedDict()
    shapes['conv1.0.weight'] = (24, 3, 3, 3)
    _bn(shapes, 'conv1.1', 24)
    cin = 24
    for s, (out, repeats) in enumerate(zip(stages, (4, 8, 4)), start=2):
        half = out // 2
        for u in range(repeats):
            p = f'stage{s}.{u}'
            if u == 0:
                shapes[f'{p}.branch1.0.weight'] = (cin, 1, 3, 3)
                _bn(shapes, f'{p}.branch1.1', cin)
                shapes[f'{p}.branch1.2.weight'] = (half, cin, 1, 1)
                _bn(shapes, f'{p}.branch1.3', half)
            shapes[f'{p}.branch2.0.weight'] = (half, cin if u == 0 else half, 1, 1)
            _bn(shapes, f'{p}.branch2.1', half)
            shapes[f'{p}.branch2.3.weight'] = (half, 1, 3, 3)
            _bn(shapes, f'{p}.branch2.4', half)
            shapes[f'{p}.branch2.5.weight'] = (half, half, 1, 1)
            _bn(shapes, f'{p}.branch2.6', half)
        cin = out
    shapes['conv5.0.weight'] = (1024, cin, 1, 1)
    _bn(shapes, 'conv5.1', 1024)
    shapes['fc.weight'] = (1000, 1024)
    shapes['fc.bias'] = (1000, )
    return shapes


def mmdet_backbone_shapes(cfg: dict):
    """The state dict of an mmdet backbone (mmdet's checkpoints use these very names)."""
    from mmdet.registry import MODELS as MMDET_MODELS
    with torch.device('meta'):
        return module_shapes(MMDET_MODELS.build(cfg))


SOURCES = {
    # name: (config, overrides, source layout, mapping, dropped keys)
    'mobilenet_v2': (CENTERFACE, {}, torchvision_mobilenet_v2_shapes,
                     'torchvision_mobilenet_v2', ['classifier.1.bias', 'classifier.1.weight']),
    'mobilenet_v2_mmdet': (CENTERFACE, {}, lambda: mmdet_backbone_shapes(
        dict(type='MobileNetV2', out_indices=(1, 2, 4, 6))), None, []),
    'shufflenetv2_x1.0': (SHUFFLENET, {}, torchvision_shufflenet_v2_shapes,
                          'torchvision_shufflenet_v2', None),
    'shufflenetv2_x0.5': (SHUFFLENET, {'model.backbone.widen_factor': 0.5,
                                       'model.neck.in_channels': [24, 48, 96, 192]},
                          lambda: torchvision_shufflenet_v2_shapes((48, 96, 192)),
                          'torchvision_shufflenet_v2', None),
    'darknet53': (DARKNET, {}, lambda: mmdet_backbone_shapes(
        dict(type='Darknet', depth=53, out_indices=(2, 3, 4, 5))), None, []),
}


def _config(name: str) -> Config:
    path, overrides, *_ = SOURCES[name]
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(overrides)
    return cfg


@pytest.mark.parametrize('name', sorted(SOURCES))
def test_source_layout_maps_onto_the_backbone(name):
    """The source's full layout maps onto the config's backbone: the same keys and shapes,
    only the classifier parts dropped."""
    _, _, shapes_fn, mapping, expected_drop = SOURCES[name]
    with torch.device('meta'):
        target = module_shapes(MODELS.build(_config(name).model).backbone)
    state = OrderedDict((k, torch.empty(s, device='meta')) for k, s in shapes_fn().items())
    dropped = []
    if mapping:
        state, dropped = map_pretrained_backbone(state, mapping)
    assert {k: tuple(v.shape) for k, v in state.items()} == target
    if expected_drop is None:  # ShuffleNetV2: conv5 and fc
        assert dropped and all(k.startswith(('conv5.', 'fc.')) for k in dropped)
    else:
        assert sorted(dropped) == expected_drop


@pytest.mark.parametrize('path,source', [(CENTERFACE, 'mobilenet_v2'),
                                         (SHUFFLENET, 'shufflenetv2_x1.0'),
                                         (DARKNET, 'darknet53')], ids=osp.basename)
def test_config_defaults_are_the_documented_sources(path, source):
    init = Config.fromfile(path).model.init_cfg
    assert init.type == 'PretrainedMapped' and init.module == 'backbone'
    assert {k: v for k, v in init.items() if k not in ('type', 'module')} == \
        OFFICIAL_PRETRAINED[source]


@pytest.fixture
def server(monkeypatch, tmp_path):
    go_online(monkeypatch, tmp_path)
    srv = FileServer()
    yield srv
    srv.close()


@pytest.mark.parametrize('name', ['mobilenet_v2', 'mobilenet_v2_mmdet', 'shufflenetv2_x1.0',
                                  'shufflenetv2_x0.5'])
def test_config_loads_every_backbone_tensor_from_the_served_file(name, server):
    """``init_weights()`` with the config's initialiser pointed at the served file (the
    documented override for the alternative sources): every backbone tensor equals the
    file's (after the mapping); DarkNet-53 (40 M parameters) is covered by the layout test
    and by the same mapping-free path as mmdet's MobileNetV2."""
    _, _, shapes_fn, mapping, _ = SOURCES[name]
    state = random_state(shapes_fn(), seed=3)
    data = torch_bytes(state)
    cfg = _config(name)
    stem = OFFICIAL_PRETRAINED[name]['checkpoint'].rsplit('/', 1)[1].split('-')[0]
    cfg.merge_from_dict({'model.init_cfg.checkpoint': server.add(sha_name(stem, data), data),
                         'model.init_cfg.mapping': mapping})
    model = MODELS.build(cfg.model)
    model.init_weights()
    expected = map_pretrained_backbone(state, mapping)[0] if mapping else state
    loaded = model.backbone.state_dict()
    assert set(loaded) == set(expected)
    for key, value in loaded.items():
        assert torch.equal(value, expected[key]), key


def test_wrong_source_is_refused(server):
    """A ShuffleNetV2 x0.5 file for the 1.0x config: a strict load names the mismatches."""
    state = random_state(torchvision_shufflenet_v2_shapes((48, 96, 192)), seed=4)
    data = torch_bytes(state)
    cfg = _config('shufflenetv2_x1.0')
    cfg.merge_from_dict({'model.init_cfg.checkpoint': server.add('shufflenet_half.pth', data)})
    with pytest.raises(CheckpointError, match=r'stage2\.0\.branch1\.2\.weight: checkpoint '
                                              r'\(24, 24, 1, 1\) vs model \(58, 24, 1, 1\)'):
        MODELS.build(cfg.model).init_weights()
