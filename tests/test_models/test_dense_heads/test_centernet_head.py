import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from mmcenternet.registry import MODELS
from mmcenternet.errors import ConfigError


def branches():
    return dict(heatmap=dict(bias_init=-2.19, loss=dict(type='CenterNetFocalLoss')),
                wh=dict(loss=dict(type='RegL1Loss', loss_weight=0.1)),
                offset=dict(loss=dict(type='RegL1Loss')))


def make_head(num_stacks=1, **kwargs):
    cfg = dict(
        type='CenterNetHead', in_channels=8, feat_channels=8, num_stacks=num_stacks,
        codec=dict(type='CTDetCodec', num_classes=3, topk=10), branches=branches())
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


def test_scale_factor_fallback_and_missing_target_error():
    head = make_head()
    boxes = torch.tensor([[[4., 8., 12., 16.]]])
    out = head.codec.to_original(dict(bboxes=boxes), [dict(scale_factor=(2., 4.))])
    torch.testing.assert_close(out['bboxes'], torch.tensor([[[2., 2., 6., 4.]]]))
    with pytest.raises(KeyError, match='depth'):
        head.branch_loss('depth', head.losses['wh'], torch.zeros(1, 1, 4, 4),
                         dict(mask=torch.zeros(1, 2), indices=torch.zeros(1, 2).long()))


def test_branch_channels_come_from_the_codec():
    head = make_head(codec=dict(type='MultiPoseCodec', num_classes=2, num_keypoints=5),
                     branches=dict(branches(), kps=dict(), kp_heatmap=dict(bias_init=-2.19),
                                   kp_offset=dict(out_channels=2)))
    assert list(head.branches) == ['heatmap', 'wh', 'offset', 'kps', 'kp_heatmap', 'kp_offset']
    assert {n: c['out_channels'] for n, c in head.branch_cfgs.items()} == \
        head.codec.branch_channels == dict(heatmap=2, wh=2, offset=2, kps=10, kp_heatmap=5,
                                           kp_offset=2)
    assert head.branches['kps'][0][-1].out_channels == 10 and head.num_classes == 2
    assert head.losses.keys() == {'heatmap', 'wh', 'offset'}  # no loss where none is given
    maps = head.activate(dict(heatmap=torch.zeros(1), kp_heatmap=torch.zeros(1),
                              kps=torch.zeros(1)))
    assert maps['heatmap'] == 0.5 and maps['kp_heatmap'] == 0.5 and maps['kps'] == 0


@pytest.mark.parametrize('spec,message', [
    (dict(depth=dict(loss=dict(type='RegL1Loss'))),
     r"CenterNetHead.branches.depth: CTDetCodec has no such branch \(its branches: "
     r"\['heatmap', 'wh', 'offset'\]\)"),
    (dict(heatmap=dict(out_channels=80)),
     'CenterNetHead.branches.heatmap.out_channels=80 disagrees with CTDetCodec, which gives '
     'it 3'),
    (dict(wh=dict(coord=True)), r"branches.wh has unknown keys \['coord'\]"),
    (dict(wh=dict(activation='sigmoid')), r"unknown keys \['activation'\].*the codec's"),
    (dict(wh=dict(activate_before_loss=True)),
     'branches.wh.activate_before_loss: CTDetCodec has no activation for it'),
])
def test_a_spec_that_does_not_fit_the_codec_is_one_line(spec, message):
    specs = branches()
    specs.update(spec)
    with pytest.raises(ConfigError, match=message):
        make_head(branches=specs)


def test_every_codec_branch_needs_a_spec():
    with pytest.raises(ConfigError, match=r"no spec for the DDDCodec branches \['depth', 'rot', "
                       r"'dim'\]"):
        make_head(codec=dict(type='DDDCodec', num_classes=3))


def test_encoder_and_decoder_name_the_codec():
    with pytest.raises(ConfigError, match=r'CenterNetHead: encoder= and decoder= were replaced '
                       r"by codec=.*model.bbox_head.codec=dict\(type='CTDetCodec'"):
        make_head(encoder=dict(type='CTDetEncoder', num_classes=3),
                  decoder=dict(type='CTDetDecoder'))
    with pytest.raises(ConfigError, match='encoder= was replaced by codec='):
        make_head(encoder=dict(num_classes=3))
