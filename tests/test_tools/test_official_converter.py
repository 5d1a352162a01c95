"""Official CenterNet checkpoint -> mmcenternet: keys, shapes and outputs.

The official networks are re-described in ``_official_centernet.py`` (same parameter names,
shapes and forward as xingyizhou/CenterNet). Each test fills one with random weights,
converts its state dict, loads it into our model with ``strict=True`` and compares outputs.
"""
import os.path as osp
import sys
from typing import Dict

import pytest
import torch
from torch import nn

sys.path.insert(0, osp.dirname(__file__))
from _official_centernet import (OfficialDLASeg, OfficialHourglass,  # noqa: E402
                                 OfficialPoseResNet, randomize_)

from mmcenternet.checkpoint.official import convert_official_state_dict as _convert  # noqa
from mmcenternet.checkpoint.official import detect_arch  # noqa: E402
from mmcenternet.errors import ConversionError  # noqa: E402
from mmcenternet.registry import MODELS  # noqa: E402
from mmcenternet.utils import register_all_modules  # noqa: E402

register_all_modules()

HEADS = {'hm': 3, 'wh': 2, 'reg': 2}
TOOL = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'model_converters',
                'centernet_official2mmcn.py')


def load_tool():
    """Imports tools/model_converters/centernet_official2mmcn.py."""
    import importlib.util
    spec = importlib.util.spec_from_file_location('centernet_official2mmcn', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def convert_official_state_dict(state_dict, arch=None, head_map=None):
    """The conversion as the tool does it: the head map of the task detected from the
    heads (the task-specific head names live in the tool, not in mmcenternet.checkpoint)."""
    if head_map is None:
        head_map = load_tool().detect_head_map(state_dict)
    return _convert(state_dict, arch, head_map)


def _branches() -> Dict:
    return dict(
        heatmap=dict(bias_init=-2.19, loss=dict(type='CenterNetFocalLoss', loss_weight=1.0)),
        wh=dict(loss=dict(type='RegL1Loss', loss_weight=0.1)),
        offset=dict(loss=dict(type='RegL1Loss', loss_weight=1.0)))


def _head(in_channels: int, feat_channels: int, num_stacks: int = 1) -> Dict:
    return dict(type='CenterNetHead', in_channels=in_channels, feat_channels=feat_channels,
                num_stacks=num_stacks, branches=_branches(),
                codec=dict(type='CTDetCodec', num_classes=3))


def resnet_cfg(depth: int, dcn: bool) -> Dict:
    """Our config of the official ``resdcn_<depth>`` / ``res_<depth>``."""
    out_ch = 512 if depth < 50 else 2048
    neck = dict(type='CenterNetDeconvNeck', in_channels=out_ch, num_kernels=(4, 4, 4))
    if dcn:
        neck.update(num_filters=(256, 128, 64), use_conv=True,
                    conv_cfg=dict(type='DCNv2', deform_groups=1), deconv_init='bilinear')
    else:
        neck.update(num_filters=(256, 256, 256), use_conv=False, conv_cfg=None,
                    deconv_init='normal')
    return dict(type='CenterNet',
                backbone=dict(type='mmdet.ResNet', depth=depth, out_indices=(3, ),
                              norm_eval=False, style='pytorch'),
                neck=neck, bbox_head=_head(64 if dcn else 256, 64))


def dla_cfg() -> Dict:
    """Our config of the official ``dla_34``."""
    return dict(type='CenterNet', backbone=dict(type='DLA', depth=34),
                neck=dict(type='DLANeck', first_level=2, last_level=5, use_dcn=True),
                bbox_head=_head(64, 256))


def hourglass_cfg(small: bool) -> Dict:
    """Our config of the official ``hourglass`` (mmdet ``HourglassNet``), or a tiny one."""
    if small:
        backbone = dict(type='mmdet.HourglassNet', downsample_times=2, num_stacks=2,
                        stage_channels=(16, 16, 24), stage_blocks=(1, 1, 2), feat_channel=32)
        return dict(type='CenterNet', backbone=backbone, neck=None,
                    bbox_head=_head(32, 16, num_stacks=2))
    backbone = dict(type='mmdet.HourglassNet', downsample_times=5, num_stacks=2,
                    stage_channels=(256, 256, 384, 384, 384, 512),
                    stage_blocks=(2, 2, 2, 2, 2, 4), feat_channel=256)
    return dict(type='CenterNet', backbone=backbone, neck=None,
                bbox_head=_head(256, 256, num_stacks=2))


def _build(cfg: Dict) -> nn.Module:
    return MODELS.build(cfg).eval()


def _convert_and_load(official: nn.Module, cfg: Dict, arch: str) -> nn.Module:
    ours = _build(cfg)
    converted = convert_official_state_dict(official.state_dict(), arch)
    result = ours.load_state_dict(converted, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    return ours


def _max_diff(official_outs, our_outs, name_map=(('hm', 'heatmap'), ('wh', 'wh'),
                                                 ('reg', 'offset'))) -> float:
    assert len(official_outs) == len(our_outs)
    diff = 0.0
    for off, our in zip(official_outs, our_outs):
        for o_name, name in name_map:
            assert off[o_name].shape == our[name].shape
            diff = max(diff, (off[o_name] - our[name]).abs().max().item())
    return diff


def _assert_close(official_outs, our_outs, tol: float = 1e-4) -> None:
    scale = max(o['hm'].abs().max().item() for o in official_outs)
    diff = _max_diff(official_outs, our_outs)
    print(f'max abs diff {diff:.3g} (output scale {scale:.3g})')
    assert diff <= tol * max(1.0, scale)


# --------------------------------------------------------------------------- detection
@pytest.mark.parametrize('official_args,arch', [
    (dict(depth=18, dcn=True), 'resdcn_18'), (dict(depth=18, dcn=False), 'res_18'),
    (dict(depth=101, dcn=True), 'resdcn_101')])
def test_detect_resnet_arch(official_args, arch):
    with torch.device('meta'):
        official = OfficialPoseResNet(heads=HEADS, head_conv=64, **official_args)
    prefixed = {'module.' + k: v for k, v in official.state_dict().items()}
    assert detect_arch(official.state_dict()) == arch
    assert set(convert_official_state_dict(prefixed)) == set(
        convert_official_state_dict(official.state_dict(), arch))


def test_detect_dla_and_hourglass():
    with torch.device('meta'):
        assert detect_arch(OfficialDLASeg(HEADS).state_dict()) == 'dla_34'
        assert detect_arch(OfficialHourglass(HEADS).state_dict()) == 'hourglass'


# --------------------------------------------------------------------------- key/shape layout
@pytest.mark.parametrize('arch', ['resdcn_18', 'res_18', 'resdcn_101', 'dla_34', 'hourglass'])
def test_full_size_layout_matches(arch):
    """Converted keys and shapes equal our model's, at the official sizes (on 'meta')."""
    with torch.device('meta'):
        if arch.startswith('res'):
            depth, dcn = int(arch.split('_')[1]), arch.startswith('resdcn')
            official = OfficialPoseResNet(depth, HEADS, 64, dcn)
            cfg = resnet_cfg(depth, dcn)
        elif arch == 'dla_34':
            official, cfg = OfficialDLASeg(HEADS), dla_cfg()
        else:
            official, cfg = OfficialHourglass(HEADS), hourglass_cfg(small=False)
        ours = MODELS.build(cfg)
    with pytest.warns(UserWarning, match='base.fc') if arch == 'dla_34' else _no_op():
        converted = convert_official_state_dict(official.state_dict(), arch)
    expected = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in converted.items()}
    assert sorted(set(expected) - set(got)) == []
    assert sorted(set(got) - set(expected)) == []
    assert got == expected


class _no_op:
    def __enter__(self):
        return self

    def __exit__(self, *args):
        return False


# --------------------------------------------------------------------------- outputs
def test_dla34_backbone_and_neck_equal_official():
    torch.manual_seed(0)
    official = randomize_(OfficialDLASeg(HEADS))
    with pytest.warns(UserWarning, match='base.fc'):
        converted = convert_official_state_dict(official.state_dict(), 'dla_34')
    backbone = MODELS.build(dict(type='DLA')).eval()
    neck = MODELS.build(dict(type='DLANeck')).eval()
    for prefix, module in (('backbone.', backbone), ('neck.', neck)):
        part = {k[len(prefix):]: v for k, v in converted.items() if k.startswith(prefix)}
        module.load_state_dict(part, strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ref_levels = official.base(x)
        ref_neck = official.neck_forward(ref_levels)
        levels = backbone(x)
        feat = neck(levels)[0]
    for ref, out in zip(ref_levels, levels):
        assert torch.equal(ref, out)
    diff = (ref_neck - feat).abs().max().item()
    print(f'dla_34 neck max abs diff {diff:.3g}')
    assert diff <= 1e-4 * max(1.0, ref_neck.abs().max().item())


def test_dla34_full_model_equals_official():
    torch.manual_seed(0)
    official = randomize_(OfficialDLASeg(HEADS), seed=1)
    with pytest.warns(UserWarning):
        ours = _convert_and_load(official, dla_cfg(), 'dla_34')
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        _assert_close(official(x), ours._forward(x))


@pytest.mark.parametrize('dcn', [True, False])
def test_resnet18_full_model_equals_official(dcn):
    torch.manual_seed(0)
    official = randomize_(OfficialPoseResNet(18, HEADS, 64, dcn), seed=2)
    ours = _convert_and_load(official, resnet_cfg(18, dcn), 'resdcn_18' if dcn else 'res_18')
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        _assert_close(official(x), ours._forward(x))


def test_hourglass_small_equals_official():
    torch.manual_seed(0)
    official = randomize_(OfficialHourglass(HEADS, n=2, dims=(16, 16, 24), mods=(1, 1, 2),
                                            nstack=2, cnv_dim=32), seed=3)
    # the official head's hidden width is dims[0] (16) here: our head gets feat_channels=16
    ours = _convert_and_load(official, hourglass_cfg(small=True), 'hourglass')
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        _assert_close(official(x), ours._forward(x))


# --------------------------------------------------------------------------- errors
def test_unknown_arch():
    with pytest.raises(ConversionError, match='unknown arch'):
        convert_official_state_dict({'conv1.weight': torch.zeros(1)}, 'vgg_16')
    with pytest.raises(ConversionError, match='dla_34'):
        convert_official_state_dict({'conv1.weight': torch.zeros(1)}, 'dla_60')


def test_unmapped_keys_are_listed():
    with torch.device('meta'):
        sd = OfficialPoseResNet(18, {'hm': 3, 'wh': 2, 'reg': 2, 'xyz': 34}, 64, True)
    with pytest.raises(ConversionError, match=r"xyz\.0\.weight.*xyz\.2\.bias"):
        convert_official_state_dict(sd.state_dict(), 'resdcn_18')
    mapped = convert_official_state_dict(sd.state_dict(), 'resdcn_18',
                                         head_map={'hm': 'heatmap', 'wh': 'wh',
                                                   'reg': 'offset', 'xyz': 'kpt_reg'})
    assert 'bbox_head.branches.kpt_reg.0.2.bias' in mapped


def test_arch_mismatch():
    with torch.device('meta'):
        sd = OfficialPoseResNet(18, HEADS, 64, dcn=False).state_dict()
    with pytest.raises(ConversionError, match='looks like res_18'):
        convert_official_state_dict(sd, 'resdcn_18')


def test_dcn_rename_and_head_conv_zero():
    with torch.device('meta'):
        sd = OfficialPoseResNet(18, HEADS, 0, dcn=True).state_dict()
    converted = convert_official_state_dict(sd, 'resdcn_18')
    assert 'neck.layers.0.conv_offset.weight' in converted
    assert not any('conv_offset_mask' in k for k in converted)
    assert 'bbox_head.branches.heatmap.0.0.weight' in converted
    assert 'bbox_head.branches.heatmap.0.2.weight' not in converted


# --------------------------------------------------------------------------- the tool
def test_tool_roundtrip(tmp_path):
    tool = load_tool()
    official = randomize_(OfficialPoseResNet(18, HEADS, 64, dcn=True), seed=4)
    src, dst = tmp_path / 'ctdet_official.pth', tmp_path / 'ours.pth'
    torch.save({'epoch': 140,
                'state_dict': {'module.' + k: v for k, v in official.state_dict().items()}},
               src)
    assert tool.main([str(src), str(dst)]) == 0
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert ckpt['meta']['arch'] == 'resdcn_18' and ckpt['meta']['official_epoch'] == 140
    ours = _build(resnet_cfg(18, True))
    ours.load_state_dict(ckpt['state_dict'], strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        _assert_close(official(x), ours._forward(x))
    with pytest.raises(ConversionError, match='ctdet_official.pth'):
        tool.main([str(src), str(tmp_path / 'bad.pth'), '--arch', 'dla_34'])
    assert not (tmp_path / 'bad.pth').exists()
