import torch

from mmcenternet.registry import MODELS


def test_focal_loss_terms():
    loss = MODELS.build(dict(type='CenterNetFocalLoss', loss_weight=2.0))
    target = torch.tensor([[[[1.0, 0.5], [0.0, 0.0]]]])
    logits = torch.zeros_like(target)  # p = 0.5 everywhere
    p = 0.5
    pos = torch.log(torch.tensor(p)) * (1 - p) ** 2
    neg = torch.log(torch.tensor(1 - p)) * p ** 2 * torch.tensor([0.5 ** 4, 1, 1]).sum()
    expected = -(pos + neg) / 1 * 2.0
    torch.testing.assert_close(loss(logits, target), expected)


def test_focal_loss_without_positives_is_negative_sum():
    loss = MODELS.build(dict(type='CenterNetFocalLoss'))
    target = torch.zeros(1, 1, 2, 2)
    logits = torch.full_like(target, -1.0)
    p = torch.sigmoid(torch.tensor(-1.0))
    expected = -(torch.log(1 - p) * p ** 2) * 4
    torch.testing.assert_close(loss(logits, target), expected)


def test_focal_loss_clamps_extreme_logits():
    loss = MODELS.build(dict(type='CenterNetFocalLoss'))
    target = torch.zeros(1, 1, 2, 2)
    target[0, 0, 0, 0] = 1
    value = loss(torch.full_like(target, -1e4), target)
    assert torch.isfinite(value)
    torch.testing.assert_close(value, -torch.log(torch.tensor(1e-4)) * (1 - 1e-4) ** 2,
                               rtol=1e-4, atol=0)


def test_reg_l1_loss_normalisation():
    loss = MODELS.build(dict(type='RegL1Loss', loss_weight=0.1))
    pred = torch.tensor([[[1., 2.], [5., 5.]]])
    target = torch.tensor([[[0., 0.], [0., 0.]]])
    mask = torch.tensor([[1., 0.]])
    # |1| + |2| over mask.sum() expanded over 2 channels = 2
    torch.testing.assert_close(loss(pred, target, mask), torch.tensor(3 / (2 + 1e-4) * 0.1))
    per_channel = torch.tensor([[[1., 0.], [0., 0.]]])
    torch.testing.assert_close(loss(pred, target, per_channel), torch.tensor(1 / (1 + 1e-4) * 0.1))
