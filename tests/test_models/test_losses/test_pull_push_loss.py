"""PullPushLoss against mmdet's AssociativeEmbeddingLoss (Duan's values: see
tests/test_models/test_duan_triplet_fidelity.py)."""
import pytest
import torch
from mmdet.models.losses import AssociativeEmbeddingLoss

from mmcenternet.registry import MODELS


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    num = torch.tensor([3, 1, 0, 5])
    mask = (torch.arange(6)[None] < num[:, None]).float()
    tl = torch.randn(4, 6, generator=g).requires_grad_()
    br = torch.randn(4, 6, generator=g).requires_grad_()
    return tl, br, mask, num


def _mmdet(tl, br, num):
    """mmdet's loss on maps holding each object's embeddings at (0, k) / (1, k)."""
    zeros = torch.zeros_like(tl)
    tl_map = torch.stack([tl, zeros], dim=1)[:, None]  # (B, 1, 2, M)
    br_map = torch.stack([zeros, br], dim=1)[:, None]
    match = [[[[0, k], [1, k]] for k in range(int(n))] for n in num]
    return AssociativeEmbeddingLoss(pull_weight=0.1, push_weight=0.1)(tl_map, br_map, match)


def test_pull_equals_mmdet_and_push_differs_by_a_gradient_free_constant():
    tl, br, mask, num = _inputs()
    pull, push = MODELS.build(dict(type='PullPushLoss'))(tl, br, mask)
    tl2 = tl.detach().clone().requires_grad_()
    br2 = br.detach().clone().requires_grad_()
    ref_pull, ref_push = _mmdet(tl2, br2, num)
    assert pull.item() == pytest.approx(ref_pull.item(), rel=1e-3)
    # Duan's diagonal terms: per image eps*n/(n+eps) / (n(n-1)+eps), ~1 for n = 1
    eps = 1e-4
    const = sum(n * eps / (n + eps) / (n * (n - 1) + eps) for n in (3., 1., 5.)) * 0.1
    assert push.item() == pytest.approx(ref_push.item() + const, rel=1e-3)
    (pull + push).backward()
    (ref_pull + ref_push).backward()
    assert torch.allclose(tl.grad, tl2.grad, rtol=1e-3, atol=1e-6)
    assert torch.allclose(br.grad, br2.grad, rtol=1e-3, atol=1e-6)


def test_no_objects_gives_zero():
    tl = torch.randn(2, 4, requires_grad=True)
    pull, push = MODELS.build(dict(type='PullPushLoss'))(tl, tl * 2, torch.zeros(2, 4))
    assert pull.item() == 0 and push.item() == 0
    (pull + push).backward()
    assert torch.isfinite(tl.grad).all()
