"""DCNv2Fast (pure PyTorch modulated deformable conv) against mmcv's op."""
import pytest
import torch
from mmcv.cnn import build_conv_layer
from mmcv.ops import ModulatedDeformConv2dPack, modulated_deform_conv2d

from mmcenternet.models.layers import DCNv2Fast, modulated_deform_conv2d_torch
from mmcenternet.models.layers.dcn import sampling_grid

TOL = dict(atol=1e-4, rtol=1e-4)

# (batch, in, out, H, W, kernel, stride, padding, dilation, groups, deform_groups)
CASES = [
    (2, 8, 4, 9, 7, 3, 1, 1, 1, 1, 1),    # projection-first path (out <= in), odd sizes
    (1, 4, 6, 8, 8, 3, 1, 1, 1, 1, 1),    # sampling-first path (out > in)
    (2, 6, 4, 10, 9, 3, 2, 1, 1, 1, 1),   # stride 2
    (1, 8, 8, 9, 9, 3, 1, 2, 2, 1, 2),    # dilation 2, two deformable groups
    (2, 8, 4, 7, 6, 3, 1, 1, 1, 2, 1),    # conv groups
    (1, 4, 4, 5, 6, (3, 1), 1, (1, 0), 1, 1, 1),  # non-square kernel
    (1, 4, 2, 1, 1, 3, 1, 1, 1, 1, 1),    # 1x1 map
]


def _inputs(case, offset_scale: float, seed: int = 0):
    b, cin, cout, h, w, k, s, p, d, g, dg = case
    kh, kw = (k, k) if isinstance(k, int) else k
    gen = torch.Generator().manual_seed(seed)
    ph, pw = (p, p) if isinstance(p, int) else p
    ho = (h + 2 * ph - d * (kh - 1) - 1) // s + 1
    wo = (w + 2 * pw - d * (kw - 1) - 1) // s + 1
    x = torch.randn(b, cin, h, w, generator=gen)
    offset = offset_scale * torch.randn(b, dg * 2 * kh * kw, ho, wo, generator=gen)
    mask = torch.rand(b, dg * kh * kw, ho, wo, generator=gen)
    weight = torch.randn(cout, cin // g, kh, kw, generator=gen)
    bias = torch.randn(cout, generator=gen)
    return [t.requires_grad_() for t in (x, offset, mask, weight, bias)], (s, p, d, g, dg)


def _run(fn, tensors, geometry, grad_out):
    out = fn(*tensors, *geometry)
    grads = torch.autograd.grad(out, tensors, grad_out)
    return out, grads


@pytest.mark.parametrize('case', CASES)
@pytest.mark.parametrize('offset_scale', [0.7, 4.0])
def test_matches_mmcv_forward_and_gradients(case, offset_scale):
    """Random offsets (many samples out of the map at scale 4) give mmcv's values/grads."""
    tensors, geometry = _inputs(case, offset_scale)
    ref_out = modulated_deform_conv2d(*tensors, *geometry)
    grad_out = torch.randn(ref_out.shape, generator=torch.Generator().manual_seed(1))
    ref_out, ref_grads = _run(modulated_deform_conv2d, tensors, geometry, grad_out)
    out, grads = _run(modulated_deform_conv2d_torch, tensors, geometry, grad_out)
    torch.testing.assert_close(out, ref_out, **TOL)
    for name, a, b in zip(['x', 'offset', 'mask', 'weight', 'bias'], grads, ref_grads):
        torch.testing.assert_close(a, b, **TOL, msg=lambda m, n=name: f'grad {n}: {m}')


def test_out_of_bounds_rule():
    """Samples at or beyond -1 / size are 0 with no gradient; inside they are bilinear."""
    offset = torch.zeros(1, 2, 1, 4)
    offset[0, 1] = torch.tensor([-1.0, -0.5, 3.0, 3.5])  # x offsets, 1x1 kernel, W = 4
    _, inside = sampling_grid(offset, (1, 4), (1, 4), (1, 1), (1, 1), (0, 0), (1, 1))
    # positions x = 0-1, 1-0.5, 2+3, 3+3.5 -> -1 (out), 0.5, 5 (out), 6.5 (out)
    assert inside.flatten().tolist() == [0.0, 1.0, 0.0, 0.0]
    x = torch.arange(1., 5.).view(1, 1, 1, 4)
    w = torch.ones(1, 1, 1, 1)
    mask = torch.ones(1, 1, 1, 4)
    for fn in (modulated_deform_conv2d, modulated_deform_conv2d_torch):
        out = fn(x, offset, mask, w, None, 1, 0, 1, 1, 1)
        torch.testing.assert_close(out.flatten(), torch.tensor([0.0, 1.5, 0.0, 0.0]))


def test_zero_offsets_power_of_two_map_gradients():
    """At initialisation (offsets exactly 0) on 2^k maps the offset gradients match too."""
    case = (2, 8, 4, 16, 16, 3, 1, 1, 1, 1, 1)
    tensors, geometry = _inputs(case, 0.0)
    grad_out = torch.randn(2, 4, 16, 16, generator=torch.Generator().manual_seed(2))
    _, ref = _run(modulated_deform_conv2d, tensors, geometry, grad_out)
    _, ours = _run(modulated_deform_conv2d_torch, tensors, geometry, grad_out)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, **TOL)


def test_registered_and_checkpoint_compatible():
    """``DCNv2Fast`` builds through mmcv's conv builder and swaps state dicts with DCNv2."""
    fast = build_conv_layer(dict(type='DCNv2Fast', deform_groups=1), 8, 4, kernel_size=3,
                            padding=1)
    assert isinstance(fast, DCNv2Fast)
    assert isinstance(fast, ModulatedDeformConv2dPack)
    ref = build_conv_layer(dict(type='DCNv2', deform_groups=1), 8, 4, kernel_size=3,
                           padding=1)
    assert set(fast.state_dict()) == set(ref.state_dict()) == {
        'weight', 'bias', 'conv_offset.weight', 'conv_offset.bias'}
    torch.manual_seed(0)
    torch.nn.init.normal_(ref.conv_offset.weight, std=0.3)
    torch.nn.init.normal_(ref.conv_offset.bias, std=1.0)
    fast.load_state_dict(ref.state_dict())
    x = torch.randn(2, 8, 9, 11)
    torch.testing.assert_close(fast(x), ref(x), **TOL)
    ref.load_state_dict(fast.state_dict())  # and back


def test_impl_switch():
    layer = DCNv2Fast(4, 4, 3, padding=1, impl='mmcv')
    assert layer.use_mmcv(torch.zeros(1))
    layer.impl = 'torch'
    assert not layer.use_mmcv(torch.zeros(1))
    layer.impl = 'auto'
    assert not layer.use_mmcv(torch.zeros(1))  # CPU tensor
    with pytest.raises(ValueError, match='impl'):
        DCNv2Fast(4, 4, 3, impl='cuda')
    assert "impl='auto'" in repr(layer)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_auto_uses_mmcv_kernel_and_agrees():
    layer = DCNv2Fast(8, 4, 3, padding=1).cuda()
    torch.nn.init.normal_(layer.conv_offset.weight, std=0.3)
    x = torch.randn(2, 8, 12, 12, device='cuda')
    assert layer.use_mmcv(x)
    ref = layer(x)
    layer.impl = 'torch'
    torch.testing.assert_close(layer(x), ref, **TOL)
