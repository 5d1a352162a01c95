"""Deep Layer Aggregation (DLA) backbone, as used by CenterNet ("Objects as Points").

The module tree follows the official CenterNet ``pose_dla_dcn.py`` (which follows the DLA
authors' ``dla.py``) name for name: ``base_layer``, ``level0`` ... ``level5``; every tree level
holds ``tree1``, ``tree2``, optionally ``root``, ``project`` (1x1 conv + BN) and a parameter-free
``downsample`` (max-pool). An official CenterNet checkpoint therefore maps onto this backbone by
replacing the ``base.`` prefix with ``backbone.`` (see
``mmcenternet.checkpoint.official``), and the DLA authors' ImageNet checkpoint
(``dla34-ba72cf86.pth``) has these names without a prefix, plus the classifier ``fc.*``: the
DLA configs load it strictly with the detector-level ``PretrainedMapped`` initialiser
(``mapping='dla34_imagenet'``, which drops ``fc``).
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmcenternet.registry import MODELS

NormCfg = Dict


class DLABasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with a residual that may be supplied by the caller.

    As in the official DLA ``BasicBlock``, the residual is not computed inside the block: the
    enclosing :class:`Tree` passes the (down-sampled, projected) input, and ``x`` itself is
    used when none is given.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        stride: Stride of the first conv.
        dilation: Dilation of both convs.
        norm_cfg: Normalisation layer config.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1,
                 dilation: int = 1, norm_cfg: Optional[NormCfg] = None) -> None:
        super().__init__()
        norm_cfg = norm_cfg or dict(type='BN')
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=dilation,
                               dilation=dilation, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, out_channels)[1]
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=1, padding=dilation,
                               dilation=dilation, bias=False)
        self.bn2 = build_norm_layer(norm_cfg, out_channels)[1]

    def forward(self, x: Tensor, residual: Optional[Tensor] = None) -> Tensor:
        """Applies the block; ``residual`` defaults to ``x``."""
        if residual is None:
            residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + residual)


class DLARoot(nn.Module):
    """Aggregation node: 1x1 conv over the concatenated children, BN, optional residual, ReLU.

    Args:
        in_channels: Sum of the channels of all aggregated inputs.
        out_channels: Output channels.
        residual: Add the first input to the result before the ReLU (official
            ``residual_root``; ``False`` for DLA-34 in the official code).
        norm_cfg: Normalisation layer config.
    """

    def __init__(self, in_channels: int, out_channels: int, residual: bool,
                 norm_cfg: Optional[NormCfg] = None) -> None:
        super().__init__()
        norm_cfg = norm_cfg or dict(type='BN')
        self.conv = nn.Conv2d(in_channels, out_channels, 1, stride=1, padding=0, bias=False)
        self.bn = build_norm_layer(norm_cfg, out_channels)[1]
        self.relu = nn.ReLU(inplace=True)
        self.residual = residual

    def forward(self, *inputs: Tensor) -> Tensor:
        """Aggregates ``inputs`` (the first one is the residual when enabled)."""
        out = self.bn(self.conv(torch.cat(inputs, 1)))
        if self.residual:
            out = out + inputs[0]
        return self.relu(out)


class DLATree(nn.Module):
    """Recursive hierarchical aggregation tree of the official DLA.

    A tree of ``levels == 1`` holds two blocks (``tree1``, ``tree2``) and a ``root`` that
    aggregates their outputs (plus the level's down-sampled input when ``level_root``). A deeper
    tree holds two sub-trees; the second one receives the outputs of the first one and of the
    down-sampled input as extra children for its root. ``project`` (and ``downsample``) exist
    whenever the channels (stride) change, also in trees whose residual is then unused (the
    outer tree of levels 3 and 4 of DLA-34): those parameters are kept so official checkpoints
    load unchanged, but, unlike the official code, their unused output is not computed. They
    receive no gradient, so distributed training needs ``find_unused_parameters=True``.

    Args:
        levels: Depth of the tree.
        in_channels: Input channels.
        out_channels: Output channels.
        stride: Down-sampling factor (max-pool on the residual path, strided first conv).
        level_root: Whether the down-sampled input is aggregated by the root.
        root_dim: Channels entering the root; 0 means ``2 * out_channels``.
        dilation: Dilation of the block convs.
        root_residual: Whether roots add a residual.
        norm_cfg: Normalisation layer config.
    """

    def __init__(self, levels: int, in_channels: int, out_channels: int, stride: int = 1,
                 level_root: bool = False, root_dim: int = 0, dilation: int = 1,
                 root_residual: bool = False, norm_cfg: Optional[NormCfg] = None) -> None:
        super().__init__()
        norm_cfg = norm_cfg or dict(type='BN')
        if root_dim == 0:
            root_dim = 2 * out_channels
        if level_root:
            root_dim += in_channels
        if levels == 1:
            self.tree1 = DLABasicBlock(in_channels, out_channels, stride, dilation, norm_cfg)
            self.tree2 = DLABasicBlock(out_channels, out_channels, 1, dilation, norm_cfg)
            self.root = DLARoot(root_dim, out_channels, root_residual, norm_cfg)
        else:
            self.tree1 = DLATree(levels - 1, in_channels, out_channels, stride, root_dim=0,
                                 dilation=dilation, root_residual=root_residual,
                                 norm_cfg=norm_cfg)
            self.tree2 = DLATree(levels - 1, out_channels, out_channels, 1,
                                 root_dim=root_dim + out_channels, dilation=dilation,
                                 root_residual=root_residual, norm_cfg=norm_cfg)
        self.levels = levels
        self.level_root = level_root
        self.root_dim = root_dim
        self.downsample = nn.MaxPool2d(stride, stride=stride) if stride > 1 else None
        self.project = None
        if in_channels != out_channels:
            self.project = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=1, bias=False),
                build_norm_layer(norm_cfg, out_channels)[1])

    def forward(self, x: Tensor, residual: Optional[Tensor] = None,
                children: Optional[List[Tensor]] = None) -> Tensor:
        """Runs the tree.

        Args:
            x: Input feature.
            residual: Ignored (the tree computes its own); accepted so that a tree can stand
                where a block is called with a residual, as in the official code.
            children: Extra inputs for the root, collected by enclosing trees.
        """
        children = [] if children is None else list(children)
        bottom = self.downsample(x) if self.downsample is not None else x
        if self.level_root:
            children.append(bottom)
        if self.levels == 1:
            residual = self.project(bottom) if self.project is not None else bottom
            x1 = self.tree1(x, residual)
            x2 = self.tree2(x1)
            return self.root(x2, x1, *children)
        x1 = self.tree1(x)
        children.append(x1)
        return self.tree2(x1, children=children)


@MODELS.register_module()
class DLA(BaseModule):
    """DLA backbone of CenterNet (``base`` of the official ``DLASeg``).

    Returns the outputs of ``level0`` ... ``level5`` (strides 1, 2, 4, 8, 16, 32), or those
    selected by ``out_indices``. Layers, channels and the (non-residual) roots of DLA-34 follow
    the official ``dla34``; weights keep PyTorch's default initialisation unless ``init_cfg``
    says otherwise (the official code then loads ImageNet weights; nothing is downloaded here).

    Args:
        depth: Network depth; only 34 is defined.
        in_channels: Input image channels.
        out_indices: Levels to return.
        residual_root: Residual roots (``False`` in the official DLA-34).
        frozen_stages: Freeze ``base_layer`` and ``level0`` ... ``level<frozen_stages>``
            (parameters and BN statistics); -1 freezes nothing.
        norm_cfg: Normalisation layer config (official: BN, momentum 0.1).
        norm_eval: Keep BN layers in eval mode during training.
        init_cfg: mmengine initialisation config. The official ImageNet weights are loaded by
            the detector's ``init_cfg`` (``PretrainedMapped``, see the DLA configs).
    """

    arch_settings: Dict[int, Tuple[Tuple[int, ...], Tuple[int, ...]]] = {
        34: ((1, 1, 1, 2, 2, 1), (16, 32, 64, 128, 256, 512)),
    }

    def __init__(self, depth: int = 34, in_channels: int = 3,
                 out_indices: Sequence[int] = (0, 1, 2, 3, 4, 5), residual_root: bool = False,
                 frozen_stages: int = -1, norm_cfg: Optional[NormCfg] = None,
                 norm_eval: bool = False, init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if depth not in self.arch_settings:
            raise KeyError(f'invalid depth {depth} for DLA; known: {sorted(self.arch_settings)}')
        if not all(0 <= i <= 5 for i in out_indices):
            raise ValueError(f'out_indices must lie in [0, 5], got {out_indices}')
        norm_cfg = norm_cfg or dict(type='BN')
        levels, channels = self.arch_settings[depth]
        self.depth = depth
        self.levels = levels
        self.channels = channels
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        self.base_layer = nn.Sequential(
            nn.Conv2d(in_channels, channels[0], 7, stride=1, padding=3, bias=False),
            build_norm_layer(norm_cfg, channels[0])[1],
            nn.ReLU(inplace=True))
        self.level0 = self._make_conv_level(channels[0], channels[0], levels[0], 1, norm_cfg)
        self.level1 = self._make_conv_level(channels[0], channels[1], levels[1], 2, norm_cfg)
        for i in range(2, 6):
            tree = DLATree(levels[i], channels[i - 1], channels[i], stride=2,
                           level_root=i > 2, root_residual=residual_root, norm_cfg=norm_cfg)
            self.add_module(f'level{i}', tree)
        self._freeze_stages()

    @staticmethod
    def _make_conv_level(in_channels: int, out_channels: int, num_convs: int, stride: int,
                         norm_cfg: NormCfg) -> nn.Sequential:
        """[3x3 conv, BN, ReLU] x ``num_convs``; the first conv carries the stride."""
        layers: List[nn.Module] = []
        for i in range(num_convs):
            layers += [
                nn.Conv2d(in_channels, out_channels, 3, stride=stride if i == 0 else 1,
                          padding=1, bias=False),
                build_norm_layer(norm_cfg, out_channels)[1],
                nn.ReLU(inplace=True)]
            in_channels = out_channels
        return nn.Sequential(*layers)

    def _frozen_modules(self) -> List[nn.Module]:
        """Modules covered by ``frozen_stages``."""
        if self.frozen_stages < 0:
            return []
        return [self.base_layer] + [
            getattr(self, f'level{i}') for i in range(min(self.frozen_stages, 5) + 1)]

    def _freeze_stages(self) -> None:
        """Stops gradients and BN updates in the frozen stages."""
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'DLA':
        """Sets the train mode, keeping frozen stages (and BN with ``norm_eval``) in eval."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Returns the level outputs selected by ``out_indices`` (all six by default)."""
        outs = []
        x = self.base_layer(x)
        for i in range(6):
            x = getattr(self, f'level{i}')(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
