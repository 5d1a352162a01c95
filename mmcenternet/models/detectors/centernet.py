"""The CenterNet detector."""
from typing import Optional, Union

from mmdet.models.detectors.single_stage import SingleStageDetector

from mmcenternet.registry import MODELS
from ..utils.pretrained import LatePretrainedInitMixin
from .loss_guard import LossGuardMixin


@MODELS.register_module()
class CenterNet(LossGuardMixin, LatePretrainedInitMixin, SingleStageDetector):
    """CenterNet ("Objects as Points"): backbone -> (neck) -> :class:`CenterNetHead`.

    mmdet's single-stage flow is all it needs; the task lives in the head's branches and
    its codec. For Hourglass the backbone returns one map per stack and no
    neck is used.

    A ``PretrainedMapped`` entry of ``init_cfg`` (the official recipes' pretrained backbones,
    ``module='backbone'``) is applied after every sub-module's own initialisation
    (:class:`~mmcenternet.models.utils.LatePretrainedInitMixin`).

    Args:
        non_finite_loss: What a training step does when a loss term is NaN or
            infinite: ``'raise'`` a ``NonFiniteLossError`` naming the terms and
            the iteration, or ``'skip'`` the update with a warning (see
            :class:`LossGuardMixin`).
        Other arguments: as for mmdet's ``SingleStageDetector`` (spelled out so
            that ``--cfg-options model.<key>`` can be checked against them).
    """

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict] = None,
                 bbox_head: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, list]] = None,
                 non_finite_loss: str = 'raise') -> None:
        super().__init__(backbone=backbone, neck=neck, bbox_head=bbox_head,
                         train_cfg=train_cfg, test_cfg=test_cfg,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.non_finite_loss = non_finite_loss
