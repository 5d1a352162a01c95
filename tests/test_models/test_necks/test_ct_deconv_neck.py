import pytest
import torch

from mmcenternet.models.necks.ct_deconv_neck import fill_bilinear_
from mmcenternet.registry import MODELS


@pytest.mark.parametrize('use_dcn', [True, False])
def test_resdcn_layout_and_shapes(use_dcn):
    neck = MODELS.build(dict(
        type='CenterNetDeconvNeck', in_channels=64, num_filters=(32, 16, 8),
        conv_cfg=dict(type='DCNv2', deform_groups=1) if use_dcn else None))
    neck.init_weights()
    out = neck((torch.rand(2, 64, 4, 5), ))
    assert len(out) == 1 and out[0].shape == (2, 8, 32, 40)
    kinds = [type(m).__name__ for m in neck.layers]
    first = 'ModulatedDeformConv2dPack' if use_dcn else 'Conv2d'
    assert kinds[:6] == [first, 'BatchNorm2d', 'ReLU', 'ConvTranspose2d', 'BatchNorm2d', 'ReLU']
    assert len(kinds) == 18
    if use_dcn:
        assert 'layers.0.conv_offset.weight' in neck.state_dict()


def test_msra_layout_without_convs():
    neck = MODELS.build(dict(type='CenterNetDeconvNeck', in_channels=16,
                             num_filters=(8, 8, 8), use_conv=False, conv_cfg=None,
                             deconv_init='normal'))
    neck.init_weights()
    assert [type(m).__name__ for m in neck.layers][:3] == ['ConvTranspose2d', 'BatchNorm2d',
                                                          'ReLU']
    assert neck.layers[0].weight.std() < 0.01
    assert neck((torch.rand(1, 16, 3, 3), ))[0].shape == (1, 8, 24, 24)


def test_bilinear_fill_upsamples_a_constant():
    deconv = torch.nn.ConvTranspose2d(2, 2, 4, stride=2, padding=1, bias=False)
    fill_bilinear_(deconv)
    k = deconv.weight[0, 0]
    assert torch.allclose(k, k.t()) and torch.allclose(deconv.weight[1, 0], k)
    torch.testing.assert_close(k[1:3, 1:3], torch.full((2, 2), 0.5625))
    x = torch.ones(1, 1, 6, 6)
    single = torch.nn.functional.conv_transpose2d(x, k.view(1, 1, 4, 4), stride=2, padding=1)
    assert torch.allclose(single[0, 0, 1:-1, 1:-1], torch.ones(10, 10))


def test_bad_arguments():
    with pytest.raises(ValueError, match='same length'):
        MODELS.build(dict(type='CenterNetDeconvNeck', in_channels=8, num_filters=(8, 8),
                          num_kernels=(4, )))
    with pytest.raises(ValueError, match='deconv_init'):
        MODELS.build(dict(type='CenterNetDeconvNeck', in_channels=8, deconv_init='xavier'))
