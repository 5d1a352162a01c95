"""Multi-bin orientation loss of CenterNet 3D detection (official ``BinRotLoss``)."""
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmcenternet.registry import MODELS


def _masked_mean(values: Tensor, select: Tensor) -> Tensor:
    """Mean of ``values`` where ``select``; 0 when nothing is selected (no host sync)."""
    count = select.sum()
    return (values * select).sum() / count.clamp(min=1)


@MODELS.register_module()
class BinRotLoss(nn.Module):
    """Two overlapping orientation bins, each ``[2 logits, sin, cos]`` of the residual.

    The ``rot`` branch predicts 8 values per object: bin 1 (centered at ``-pi/2``, covering
    ``alpha < pi/6`` or ``> 5 pi/6``) and bin 2 (centered at ``+pi/2``, covering
    ``alpha > -pi/6`` or ``< -5 pi/6``), each as two classification logits and the sine and
    cosine of ``alpha - bin center``. The loss is the official ``compute_rot_loss``:

    - cross-entropy of each bin's logits against its 0/1 target, **averaged over every
      slot of the batch**; masked (empty) slots enter with zeroed logits and target 0, i.e.
      ``log 2`` each, exactly as the official code (which multiplies the logits by the mask);
    - smooth-L1 of ``sin`` and ``cos`` against the residual's, averaged over the slots whose
      bin target is 1 (0 when there are none).

    Args:
        loss_weight: Weight of the loss (official ``rot_weight`` 1).
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
        """Args:
            pred: ``(B, M, 8)`` the ``rot`` branch gathered at the object slots.
            target: ``(B, M, 4)``: ``[bin1, bin2, residual1, residual2]`` (bins 0/1).
            mask: ``(B, M)`` slots that hold an object.
        """
        pred = pred.reshape(-1, 8).float()
        target = target.reshape(-1, 4).float()
        mask = mask.reshape(-1, 1).to(pred.dtype)
        bins = target[:, :2].long()
        residual = target[:, 2:]
        loss = pred.new_zeros(())
        for k in range(2):
            logits = pred[:, 4 * k:4 * k + 2] * mask
            loss = loss + F.cross_entropy(logits, bins[:, k])
            select = (bins[:, k] == 1).to(pred.dtype)
            for j, fn in enumerate((torch.sin, torch.cos)):
                sl1 = F.smooth_l1_loss(pred[:, 4 * k + 2 + j], fn(residual[:, k]),
                                       reduction='none')
                loss = loss + _masked_mean(sl1, select)
        return loss * self.loss_weight
