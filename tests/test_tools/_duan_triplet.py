"""Independent re-description of Duan et al.'s Keypoint Triplets network, for converter tests.

Written from reading Duankaiwen/CenterNet ``models/CenterNet-104.py`` / ``-52.py`` and
``models/py_utils/kp.py`` / ``kp_utils.py``, not copied: same parameter names, shapes and
forward (``pool``: cascade corner pooling, ``pool_cross``: center pooling, ``kp``: the
hourglass with its per-stack layers). The C++ corner pools are mmcv's ``CornerPool``
(what they compute). The hourglass parts are the CornerNet ones of
``_official_centernet.py``.
"""
from typing import Dict, Sequence

from mmcv.ops import CornerPool
from torch import Tensor, nn

from _official_centernet import HGConv, OfficialHourglass


class _DuanPoolBase(nn.Module):
    """The layers ``pool`` and ``pool_cross`` share, and their common tail."""

    def __init__(self, dim: int, mid: int) -> None:
        super().__init__()
        self.p1_conv1 = HGConv(3, dim, mid)
        self.p2_conv1 = HGConv(3, dim, mid)
        self.p_conv1 = nn.Conv2d(mid, dim, 3, padding=1, bias=False)
        self.p_bn1 = nn.BatchNorm2d(dim)
        self.conv1 = nn.Conv2d(dim, dim, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(dim)
        self.conv2 = HGConv(3, dim, dim)

    def tail(self, pooled: Tensor, x: Tensor) -> Tensor:
        return self.conv2((self.p_bn1(self.p_conv1(pooled)) + self.bn1(self.conv1(x))).relu())


class DuanPool(_DuanPoolBase):
    """``pool(dim, pool1, pool2)``: ``tl_pool`` = (top, left), ``br_pool`` = (bottom, right)."""

    def __init__(self, dim: int, first: str, second: str, mid: int = 128) -> None:
        super().__init__(dim, mid)
        self.pool1, self.pool2 = CornerPool(first), CornerPool(second)
        self.look_conv1 = HGConv(3, dim, mid)
        self.look_conv2 = HGConv(3, dim, mid)
        self.P1_look_conv = nn.Conv2d(mid, mid, 3, padding=1, bias=False)
        self.P2_look_conv = nn.Conv2d(mid, mid, 3, padding=1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        branch1 = self.pool1(self.P1_look_conv(self.p1_conv1(x)
                                               + self.pool2(self.look_conv1(x))))
        branch2 = self.pool2(self.P2_look_conv(self.p2_conv1(x)
                                               + self.pool1(self.look_conv2(x))))
        return self.tail(branch1 + branch2, x)


class DuanPoolCross(_DuanPoolBase):
    """``pool_cross(dim, top, left, bottom, right)`` (``center_pool``)."""

    def __init__(self, dim: int, mid: int = 128) -> None:
        super().__init__(dim, mid)
        self.pools = [CornerPool(m) for m in ('top', 'left', 'bottom', 'right')]

    def forward(self, x: Tensor) -> Tensor:
        top, left, bottom, right = self.pools
        column = bottom(top(self.p1_conv1(x)))
        row = right(left(self.p2_conv1(x)))
        return self.tail(column + row, x)


#: Duan's output layer name -> (pooled feature, our branch name).
OUTPUTS = {'tl_heats': ('tl', 'tl_heatmap'), 'br_heats': ('br', 'br_heatmap'),
           'ct_heats': ('ct', 'ct_heatmap'), 'tl_tags': ('tl', 'tl_embedding'),
           'br_tags': ('br', 'br_embedding'), 'tl_regrs': ('tl', 'tl_offset'),
           'br_regrs': ('br', 'br_offset'), 'ct_regrs': ('ct', 'ct_offset')}


class DuanTripletKP(OfficialHourglass):
    """``kp`` with CenterNet-104's (``nstack=2``) or -52's (``nstack=1``) layers; full size
    by default, smaller for output tests. ``forward`` gives every stack's raw maps under
    our branch names."""

    def __init__(self, num_classes: int = 80, n: int = 5,
                 dims: Sequence[int] = (256, 256, 384, 384, 384, 512),
                 mods: Sequence[int] = (2, 2, 2, 2, 2, 4), nstack: int = 2,
                 cnv_dim: int = 256, mid: int = 128) -> None:
        super().__init__({}, n, dims, mods, nstack, cnv_dim)
        cur = dims[0]
        self.tl_cnvs = nn.ModuleList([DuanPool(cnv_dim, 'top', 'left', mid)
                                      for _ in range(nstack)])
        self.br_cnvs = nn.ModuleList([DuanPool(cnv_dim, 'bottom', 'right', mid)
                                      for _ in range(nstack)])
        self.ct_cnvs = nn.ModuleList([DuanPoolCross(cnv_dim, mid) for _ in range(nstack)])
        out_dims = dict(heats=num_classes, tags=1, regrs=2)
        for name in OUTPUTS:
            cout = out_dims[name.split('_')[1]]
            setattr(self, name, nn.ModuleList([
                nn.Sequential(HGConv(3, cnv_dim, cur, with_bn=False), nn.Conv2d(cur, cout, 1))
                for _ in range(nstack)]))

    def stack_outputs(self, s: int, cnv: Tensor) -> Dict[str, Tensor]:
        """Stack ``s``: the three poolings, then the output layers (our branch names)."""
        pooled = dict(tl=self.tl_cnvs[s](cnv), br=self.br_cnvs[s](cnv), ct=self.ct_cnvs[s](cnv))
        return {ours: getattr(self, name)[s](pooled[kp]) for name, (kp, ours) in OUTPUTS.items()}
