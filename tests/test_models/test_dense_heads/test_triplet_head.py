"""TripletHead: central-region acceptance (the paper's rule), losses, outputs."""
import pytest
import torch
from mmengine.structures import InstanceData

from mmcenternet.registry import MODELS

C, H, W = 2, 32, 32


def _head(**kwargs):
    cfg = dict(type='TripletHead', codec=dict(type='TripletCodec', num_classes=C),
               in_channels=8, feat_channels=8, pool_channels=4, num_stacks=1)
    cfg.update(kwargs)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def _blank_maps():
    maps = {f'{k}_heatmap': torch.zeros(1, C, H, W) for k in ('tl', 'br', 'ct')}
    maps.update({f'{k}_offset': torch.zeros(1, 2, H, W) for k in ('tl', 'br', 'ct')})
    maps.update({f'{k}_embedding': torch.zeros(1, 1, H, W) for k in ('tl', 'br')})
    return maps


def _put(maps, kind, label, x, y, score, tag=None):
    maps[f'{kind}_heatmap'][0, label, y, x] = score
    if tag is not None:
        maps[f'{kind}_embedding'][0, 0, y, x] = tag


def test_pair_without_center_is_rejected_and_pair_with_center_kept_with_paper_score():
    """Two corner pairs of class 1 with distinct embeddings. Pair A (4,4)-(14,12) has a
    class-1 center keypoint inside its central region; pair B (18,16)-(30,30) has none
    there (only one just outside the region, and one of class 0 inside)."""
    maps = _blank_maps()
    _put(maps, 'tl', 1, 4, 4, 0.9, tag=1.)
    _put(maps, 'br', 1, 14, 12, 0.7, tag=1.)
    # A's central region (n = 3): x in (7.33, 10.67), y in (6.67, 9.33)
    _put(maps, 'ct', 1, 9, 8, 0.6)
    _put(maps, 'tl', 1, 18, 16, 0.95, tag=5.)
    _put(maps, 'br', 1, 30, 30, 0.85, tag=5.)
    _put(maps, 'ct', 1, 27, 23, 0.99)  # B's region: x in (22, 26), y in (20.67, 25.33)
    _put(maps, 'ct', 0, 24, 23, 0.99)  # inside B's region but class 0
    head = _head(test_cfg=dict(soft_nms=None))
    result = head.decode_maps(maps, [dict(batch_input_shape=(H * 4, W * 4))],
                              rescale=False)[0]
    assert len(result) == 1
    pair = (0.9 + 0.7) / 2
    assert result.scores[0].item() == pytest.approx((2 * pair + 0.6) / 3)  # 0.7333
    assert result.labels.tolist() == [1]
    assert torch.allclose(result.bboxes[0], torch.tensor([4., 4., 14., 12.]) * 4)
    # without the paper's central-region test (a region covering the box) B would be kept
    wide = _head(codec=dict(type='TripletCodec', num_classes=C, small_n=1, large_n=1),
                 test_cfg=dict(soft_nms=None))
    both = wide.decode_maps(maps, [dict(batch_input_shape=(H * 4, W * 4))], rescale=False)[0]
    found_b = (both.bboxes == torch.tensor([18., 16., 30., 30.]) * 4).all(1)
    assert found_b.sum() == 1
    assert both.scores[found_b].item() == pytest.approx((2 * (0.95 + 0.85) / 2 + 0.99) / 3)


def test_forward_shapes_and_stack_averaged_losses():
    head = _head(num_stacks=2)
    feats = [torch.randn(2, 8, H, W) for _ in range(2)]
    outs = head(feats)
    assert len(outs) == 2
    assert outs[0]['tl_heatmap'].shape == (2, C, H, W)
    assert outs[0]['tl_embedding'].shape == (2, 1, H, W)
    assert outs[0]['ct_offset'].shape == (2, 2, H, W)
    gts = [InstanceData(bboxes=torch.tensor([[8., 8., 60., 70.], [70., 30., 120., 90.]]),
                        labels=torch.tensor([0, 1])),
           InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))]
    metas = [dict(batch_input_shape=(128, 128), img_shape=(128, 128))] * 2
    losses = head.loss_by_feat(outs, gts, metas)
    assert set(losses) == set(head.loss_keys)
    assert all(torch.isfinite(v) for v in losses.values())
    # each term is the mean over the stacks
    single = [head.loss_by_feat([o], gts, metas) for o in outs]
    for key, value in losses.items():
        assert value.item() == pytest.approx((single[0][key] + single[1][key]).item() / 2)
    sum(losses.values()).backward()
    assert head.pools['tl'][0].look1_fuse.weight.grad.abs().sum() > 0


def test_num_classes_is_the_codecs():
    from mmcenternet.errors import ConfigError
    assert _head().num_classes == C
    with pytest.raises(ConfigError, match='TripletHead: num_classes= was replaced by codec=.*'
                       "codec=dict\\(type='TripletCodec'"):
        _head(num_classes=C)
    with pytest.raises(ConfigError, match='encoder= was replaced by codec='):
        _head(encoder=dict(type='TripletEncoder', num_classes=C))


def test_heatmap_bias_init():
    head = _head()
    assert torch.all(head.branches['ct_heatmap'][0][-1].bias == -2.19)
