"""Losses of CenterNet, written to give the official values.

mmdet's ``GaussianFocalLoss`` takes probabilities and averages differently; these take the
head's raw logits and follow the official ``FocalLoss`` / ``RegL1Loss`` exactly.
"""
from typing import Optional

import torch
from torch import Tensor, nn

from mmcenternet.registry import MODELS


@MODELS.register_module()
class CenterNetFocalLoss(nn.Module):
    """Penalty-reduced pixel-wise focal loss (CornerNet / CenterNet) on heatmap logits.

    ``p = clamp(sigmoid(x), eps, 1 - eps)``; positives (gt == 1) add
    ``log(p) (1 - p)^alpha``, the rest ``log(1 - p) p^alpha (1 - gt)^beta``; the sum over the
    whole batch is divided by the number of positives (just the negative sum when there are
    none), as the official ``_neg_loss``. The ``num_pos == 0`` branch is written without a
    host synchronisation.

    Args:
        alpha: Focusing exponent (official 2).
        beta: Exponent of the gaussian penalty reduction (official 4).
        eps: Clamp of the sigmoid (official 1e-4).
        loss_weight: Weight of the loss.
    """

    def __init__(self, alpha: float = 2.0, beta: float = 4.0, eps: float = 1e-4,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha
        self.beta = beta
        self.eps = eps
        self.loss_weight = loss_weight

    def forward(self, logits: Tensor, target: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        """Args: ``logits`` and ``target`` of the same shape ``(B, C, H, W)``."""
        pred = logits.float().sigmoid().clamp(self.eps, 1 - self.eps)
        target = target.float()
        pos = target.eq(1).float()
        neg = 1 - pos
        pos_loss = torch.log(pred) * torch.pow(1 - pred, self.alpha) * pos
        neg_loss = (torch.log(1 - pred) * torch.pow(pred, self.alpha) *
                    torch.pow(1 - target, self.beta) * neg)
        num_pos = pos.sum().clamp(min=1)
        return -(pos_loss.sum() + neg_loss.sum()) / num_pos * self.loss_weight


@MODELS.register_module()
class RegL1Loss(nn.Module):
    """Masked L1 over gathered object slots, normalised as the official ``RegL1Loss``.

    ``sum |pred - target| * mask / (sum of the mask expanded over channels + 1e-4)``.

    Args:
        loss_weight: Weight of the loss (official: wh 0.1, offset 1).
        normalizer: ``'mask'`` (above) or ``'all'``: divided by the number of elements,
            masked ones included, as the official ``L1Loss`` of the 3D task
            (``F.l1_loss(pred * mask, target * mask)`` with a mean reduction).
    """

    NORMALIZERS = ('mask', 'all')

    def __init__(self, loss_weight: float = 1.0, normalizer: str = 'mask') -> None:
        super().__init__()
        if normalizer not in self.NORMALIZERS:
            raise ValueError(f'RegL1Loss.normalizer must be one of {self.NORMALIZERS}, '
                             f'got {normalizer!r}')
        self.loss_weight = loss_weight
        self.normalizer = normalizer

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
        """Args: ``pred``, ``target`` ``(B, M, D)``; ``mask`` ``(B, M)`` or ``(B, M, D)``."""
        mask = self.expand_mask(pred, mask)
        total = torch.abs(pred * mask - target * mask).sum()
        if self.normalizer == 'all':
            return total / max(mask.numel(), 1) * self.loss_weight
        loss = total / (mask.sum() + 1e-4)
        return loss * self.loss_weight

    @staticmethod
    def expand_mask(pred: Tensor, mask: Tensor) -> Tensor:
        """A ``(B, M)`` object mask expanded over the ``D`` channels, in ``pred``'s dtype."""
        if mask.dim() == pred.dim() - 1:
            mask = mask.unsqueeze(-1).expand_as(pred)
        return mask.to(pred.dtype)


@MODELS.register_module()
class RegSmoothL1Loss(RegL1Loss):
    """:class:`RegL1Loss` with a smooth-L1 (Huber) penalty, normalised the same way.

    ``sum smooth_l1(pred - target) * mask / (sum of the expanded mask + 1e-4)``, where
    ``smooth_l1(d) = 0.5 d^2 / beta`` for ``|d| < beta``, else ``|d| - 0.5 beta``: the loss
    CenterFace's paper uses for its offsets, box scales and landmarks.

    Args:
        beta: Where the penalty turns from quadratic to linear (PyTorch's default 1).
        loss_weight: Weight of the loss (CenterFace: scale 0.1, offset 1, landmarks 0.1).
    """

    def __init__(self, beta: float = 1.0, loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight=loss_weight)
        if beta <= 0:
            raise ValueError(f'RegSmoothL1Loss.beta must be > 0, got {beta}')
        self.beta = beta

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
        """Args: ``pred``, ``target`` ``(B, M, D)``; ``mask`` ``(B, M)`` or ``(B, M, D)``."""
        mask = self.expand_mask(pred, mask)
        loss = nn.functional.smooth_l1_loss(pred * mask, target * mask, reduction='sum',
                                            beta=self.beta)
        return loss / (mask.sum() + 1e-4) * self.loss_weight
