"""Duan's Keypoint Triplets checkpoint layout -> mmcenternet: keys, shapes and outputs.

Duan's network is re-described in ``_duan_triplet.py`` (same parameter names, shapes and
forward as Duankaiwen/CenterNet). Each test fills one with random weights, saves it as Duan
does (``DummyModule(model).state_dict()``: ``module.`` prefixes), converts it, loads it
into our model with ``strict=True`` and compares the outputs of every stack.
"""
import importlib.util
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config

sys.path.insert(0, osp.dirname(__file__))
from _duan_triplet import DuanTripletKP  # noqa: E402
from _official_centernet import randomize_  # noqa: E402

from mmcenternet.checkpoint.duan import convert_duan_state_dict  # noqa: E402
from mmcenternet.errors import ConversionError  # noqa: E402
from mmcenternet.registry import MODELS  # noqa: E402

ROOT = osp.join(osp.dirname(__file__), '..', '..')
TOOL = osp.join(ROOT, 'tools', 'model_converters', 'triplet_duan2mmcn.py')
CONFIGS = {2: 'centernet-triplet_hg104_8xb6-crop511-480k_coco.py',
           1: 'centernet-triplet_hg52_8xb6-crop511-480k_coco.py'}


def duan_saved(model):
    """What Duan's ``save_params`` writes: the state dict of ``DummyModule(model)``."""
    return {'module.' + k: v for k, v in model.state_dict().items()}


def small_duan(nstack: int, seed: int):
    model = DuanTripletKP(num_classes=3, n=2, dims=(16, 16, 24), mods=(1, 1, 2),
                          nstack=nstack, cnv_dim=32, mid=8)
    return randomize_(model, seed=seed)


def small_ours(nstack: int):
    backbone = dict(type='mmdet.HourglassNet' if nstack == 2 else 'StackedHourglassNet',
                    downsample_times=2, num_stacks=nstack, stage_channels=(16, 16, 24),
                    stage_blocks=(1, 1, 2), feat_channel=32)
    # the hidden width of Duan's output layers is dims[0] (16); its pools' is ``mid`` (8)
    head = dict(type='TripletHead', codec=dict(type='TripletCodec', num_classes=3),
                in_channels=32, feat_channels=16, pool_channels=8, num_stacks=nstack)
    return MODELS.build(dict(type='CenterNet', backbone=backbone, bbox_head=head)).eval()


@pytest.mark.parametrize('nstack', [2, 1])
def test_full_size_layout_matches_the_configs(nstack):
    """Converted keys and shapes equal our COCO config's model (on 'meta')."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'centernet_triplet', CONFIGS[nstack]))
    with torch.device('meta'):
        duan = DuanTripletKP(nstack=nstack)
        ours = MODELS.build(cfg.model)
    converted = convert_duan_state_dict(duan_saved(duan))
    expected = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in converted.items()}
    assert sorted(set(expected) - set(got)) == []
    assert sorted(set(got) - set(expected)) == []
    assert got == expected


@pytest.mark.parametrize('nstack', [2, 1])
def test_converted_model_equals_duan(nstack):
    duan = small_duan(nstack, seed=nstack)
    ours = small_ours(nstack)
    result = ours.load_state_dict(convert_duan_state_dict(duan_saved(duan)), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ref, out = duan(x), ours._forward(x)
    assert len(ref) == len(out) == nstack
    scale = max(v.abs().max().item() for stack in ref for v in stack.values())
    diff = max((r[k] - o[k]).abs().max().item() for r, o in zip(ref, out) for k in r)
    print(f'{nstack}-stack max abs diff {diff:.3g} (output scale {scale:.3g})')
    assert diff <= 1e-4 * max(1.0, scale)


def test_not_a_triplet_checkpoint():
    with pytest.raises(ConversionError, match='not a Keypoint Triplets'):
        convert_duan_state_dict({'module.conv1.weight': torch.zeros(1)})


def test_unmapped_keys_are_listed():
    sd = duan_saved(small_duan(1, seed=0))
    sd['module.tl_cnvs.0.extra.weight'] = torch.zeros(1)
    with pytest.raises(ConversionError, match=r"tl_cnvs\.0\.extra\.weight"):
        convert_duan_state_dict(sd)


def test_tool_roundtrip(tmp_path):
    spec = importlib.util.spec_from_file_location('triplet_duan2mmcn', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    duan = small_duan(2, seed=5)
    src, dst = tmp_path / 'CenterNet-104_480000.pkl', tmp_path / 'ours.pth'
    torch.save(duan_saved(duan), src)
    assert tool.main([str(src), str(dst)]) == 0
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert ckpt['meta']['num_stacks'] == 2
    ours = small_ours(2)
    ours.load_state_dict(ckpt['state_dict'], strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(duan(x)[-1]['ct_heatmap'], ours._forward(x)[-1]['ct_heatmap'],
                              atol=1e-4)
    torch.save({'conv1.weight': torch.zeros(1)}, tmp_path / 'other.pth')
    assert tool.main([str(tmp_path / 'other.pth'), str(tmp_path / 'bad.pth')]) == 1
