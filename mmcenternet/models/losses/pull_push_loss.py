"""Associative-embedding pull/push loss of corner pairs (CornerNet, Keypoint Triplets)."""
from typing import Tuple

import torch
from torch import Tensor, nn

from mmcenternet.registry import MODELS


@MODELS.register_module()
class PullPushLoss(nn.Module):
    """Pull the two corner embeddings of an object together, push objects apart.

    Per image with ``N`` objects, ``e_k`` the mean of object ``k``'s two embeddings:
    ``pull = sum_k ((tl_k - e_k)^2 + (br_k - e_k)^2) / (N + eps)`` and
    ``push = sum_{j, k} (relu(margin - |e_j - e_k|) - 1 / (N + eps)) / (N (N - 1) + eps)``
    over all ordered pairs including ``j == k``; both are summed over the images. This is
    Duan's (and CornerNet's) ``_ae_loss`` value for value (tested against it), computed
    for the whole batch with masks instead of boolean indexing.

    mmdet's ``AssociativeEmbeddingLoss`` computes the same pull and, for the push, the mean
    of ``relu(margin - |e_j - e_k|)`` over ``j != k`` in a Python loop over images and
    objects; the diagonal terms above add a constant without gradient (about
    ``eps / (N (N - 1) + eps)``, so ~1 for an image with a single object), kept here so
    that loss values match Duan's logs. The gradients are the same (tested).

    Args:
        pull_weight: Weight of the pull term (Duan 0.1).
        push_weight: Weight of the push term (Duan 0.1).
        margin: Push margin (1).
        eps: Normaliser guard (Duan 1e-4).
    """

    def __init__(self, pull_weight: float = 0.1, push_weight: float = 0.1,
                 margin: float = 1.0, eps: float = 1e-4) -> None:
        super().__init__()
        self.pull_weight = pull_weight
        self.push_weight = push_weight
        self.margin = margin
        self.eps = eps

    def forward(self, tl_embedding: Tensor, br_embedding: Tensor,
                mask: Tensor) -> Tuple[Tensor, Tensor]:
        """Args: ``tl_embedding``, ``br_embedding`` ``(B, M)`` (1-D embeddings gathered at
        the objects' corners), ``mask (B, M)`` (1 for a real object).

        Returns:
            ``(pull, push)``, weighted.
        """
        mask = mask.to(tl_embedding.dtype)
        num = mask.sum(dim=1, keepdim=True)  # (B, 1)
        mean = (tl_embedding + br_embedding) / 2
        pull = (((tl_embedding - mean)**2 + (br_embedding - mean)**2) * mask
                / (num + self.eps)).sum()
        pair_mask = mask[:, :, None] * mask[:, None, :]
        dist = torch.relu(self.margin - (mean[:, :, None] - mean[:, None, :]).abs())
        dist = (dist - 1 / (num[:, :, None] + self.eps)) / (
            (num[:, :, None] - 1) * num[:, :, None] + self.eps)
        push = (dist * pair_mask).sum()
        return pull * self.pull_weight, push * self.push_weight
