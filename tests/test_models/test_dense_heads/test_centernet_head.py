import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from mmcenternet.registry import MODELS


def make_head(num_stacks=1, **kwargs):
    cfg = dict(
        type='CenterNetHead', in_channels=8, feat_channels=8, num_stacks=num_stacks,
        branches=dict(
            heatmap=dict(out_channels=3, bias_init=-2.19,
                         loss=dict(type='CenterNetFocalLoss')),
            wh=dict(out_channels=2, loss=dict(type='RegL1Loss', loss_weight=0.1)),
            offset=dict(out_channels=2, loss=dict(type='RegL1Loss'))),
        encoder=dict(type='CTDetEncoder', num_classes=3),
        decoder=dict(type='CTDetDecoder', topk=10))
    cfg.update(kwargs)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def sample(boxes, labels, matrix=None):
    s = DetDataSample(metainfo=dict(img_shape=(64, 64), affine_matrix=matrix if matrix is not
                                    None else np.eye(3, dtype=np.float32)))
    s.gt_instances = InstanceData(bboxes=torch.tensor(boxes, dtype=torch.float32),
                                  labels=torch.tensor(labels))
    return s


def test_branches_and_official_init():
    head = make_head()
    outs = head((torch.rand(2, 8, 16, 16), ))
    assert len(outs) == 1 and set(outs[0]) == {'heatmap', 'wh', 'offset'}
    assert outs[0]['heatmap'].shape == (2, 3, 16, 16) and outs[0]['wh'].shape == (2, 2, 16, 16)
    assert torch.all(head.branches['heatmap'][0][2].bias == -2.19)
    assert head.branches['wh'][0][0].weight.std() < 0.01
    assert 'branches.heatmap.0.0.weight' in head.state_dict()


def test_loss_keys_and_learning_signal():
    head = make_head()
    x = (torch.rand(2, 8, 16, 16), )
    samples = [sample([[4., 4., 30., 40.]], [1]), sample([[10., 10., 20., 20.]], [0])]
    losses = head.loss(x, samples)
    assert set(losses) == {'loss_heatmap', 'loss_wh', 'loss_offset'}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())
    sum(losses.values()).backward()
    assert head.branches['heatmap'][0][2].weight.grad.abs().sum() > 0


def test_multi_stack_averages_losses_and_predicts_from_last():
    head = make_head(num_stacks=2)
    x = (torch.rand(1, 8, 16, 16), torch.rand(1, 8, 16, 16))
    outs = head(x)
    assert len(outs) == 2
    s = [sample([[4., 4., 30., 40.]], [1])]
    losses = head.loss(x, s)
    per_stack = [head.loss_by_feat([o], [s[0].gt_instances], [s[0].metainfo]) for o in outs]
    torch.testing.assert_close(losses['loss_heatmap'],
                               (per_stack[0]['loss_heatmap'] + per_stack[1]['loss_heatmap']) / 2)
    last = head.predict_by_feat([outs[1]], [s[0].metainfo])[0]
    both = head.predict_by_feat(outs, [s[0].metainfo])[0]
    assert torch.equal(last.bboxes, both.bboxes)


def test_predict_maps_back_with_affine_and_postprocess():
    head = make_head(test_cfg=dict(score_thr=0.0, nms=None))
    x = (torch.rand(1, 8, 16, 16), )
    scale = np.diag([0.5, 0.5, 1]).astype(np.float32)  # original -> input halves
    plain = head.predict(x, [sample([[0., 0., 1., 1.]], [0])], rescale=True)[0]
    scaled = head.predict(x, [sample([[0., 0., 1., 1.]], [0], scale)], rescale=True)[0]
    assert len(plain) == 10 and set(plain.keys()) == {'bboxes', 'scores', 'labels'}
    torch.testing.assert_close(scaled.bboxes, plain.bboxes * 2)
    thr = make_head(test_cfg=dict(score_thr=0.5))
    thr.load_state_dict(head.state_dict())
    kept = thr.predict(x, [sample([[0., 0., 1., 1.]], [0])], rescale=False)[0]
    assert (kept.scores > 0.5).all() and len(kept) <= len(plain)
    nms = make_head(test_cfg=dict(nms=dict(type='nms', iou_threshold=0.1)))
    nms.load_state_dict(head.state_dict())
    assert len(nms.predict(x, [sample([[0., 0., 1., 1.]], [0])])[0]) <= 10


def test_scale_factor_fallback_and_missing_branch_error():
    head = make_head()
    boxes = torch.tensor([[[4., 8., 12., 16.]]])
    out = head.decoder.to_original(dict(bboxes=boxes), [dict(scale_factor=(2., 4.))])
    torch.testing.assert_close(out['bboxes'], torch.tensor([[[2., 2., 6., 4.]]]))
    with pytest.raises(ValueError, match='heatmap'):
        MODELS.build(dict(type='CenterNetHead', in_channels=8,
                          branches=dict(wh=dict(out_channels=2))))
    bad = make_head(branches=dict(
        heatmap=dict(out_channels=3, loss=dict(type='CenterNetFocalLoss')),
        depth=dict(out_channels=1, loss=dict(type='RegL1Loss'))))
    with pytest.raises(KeyError, match='depth'):
        bad.loss((torch.rand(1, 8, 16, 16), ), [sample([[4., 4., 30., 40.]], [1])])


def _with_coord_wh():
    return dict(heatmap=dict(out_channels=3, bias_init=-2.19,
                             loss=dict(type='CenterNetFocalLoss')),
                wh=dict(out_channels=2, coord=True, loss=dict(type='RegL1Loss')),
                offset=dict(out_channels=2, loss=dict(type='RegL1Loss')))


def test_coord_branch_sees_position():
    from mmcenternet.models.dense_heads.centernet_head import coord_maps
    torch.manual_seed(0)  # random weights below: another state can leave every ReLU dead
    grid = coord_maps(torch.zeros(2, 5, 3, 4))
    assert grid.shape == (2, 2, 3, 4)
    assert torch.allclose(grid[0, 0, 1], torch.tensor([-1., -1 / 3, 1 / 3, 1.]))
    assert torch.allclose(grid[1, 1, :, 2], torch.tensor([-1., 0., 1.]))
    head = make_head(branches=_with_coord_wh())
    assert head.branches['wh'][0][0].in_channels == 10  # 8 + x, y
    assert head.branches['offset'][0][0].in_channels == 8
    # a constant feature map: only the coordinate branch varies over the map
    with torch.no_grad():
        head.branches['wh'][0][0].weight.normal_()
        head.branches['offset'][0][0].weight.normal_()
        outs = head((torch.ones(1, 8, 12, 12), ))
    inner = (slice(None), slice(None), slice(1, -1), slice(1, -1))  # away from the padding
    assert outs[0]['wh'][inner].std(dim=(2, 3)).min() > 1e-4
    assert outs[0]['offset'][inner].std(dim=(2, 3)).max() < 1e-6
    samples = [sample([[4., 4., 30., 40.]], [1])]
    losses = head.loss((torch.rand(1, 8, 16, 16), ), samples)
    sum(losses.values()).backward()
    assert head.branches['wh'][0][0].weight.grad[:, 8:].abs().sum() > 0


def test_misspelt_branch_key_is_refused():
    branches = _with_coord_wh()
    branches['wh'] = dict(out_channels=2, cord=True)
    with pytest.raises(ValueError, match=r"branches.wh has unknown keys \['cord'\]"):
        make_head(branches=branches)
