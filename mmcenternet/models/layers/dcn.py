"""Modulated deformable convolution (DCNv2) in plain PyTorch, for fast CPU training.

mmcv's ``ModulatedDeformConv2dPack`` has a CUDA kernel and a CPU kernel; the CPU one is
single-image im2col code whose backward dominates a CPU training step (several seconds per
step for ResNet-18 CenterNet at batch 4, 512 px). Here the same operator is written with
``F.grid_sample`` (bilinear, zero padding) and one matrix product, so autograd gives the
backward and every part runs on PyTorch's vectorised, multi-threaded CPU kernels.

:class:`DCNv2Fast` (registered in mmcenternet's ``MODELS``) subclasses mmcv's
``ModulatedDeformConv2dPack``: same arguments, same parameters (``weight``, ``bias``,
``conv_offset.weight``, ``conv_offset.bias``) and the same initialisation, so checkpoints
load either way. By default it runs mmcv's kernel for CUDA tensors and the PyTorch version
otherwise.

Export: while ``torch.onnx.export`` traces the model (the TorchScript exporter), the
operator is emitted as the standard ONNX ``DeformConv`` (opset 19; inputs ``X, W, offset,
B, mask``, with the same offset layout as mmcv: ``dy`` then ``dx`` per tap), which ONNX
Runtime runs on CPU (:class:`DeformConvONNX`).
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmcv.ops import ModulatedDeformConv2dPack, modulated_deform_conv2d
from torch import Tensor

from mmcenternet.registry import MODELS

IMPLS = ('auto', 'torch', 'mmcv')
IntPair = Union[int, Tuple[int, int]]


def _pair(value: IntPair) -> Tuple[int, int]:
    """``3 -> (3, 3)``; tuples pass through."""
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _out_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Output length of a convolution along one axis."""
    return (size + 2 * padding - (dilation * (kernel - 1) + 1)) // stride + 1


def sampling_grid(offset: Tensor, in_hw: Tuple[int, int], out_hw: Tuple[int, int],
                  kernel: Tuple[int, int], stride: Tuple[int, int],
                  padding: Tuple[int, int], dilation: Tuple[int, int]
                  ) -> Tuple[Tensor, Tensor]:
    """Normalised ``grid_sample`` coordinates of every (kernel tap, output pixel).

    The sampling point of tap ``(i, j)`` at output ``(y, x)`` is
    ``(y * s - p + i * d + dy, x * s - p + j * d + dx)`` in input pixels, with ``(dy, dx)``
    read from ``offset`` in mmcv's layout: channel ``2 * k`` is ``dy`` and ``2 * k + 1`` is
    ``dx`` of tap ``k = i * kw + j``, per deformable group. Pixel ``p`` maps to
    ``(2 p + 1) / size - 1`` (``align_corners=False``), which works for maps of size 1.

    Args:
        offset: ``(B, G * 2 * kh * kw, Ho, Wo)`` offsets of ``G`` deformable groups.
        in_hw: ``(H, W)`` of the sampled map.
        out_hw: ``(Ho, Wo)``.
        kernel, stride, padding, dilation: Convolution geometry, as pairs.

    Returns:
        ``grid (B * G, kh * kw, Ho, Wo, 2)`` (``x`` then ``y``), in ``offset``'s dtype, and
        ``inside (B, G * kh * kw, Ho, Wo)``: 1 where ``-1 < y < H`` and ``-1 < x < W``,
        the points mmcv samples at all (elsewhere it gives 0 and no gradient).
    """
    (height, width), (out_h, out_w) = in_hw, out_hw
    taps = kernel[0] * kernel[1]
    num_imgs = offset.shape[0]
    opts = dict(dtype=offset.dtype, device=offset.device)
    base_y = (torch.arange(out_h, **opts) * stride[0] - padding[0]).view(1, out_h, 1)
    base_x = (torch.arange(out_w, **opts) * stride[1] - padding[1]).view(1, 1, out_w)
    tap_y = (torch.arange(kernel[0], **opts) * dilation[0]).repeat_interleave(kernel[1])
    tap_x = (torch.arange(kernel[1], **opts) * dilation[1]).repeat(kernel[0])
    off = offset.reshape(num_imgs, -1, taps, 2, out_h, out_w)
    pos_y = off[:, :, :, 0] + (base_y + tap_y.view(taps, 1, 1))
    pos_x = off[:, :, :, 1] + (base_x + tap_x.view(taps, 1, 1))
    inside = (pos_y > -1) & (pos_y < height) & (pos_x > -1) & (pos_x < width)
    grid_y = pos_y * (2.0 / height) + (1.0 / height - 1.0)
    grid_x = pos_x * (2.0 / width) + (1.0 / width - 1.0)
    grid = torch.stack([grid_x, grid_y], dim=-1).reshape(-1, taps, out_h, out_w, 2)
    return grid, inside.to(offset.dtype).reshape(num_imgs, -1, out_h, out_w)


def _bilinear(feat: Tensor, grid: Tensor) -> Tensor:
    """Bilinear samples, zero outside the map (mmcv's DCN rule); ``grid (N, P, Q, 2)``."""
    return F.grid_sample(feat, grid, mode='bilinear', padding_mode='zeros',
                         align_corners=False)


def modulated_deform_conv2d_torch(x: Tensor, offset: Tensor, mask: Tensor, weight: Tensor,
                                  bias: Optional[Tensor] = None, stride: IntPair = 1,
                                  padding: IntPair = 0, dilation: IntPair = 1,
                                  groups: int = 1, deform_groups: int = 1) -> Tensor:
    """Modulated deformable convolution (DCNv2) from PyTorch ops; mmcv's semantics.

    ``out[o, y, x] = bias[o] + sum_{c, k} W[o, c, k] * m_k(y, x) * x_c(p_k(y, x))`` with
    ``p_k`` the offset sampling point of tap ``k`` (see :func:`sampling_grid`) and ``x_c``
    read bilinearly, zero outside the map, exactly as mmcv's kernels.

    Gradients match mmcv's too, except at the measure-zero set of sampling points that lie
    (to float precision) exactly on a pixel row or column of a map whose size is not a
    power of two: there ``grid_sample``'s coordinate rounding may pick the other one-sided
    derivative of the piecewise-bilinear sampler for the offset gradient.

    Two equivalent orders, chosen by cost: sample the ``C`` input channels at the ``K``
    taps and multiply by the weight (general), or, with one deformable group, no conv
    groups, stride 1 and ``out_channels <= in_channels``, first project the input with each
    tap's ``(O, C)`` weight slice and sample the ``O``-channel results (bilinear sampling is
    linear per channel, so the orders agree); the latter samples fewer channels.

    Args:
        x: ``(B, C, H, W)`` input.
        offset: ``(B, G * 2 * kh * kw, Ho, Wo)`` offsets (mmcv layout, ``dy`` first).
        mask: ``(B, G * kh * kw, Ho, Wo)`` modulation scalars.
        weight: ``(O, C / groups, kh, kw)``.
        bias: ``(O,)`` or None.
        stride, padding, dilation: Convolution geometry.
        groups: Convolution groups.
        deform_groups: Deformable groups ``G`` (channel groups sharing offsets).

    Returns:
        ``(B, O, Ho, Wo)``.
    """
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    num_imgs, in_ch, height, width = x.shape
    out_ch, _, kh, kw = weight.shape
    taps = kh * kw
    out_h = _out_size(height, kh, stride[0], padding[0], dilation[0])
    out_w = _out_size(width, kw, stride[1], padding[1], dilation[1])
    grid, inside = sampling_grid(offset.to(x.dtype), (height, width), (out_h, out_w),
                                 (kh, kw), stride, padding, dilation)
    # points on or beyond the -1 / size lines: zero value and zero gradient, as mmcv
    mask = mask.to(x.dtype) * inside
    if (deform_groups == 1 and groups == 1 and stride == (1, 1) and out_ch <= in_ch):
        # project first: z[b, k, o] = W[o, :, k] @ x[b], then sample each tap's map
        w_taps = weight.permute(2, 3, 0, 1).reshape(taps * out_ch, in_ch)
        proj = torch.matmul(w_taps, x.reshape(num_imgs, in_ch, height * width))
        sampled = _bilinear(proj.view(num_imgs * taps, out_ch, height, width),
                            grid.view(num_imgs * taps, out_h, out_w, 2))
        sampled = sampled.view(num_imgs, taps, out_ch, out_h * out_w)
        out = (sampled * mask.reshape(num_imgs, taps, 1, out_h * out_w)).sum(1)
    else:
        cols = _bilinear(
            x.reshape(num_imgs * deform_groups, in_ch // deform_groups, height, width),
            grid.view(num_imgs * deform_groups, taps * out_h, out_w, 2))
        cols = cols.view(num_imgs, deform_groups, in_ch // deform_groups, taps, out_h * out_w)
        cols = cols * mask.reshape(num_imgs, deform_groups, 1, taps, out_h * out_w)
        cols = cols.view(num_imgs, groups, in_ch // groups * taps, out_h * out_w)
        out = torch.matmul(weight.reshape(groups, out_ch // groups, -1), cols)
    out = out.reshape(num_imgs, out_ch, out_h, out_w)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out


class DeformConvONNX(torch.autograd.Function):
    """DCNv2 that the TorchScript ONNX exporter emits as one standard ``DeformConv`` node.

    The forward is :func:`modulated_deform_conv2d_torch` (so tracing sees the right values
    and shapes); ``symbolic`` writes ``DeformConv(X, W, offset, B, mask)`` with the
    convolution attributes. mmcv's own function exports a custom ``mmcv::`` op instead,
    which ONNX Runtime lacks. Inference only (no backward).
    """

    @staticmethod
    def forward(ctx, x: Tensor, offset: Tensor, mask: Tensor, weight: Tensor, bias: Tensor,
                stride: Tuple[int, int], padding: Tuple[int, int], dilation: Tuple[int, int],
                groups: int, deform_groups: int) -> Tensor:
        return modulated_deform_conv2d_torch(x, offset, mask, weight, bias, stride, padding,
                                             dilation, groups, deform_groups)

    @staticmethod
    def symbolic(g, x, offset, mask, weight, bias, stride, padding, dilation, groups,
                 deform_groups):  # pragma: no cover - called by the exporter
        kernel = [int(s) for s in weight.type().sizes()[2:]]
        return g.op('DeformConv', x, weight, offset, bias, mask,
                    dilations_i=list(dilation), group_i=groups, kernel_shape_i=kernel,
                    offset_group_i=deform_groups, pads_i=list(padding) * 2,
                    strides_i=list(stride))


def modulated_deform_conv2d_onnx(x: Tensor, offset: Tensor, mask: Tensor, weight: Tensor,
                                 bias: Optional[Tensor] = None, stride: IntPair = 1,
                                 padding: IntPair = 0, dilation: IntPair = 1,
                                 groups: int = 1, deform_groups: int = 1) -> Tensor:
    """:func:`modulated_deform_conv2d_torch` that exports as ONNX ``DeformConv``
    (:class:`DeformConvONNX`); a missing bias becomes zeros (ONNX needs a value there)."""
    if bias is None:
        bias = weight.new_zeros(weight.shape[0])
    return DeformConvONNX.apply(x, offset, mask, weight, bias, _pair(stride), _pair(padding),
                                _pair(dilation), int(groups), int(deform_groups))


@MODELS.register_module()
class DCNv2Fast(ModulatedDeformConv2dPack):
    """``ModulatedDeformConv2dPack`` with a fast pure-PyTorch path for CPU.

    Drop-in for mmcv's ``DCNv2`` (``conv_cfg=dict(type='DCNv2Fast')``): same constructor,
    parameters, initialisation and outputs. Only the kernel that runs differs.

    Args:
        *args, **kwargs: As ``mmcv.ops.ModulatedDeformConv2dPack`` (in/out channels,
            kernel size, stride, padding, dilation, groups, deform_groups, bias).
        impl: ``'auto'`` (default): mmcv's kernel for CUDA inputs, the PyTorch version
            otherwise; ``'torch'``: always PyTorch (e.g. for ``torch.compile`` or export);
            ``'mmcv'``: always mmcv's kernel. While ``torch.onnx.export`` runs, the op
            is exported as ONNX ``DeformConv`` whatever ``impl`` says.
    """

    def __init__(self, *args, impl: str = 'auto', **kwargs) -> None:
        if impl not in IMPLS:
            raise ValueError(f'DCNv2Fast impl must be one of {IMPLS}, got {impl!r}')
        super().__init__(*args, **kwargs)
        self.impl = impl

    def use_mmcv(self, x: Tensor) -> bool:
        """Whether this call runs mmcv's kernel (see ``impl``)."""
        return self.impl == 'mmcv' or (self.impl == 'auto' and x.is_cuda)

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        """Offsets and sigmoid mask from ``conv_offset``, then the deformable conv."""
        out = self.conv_offset(x)
        o1, o2, mask = torch.chunk(out, 3, dim=1)
        offset = torch.cat((o1, o2), dim=1)
        mask = torch.sigmoid(mask)
        if torch.onnx.is_in_onnx_export():
            conv = modulated_deform_conv2d_onnx
        elif self.use_mmcv(x):
            conv = modulated_deform_conv2d
        else:
            conv = modulated_deform_conv2d_torch
        return conv(x, offset, mask, self.weight, self.bias, self.stride, self.padding,
                    self.dilation, self.groups, self.deform_groups)

    def extra_repr(self) -> str:
        """Adds ``impl`` to the module's repr."""
        return f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, ' \
               f'stride={self.stride}, padding={self.padding}, impl={self.impl!r}'
