"""MultiPoseCodec: round trip, masking rules, snapping rules, flip merge, branches, dataset
checks.

(Value-for-value agreement with the official code: test_official_pose_fidelity.py.)
"""
import pytest
import torch
from mmengine.structures import InstanceData

from mmcenternet.models.task_modules import MultiPoseCodec
from mmcenternet.errors import ConfigError

K = 5
STRIDE = 4
FLIP = [0, 3, 4, 1, 2]  # joint 0 central, 1<->3, 2<->4


def person(box, joints, visible=None, label=0):
    joints = torch.tensor(joints, dtype=torch.float32)
    vis = torch.full((K, ), 2.) if visible is None else torch.tensor(visible, dtype=torch.float32)
    return box, joints, vis, label


def gt_instances(people):
    return InstanceData(
        bboxes=torch.tensor([p[0] for p in people], dtype=torch.float32).reshape(-1, 4),
        keypoints=torch.stack([p[1] for p in people]) if people else torch.zeros(0, K, 2),
        keypoints_visible=torch.stack([p[2] for p in people]) if people else torch.zeros(0, K),
        labels=torch.tensor([p[3] for p in people], dtype=torch.long))


PEOPLE = [
    person([20.5, 10.3, 70.2, 110.9], [[45, 20], [55, 30], [58.7, 60.2], [35.1, 30], [33, 61]]),
    person([80.1, 40.6, 120.3, 122.0], [[100, 50], [110, 60], [113.3, 90.1], [90.2, 60.7],
                                        [88, 91]]),
]


def _scatter(num_imgs, channels, shape, indices, values, mask):
    """Dense maps holding ``values (B, M, C)`` at flat ``indices (B, M)`` where ``mask``."""
    out = torch.zeros(num_imgs, shape[0] * shape[1], channels)
    for b in range(num_imgs):
        keep = mask[b] > 0
        out[b, indices[b][keep]] = values[b][keep]
    return out.permute(0, 2, 1).reshape(num_imgs, channels, *shape)


def perfect_maps(targets, shape):
    """Network outputs that are exactly the encoded targets."""
    b = targets['heatmap'].shape[0]
    idx, mask = targets['indices'], targets['mask']
    return dict(
        heatmap=targets['heatmap'], kp_heatmap=targets['kp_heatmap'],
        wh=_scatter(b, 2, shape, idx, targets['wh'], mask),
        offset=_scatter(b, 2, shape, idx, targets['offset'], mask),
        kps=_scatter(b, 2 * K, shape, idx, targets['kps'], mask),
        kp_offset=_scatter(b, 2, shape, targets['kp_offset_indices'], targets['kp_offset'],
                           targets['kp_offset_mask']))


@pytest.mark.parametrize('snap', [True, False], ids=['snapped', 'regressed'])
def test_decode_of_encode_recovers_boxes_and_joints(snap):
    shape = (32, 32)
    gts = [gt_instances(PEOPLE), gt_instances(PEOPLE[:1])]
    codec = MultiPoseCodec(num_keypoints=K, stride=STRIDE, topk=4)
    targets = codec.encode(gts, shape)
    maps = perfect_maps(targets, shape)
    if not snap:
        del maps['kp_heatmap'], maps['kp_offset']
    dets = codec.decode_maps(maps)
    for img, gt in enumerate(gts):
        n = len(gt)
        order = torch.argsort(dets['bboxes'][img, :n, 0])
        # boxes inside the map (<= (32 - 1) * 4) come back exactly
        torch.testing.assert_close(dets['bboxes'][img, order], gt.bboxes, atol=1e-4, rtol=0)
        torch.testing.assert_close(dets['keypoints'][img, order], gt.keypoints, atol=1e-4,
                                   rtol=0)
        scores = dets['keypoint_scores'][img, order]
        assert bool((scores == 1).all()) if snap else bool((scores == 0).all())
        assert bool((dets['scores'][img, :n] == 1).all())


def test_joints_outside_or_unlabelled_get_no_target():
    box, joints, _, _ = PEOPLE[0]
    joints = joints.clone()
    joints[1] = torch.tensor([-3., 40.])  # outside the map
    vis = torch.tensor([2., 0., 1., 0., 2.])  # joint 3 unlabelled, joint 2 hidden
    t = MultiPoseCodec(num_keypoints=K, stride=STRIDE).encode(
        [gt_instances([(box, joints, vis, 0)])], (32, 32))
    assert t['kps_mask'][0, 0].view(K, 2)[:, 0].tolist() == [1, 0, 1, 0, 1]
    assert t['kp_offset_mask'][0, :K].tolist() == [1, 0, 1, 0, 1]
    peaks = t['kp_heatmap'][0].flatten(1).max(1).values
    assert peaks.tolist() == [1, 0, 1, 0, 1]


def test_person_without_labelled_joints_keeps_its_peak_but_no_size_loss():
    box, joints, _, _ = PEOPLE[0]
    people = [(box, joints, torch.zeros(K), 0), PEOPLE[1]]
    t = MultiPoseCodec(num_keypoints=K, stride=STRIDE).encode([gt_instances(people)],
                                                                (32, 32))
    assert t['mask'][0, :2].tolist() == [0, 1]
    assert t['heatmap'][0, 0].flatten()[t['indices'][0, 0]] == 1  # still a positive
    assert t['kps_mask'][0, 0].sum() == 0
    # with keypoint_labels, only those classes lose the size loss (a shape stays a box)
    enc = MultiPoseCodec(num_classes=2, num_keypoints=K, stride=STRIDE, keypoint_labels=[0])
    shape_obj = (box, joints, torch.zeros(K), 1)
    t = enc.encode([gt_instances([shape_obj, (box, joints, torch.zeros(K), 0)])], (32, 32))
    assert t['mask'][0, :2].tolist() == [1, 0]


def test_dense_targets_at_the_centre_equal_the_sparse_ones():
    shape = (32, 32)
    gts = [gt_instances(PEOPLE[:1])]
    sparse = MultiPoseCodec(num_keypoints=K, stride=STRIDE).encode(gts, shape)
    dense = MultiPoseCodec(num_keypoints=K, stride=STRIDE, dense_hp=True).encode(gts, shape)
    centre = sparse['indices'][0, 0]
    torch.testing.assert_close(dense['kps'][0].flatten(1)[:, centre], sparse['kps'][0, 0])
    assert bool((dense['kps_mask'][0].flatten(1)[:, centre] == 1).all())
    # one pixel right of the centre the offsets to the joints are one pixel smaller in x
    right = dense['kps'][0].flatten(1)[:, centre + 1].view(K, 2)
    torch.testing.assert_close(right, sparse['kps'][0, 0].view(K, 2) - torch.tensor([1., 0]))


def test_branches_follow_the_keypoint_count_and_official_heads():
    codec = MultiPoseCodec(num_classes=2, num_keypoints=K)
    assert codec.branch_channels == dict(heatmap=2, wh=2, offset=2, kps=2 * K, kp_heatmap=K,
                                         kp_offset=2)
    assert codec.activations == dict(heatmap='sigmoid', kp_heatmap='sigmoid')
    assert MultiPoseCodec.official_heads == dict(hm='heatmap', wh='wh', reg='offset', hps='kps',
                                                 hm_hp='kp_heatmap', hp_offset='kp_offset')


def test_check_dataset_names_keypoint_and_flip_counts():
    codec = MultiPoseCodec(num_keypoints=K)
    names = tuple('abcde')
    codec.check_dataset(dict(classes=('person', ), keypoint_names=names, flip_indices=FLIP),
                        'train_dataloader.dataset')
    with pytest.raises(ConfigError, match=r'has 17 keypoint_names but the codec MultiPoseCodec '
                       r'has num_keypoints=5: set model.bbox_head.codec.num_keypoints'):
        codec.check_dataset(dict(classes=('person', ), keypoint_names=tuple('x' * 17)), 'ds')
    with pytest.raises(ConfigError, match='has 3 flip_indices'):
        codec.check_dataset(dict(flip_indices=[0, 2, 1]), 'ds')
    with pytest.raises(ConfigError, match='has 2 classes'):
        codec.check_dataset(dict(classes=('person', 'dog'), keypoint_names=names), 'ds')


def test_encoder_errors_name_the_missing_field():
    gt = InstanceData(bboxes=torch.zeros(1, 4), labels=torch.zeros(1, dtype=torch.long))
    with pytest.raises(KeyError, match='keypoints.*LoadPoseAnnotations'):
        MultiPoseCodec(num_keypoints=K).encode([gt], (8, 8))
    gt = gt_instances(PEOPLE[:1])
    with pytest.raises(ValueError, match=r'expected \(N, 17, 2\).*num_keypoints'):
        MultiPoseCodec(num_keypoints=17).encode([gt], (8, 8))
    with pytest.raises(ValueError, match='keypoint_labels'):
        MultiPoseCodec(num_classes=2, keypoint_labels=[3])


# --------------------------------------------------------------------------- snapping
def _one_person_maps(joint_xy, peak_xy, peak_score, box_wh=(8., 8.)):
    """A single person at output pixel (10, 10), one joint regressed at ``joint_xy`` and a
    single joint-0 peak at ``peak_xy`` (other joints have no peak)."""
    shape = (24, 24)
    maps = dict(heatmap=torch.zeros(1, 1, *shape), wh=torch.zeros(1, 2, *shape),
                kps=torch.zeros(1, 2 * K, *shape), kp_heatmap=torch.zeros(1, K, *shape))
    maps['heatmap'][0, 0, 10, 10] = 0.9
    maps['wh'][0, :, 10, 10] = torch.tensor(box_wh)
    maps['kps'][0, 0:2, 10, 10] = torch.tensor(joint_xy) - 10
    maps['kp_heatmap'][0, 0, peak_xy[1], peak_xy[0]] = peak_score
    return maps


@pytest.mark.parametrize('peak,score,box_wh,snapped', [
    ((12, 11), 0.5, (8., 8.), True),     # near, inside the box, confident
    ((12, 11), 0.05, (8., 8.), False),   # below the 0.1 score threshold
    ((15, 10), 0.5, (8., 8.), False),    # outside the box (x > 10.5 + 4)
    ((13, 13), 0.5, (8., 8.), False),    # inside, but 3.5 px > 0.3 * 8 away
    ((13, 13), 0.5, (20., 20.), True),   # the same peak with a bigger box: 3.5 < 6
])
def test_snapping_rules(peak, score, box_wh, snapped):
    maps = _one_person_maps((11.5, 11.0), peak, score, box_wh)
    dets = MultiPoseCodec(num_keypoints=K, topk=3, stride=1).decode_maps(maps)
    # no offset map: the centre is at +0.5 and a peak at +0.5
    joint = dets['keypoints'][0, 0, 0]
    expected = torch.tensor(peak, dtype=torch.float32) + 0.5 if snapped else \
        torch.tensor([11.5, 11.0])
    torch.testing.assert_close(joint, expected)
    assert float(dets['keypoint_scores'][0, 0, 0]) == (score if snapped else 0.)


# --------------------------------------------------------------------------- flip
def _mirror(maps, perm):
    """What the network would output on the mirror image (exact mirror of ``maps``)."""
    kps = maps['kps'].flip(-1).view(1, K, 2, *maps['kps'].shape[-2:]).clone()
    kps[:, :, 0] *= -1
    return dict(heatmap=maps['heatmap'].flip(-1), wh=maps['wh'].flip(-1),
                offset=maps['offset'].flip(-1) * 7,  # never used: taken from the image
                kps=kps[:, perm].reshape(maps['kps'].shape),
                kp_heatmap=maps['kp_heatmap'].flip(-1)[:, perm],
                kp_offset=maps['kp_offset'] * 5)


def test_flip_merge_undoes_the_mirror_with_the_flip_indices():
    g = torch.Generator().manual_seed(0)
    maps = {name: torch.rand(1, c, 16, 20, generator=g) for name, c in
            (('heatmap', 1), ('wh', 2), ('offset', 2), ('kps', 2 * K), ('kp_heatmap', K),
             ('kp_offset', 2))}
    codec = MultiPoseCodec(num_keypoints=K)
    merged = codec.flip_merge(maps, _mirror(maps, FLIP), [dict(flip_indices=FLIP)])
    for name, value in maps.items():
        torch.testing.assert_close(merged[name], value, msg=name)
    # the wrong pairs do not undo it
    wrong = codec.flip_merge(maps, _mirror(maps, FLIP), [dict(flip_indices=list(range(K)))])
    assert not torch.allclose(wrong['kp_heatmap'], maps['kp_heatmap'])


def test_flip_merge_needs_flip_indices():
    maps = {'heatmap': torch.rand(1, 1, 4, 4), 'wh': torch.rand(1, 2, 4, 4),
            'kps': torch.rand(1, 2 * K, 4, 4)}
    with pytest.raises(KeyError, match='flip_indices'):
        MultiPoseCodec(num_keypoints=K).flip_merge(maps, maps, [dict()])
    with pytest.raises(ValueError, match='not a permutation'):
        MultiPoseCodec(num_keypoints=K).flip_merge(maps, maps, [dict(flip_indices=[0, 1])])
