"""Top-down fusion of a light backbone's levels into one stride-4 map.

CenterFace (``MobileNetUp`` in the MindSpore port; the same graph in the released
``centerface.param``: 24 channels, 2x2 transposed convs, a final 3x3 conv) and the light
TensorFlow CenterNets (``feature_map_fuse`` of ``shufflenetv2_face_V1.py``: 256 channels,
4x4 transposed convs, no top or final conv) up-sample the deepest level and add a 1x1
lateral projection of each shallower one, down to stride 4. One neck does both.
"""
from typing import Optional, Sequence, Tuple

from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmcenternet.registry import MODELS

#: Transposed-conv kernel -> padding giving an exact x2 up-sampling.
DECONV_PADDING = {2: 0, 4: 1}


@MODELS.register_module()
class CenterNetFPNNeck(BaseModule):
    """FPN-style up-sampling from the deepest backbone level to the shallowest (stride 4).

    ``x = top(C_n)``; for each shallower level ``C_i`` (deepest first):
    ``x = up_i(x) + lateral_i(C_i)`` with ``up_i`` a stride-2 transposed conv + BN + ReLU
    and ``lateral_i`` a 1x1 conv + BN + ReLU; then ``final(x)`` (3x3 conv + BN + ReLU).
    Returns a one-element tuple (the head's input).

    Args:
        in_channels: Channels of the backbone outputs, shallowest (stride 4) first.
        out_channels: Channels of every fused map (CenterFace 24, the TF version 256).
        deconv_kernel: 2 (CenterFace) or 4 (the TF version).
        top_conv: A 1x1 conv + BN + ReLU on the deepest level first (CenterFace); without
            it the first transposed conv reads the deepest level directly (TF version).
        final_conv: The closing 3x3 conv + BN + ReLU (CenterFace).
        norm_cfg / act_cfg: Of every conv (BN and ReLU).
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int = 24,
                 deconv_kernel: int = 2, top_conv: bool = True, final_conv: bool = True,
                 norm_cfg: dict = dict(type='BN'), act_cfg: dict = dict(type='ReLU'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) < 2:
            raise ValueError(f'CenterNetFPNNeck.in_channels needs at least two levels, got '
                             f'{list(in_channels)}')
        if deconv_kernel not in DECONV_PADDING:
            raise ValueError(f'CenterNetFPNNeck.deconv_kernel must be one of '
                             f'{sorted(DECONV_PADDING)}, got {deconv_kernel}')
        self.in_channels = list(in_channels)
        cfg = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.top = ConvModule(in_channels[-1], out_channels, 1, **cfg) if top_conv else None
        ups, laterals = [], []
        channels = out_channels if top_conv else in_channels[-1]
        for level_channels in reversed(in_channels[:-1]):
            ups.append(ConvModule(channels, out_channels, deconv_kernel, stride=2,
                                  padding=DECONV_PADDING[deconv_kernel],
                                  conv_cfg=dict(type='deconv'), **cfg))
            laterals.append(ConvModule(level_channels, out_channels, 1, **cfg))
            channels = out_channels
        self.ups = nn.ModuleList(ups)
        self.laterals = nn.ModuleList(laterals)
        self.final = (ConvModule(out_channels, out_channels, 3, padding=1, **cfg)
                      if final_conv else None)

    def forward(self, feats: Sequence[Tensor]) -> Tuple[Tensor]:
        """``feats``: the backbone outputs, shallowest first (as ``in_channels``)."""
        if len(feats) != len(self.in_channels):
            raise ValueError(f'CenterNetFPNNeck got {len(feats)} feature maps, expected '
                             f'{len(self.in_channels)} (in_channels {self.in_channels}); '
                             "check the backbone's out_indices")
        x = feats[-1] if self.top is None else self.top(feats[-1])
        for up, lateral, feat in zip(self.ups, self.laterals, reversed(feats[:-1])):
            x = up(x)
            if x.shape[-2:] != feat.shape[-2:]:
                raise ValueError(
                    f'CenterNetFPNNeck: an up-sampled map of size {tuple(x.shape[-2:])} '
                    f'meets a level of size {tuple(feat.shape[-2:])}; the input size must '
                    'be a multiple of 32 (pad_size_divisor=32 in the data preprocessor)')
            x = x + lateral(feat)
        return (x if self.final is None else self.final(x), )
