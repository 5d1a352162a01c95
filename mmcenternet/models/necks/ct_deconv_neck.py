"""Up-sampling neck of the official ResNet CenterNets (``resnet_dcn.py``, ``msra_resnet.py``)."""
import math
from typing import Optional, Sequence, Tuple

from mmcv.cnn import build_conv_layer
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmcenternet.registry import MODELS


def fill_bilinear_(deconv: nn.ConvTranspose2d) -> None:
    """Bilinear up-sampling kernel into output channel 0 of every input channel.

    This is what the official ``fill_up_weights`` does (and mmdet's ``CTResNetNeck`` too):
    only ``weight[:, 0]`` becomes bilinear, the other output channels keep their default
    initialisation. Kept as is, since the published models were trained from it.
    """
    weight = deconv.weight.data
    k = weight.shape[-1]
    f = math.ceil(k / 2)
    c = (2 * f - 1 - f % 2) / (2. * f)
    rows = [(1 - abs(i / f - c)) for i in range(k)]
    kernel = weight.new_tensor([[ri * rj for rj in rows] for ri in rows])
    weight[:, 0] = kernel


@MODELS.register_module()
class CenterNetDeconvNeck(BaseModule):
    """Three (by default) x2 up-sampling stages from the last ResNet stage to stride 4.

    One stage is ``[3x3 conv (DCNv2 for "resdcn") + BN + ReLU] + 4x4 transposed conv + BN +
    ReLU``; with ``use_conv=False`` the conv is left out, as in the official non-DCN
    ``msra_resnet`` (which uses 256 filters in all three stages). The modules sit in one
    flat ``nn.Sequential`` in the official order, so official ``deconv_layers.<i>`` weights
    load as ``neck.layers.<i>``.

    Args:
        in_channels: Channels of the backbone's last output.
        num_filters: Output channels of each stage.
        num_kernels: Transposed-conv kernel of each stage (4, 3 or 2).
        use_conv: Whether each stage starts with a 3x3 conv.
        conv_cfg: Config of that conv, e.g. ``dict(type='DCNv2', deform_groups=1)``; None for
            a plain conv.
        deconv_init: ``'bilinear'`` (resdcn) or ``'normal'`` (msra_resnet: N(0, 0.001)).
        norm_eps / norm_momentum: BatchNorm settings (official momentum 0.1).
    """

    def __init__(self, in_channels: int, num_filters: Sequence[int] = (256, 128, 64),
                 num_kernels: Sequence[int] = (4, 4, 4), use_conv: bool = True,
                 conv_cfg: Optional[dict] = dict(type='DCNv2', deform_groups=1),
                 deconv_init: str = 'bilinear', norm_momentum: float = 0.1,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(num_filters) != len(num_kernels):
            raise ValueError('CenterNetDeconvNeck: num_filters and num_kernels must have the '
                             f'same length, got {num_filters} and {num_kernels}')
        if deconv_init not in ('bilinear', 'normal'):
            raise ValueError(f"deconv_init must be 'bilinear' or 'normal', got {deconv_init!r}")
        self.deconv_init = deconv_init
        layers = []
        channels = in_channels
        for planes, kernel in zip(num_filters, num_kernels):
            if use_conv:
                layers += [
                    build_conv_layer(conv_cfg, channels, planes, kernel_size=3, stride=1,
                                     padding=1, dilation=1),
                    nn.BatchNorm2d(planes, momentum=norm_momentum),
                    nn.ReLU(inplace=True)
                ]
                channels = planes
            padding, output_padding = {4: (1, 0), 3: (1, 1), 2: (0, 0)}[kernel]
            layers += [
                nn.ConvTranspose2d(channels, planes, kernel_size=kernel, stride=2,
                                   padding=padding, output_padding=output_padding, bias=False),
                nn.BatchNorm2d(planes, momentum=norm_momentum),
                nn.ReLU(inplace=True)
            ]
            channels = planes
        self.layers = nn.Sequential(*layers)
        self.out_channels = channels

    def init_weights(self) -> None:
        """BN to (1, 0); transposed convs bilinear or N(0, 0.001) as the official code."""
        super().init_weights()
        for m in self.layers.modules():
            if isinstance(m, nn.ConvTranspose2d):
                if self.deconv_init == 'bilinear':
                    fill_bilinear_(m)
                else:
                    nn.init.normal_(m.weight, std=0.001)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def forward(self, feats: Tuple[Tensor, ...]) -> Tuple[Tensor]:
        """Up-samples the last backbone feature; returns a 1-tuple (stride 4)."""
        return (self.layers(feats[-1]), )
