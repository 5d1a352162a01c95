"""BatchNorm folding and the other inference fusions keep the outputs."""
import copy
import os.path as osp

import pytest
import torch
from mmcv.cnn import ConvModule
from mmcv.ops import ModulatedDeformConv2dPack
from mmengine.config import Config
from torch import nn

from mmcenternet.models.layers import DCNv2Fast
from mmcenternet.models.utils import (count_batchnorms, fold_bn_into_conv, fuse_conv_bn,
                                      optimize_for_inference)
from mmcenternet.registry import MODELS
from mmcenternet.utils.benchmark import DenseNet

TOL = dict(atol=1e-4, rtol=1e-4)


def _random_bn_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial BN statistics / affine parameters, eval mode."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.copy_(0.5 + torch.rand(m.num_features, generator=gen))
                m.bias.copy_(torch.randn(m.num_features, generator=gen))
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=gen))
    return model.eval()


def _check_fused(model: nn.Module, x: torch.Tensor) -> nn.Module:
    model = _random_bn_(model)
    with torch.no_grad():
        ref = model(x)
        fused = fuse_conv_bn(copy.deepcopy(model))
        out = fused(x)
    torch.testing.assert_close(out, ref, **TOL)
    return fused


@pytest.mark.parametrize('bias', [True, False])
def test_conv2d_bn(bias):
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=bias), nn.BatchNorm2d(8),
                          nn.ReLU())
    fused = _check_fused(model, torch.randn(2, 3, 9, 9))
    assert isinstance(fused[1], nn.Identity) and count_batchnorms(fused) == 0


@pytest.mark.parametrize('groups', [1, 2])
def test_conv_transpose_bn(groups):
    model = nn.Sequential(
        nn.ConvTranspose2d(4, 6, 4, stride=2, padding=1, groups=groups, bias=False),
        nn.BatchNorm2d(6))
    fused = _check_fused(model, torch.randn(2, 4, 5, 7))
    assert fused[0].bias is not None and count_batchnorms(fused) == 0


@pytest.mark.parametrize('dcn_type', [ModulatedDeformConv2dPack, DCNv2Fast])
def test_dcn_bn(dcn_type):
    torch.manual_seed(0)
    dcn = dcn_type(4, 6, 3, padding=1)
    nn.init.normal_(dcn.conv_offset.weight, std=0.2)
    fused = _check_fused(nn.Sequential(dcn, nn.BatchNorm2d(6)), torch.randn(1, 4, 8, 8))
    assert count_batchnorms(fused) == 0


def test_conv_module_orders():
    post = ConvModule(3, 4, 3, padding=1, norm_cfg=dict(type='BN'))
    fused = _check_fused(post, torch.randn(1, 3, 6, 6))
    assert count_batchnorms(fused) == 0
    pre = ConvModule(4, 4, 3, padding=1, norm_cfg=dict(type='BN'),
                     order=('norm', 'conv', 'act'))
    fused = _check_fused(pre, torch.randn(1, 4, 6, 6))
    assert count_batchnorms(fused) == 1  # BN before the conv: not folded


def test_unpaired_bn_left_alone():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU(), nn.BatchNorm2d(4),
                          nn.Conv2d(4, 5, 1), nn.BatchNorm2d(5))
    fused = _check_fused(model, torch.randn(1, 3, 4, 4))
    assert isinstance(fused[2], nn.BatchNorm2d)  # follows a ReLU
    assert isinstance(fused[4], nn.Identity)


def test_fold_into_conv_without_bias_creates_one():
    conv, bn = nn.Conv2d(2, 3, 1, bias=False), _random_bn_(nn.BatchNorm2d(3))
    fold_bn_into_conv(conv, bn)
    assert conv.bias is not None and conv.bias.shape == (3, )


@pytest.fixture(scope='module')
def small_centernet(repo_root):
    """R18-DCNv2 CenterNet at half width (our config, DCNv2Fast), random BN statistics."""
    cfg = Config.fromfile(osp.join(repo_root, 'configs/centernet/'
                                   'centernet_r18-dcnv2_8xb16-crop512-140e_coco.py'))
    cfg.model.backbone.base_channels = 32
    cfg.model.neck.update(in_channels=256, num_filters=(64, 32, 32))
    cfg.model.bbox_head.update(in_channels=32, feat_channels=32)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    for m in model.modules():
        if hasattr(m, 'conv_offset'):
            nn.init.normal_(m.conv_offset.weight, std=0.05)
    return _random_bn_(model)


def test_whole_detector_fusions(small_centernet):
    """BN folding (ResNet, DCN, deconv) + channels-last: same maps and detections."""
    x = torch.randn(1, 3, 96, 128)
    fast = optimize_for_inference(copy.deepcopy(small_centernet), fuse_bn=True,
                                  channels_last=True)
    assert count_batchnorms(fast) == 0
    assert count_batchnorms(small_centernet) > 0
    with torch.no_grad():
        ref = DenseNet(small_centernet)(x)
        out = DenseNet(fast)(x)
    assert out[0].is_contiguous(memory_format=torch.channels_last)
    for a, b in zip(out, ref):
        torch.testing.assert_close(a, b, **TOL)
    with torch.no_grad():
        dets_ref = small_centernet.bbox_head.predict_by_feat(
            small_centernet.bbox_head(small_centernet.extract_feat(x)))[0]
        dets = fast.bbox_head.predict_by_feat(fast.bbox_head(fast.extract_feat(x)))[0]
    torch.testing.assert_close(dets.scores, dets_ref.scores, **TOL)
    torch.testing.assert_close(dets.bboxes, dets_ref.bboxes, atol=1e-3, rtol=0)
