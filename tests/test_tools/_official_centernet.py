"""Independent re-description of the official CenterNet networks, for converter tests.

Written from reading xingyizhou/CenterNet ``src/lib/models/networks`` (``msra_resnet.py``,
``resnet_dcn.py``, ``pose_dla_dcn.py``, ``large_hourglass.py``), not copied: the modules
below reproduce the official parameter names, shapes and forward computation, which is all
the tests need (no initialisation schemes, no pretrained loading). The official DCNv2 is
modelled with mmcv's functional ``modulated_deform_conv2d`` and the official offset/mask split
of ``DCN.forward``.
"""
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor, nn


# ----------------------------------------------------------------------------- common parts
class OfficialDCN(nn.Module):
    """``DCNv2.dcn_v2.DCN`` (3x3, stride 1, pad 1): ``weight``, ``bias``, ``conv_offset_mask``."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(cout, cin, 3, 3).uniform_(-0.1, 0.1))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.conv_offset_mask = nn.Conv2d(cin, 27, 3, padding=1, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        from mmcv.ops import modulated_deform_conv2d
        first, second, mask = self.conv_offset_mask(x).chunk(3, dim=1)
        offset = torch.cat([first, second], dim=1)
        return modulated_deform_conv2d(x, offset, mask.sigmoid(), self.weight, self.bias,
                                       1, 1, 1, 1, 1)


def official_head(cin: int, head_conv: int, cout: int) -> nn.Module:
    """``Sequential(3x3 conv, ReLU, 1x1 conv)``, or a lone 1x1 conv for ``head_conv == 0``."""
    if head_conv == 0:
        return nn.Conv2d(cin, cout, 1)
    return nn.Sequential(nn.Conv2d(cin, head_conv, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(head_conv, cout, 1))


class WithHeads(nn.Module):
    """Adds the official heads (``self.<name>``) and the ``[dict]`` output format."""

    def add_heads(self, heads: Dict[str, int], cin: int, head_conv: int) -> None:
        self.head_names = list(heads)
        for name, cout in heads.items():
            setattr(self, name, official_head(cin, head_conv, cout))

    def run_heads(self, feat: Tensor) -> List[Dict[str, Tensor]]:
        return [{name: getattr(self, name)(feat) for name in self.head_names}]


# ----------------------------------------------------------------------------- ResNet family
class TVBasic(nn.Module):
    """torchvision-named basic block (``msra_resnet``/``resnet_dcn`` ``BasicBlock``)."""
    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int, downsample: Optional[nn.Module]):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        y = self.bn2(self.conv2(self.bn1(self.conv1(x)).relu()))
        skip = x if self.downsample is None else self.downsample(x)
        return (y + skip).relu()


class TVBottleneck(nn.Module):
    """torchvision-named bottleneck (stride on the 3x3 conv), expansion 4."""
    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int, downsample: Optional[nn.Module]):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        y = self.bn1(self.conv1(x)).relu()
        y = self.bn2(self.conv2(y)).relu()
        y = self.bn3(self.conv3(y))
        skip = x if self.downsample is None else self.downsample(x)
        return (y + skip).relu()


RESNET_SPECS = {18: (TVBasic, (2, 2, 2, 2)), 34: (TVBasic, (3, 4, 6, 3)),
                50: (TVBottleneck, (3, 4, 6, 3)), 101: (TVBottleneck, (3, 4, 23, 3))}


class OfficialPoseResNet(WithHeads):
    """``PoseResNet`` of ``resnet_dcn.py`` (``dcn=True``: DCN + up-conv stages of 256, 128,
    64) or of ``msra_resnet.py`` (``dcn=False``: three 4x4 transposed convs of 256)."""

    def __init__(self, depth: int, heads: Dict[str, int], head_conv: int, dcn: bool):
        super().__init__()
        block, counts = RESNET_SPECS[depth]
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for stage, (planes, n) in enumerate(zip((64, 128, 256, 512), counts), start=1):
            stride = 1 if stage == 1 else 2
            blocks = []
            for b in range(n):
                down = None
                if b == 0 and (stride != 1 or cin != planes * block.expansion):
                    down = nn.Sequential(nn.Conv2d(cin, planes * block.expansion, 1, stride,
                                                   bias=False),
                                         nn.BatchNorm2d(planes * block.expansion))
                blocks.append(block(cin, planes, stride if b == 0 else 1, down))
                cin = planes * block.expansion
            setattr(self, f'layer{stage}', nn.Sequential(*blocks))
        mods: List[nn.Module] = []
        for planes in ((256, 128, 64) if dcn else (256, 256, 256)):
            if dcn:
                mods += [OfficialDCN(cin, planes), nn.BatchNorm2d(planes), nn.ReLU()]
                cin = planes
            mods += [nn.ConvTranspose2d(cin, planes, 4, 2, 1, 0, bias=False),
                     nn.BatchNorm2d(planes), nn.ReLU()]
            cin = planes
        self.deconv_layers = nn.Sequential(*mods)
        self.add_heads(heads, cin, head_conv)

    def forward(self, x: Tensor) -> List[Dict[str, Tensor]]:
        x = self.maxpool(self.bn1(self.conv1(x)).relu())
        for stage in range(1, 5):
            x = getattr(self, f'layer{stage}')(x)
        return self.run_heads(self.deconv_layers(x))


# ----------------------------------------------------------------------------- DLA-34
class DLABlock(nn.Module):
    """Official DLA ``BasicBlock``: the residual comes from the caller."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x: Tensor, residual: Optional[Tensor] = None) -> Tensor:
        residual = x if residual is None else residual
        return (self.bn2(self.conv2(self.bn1(self.conv1(x)).relu())) + residual).relu()


class DLARootO(nn.Module):
    """Official ``Root`` (non-residual, as in DLA-34)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, *xs: Tensor) -> Tensor:
        return self.bn(self.conv(torch.cat(xs, 1))).relu()


class DLATreeO(nn.Module):
    """Official ``Tree``, written recursively; computes every projection as the original."""

    def __init__(self, levels: int, cin: int, cout: int, stride: int = 1,
                 level_root: bool = False, root_dim: int = 0) -> None:
        super().__init__()
        root_dim = (root_dim or 2 * cout) + (cin if level_root else 0)
        if levels == 1:
            self.tree1, self.tree2 = DLABlock(cin, cout, stride), DLABlock(cout, cout, 1)
            self.root = DLARootO(root_dim, cout)
        else:
            self.tree1 = DLATreeO(levels - 1, cin, cout, stride)
            self.tree2 = DLATreeO(levels - 1, cout, cout, 1, root_dim=root_dim + cout)
        self.levels, self.level_root = levels, level_root
        self.downsample = nn.MaxPool2d(stride, stride) if stride > 1 else None
        self.project = (nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))
                        if cin != cout else None)

    def forward(self, x: Tensor, residual: Optional[Tensor] = None,
                children: Optional[List[Tensor]] = None) -> Tensor:
        children = [] if children is None else children
        bottom = x if self.downsample is None else self.downsample(x)
        residual = bottom if self.project is None else self.project(bottom)
        if self.level_root:
            children.append(bottom)
        x1 = self.tree1(x, residual)
        if self.levels == 1:
            return self.root(self.tree2(x1), x1, *children)
        children.append(x1)
        return self.tree2(x1, children=children)


class OfficialDLA34(nn.Module):
    """Official ``dla34`` base, including the ImageNet ``fc`` that the checkpoints carry."""
    channels = (16, 32, 64, 128, 256, 512)

    def __init__(self, with_fc: bool = True) -> None:
        super().__init__()
        c = self.channels
        self.base_layer = nn.Sequential(nn.Conv2d(3, 16, 7, 1, 3, bias=False),
                                        nn.BatchNorm2d(16), nn.ReLU())
        self.level0 = nn.Sequential(nn.Conv2d(16, 16, 3, 1, 1, bias=False),
                                    nn.BatchNorm2d(16), nn.ReLU())
        self.level1 = nn.Sequential(nn.Conv2d(16, 32, 3, 2, 1, bias=False),
                                    nn.BatchNorm2d(32), nn.ReLU())
        self.level2 = DLATreeO(1, c[1], c[2], 2, level_root=False)
        self.level3 = DLATreeO(2, c[2], c[3], 2, level_root=True)
        self.level4 = DLATreeO(2, c[3], c[4], 2, level_root=True)
        self.level5 = DLATreeO(1, c[4], c[5], 2, level_root=True)
        if with_fc:
            self.fc = nn.Conv2d(512, 1000, 1)

    def forward(self, x: Tensor) -> List[Tensor]:
        x = self.base_layer(x)
        outs = []
        for i in range(6):
            x = getattr(self, f'level{i}')(x)
            outs.append(x)
        return outs


class DeformConvO(nn.Module):
    """Official ``DeformConv``: ``actf`` (BN, ReLU) after ``conv`` (DCN)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.actf = nn.Sequential(nn.BatchNorm2d(cout), nn.ReLU())
        self.conv = OfficialDCN(cin, cout)

    def forward(self, x: Tensor) -> Tensor:
        return self.actf(self.conv(x))


class IDAUpO(nn.Module):
    """Official ``IDAUp``; ``forward`` updates ``layers`` in place like the original."""

    def __init__(self, o: int, channels: Sequence[int], up_f: Sequence[int]) -> None:
        super().__init__()
        for i in range(1, len(channels)):
            f = int(up_f[i])
            setattr(self, f'proj_{i}', DeformConvO(channels[i], o))
            setattr(self, f'up_{i}', nn.ConvTranspose2d(o, o, 2 * f, f, f // 2, groups=o,
                                                        bias=False))
            setattr(self, f'node_{i}', DeformConvO(o, o))

    def forward(self, layers: List[Tensor], startp: int, endp: int) -> None:
        for i in range(startp + 1, endp):
            k = i - startp
            up = getattr(self, f'up_{k}')(getattr(self, f'proj_{k}')(layers[i]))
            layers[i] = getattr(self, f'node_{k}')(up + layers[i - 1])


class DLAUpO(nn.Module):
    """Official ``DLAUp`` with ``startp`` = first level."""

    def __init__(self, startp: int, channels: Sequence[int], scales: Sequence[int]) -> None:
        super().__init__()
        self.startp = startp
        channels, in_ch, scales = list(channels), list(channels), list(scales)
        for i in range(len(channels) - 1):
            j = len(channels) - 2 - i
            setattr(self, f'ida_{i}', IDAUpO(channels[j], in_ch[j:],
                                             [s // scales[j] for s in scales[j:]]))
            for t in range(j + 1, len(channels)):
                scales[t], in_ch[t] = scales[j], channels[j]

    def forward(self, layers: List[Tensor]) -> List[Tensor]:
        outs = [layers[-1]]
        for i in range(len(layers) - self.startp - 1):
            getattr(self, f'ida_{i}')(layers, len(layers) - i - 2, len(layers))
            outs.insert(0, layers[-1])
        return outs


class OfficialDLASeg(WithHeads):
    """Official ``DLASeg('dla34', down_ratio=4, last_level=5)``: ``base``, ``dla_up``,
    ``ida_up`` and the heads (``head_conv`` 256 officially)."""

    def __init__(self, heads: Dict[str, int], head_conv: int = 256,
                 with_fc: bool = True) -> None:
        super().__init__()
        self.first_level, self.last_level = 2, 5
        self.base = OfficialDLA34(with_fc)
        ch = list(self.base.channels[2:])
        self.dla_up = DLAUpO(2, ch, [1, 2, 4, 8])
        self.ida_up = IDAUpO(ch[0], ch[:3], [1, 2, 4])
        self.add_heads(heads, ch[0], head_conv)

    def neck_forward(self, levels: List[Tensor]) -> Tensor:
        """``dla_up`` + ``ida_up`` on the base outputs, as ``DLASeg.forward``."""
        x = self.dla_up(list(levels))
        y = [x[i].clone() for i in range(self.last_level - self.first_level)]
        self.ida_up(y, 0, len(y))
        return y[-1]

    def forward(self, x: Tensor) -> List[Dict[str, Tensor]]:
        return self.run_heads(self.neck_forward(self.base(x)))


# ----------------------------------------------------------------------------- Hourglass
class HGConv(nn.Module):
    """Official ``convolution``: ``conv`` (+ ``bn``) + ReLU."""

    def __init__(self, k: int, cin: int, cout: int, stride: int = 1, with_bn: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, bias=not with_bn)
        self.bn = nn.BatchNorm2d(cout) if with_bn else nn.Sequential()

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.conv(x)).relu()


class HGResidual(nn.Module):
    """Official ``residual``: conv1/bn1/conv2/bn2 and a ``skip`` (empty when identity)."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.skip = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                   nn.BatchNorm2d(cout))
                     if stride != 1 or cin != cout else nn.Sequential())

    def forward(self, x: Tensor) -> Tensor:
        y = self.bn2(self.conv2(self.bn1(self.conv1(x)).relu()))
        return (y + self.skip(x)).relu()


class HGModule(nn.Module):
    """Official ``kp_module`` with ``make_hg_layer`` (strided first block of ``low1``),
    ``make_layer_revr`` for ``low3`` and nearest x2 up-sampling."""

    def __init__(self, n: int, dims: Sequence[int], mods: Sequence[int]) -> None:
        super().__init__()
        cur, nxt = dims[0], dims[1]
        self.up1 = nn.Sequential(*[HGResidual(cur, cur) for _ in range(mods[0])])
        self.low1 = nn.Sequential(HGResidual(cur, nxt, 2),
                                  *[HGResidual(nxt, nxt) for _ in range(mods[0] - 1)])
        self.low2 = (HGModule(n - 1, dims[1:], mods[1:]) if n > 1 else
                     nn.Sequential(*[HGResidual(nxt, nxt) for _ in range(mods[1])]))
        self.low3 = nn.Sequential(*[HGResidual(nxt, nxt) for _ in range(mods[0] - 1)],
                                  HGResidual(nxt, cur))

    def forward(self, x: Tensor) -> Tensor:
        low = self.low3(self.low2(self.low1(x)))
        return self.up1(x) + nn.functional.interpolate(low, scale_factor=2, mode='nearest')


class OfficialHourglass(nn.Module):
    """Official ``exkp`` (``HourglassNet``: n=5, dims 256,256,384,384,384,512, modules
    2,2,2,2,2,4, 2 stacks, cnv_dim 256); smaller settings are allowed for tests (the official
    stem is 128 -> 256, i.e. ``dims[0] // 2`` -> ``dims[0]``)."""

    def __init__(self, heads: Dict[str, int], n: int = 5,
                 dims: Sequence[int] = (256, 256, 384, 384, 384, 512),
                 mods: Sequence[int] = (2, 2, 2, 2, 2, 4), nstack: int = 2,
                 cnv_dim: int = 256) -> None:
        super().__init__()
        cur = dims[0]
        self.nstack, self.head_names = nstack, list(heads)
        self.pre = nn.Sequential(HGConv(7, 3, cur // 2, stride=2),
                                 HGResidual(cur // 2, cur, stride=2))
        self.kps = nn.ModuleList([HGModule(n, dims, mods) for _ in range(nstack)])
        self.cnvs = nn.ModuleList([HGConv(3, cur, cnv_dim) for _ in range(nstack)])
        self.inters = nn.ModuleList([HGResidual(cur, cur) for _ in range(nstack - 1)])
        self.inters_ = nn.ModuleList([
            nn.Sequential(nn.Conv2d(cur, cur, 1, bias=False), nn.BatchNorm2d(cur))
            for _ in range(nstack - 1)])
        self.cnvs_ = nn.ModuleList([
            nn.Sequential(nn.Conv2d(cnv_dim, cur, 1, bias=False), nn.BatchNorm2d(cur))
            for _ in range(nstack - 1)])
        for name, cout in heads.items():
            setattr(self, name, nn.ModuleList([
                nn.Sequential(HGConv(3, cnv_dim, cur, with_bn=False), nn.Conv2d(cur, cout, 1))
                for _ in range(nstack)]))

    def forward(self, x: Tensor) -> List[Dict[str, Tensor]]:
        inter = self.pre(x)
        outs = []
        for s in range(self.nstack):
            cnv = self.cnvs[s](self.kps[s](inter))
            outs.append(self.stack_outputs(s, cnv))
            if s < self.nstack - 1:
                inter = self.inters[s]((self.inters_[s](inter) + self.cnvs_[s](cnv)).relu())
        return outs

    def stack_outputs(self, s: int, cnv: Tensor) -> Dict[str, Tensor]:
        """The heads of stack ``s`` on its ``cnvs`` output."""
        return {name: getattr(self, name)[s](cnv) for name in self.head_names}


def randomize_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Fills every parameter and BN buffer with random values (BN variances positive)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if not tensor.is_floating_point():
                continue
            if name.endswith('running_var'):
                tensor.copy_(torch.rand(tensor.shape, generator=gen) + 0.5)
            elif name.endswith('running_mean'):
                tensor.copy_(torch.randn(tensor.shape, generator=gen) * 0.1)
            else:
                fan_in = tensor[0].numel() if tensor.dim() > 1 else 1
                tensor.copy_(torch.randn(tensor.shape, generator=gen) / fan_in ** 0.5)
    return model.eval()
