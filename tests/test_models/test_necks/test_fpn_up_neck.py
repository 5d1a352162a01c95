"""CenterNetFPNNeck: CenterFace's graph (24 channels, 2x2 up-sampling, top and final convs)
and the TF version's (256, 4x4, neither)."""
import pytest
import torch

from mmcenternet.models.necks import CenterNetFPNNeck

LEVELS = [(24, 32), (32, 16), (96, 8), (320, 4)]  # (channels, side) at strides 4..32


def _feats():
    return [torch.randn(2, c, s, s) for c, s in LEVELS]


def test_centerface_graph():
    neck = CenterNetFPNNeck([c for c, _ in LEVELS], 24, deconv_kernel=2)
    out, = neck(_feats())
    assert out.shape == (2, 24, 32, 32)
    # the released centerface.param: 1x1 top conv (320 -> 24), three 2x2 transposed convs
    # (24 -> 24) and 1x1 laterals (96, 32, 24 -> 24), a final 3x3 conv (24 -> 24)
    assert neck.top.conv.weight.shape == (24, 320, 1, 1)
    assert [u.conv.weight.shape for u in neck.ups] == [(24, 24, 2, 2)] * 3
    assert [lat.conv.weight.shape[1] for lat in neck.laterals] == [96, 32, 24]
    assert neck.final.conv.weight.shape == (24, 24, 3, 3)


def test_tf_light_graph_and_the_top_down_sum():
    neck = CenterNetFPNNeck([c for c, _ in LEVELS], 16, deconv_kernel=4, top_conv=False,
                            final_conv=False).eval()
    feats = _feats()
    out, = neck(feats)
    assert out.shape == (2, 16, 32, 32) and neck.top is None and neck.final is None
    assert neck.ups[0].conv.weight.shape == (320, 16, 4, 4)  # reads the deepest level
    # the result is the last up-sampled map plus the stride-4 lateral
    x = feats[3]
    for up, lateral, feat in zip(neck.ups, neck.laterals, feats[2::-1]):
        x = up(x) + lateral(feat)
    torch.testing.assert_close(out, x)


def test_errors():
    with pytest.raises(ValueError, match='deconv_kernel'):
        CenterNetFPNNeck([8, 16], deconv_kernel=3)
    neck = CenterNetFPNNeck([c for c, _ in LEVELS], 8)
    with pytest.raises(ValueError, match="got 3 feature maps.*out_indices"):
        neck(_feats()[:3])
    odd = _feats()
    odd[0] = torch.randn(2, 24, 33, 33)
    with pytest.raises(ValueError, match='multiple of 32'):
        neck(odd)
