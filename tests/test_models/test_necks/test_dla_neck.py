"""Tests of the DLA up-sampling neck (DLAUp + IDAUp)."""
import pytest
import torch

from mmcenternet.models.necks import DLANeck
from mmcenternet.models.necks.dla_neck import fill_bilinear_
from mmcenternet.registry import MODELS

CHANNELS = (16, 32, 64, 128, 256, 512)


def _levels(size: int = 64, batch: int = 1):
    return tuple(torch.randn(batch, c, size // 2**i, size // 2**i)
                 for i, c in enumerate(CHANNELS))


@pytest.mark.parametrize('use_dcn', [True, False])
def test_dla_neck_output(use_dcn):
    neck = MODELS.build(dict(type='DLANeck', use_dcn=use_dcn)).eval()
    with torch.no_grad():
        outs = neck(_levels())
    assert isinstance(outs, tuple) and len(outs) == 1
    assert outs[0].shape == (1, 64, 16, 16)
    assert neck.out_channels == 64


def test_dla_neck_official_names_and_shapes():
    shapes = {k: tuple(v.shape) for k, v in DLANeck().state_dict().items()}
    # official DLASeg: dla_up.ida_{0,1,2}, ida_up with proj/up/node 1..2
    assert shapes['dla_up.ida_0.proj_1.conv.weight'] == (256, 512, 3, 3)
    assert shapes['dla_up.ida_0.proj_1.conv.conv_offset.weight'] == (27, 512, 3, 3)
    assert shapes['dla_up.ida_0.proj_1.actf.0.weight'] == (256, )
    assert shapes['dla_up.ida_1.up_2.weight'] == (128, 1, 4, 4)
    assert shapes['dla_up.ida_2.node_2.conv.bias'] == (64, )
    assert shapes['ida_up.proj_2.conv.weight'] == (64, 256, 3, 3)
    assert shapes['ida_up.up_2.weight'] == (64, 1, 8, 8)
    assert 'ida_up.proj_0.conv.weight' not in shapes
    assert 'dla_up.ida_0.proj_2.conv.weight' not in shapes
    plain = DLANeck(use_dcn=False).state_dict()
    assert not any('conv_offset' in k for k in plain)
    assert set(plain) == {k for k in shapes if 'conv_offset' not in k}


def test_dla_neck_up_is_bilinear_and_trainable():
    neck = DLANeck(use_dcn=False)
    up = neck.ida_up.up_1  # factor 2, kernel 4
    ref = torch.tensor([0.25, 0.75, 0.75, 0.25])
    assert torch.allclose(up.weight[3, 0], ref[:, None] * ref[None, :])
    assert up.weight.requires_grad  # trained in the official code (not frozen)
    # a constant map stays constant inside the image after the bilinear up-sampling
    out = up(torch.ones(1, 64, 4, 4))
    assert out.shape == (1, 64, 8, 8)
    assert torch.allclose(out[..., 1:-1, 1:-1], torch.ones(1, 64, 6, 6))
    with torch.no_grad():
        up.weight.zero_()
    fill_bilinear_(up)
    assert torch.allclose(up.weight[0, 0], ref[:, None] * ref[None, :])


def test_dla_neck_backward():
    neck = DLANeck().train()
    neck(_levels(32, batch=2))[0].mean().backward()
    assert all(p.grad is not None for p in neck.parameters())


def test_dla_neck_checks_inputs():
    with pytest.raises(ValueError):
        DLANeck()(_levels()[2:])
    with pytest.raises(ValueError):
        DLANeck(first_level=5, last_level=3)
