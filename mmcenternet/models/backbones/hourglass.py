"""Hourglass backbones of CornerNet / Keypoint Triplets."""
from mmdet.models.backbones.hourglass import HourglassNet
from torch import nn

from mmcenternet.registry import MODELS


@MODELS.register_module()
class StackedHourglassNet(HourglassNet):
    """mmdet's ``HourglassNet`` with exactly ``num_stacks - 1`` intermediate blocks.

    mmdet's layout is CornerNet's ``kp`` (and Duan's): ``stem`` = ``pre``,
    ``hourglass_modules`` = ``kps``, ``out_convs`` = ``cnvs``, ``conv1x1s`` / ``remap_convs``
    / ``inters`` = ``inters_`` / ``cnvs_`` / ``inters``. Hourglass-104 (two stacks) is
    mmdet's class as is. For one stack (Hourglass-52, Duan's ``CenterNet-52``) mmdet still
    builds one ``inters`` residual block, because its ``ResLayer`` always makes at least one
    block: 1.2 M parameters that the forward never uses, that Duan's checkpoints do not have
    (a strict load fails) and that make distributed training stop on unused parameters.
    This class removes it; everything else is mmdet's.

    Args: as mmdet's ``HourglassNet``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.num_stacks == 1:
            self.inters = nn.Sequential()
