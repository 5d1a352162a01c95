"""Inference-time fusions: BatchNorm folded into the convolution before it.

In eval mode a BatchNorm is a per-channel affine map ``y = s * (x - mean) + beta`` with
``s = gamma / sqrt(var + eps)``, so it can be folded into the preceding convolution's
weight and bias and replaced by ``nn.Identity``. ``mmcv.cnn.fuse_conv_bn`` does this for
``nn.Conv2d`` only; CenterNet also has BN after transposed convolutions (the up-sampling
neck) and after DCNv2, which :func:`fuse_conv_bn` handles too.

Only for inference: the fused model has no BatchNorm statistics left to train.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor, nn

try:  # mmcv's deformable convs keep the nn.Conv2d weight layout (O, C / groups, kh, kw)
    from mmcv.ops import DeformConv2d, ModulatedDeformConv2d
    DEFORM_CONVS: Tuple[type, ...] = (DeformConv2d, ModulatedDeformConv2d)
except ImportError:  # pragma: no cover - mmcv without compiled ops
    DEFORM_CONVS = ()

CONV_TYPES = (nn.Conv2d, nn.ConvTranspose2d) + DEFORM_CONVS
BN_TYPES = (nn.BatchNorm2d, nn.SyncBatchNorm)


def out_channels_of(conv: nn.Module) -> int:
    """Output channels of a conv-like module."""
    return int(conv.out_channels)


def bn_scale_shift(bn: nn.modules.batchnorm._BatchNorm) -> Tuple[Tensor, Tensor]:
    """Per-channel ``(scale, shift)`` of an eval-mode BatchNorm, in float64."""
    var = bn.running_var.double()
    mean = bn.running_mean.double()
    scale = torch.rsqrt(var + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight.double()
    shift = -mean * scale
    if bn.bias is not None:
        shift = shift + bn.bias.double()
    return scale, shift


def scale_conv_weight(conv: nn.Module, scale: Tensor) -> Tensor:
    """The conv's weight with output channel ``o`` multiplied by ``scale[o]``.

    ``nn.ConvTranspose2d`` stores ``(C_in, O / groups, kh, kw)``; the others
    ``(O, C_in / groups, kh, kw)``.
    """
    weight = conv.weight.detach().double()
    if isinstance(conv, nn.ConvTranspose2d):
        groups = conv.groups
        shape = weight.shape
        grouped = weight.view(groups, shape[0] // groups, shape[1], *shape[2:])
        grouped = grouped * scale.view(groups, 1, shape[1], *([1] * (len(shape) - 2)))
        return grouped.view(shape)
    return weight * scale.view(-1, *([1] * (weight.dim() - 1)))


def fold_bn_into_conv(conv: nn.Module, bn: nn.modules.batchnorm._BatchNorm) -> None:
    """Folds ``bn`` (its running statistics) into ``conv``'s weight and bias, in place.

    A conv without bias gets one. Works for ``nn.Conv2d``, ``nn.ConvTranspose2d`` and
    mmcv's (modulated) deformable convs, including ``DCNv2Fast``; the offset branch of a
    deformable conv reads the conv's input, so it is left as is.
    """
    scale, shift = bn_scale_shift(bn)
    ref = conv.weight
    conv.weight = nn.Parameter(scale_conv_weight(conv, scale).to(ref.dtype),
                               requires_grad=ref.requires_grad)
    bias = shift if conv.bias is None else conv.bias.detach().double() * scale + shift
    conv.bias = nn.Parameter(bias.to(ref.dtype), requires_grad=ref.requires_grad)


def _norm_follows_conv(module: nn.Module) -> bool:
    """False for mmcv ``ConvModule``s whose norm runs before the conv (pre-norm order)."""
    order = getattr(module, 'order', None)
    if not (isinstance(order, tuple) and 'conv' in order and 'norm' in order):
        return True
    return order.index('conv') < order.index('norm')


def _fusable(conv: Optional[nn.Module], bn: nn.Module) -> bool:
    """Whether ``bn`` can be folded into ``conv`` (matching channels, running stats)."""
    return (conv is not None and bn.track_running_stats and bn.running_var is not None
            and bn.num_features == out_channels_of(conv))


def fuse_conv_bn(model: nn.Module) -> nn.Module:
    """Folds every BatchNorm that directly follows a conv into it, recursively, in place.

    As ``mmcv.cnn.fuse_conv_bn``, a BN is paired with the conv registered just before it
    in the same parent (``nn.Sequential`` order, ``conv1``/``bn1`` of mmdet's and torch's
    ResNet blocks, mmcv ``ConvModule``'s ``conv``/``bn``), and replaced by
    ``nn.Identity``. Unlike it, transposed and deformable convs are fused as well. A BN
    whose channels do not match, that has no running statistics, or that follows a
    non-conv module is left alone, as are pre-norm ``ConvModule``s.

    Call it on an eval-mode model, for inference only.

    Args:
        model: The model (or any module); changed in place.

    Returns:
        ``model``, for chaining.
    """
    if not _norm_follows_conv(model):
        return model
    last_conv = None
    for name, child in list(model.named_children()):
        if isinstance(child, BN_TYPES):
            if _fusable(last_conv, child):
                fold_bn_into_conv(last_conv, child)
                setattr(model, name, nn.Identity())
            last_conv = None
        elif isinstance(child, CONV_TYPES):
            last_conv = child
        else:
            fuse_conv_bn(child)
            last_conv = None
    return model


def count_batchnorms(model: nn.Module) -> int:
    """Number of BatchNorm modules left in ``model`` (0 after a complete fusion)."""
    return sum(isinstance(m, BN_TYPES) for m in model.modules())


def _to_channels_last(module: nn.Module, args: tuple) -> tuple:
    """Forward pre-hook: the first (image) argument in channels-last memory format."""
    if args and isinstance(args[0], Tensor) and args[0].dim() == 4:
        return (args[0].contiguous(memory_format=torch.channels_last), ) + tuple(args[1:])
    return args


def optimize_for_inference(model: nn.Module, fuse_bn: bool = True,
                           channels_last: bool = False, compile: bool = False,
                           compile_kwargs: Optional[dict] = None) -> nn.Module:
    """Inference fusions for a detector, in place; outputs stay the same up to rounding.

    Args:
        model: A detector with ``backbone`` (and optionally ``neck``) and ``bbox_head``;
            put in eval mode.
        fuse_bn: Fold BatchNorms into the convs before them (:func:`fuse_conv_bn`).
        channels_last: Store conv weights and run the backbone input in channels-last
            (NHWC) memory format, which oneDNN convs on CPU and tensor-core convs on GPU
            prefer.
        compile: ``torch.compile`` the backbone, neck and head in place
            (``nn.Module.compile``, so the head's own ``predict`` uses the compiled
            forward). The first call compiles (slow); with ``impl='auto'`` DCNv2Fast runs
            PyTorch ops on CPU, which the compiler can trace.
        compile_kwargs: Extra ``torch.compile`` arguments (e.g. ``mode``, ``dynamic``).

    Returns:
        ``model``.
    """
    model.eval()
    if fuse_bn:
        fuse_conv_bn(model)
    if channels_last:
        model.to(memory_format=torch.channels_last)
        model.backbone.register_forward_pre_hook(_to_channels_last)
    if compile:
        for name in ('backbone', 'neck', 'bbox_head'):
            part = getattr(model, name, None)
            if part is not None:
                part.compile(**(compile_kwargs or {}))
    return model
