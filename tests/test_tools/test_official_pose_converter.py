"""Official ``multi_pose`` checkpoints -> mmcenternet pose models: keys, shapes, outputs.

The official networks with the ``multi_pose`` heads (``opts.py``: ``hm 1, wh 2, hps 34,
reg 2, hm_hp 17, hp_offset 2``) are the re-descriptions of ``_official_centernet.py``; each
test converts one's state dict (heads detected from the keys), loads it with
``strict=True`` into our model built with the pose configs' head, and compares all six maps.
"""
import contextlib
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmcenternet.registry import MODELS
from ._official_centernet import (OfficialDLASeg, OfficialHourglass, OfficialPoseResNet,
                                  randomize_)
from .test_official_converter import (convert_official_state_dict, dla_cfg, hourglass_cfg,
                                      load_tool, resnet_cfg)
from .toy_workspace import ROOT

TOOL = load_tool()
MULTI_POSE_HEAD_MAP, detect_head_map = TOOL.TASK_HEAD_MAPS['multi_pose'], TOOL.detect_head_map
POSE_HEADS = {'hm': 1, 'wh': 2, 'hps': 34, 'reg': 2, 'hm_hp': 17, 'hp_offset': 2}
POSE_HEAD = Config.fromfile(osp.join(ROOT, 'configs', '_base_', 'models',
                                     'centernet_pose_head.py')).pose_head.to_dict()


def _pose(cfg):
    """A detection model config of test_official_converter with the pose head of our
    configs (configs/_base_/models/centernet_pose_head.py)."""
    cfg = copy.deepcopy(cfg)
    head = cfg['bbox_head']
    branches = head['branches']
    for name, spec in POSE_HEAD['branches'].items():
        branches[name] = dict(branches.get(name, {}), **spec)
    head.update(codec=POSE_HEAD['codec'])
    return cfg


def _assert_same_maps(official_outs, our_outs, tol=1e-4):
    assert len(official_outs) == len(our_outs)
    for off, ours in zip(official_outs, our_outs):
        for o_name, name in MULTI_POSE_HEAD_MAP.items():
            scale = max(1.0, off[o_name].abs().max().item())
            diff = (off[o_name] - ours[name]).abs().max().item()
            assert diff <= tol * scale, f'{o_name}: max abs diff {diff:.3g}'


def test_pose_heads_are_detected():
    with torch.device('meta'):
        sd = OfficialPoseResNet(18, POSE_HEADS, 64, True).state_dict()
    assert detect_head_map(sd) == MULTI_POSE_HEAD_MAP
    assert detect_head_map({'module.' + k: v for k, v in sd.items()}) == MULTI_POSE_HEAD_MAP
    assert 'hps' not in detect_head_map({'hm.0.weight': None})
    # official --not_hm_hp: no joint heatmap heads, still multi_pose
    assert detect_head_map({k: None for k in ('hm.0.weight', 'wh.0.weight', 'reg.0.weight',
                                              'hps.0.weight')}) == MULTI_POSE_HEAD_MAP
    # the head names come from the codecs
    from mmcenternet.models.task_modules import CTDetCodec, DDDCodec, MultiPoseCodec
    assert TOOL.TASK_HEAD_MAPS == {codec.official_task: codec.official_heads
                                   for codec in (CTDetCodec, MultiPoseCodec, DDDCodec)}


@pytest.mark.parametrize('arch', ['dla_34', 'hourglass'])
def test_full_size_pose_layout_matches(arch):
    """multi_pose_dla_{1x,3x} / multi_pose_hg_{1x,3x} keys and shapes = our pose configs'."""
    with torch.device('meta'):
        if arch == 'dla_34':
            official, cfg = OfficialDLASeg(POSE_HEADS), _pose(dla_cfg())
        else:
            official, cfg = OfficialHourglass(POSE_HEADS), _pose(hourglass_cfg(small=False))
        ours = MODELS.build(cfg)
    with pytest.warns(UserWarning, match='base.fc') if arch == 'dla_34' else \
            contextlib.nullcontext():
        converted = convert_official_state_dict(official.state_dict(), arch)
    expected = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in converted.items()} == expected


def test_resdcn18_pose_outputs_equal_official():
    torch.manual_seed(0)
    official = randomize_(OfficialPoseResNet(18, POSE_HEADS, 64, dcn=True), seed=5)
    ours = MODELS.build(_pose(resnet_cfg(18, True))).eval()
    ours.load_state_dict(convert_official_state_dict(official.state_dict()), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        _assert_same_maps(official(x), ours._forward(x))


def test_small_hourglass_pose_outputs_equal_official():
    torch.manual_seed(0)
    official = randomize_(OfficialHourglass(POSE_HEADS, n=2, dims=(16, 16, 24), mods=(1, 1, 2),
                                            nstack=2, cnv_dim=32), seed=6)
    ours = MODELS.build(_pose(hourglass_cfg(small=True))).eval()
    ours.load_state_dict(convert_official_state_dict(official.state_dict(), 'hourglass'),
                         strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        _assert_same_maps(official(x), ours._forward(x))


def test_tool_converts_a_multi_pose_checkpoint(tmp_path):
    tool = load_tool()
    official = randomize_(OfficialPoseResNet(18, POSE_HEADS, 64, dcn=True), seed=7)
    src, dst = tmp_path / 'multi_pose_official.pth', tmp_path / 'ours.pth'
    torch.save({'epoch': 50,
                'state_dict': {'module.' + k: v for k, v in official.state_dict().items()}},
               src)
    assert tool.main([str(src), str(dst)]) == 0
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    ours = MODELS.build(_pose(resnet_cfg(18, True))).eval()
    ours.load_state_dict(ckpt['state_dict'], strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        _assert_same_maps(official(x), ours._forward(x))
