"""ShuffleNetV2 (Ma et al. 2018) as a detection backbone, in torchvision's parameter layout.

mmdet 3.3 has no ShuffleNetV2 (mmpretrain has one, a whole package for one backbone), and
torchvision's wheels here are CUDA builds that fail with the CPU torch; so this is ours,
written so that torchvision's ImageNet checkpoints (``shufflenetv2_x0.5-f707e7126e.pth``,
``shufflenetv2_x1-5666bf0f80.pth``) load by name: ``conv1`` (3x3/2 conv + BN + ReLU),
``maxpool``, ``stage2..4`` of units with ``branch1`` (the down-sampling unit's depthwise +
pointwise path) and ``branch2`` (pointwise, depthwise, pointwise). torchvision's ``conv5``
(1x1 conv to 1024 channels) and ``fc`` are classification parts: left out here and dropped
from those checkpoints.
"""
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmcenternet.registry import MODELS

#: Channels of conv1 and the three stages, by width multiplier (the paper's table 5).
STAGE_CHANNELS = {0.5: (24, 48, 96, 192), 1.0: (24, 116, 232, 464),
                  1.5: (24, 176, 352, 704), 2.0: (24, 244, 488, 976)}
STAGE_REPEATS = (4, 8, 4)


def channel_shuffle(x: Tensor, groups: int = 2) -> Tensor:
    """Interleaves the channels of ``groups`` groups (``[a0 a1 b0 b1] -> [a0 b0 a1 b1]``)."""
    num, channels, height, width = x.shape
    x = x.view(num, groups, channels // groups, height, width).transpose(1, 2)
    return x.reshape(num, channels, height, width)


def _conv_bn(in_channels: int, out_channels: int, kernel: int, stride: int = 1,
             depthwise: bool = False, relu: bool = True) -> List[nn.Module]:
    layers = [nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, bias=False,
                        groups=in_channels if depthwise else 1),
              nn.BatchNorm2d(out_channels)]
    return layers + [nn.ReLU(inplace=True)] if relu else layers


class ShuffleUnit(nn.Module):
    """A ShuffleNetV2 unit: stride 1 splits the channels and transforms one half; stride 2
    transforms the whole input on two paths; the halves are joined and shuffled."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f'ShuffleUnit stride must be 1 or 2, got {stride}')
        half = out_channels // 2
        if stride == 1 and in_channels != out_channels:
            raise ValueError('a stride-1 ShuffleUnit keeps its channels, got '
                             f'{in_channels} -> {out_channels}')
        self.stride = stride
        self.branch1 = nn.Sequential()
        if stride == 2:
            self.branch1 = nn.Sequential(
                *_conv_bn(in_channels, in_channels, 3, stride, depthwise=True, relu=False),
                *_conv_bn(in_channels, half, 1))
        self.branch2 = nn.Sequential(
            *_conv_bn(in_channels if stride == 2 else half, half, 1),
            *_conv_bn(half, half, 3, stride, depthwise=True, relu=False),
            *_conv_bn(half, half, 1))

    def forward(self, x: Tensor) -> Tensor:
        if self.stride == 1:
            kept, changed = x.chunk(2, dim=1)
            out = torch.cat([kept, self.branch2(changed)], dim=1)
        else:
            out = torch.cat([self.branch1(x), self.branch2(x)], dim=1)
        return channel_shuffle(out, 2)


@MODELS.register_module()
class ShuffleNetV2(BaseModule):
    """ShuffleNetV2 backbone (torchvision's layout, see the module docstring).

    Output indices: 0 the stem after max-pooling (stride 4, 24 channels), 1-3 ``stage2``,
    ``stage3``, ``stage4`` (strides 8, 16, 32; 116 / 232 / 464 channels at 1.0x).

    Args:
        widen_factor: 0.5, 1.0, 1.5 or 2.0 (the ``x0.5`` ... ``x2.0`` models).
        out_indices: Which outputs to return (default all four, for an FPN neck).
        frozen_stages: Freeze the stem (0) and the first ``n`` stages (-1: none).
        norm_eval: Keep the BatchNorms in eval mode while training.
        init_cfg: Weight initialisation (pretrained weights: the detector's
            ``PretrainedMapped`` with ``mapping='torchvision_shufflenet_v2'``).
    """

    def __init__(self, widen_factor: float = 1.0, out_indices: Sequence[int] = (0, 1, 2, 3),
                 frozen_stages: int = -1, norm_eval: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if widen_factor not in STAGE_CHANNELS:
            raise ValueError(f'ShuffleNetV2.widen_factor must be one of '
                             f'{sorted(STAGE_CHANNELS)}, got {widen_factor}')
        if not out_indices or not set(out_indices) <= {0, 1, 2, 3}:
            raise ValueError(f'ShuffleNetV2.out_indices must be a non-empty subset of '
                             f'(0, 1, 2, 3), got {tuple(out_indices)}')
        if not -1 <= frozen_stages <= 3:
            raise ValueError(f'ShuffleNetV2.frozen_stages must be in [-1, 3], got '
                             f'{frozen_stages}')
        channels = STAGE_CHANNELS[widen_factor]
        self.out_indices = tuple(out_indices)
        self.out_channels = tuple(channels[i] for i in self.out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.conv1 = nn.Sequential(*_conv_bn(3, channels[0], 3, 2))
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        for i, (out, repeats) in enumerate(zip(channels[1:], STAGE_REPEATS)):
            units = [ShuffleUnit(channels[i], out, 2)]
            units += [ShuffleUnit(out, out, 1) for _ in range(repeats - 1)]
            self.add_module(f'stage{i + 2}', nn.Sequential(*units))

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        outs = []
        x = self.maxpool(self.conv1(x))
        for i in range(4):
            if i > 0:
                x = getattr(self, f'stage{i + 1}')(x)
            if i in self.out_indices:
                outs.append(x)
            if i == max(self.out_indices):
                break
        return tuple(outs)

    def _freeze(self) -> None:
        modules = [self.conv1] + [getattr(self, f'stage{i + 2}')
                                  for i in range(self.frozen_stages)]
        for module in modules:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'ShuffleNetV2':
        super().train(mode)
        if self.frozen_stages >= 0:
            self._freeze()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
