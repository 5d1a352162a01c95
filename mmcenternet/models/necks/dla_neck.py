"""DLA up-sampling neck of CenterNet: the official ``DLAUp`` followed by ``IDAUp``.

Module names follow the official ``pose_dla_dcn.py`` (``dla_up.ida_<i>.proj_<j>``, ``up_<j>``,
``node_<j>``, ``ida_up....``, and inside each deformable block ``conv`` and ``actf.0`` for the
BN), so an official checkpoint maps onto ``neck.*`` by a prefix change plus the DCN rename
``conv_offset_mask`` -> ``conv_offset`` (see ``mmcenternet.checkpoint.official``).
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmcenternet.registry import MODELS

NormCfg = Dict


def _build_dcn(in_channels: int, out_channels: int) -> nn.Module:
    """Builds mmcv's modulated deformable conv (DCNv2), 3x3, stride 1, padding 1.

    mmcv's ``ModulatedDeformConv2dPack`` splits its offset conv output exactly as the
    official CenterNet ``DCN``: ``o1, o2, mask = chunk(out, 3)``, ``offset = cat(o1, o2)``,
    ``mask = sigmoid(mask)``; its offset conv is zero-initialised as in the official code.
    """
    try:
        from mmcv.ops import ModulatedDeformConv2dPack
    except ImportError as exc:  # mmcv built without ops ("mmcv-lite")
        raise ImportError(
            'DLANeck(use_dcn=True) needs mmcv compiled with ops '
            '(mmcv.ops.ModulatedDeformConv2dPack); install full mmcv or set use_dcn=False'
        ) from exc
    return ModulatedDeformConv2dPack(in_channels, out_channels, 3, stride=1, padding=1,
                                     dilation=1, deform_groups=1, bias=True)


def fill_bilinear_(deconv: nn.ConvTranspose2d) -> None:
    """Writes a bilinear up-sampling kernel into ``weight[:, 0]`` of a transposed conv.

    Same values as the official ``fill_up_weights``: the separable kernel
    ``(1 - |i / f - c|) * (1 - |j / f - c|)`` with ``f = ceil(k_h / 2)`` and
    ``c = (2f - 1 - f % 2) / (2f)``, written to output channel 0 of every input channel. The
    DLA neck's transposed convs are depth-wise (``weight.shape[1] == 1``), so this sets the
    whole weight.
    """
    weight = deconv.weight.data
    k_h, k_w = weight.shape[2], weight.shape[3]
    f = math.ceil(k_h / 2)
    c = (2 * f - 1 - f % 2) / (2.0 * f)
    kernel = weight.new_tensor([[(1 - abs(i / f - c)) * (1 - abs(j / f - c))
                                 for j in range(k_w)] for i in range(k_h)])
    weight[:, 0] = kernel


class DLADeformConv(nn.Module):
    """Official ``DeformConv``: 3x3 DCNv2 (or plain conv with bias) -> BN -> ReLU.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        use_dcn: Modulated deformable conv (official) or a plain 3x3 conv with bias, for
            machines without mmcv ops (then ``conv_offset`` weights are absent).
        norm_cfg: Normalisation layer config.
    """

    def __init__(self, in_channels: int, out_channels: int, use_dcn: bool = True,
                 norm_cfg: Optional[NormCfg] = None) -> None:
        super().__init__()
        norm_cfg = norm_cfg or dict(type='BN')
        self.actf = nn.Sequential(build_norm_layer(norm_cfg, out_channels)[1],
                                  nn.ReLU(inplace=True))
        if use_dcn:
            self.conv = _build_dcn(in_channels, out_channels)
        else:
            self.conv = nn.Conv2d(in_channels, out_channels, 3, stride=1, padding=1, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        """conv -> BN -> ReLU."""
        return self.actf(self.conv(x))


class IDAUp(nn.Module):
    """Iterative deep aggregation of the official code.

    For ``j >= 1``: ``x_j <- node_j(up_j(proj_j(x_j)) + x_{j-1})``, so the last feature
    aggregates all previous ones at the resolution of the first. ``up_j`` is a depth-wise
    transposed conv (kernel ``2f``, stride ``f``, padding ``f // 2``, no bias) initialised as
    bilinear up-sampling and trained like every other weight (the official code does not
    freeze it).

    Args:
        out_channels: Channels of the aggregated features.
        in_channels: Channels of the inputs (``in_channels[0]`` must equal ``out_channels``).
        up_factors: Up-sampling factor of each input relative to the first.
        use_dcn: See :class:`DLADeformConv`.
        norm_cfg: Normalisation layer config.
    """

    def __init__(self, out_channels: int, in_channels: Sequence[int],
                 up_factors: Sequence[int], use_dcn: bool = True,
                 norm_cfg: Optional[NormCfg] = None) -> None:
        super().__init__()
        for j in range(1, len(in_channels)):
            f = int(up_factors[j])
            up = nn.ConvTranspose2d(out_channels, out_channels, f * 2, stride=f,
                                    padding=f // 2, output_padding=0, groups=out_channels,
                                    bias=False)
            fill_bilinear_(up)
            self.add_module(f'proj_{j}', DLADeformConv(in_channels[j], out_channels, use_dcn,
                                                       norm_cfg))
            self.add_module(f'up_{j}', up)
            self.add_module(f'node_{j}', DLADeformConv(out_channels, out_channels, use_dcn,
                                                       norm_cfg))

    def forward(self, layers: Sequence[Tensor], start: int, end: int) -> List[Tensor]:
        """Aggregates ``layers[start:end]``; returns a new list (the input is not modified).

        Mirrors the official in-place ``IDAUp.forward(layers, startp, endp)``: the returned
        list equals the official ``layers`` after the call.
        """
        layers = list(layers)
        for i in range(start + 1, end):
            j = i - start
            up = getattr(self, f'up_{j}')(getattr(self, f'proj_{j}')(layers[i]))
            layers[i] = getattr(self, f'node_{j}')(up + layers[i - 1])
        return layers

    def fill_bilinear_weights(self) -> None:
        """Re-applies the bilinear initialisation of every ``up_<j>``."""
        for module in self.children():
            if isinstance(module, nn.ConvTranspose2d):
                fill_bilinear_(module)


class DLAUp(nn.Module):
    """Official ``DLAUp``: a cascade of :class:`IDAUp` from the coarsest level downwards.

    ``ida_0`` merges the two coarsest levels, ``ida_1`` the three coarsest, and so on; the
    output list holds, from fine to coarse, the last aggregate of ``ida_<n-2>`` ... ``ida_0``
    and the untouched coarsest input.

    Args:
        start_level: Index of the first used level in the input list (official ``startp``).
        channels: Channels of the used levels ``start_level ...``.
        scales: Strides of the used levels relative to the first one (1, 2, 4, ...).
        use_dcn: See :class:`DLADeformConv`.
        norm_cfg: Normalisation layer config.
    """

    def __init__(self, start_level: int, channels: Sequence[int], scales: Sequence[int],
                 use_dcn: bool = True, norm_cfg: Optional[NormCfg] = None) -> None:
        super().__init__()
        self.start_level = start_level
        self.channels = list(channels)
        in_channels = list(channels)
        scales = [int(s) for s in scales]
        n = len(channels)
        for i in range(n - 1):
            j = n - 2 - i  # official uses the negative index -i - 2
            self.add_module(
                f'ida_{i}',
                IDAUp(channels[j], in_channels[j:], [s // scales[j] for s in scales[j:]],
                      use_dcn, norm_cfg))
            # after ida_i, every level finer than j has been brought to level j
            scales[j + 1:] = [scales[j]] * (n - j - 1)
            in_channels[j + 1:] = [channels[j]] * (n - j - 1)

    def forward(self, layers: Sequence[Tensor]) -> List[Tensor]:
        """Returns the aggregated features from level ``start_level`` (finest) upwards."""
        layers = list(layers)
        outs = [layers[-1]]
        for i in range(len(layers) - self.start_level - 1):
            layers = getattr(self, f'ida_{i}')(layers, len(layers) - i - 2, len(layers))
            outs.insert(0, layers[-1])
        return outs


@MODELS.register_module()
class DLANeck(BaseModule):
    """CenterNet's DLA neck (official ``DLASeg`` minus ``base`` and the heads).

    ``dla_up`` aggregates the backbone levels ``first_level ...``; ``ida_up`` then merges the
    ``last_level - first_level`` finest outputs into one map at the stride of ``first_level``
    (4 for DLA-34 with ``first_level=2``) with ``out_channels`` (64) channels.

    Args:
        in_channels: Channels of all backbone levels (DLA-34: 16, 32, 64, 128, 256, 512).
        first_level: First used backbone level (official ``log2(down_ratio)``).
        last_level: One past the last level merged by ``ida_up`` (official ``last_level``).
        out_channels: Output channels; ``None`` means ``in_channels[first_level]`` (official
            ``out_channel=0``).
        use_dcn: Modulated deformable convs as in the official code, or plain 3x3 convs.
        norm_cfg: Normalisation layer config (official: BN, momentum 0.1).
        init_cfg: mmengine initialisation config. The bilinear kernels of the ``up_<j>``
            layers are set at construction; an ``init_cfg`` matching ``ConvTranspose2d``
            layers would overwrite them (``IDAUp.fill_bilinear_weights`` restores them).
    """

    def __init__(self, in_channels: Sequence[int] = (16, 32, 64, 128, 256, 512),
                 first_level: int = 2, last_level: int = 5,
                 out_channels: Optional[int] = None, use_dcn: bool = True,
                 norm_cfg: Optional[NormCfg] = None, init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not 0 <= first_level < last_level <= len(in_channels):
            raise ValueError(f'need 0 <= first_level ({first_level}) < last_level '
                             f'({last_level}) <= {len(in_channels)}')
        self.in_channels = list(in_channels)
        self.first_level = first_level
        self.last_level = last_level
        self.use_dcn = use_dcn
        channels = self.in_channels[first_level:]
        scales = [2 ** i for i in range(len(channels))]
        self.dla_up = DLAUp(first_level, channels, scales, use_dcn, norm_cfg)
        if out_channels is None:
            out_channels = channels[0]
        self.out_channels = out_channels
        num_merged = last_level - first_level
        self.ida_up = IDAUp(out_channels, channels[:num_merged],
                            [2 ** i for i in range(num_merged)], use_dcn, norm_cfg)

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor]:
        """Maps all backbone levels to ``(feature at the stride of first_level,)``."""
        if len(inputs) != len(self.in_channels):
            raise ValueError(f'DLANeck expects {len(self.in_channels)} backbone levels, '
                             f'got {len(inputs)}')
        feats = self.dla_up(inputs)
        merged = self.ida_up(feats[:self.last_level - self.first_level], 0,
                             self.last_level - self.first_level)
        return (merged[-1], )
