"""Pose targets, losses and decoded people equal the official CenterNet ``multi_pose``'s.

The expected values in tests/data/official_pose.npz were computed by running the official
code (xingyizhou/CenterNet @ 4c50fd3) with tests/data/make_official_pose_fixtures.py: the
target loop of ``MultiPoseDataset.__getitem__`` with ``utils.image.gaussian_radius`` /
``draw_umich_gaussian`` / ``draw_dense_reg``, the ``MultiPoseLoss`` terms
(``models.losses``), ``models.decode.multi_pose_decode`` after the flip merge of
``detectors/multi_pose.py`` and ``utils.post_process.multi_pose_post_process``. The inputs
are regenerated here by the same seeded functions of that script.
"""
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmcenternet.datasets.transforms.center_affine import affine_matrix
from mmcenternet.models.task_modules import MultiPoseCodec
from mmcenternet.registry import MODELS

DATA = osp.join(osp.dirname(__file__), '..', 'data')
sys.path.insert(0, DATA)
import make_official_pose_fixtures as fx  # noqa: E402

FIXTURES = np.load(osp.join(DATA, 'official_pose.npz'))
STRIDE = 4
COCO_FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]


def _gt(shape_index):
    """The fixture people as gt instances in network-input pixels."""
    gts = []
    for boxes, labels, joints in fx.target_batch(shape_index):
        gts.append(InstanceData(bboxes=torch.from_numpy(boxes) * STRIDE,
                                labels=torch.from_numpy(labels),
                                keypoints=torch.from_numpy(joints[..., :2]) * STRIDE,
                                keypoints_visible=torch.from_numpy(joints[..., 2])))
    return gts


def _encoder(dense):
    return MultiPoseCodec(num_classes=fx.NUM_CLASSES, num_keypoints=fx.NUM_JOINTS,
                            stride=STRIDE, max_objs=fx.MAX_OBJS, dense_hp=dense)


# official target name -> ours
SPARSE = dict(hm='heatmap', wh='wh', reg='offset', ind='indices', reg_mask='mask',
              hm_hp='kp_heatmap', hp_offset='kp_offset', hp_ind='kp_offset_indices',
              hp_mask='kp_offset_mask', hps='kps', hps_mask='kps_mask')
DENSE = dict(SPARSE, dense_hps='kps', dense_hps_mask='kps_mask')
del DENSE['hps'], DENSE['hps_mask']


@pytest.mark.parametrize('dense', [False, True], ids=['sparse', 'dense_hp'])
@pytest.mark.parametrize('s', [0, 1])
def test_targets_equal_official(s, dense):
    tag = f's{s}_{"dense" if dense else "sparse"}'
    ours = _encoder(dense).encode(_gt(s), fx.TARGET_SHAPES[s])
    for official, name in (DENSE if dense else SPARSE).items():
        expected = FIXTURES[f'{tag}_{official}']
        got = ours[name].numpy()
        assert got.shape == expected.shape, official
        np.testing.assert_array_equal(got, expected.astype(got.dtype), err_msg=official)
    # the fixture exercises what it claims: joints dropped outside the map, a person
    # without joints (box kept, no size loss), the max_objs cut
    assert FIXTURES[f'{tag}_hp_mask'].sum() > 100
    assert (FIXTURES[f'{tag}_ind'] > 0).sum() > FIXTURES[f'{tag}_reg_mask'].sum()


def _pose_head(dense):
    branches = dict(
        heatmap=dict(loss=dict(type='CenterNetFocalLoss')),
        wh=dict(loss=dict(type='RegL1Loss', loss_weight=0.1)),
        offset=dict(loss=dict(type='RegL1Loss')),
        kps=dict(loss=dict(type='RegL1Loss')),
        kp_heatmap=dict(loss=dict(type='CenterNetFocalLoss')),
        kp_offset=dict(loss=dict(type='RegL1Loss')))
    return MODELS.build(dict(
        type='CenterNetHead', in_channels=4, feat_channels=4, branches=branches,
        codec=dict(type='MultiPoseCodec', num_classes=fx.NUM_CLASSES,
                   num_keypoints=fx.NUM_JOINTS, max_objs=fx.MAX_OBJS, dense_hp=dense)))


@pytest.mark.parametrize('dense', [False, True], ids=['sparse', 'dense_hp'])
@pytest.mark.parametrize('s', [0, 1])
def test_losses_equal_official(s, dense):
    """The head's losses (official weights: wh 0.1, the others 1) on the fixture maps."""
    tag = f's{s}_{"dense" if dense else "sparse"}'
    maps = {name: torch.from_numpy(fx.loss_maps(s)[official]) for official, name in
            (('hm', 'heatmap'), ('wh', 'wh'), ('reg', 'offset'), ('hps', 'kps'),
             ('hm_hp', 'kp_heatmap'), ('hp_offset', 'kp_offset'))}
    losses = _pose_head(dense).loss_by_feat([maps], _gt(s), [{}] * 3)
    weights = dict(wh=0.1)
    for official, name in (('hm', 'heatmap'), ('wh', 'wh'), ('reg', 'offset'), ('hps', 'kps'),
                           ('hm_hp', 'kp_heatmap'), ('hp_offset', 'kp_offset')):
        expected = torch.tensor(float(FIXTURES[f'{tag}_loss_{official}']))
        got = losses[f'loss_{name}'] / weights.get(name, 1.0)
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=0, msg=official)


def _decode_inputs(d, variant):
    maps = {name: torch.from_numpy(fx.decode_maps(d)[official]) for official, name in
            (('hm', 'heatmap'), ('wh', 'wh'), ('reg', 'offset'), ('hps', 'kps'),
             ('hm_hp', 'kp_heatmap'), ('hp_offset', 'kp_offset'))}
    image = {k: v[0:1] for k, v in maps.items()}
    metas = [dict(flip_indices=COCO_FLIP)]
    decoder = MultiPoseCodec(fx.NUM_CLASSES, fx.NUM_JOINTS, topk=fx.TOPK, stride=1)
    if variant == 'flip':
        image = decoder.flip_merge(image, {k: v[1:2] for k, v in maps.items()}, metas)
    elif variant == 'no_hm_hp':
        del image['kp_heatmap'], image['kp_offset']
    elif variant == 'no_offsets':
        del image['offset'], image['kp_offset']
    return image, metas


VARIANTS = ['plain', 'flip', 'no_hm_hp', 'no_offsets']


@pytest.mark.parametrize('variant', VARIANTS)
@pytest.mark.parametrize('d', [0, 1])
def test_decode_equals_official(d, variant):
    """``multi_pose_decode`` in output pixels: boxes, scores, joints (snapped or not)."""
    maps, metas = _decode_inputs(d, variant)
    dets = MultiPoseCodec(fx.NUM_CLASSES, fx.NUM_JOINTS, topk=fx.TOPK,
                          stride=1).decode_maps(maps, metas)
    official = torch.from_numpy(FIXTURES[f'd{d}_{variant}_dets'])  # (K, 4 + 1 + 34 + 1)
    torch.testing.assert_close(dets['bboxes'][0], official[:, :4], rtol=0, atol=1e-5)
    torch.testing.assert_close(dets['scores'][0], official[:, 4], rtol=0, atol=0)
    torch.testing.assert_close(dets['labels'][0].float(), official[:, -1], rtol=0, atol=0)
    torch.testing.assert_close(dets['keypoints'][0].reshape(fx.TOPK, -1), official[:, 5:39],
                               rtol=0, atol=1e-4)


@pytest.mark.parametrize('d', [0, 1])
def test_fixture_has_snapped_and_kept_joints(d):
    """Official snapping moved some joints onto joint peaks and left others regressed,
    and our joint scores say which (a peak score where snapped, 0 where not)."""
    snapped = FIXTURES[f'd{d}_plain_dets'][:, 5:39] != FIXTURES[f'd{d}_no_hm_hp_dets'][:, 5:39]
    snapped = snapped.reshape(fx.TOPK, fx.NUM_JOINTS, 2).any(-1)
    assert 100 < snapped.sum() < snapped.size - 100
    maps, metas = _decode_inputs(d, 'plain')
    scores = MultiPoseCodec(fx.NUM_CLASSES, fx.NUM_JOINTS, topk=fx.TOPK,
                            stride=1).decode_maps(maps, metas)[
        'keypoint_scores'][0]
    np.testing.assert_array_equal((scores > 0).numpy(), snapped)
    assert float(scores[scores > 0].min()) > 0.1


@pytest.mark.parametrize('variant', VARIANTS)
@pytest.mark.parametrize('d', [0, 1])
def test_original_image_results_equal_official(d, variant):
    """Decoding at stride 4 and mapping back through the inverse ``affine_matrix`` of the
    ``keep_res`` test geometry equals ``multi_pose_post_process``."""
    geo = fx.decode_geometry(d)
    maps, metas = _decode_inputs(d, variant)
    inp_size = (int(geo['s'][0]), int(geo['s'][1]))
    metas[0]['affine_matrix'] = affine_matrix(geo['c'], float(geo['s'][0]), inp_size)
    decoder = MultiPoseCodec(fx.NUM_CLASSES, fx.NUM_JOINTS, topk=fx.TOPK, stride=STRIDE)
    dets = decoder.to_original(decoder.decode_maps(maps, metas), metas)
    official = torch.from_numpy(FIXTURES[f'd{d}_{variant}_post'])  # (K, 4 + 1 + 34)
    torch.testing.assert_close(dets['bboxes'][0], official[:, :4], rtol=0, atol=1e-4)
    torch.testing.assert_close(dets['keypoints'][0].reshape(fx.TOPK, -1), official[:, 5:],
                               rtol=0, atol=1e-4)
