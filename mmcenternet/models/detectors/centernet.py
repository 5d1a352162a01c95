"""The CenterNet detector."""
from mmdet.models.detectors.single_stage import SingleStageDetector

from mmcenternet.registry import MODELS


@MODELS.register_module()
class CenterNet(SingleStageDetector):
    """CenterNet ("Objects as Points"): backbone -> (neck) -> :class:`CenterNetHead`.

    mmdet's single-stage flow is all it needs; the task lives in the head's branches and
    its encoder/decoder pair. For Hourglass the backbone returns one map per stack and no
    neck is used.
    """
