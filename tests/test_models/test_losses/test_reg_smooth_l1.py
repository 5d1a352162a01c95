"""RegSmoothL1Loss: the smooth-L1 penalty with RegL1Loss's masking and normalisation."""
import pytest
import torch

from mmcenternet.models.losses import RegSmoothL1Loss


def test_value_by_hand():
    """|d| = 0.5 (quadratic: 0.125) and 3 (linear: 2.5) on the one masked object; the other
    slot is masked out whatever it holds; normalised by its 2 channels."""
    pred = torch.tensor([[[0.5, 3.0], [9.0, 9.0]]])
    target = torch.zeros(1, 2, 2)
    mask = torch.tensor([[1.0, 0.0]])
    loss = RegSmoothL1Loss(loss_weight=0.1)(pred, target, mask)
    assert loss.item() == pytest.approx(0.1 * 2.625 / (2 + 1e-4))
    per_channel = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])  # a per-landmark mask
    assert RegSmoothL1Loss()(pred, target, per_channel).item() == pytest.approx(
        0.125 / (1 + 1e-4))
    with pytest.raises(ValueError, match='beta'):
        RegSmoothL1Loss(beta=0)
