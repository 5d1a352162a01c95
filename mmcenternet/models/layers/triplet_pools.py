"""Cascade corner pooling and center pooling of Keypoint Triplets, on mmcv's CornerPool.

Both are mmdet's ``BiCornerPool`` (CornerNet's corner pooling module: two 3x3 conv-BN-ReLU
branches, one directional pooling each, their sum through a 3x3 conv-BN, a 1x1 conv-BN
skip, ReLU, a 3x3 conv-BN-ReLU) with different poolings, as in Duan's
``models/CenterNet-*.py`` (``pool`` and ``pool_cross``). mmcv's ``CornerPool`` is the
``torch.cummax`` form of CornerNet's C++ ``TopPool`` / ``LeftPool`` / ... extension (the one
that no longer builds on current PyTorch) and runs on CPU and GPU.
"""
from mmcv.cnn import ConvModule
from mmcv.ops import CornerPool
from mmdet.models.dense_heads.corner_head import BiCornerPool
from mmdet.utils import ConfigType
from torch import Tensor, nn

from mmcenternet.registry import MODELS

#: Directions of the two cascades of each corner (first pooled last, see CascadeCornerPool).
CORNER_DIRECTIONS = {'top_left': ('top', 'left'), 'bottom_right': ('bottom', 'right')}


class _Reduce(nn.Module):
    """Both CornerPools of an axis in sequence; kept as an explicit pair of mmcv ops."""

    def __init__(self, first: str, second: str) -> None:
        super().__init__()
        self.first = CornerPool(first)
        self.second = CornerPool(second)

    def forward(self, x: Tensor) -> Tensor:
        return self.second(self.first(x))


@MODELS.register_module()
class CascadeCornerPool(BiCornerPool):
    """Cascade corner pooling (Duan et al., Fig. 4c / ``tl_pool``, ``br_pool``).

    For the top-left corner, the top-pooled branch first adds a left-pooled "look" branch
    and the left-pooled branch a top-pooled one (so a corner sees the object's interior,
    not only its boundary):
    ``a = top(conv_a(x) + left(look_a(x)))``, ``b = left(conv_b(x) + top(look_b(x)))``,
    then ``a + b`` goes through ``BiCornerPool``'s tail. The parameters are
    ``BiCornerPool``'s plus ``look{1,2}_conv`` (3x3 conv-BN-ReLU, Duan's ``look_conv{1,2}``)
    and ``look{1,2}_fuse`` (bias-free 3x3 conv, Duan's ``P{1,2}_look_conv``).

    Args:
        in_channels: Input (and, by default, output) channels (Duan 256).
        corner: ``'top_left'`` or ``'bottom_right'``.
        feat_channels: Channels of the pooled branches (Duan 128).
        out_channels: Output channels (default ``in_channels``).
        norm_cfg: Norm layers (BN as Duan).
    """

    def __init__(self, in_channels: int, corner: str = 'top_left', feat_channels: int = 128,
                 out_channels: int = None,
                 norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
                 init_cfg=None) -> None:
        if corner not in CORNER_DIRECTIONS:
            raise ValueError(f'CascadeCornerPool.corner must be one of '
                             f'{sorted(CORNER_DIRECTIONS)}, got {corner!r}')
        super().__init__(in_channels, list(CORNER_DIRECTIONS[corner]), feat_channels,
                         out_channels or in_channels, norm_cfg, init_cfg)
        self.corner = corner
        for i in (1, 2):
            setattr(self, f'look{i}_conv',
                    ConvModule(in_channels, feat_channels, 3, padding=1, norm_cfg=norm_cfg))
            setattr(self, f'look{i}_fuse',
                    nn.Conv2d(feat_channels, feat_channels, 3, padding=1, bias=False))

    def forward(self, x: Tensor) -> Tensor:
        pool1, pool2 = self.direction1_pool, self.direction2_pool
        first = pool1(self.look1_fuse(self.direction1_conv(x) + pool2(self.look1_conv(x))))
        second = pool2(self.look2_fuse(self.direction2_conv(x) + pool1(self.look2_conv(x))))
        return self.merge(first + second, x)

    def merge(self, pooled: Tensor, x: Tensor) -> Tensor:
        """``BiCornerPool``'s tail: ``conv2(relu(aftpool_conv(pooled) + conv1(x)))``."""
        return self.conv2(self.relu(self.aftpool_conv(pooled) + self.conv1(x)))


@MODELS.register_module()
class CenterPool(BiCornerPool):
    """Center pooling (Duan et al., Fig. 4a / ``center_pool``): the maximum over the whole
    column in one branch (top then bottom CornerPool) and over the whole row in the other
    (left then right), summed, then ``BiCornerPool``'s tail.

    Args: as :class:`CascadeCornerPool` without ``corner``.
    """

    def __init__(self, in_channels: int, feat_channels: int = 128, out_channels: int = None,
                 norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
                 init_cfg=None) -> None:
        super().__init__(in_channels, ['top', 'left'], feat_channels,
                         out_channels or in_channels, norm_cfg, init_cfg)
        self.direction1_pool = _Reduce('top', 'bottom')
        self.direction2_pool = _Reduce('left', 'right')

