"""CenterFaceCodec: round trip, the target conventions, landmark masks, the flip merge, the
release's decoding (fixture from its own code), branches and dataset checks."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmcenternet.models.task_modules import CenterFaceCodec
from mmcenternet.registry import MODELS
from mmcenternet.errors import ConfigError

STRIDE = 4
SHAPE = (32, 40)  # output map (H, W): a 128 x 160 input
FLIP = [1, 0, 2, 4, 3]
TESTS = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
FIXTURE = osp.join(TESTS, 'data', 'centerface_release.npz')


def faces(boxes, landmarks, visible=None):
    boxes = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    pts = torch.tensor(landmarks, dtype=torch.float32).reshape(-1, 5, 2)
    vis = (torch.full(pts.shape[:2], 2.) if visible is None
           else torch.tensor(visible, dtype=torch.float32))
    return InstanceData(bboxes=boxes, labels=torch.zeros(len(boxes), dtype=torch.long),
                        keypoints=pts, keypoints_visible=vis)


def face_layout(box):
    """Eyes, nose and mouth corners inside ``box`` (x1, y1, x2, y2)."""
    x1, y1, x2, y2 = box
    rel = np.array([[0.3, 0.35], [0.7, 0.33], [0.52, 0.55], [0.35, 0.78], [0.66, 0.8]])
    return (np.array([x1, y1]) + rel * [x2 - x1, y2 - y1]).tolist()


BOXES = [[10.3, 20.6, 50.9, 70.2], [80.2, 8.7, 100.1, 33.4], [120.5, 60.3, 150.7, 110.8]]


def perfect_maps(targets, shape=SHAPE):
    """Network outputs that are exactly the encoded targets (the regressions at the
    centres, random elsewhere)."""
    num_imgs = targets['heatmap'].shape[0]
    gen = torch.Generator().manual_seed(0)
    maps = dict(heatmap=targets['heatmap'])
    for name in ('scale', 'offset', 'landmarks'):
        value = targets[name]
        dense = torch.rand(num_imgs, shape[0] * shape[1], value.shape[-1], generator=gen)
        for b in range(num_imgs):
            keep = targets['mask'][b] > 0
            dense[b, targets['indices'][b][keep]] = value[b][keep]
        maps[name] = dense.permute(0, 2, 1).reshape(num_imgs, -1, *shape)
    return maps


def test_decode_of_encode_recovers_boxes_and_landmarks():
    gts = [faces(BOXES, [face_layout(b) for b in BOXES]),
           faces(BOXES[1:2], [face_layout(BOXES[1])])]
    codec = CenterFaceCodec(stride=STRIDE, topk=5)
    dets = codec.decode_maps(perfect_maps(codec.encode(gts, SHAPE)))
    for img, gt in enumerate(gts):
        n = len(gt)
        assert bool((dets['scores'][img, :n] == 1).all()) and dets['scores'][img, n] < 1
        order = torch.argsort(dets['bboxes'][img, :n, 0])
        torch.testing.assert_close(dets['bboxes'][img, order], gt.bboxes, atol=1e-4, rtol=0)
        torch.testing.assert_close(dets['keypoints'][img, order], gt.keypoints, atol=1e-4,
                                   rtol=0)
        assert dets['keypoint_scores'][img, :n].shape == (n, 5)


def test_target_conventions_of_the_release():
    """One face worked by hand: input box (10, 20, 50, 84) at stride 4 is the output box
    (2.5, 5, 12.5, 21): w 10, h 16, centre (7.5, 13) in pixel (7, 13); a landmark at the
    centre is half-way across the box."""
    pts = [[30., 52.], [10., 20.], [50., 84.], [10., 84.], [30., 52.]]
    t = CenterFaceCodec(stride=STRIDE).encode([faces([10, 20, 50, 84], pts)], SHAPE)
    assert t['indices'][0, 0] == 13 * SHAPE[1] + 7
    torch.testing.assert_close(t['scale'][0, 0],
                               torch.tensor([np.log(16.), np.log(10.)], dtype=torch.float32))
    torch.testing.assert_close(t['offset'][0, 0], torch.tensor([-0.5, 0.0]))  # (y, x)
    expected = torch.tensor([[0.5, 0.5], [0., 0.], [1., 1.], [1., 0.], [0.5, 0.5]])  # (y, x)
    torch.testing.assert_close(t['landmarks'][0, 0].view(5, 2), expected)
    assert t['heatmap'][0, 0, 13, 7] == 1 and t['heatmap'].shape == (1, 1, *SHAPE)
    assert t['mask'][0].tolist()[:2] == [1, 0] and 'wh' not in t


def test_faces_without_landmarks_train_their_box_only():
    vis = [[2, 2, 2, 2, 2], [0, 0, 0, 0, 0], [2, 1, 0, 2, 0]]
    t = CenterFaceCodec(stride=STRIDE).encode(
        [faces(BOXES, [face_layout(b) for b in BOXES], vis)], SHAPE)
    assert t['mask'][0, :3].tolist() == [1, 1, 1]
    per_landmark = t['landmarks_mask'][0, :3].view(3, 5, 2)
    assert per_landmark[..., 0].tolist() == [[1, 1, 1, 1, 1], [0, 0, 0, 0, 0],
                                             [1, 1, 0, 1, 0]]
    assert bool((per_landmark[..., 0] == per_landmark[..., 1]).all())
    assert t['landmarks'][0, 1].abs().sum() == 0  # nothing to learn where unlabelled
    # gt without keypoints at all (e.g. the official WIDER FACE files): boxes only
    plain = InstanceData(bboxes=torch.tensor(BOXES), labels=torch.zeros(3, dtype=torch.long))
    t = CenterFaceCodec(stride=STRIDE).encode([plain], SHAPE)
    assert t['mask'][0, :3].sum() == 3 and t['landmarks_mask'].sum() == 0


def test_encoder_checks_the_landmark_count():
    gt = faces(BOXES[:1], [face_layout(BOXES[0])])
    with pytest.raises(ValueError, match='num_landmarks'):
        CenterFaceCodec(num_landmarks=4).encode([gt], SHAPE)


def test_branches_and_dataset_checks():
    codec = CenterFaceCodec(num_landmarks=4)
    assert codec.branch_channels == dict(heatmap=1, scale=2, offset=2, landmarks=8)
    assert codec.activations == dict(heatmap='sigmoid') and CenterFaceCodec.official_heads == {}
    codec.check_dataset(dict(classes=('face', ), keypoint_names=tuple('abcd')), 'ds')
    with pytest.raises(ConfigError, match=r'ds has 5 keypoint_names but the codec '
                       'CenterFaceCodec has num_landmarks=4'):
        codec.check_dataset(dict(classes=('face', ), keypoint_names=tuple('abcde')), 'ds')


def test_head_loss_ignores_unlabelled_landmarks():
    head = MODELS.build(dict(
        type='CenterNetHead', in_channels=4, feat_channels=0,
        codec=dict(type='CenterFaceCodec'),
        branches=dict(heatmap=dict(loss=dict(type='CenterNetFocalLoss')),
                      scale=dict(loss=dict(type='RegSmoothL1Loss')),
                      offset=dict(loss=dict(type='RegSmoothL1Loss')),
                      landmarks=dict(loss=dict(type='RegSmoothL1Loss')))))
    outs = head((torch.randn(1, 4, *SHAPE), ))
    labelled = faces(BOXES, [face_layout(b) for b in BOXES])
    unlabelled = faces(BOXES, [face_layout(b) for b in BOXES], [[0] * 5] * 3)
    meta = [dict(img_shape=(128, 160))]
    assert head.loss_by_feat(outs, [labelled], meta)['loss_landmarks'] > 0
    losses = head.loss_by_feat(outs, [unlabelled], meta)
    assert losses['loss_landmarks'] == 0 and losses['loss_scale'] > 0


def test_flip_merge_of_a_mirrored_image_keeps_the_faces():
    """The maps of an image and of its mirror (landmark pairs swapped) merge into the
    image's own faces: heatmap and scale average to themselves, the mirrored landmarks map
    back (x -> 1 - x, left <-> right)."""
    width = SHAPE[1] * STRIDE
    boxes = np.array(BOXES)
    pts = np.array([face_layout(b) for b in BOXES])
    mirrored_boxes = np.stack([width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0],
                               boxes[:, 3]], 1)
    mirrored_pts = pts.copy()
    mirrored_pts[..., 0] = width - pts[..., 0]
    mirrored_pts = mirrored_pts[:, FLIP]
    decoder = CenterFaceCodec(stride=STRIDE, topk=3)
    maps = perfect_maps(decoder.encode([faces(boxes.tolist(), pts.tolist())], SHAPE))
    flipped = perfect_maps(decoder.encode([faces(mirrored_boxes.tolist(),
                                                 mirrored_pts.tolist())], SHAPE))
    merged = decoder.flip_merge(maps, flipped, [dict(flip_indices=FLIP)])
    dets = decoder.decode_maps(merged)
    order = torch.argsort(dets['bboxes'][0, :, 0])
    torch.testing.assert_close(dets['bboxes'][0, order], torch.tensor(BOXES), atol=1e-4,
                               rtol=0)
    torch.testing.assert_close(dets['keypoints'][0, order], torch.tensor(pts).float(),
                               atol=1e-4, rtol=0)
    # without the swap the eyes would trade places: the test can fail
    wrong = decoder.flip_merge(maps, flipped, [dict(flip_indices=list(range(5)))])
    assert not torch.allclose(decoder.decode_maps(wrong)['keypoints'], dets['keypoints'])


def test_same_faces_as_the_release_decode():
    """Every pixel above the threshold, then NMS at 0.3 (``+1`` widths): the release's
    ``CenterFace.decode`` (fixture) and this decoder with ``kernel=1`` plus the head's
    threshold and NMS give the same faces, scores and landmarks."""
    data = np.load(FIXTURE)
    maps = {k[len('map_'):]: torch.from_numpy(data[k]) for k in data.files
            if k.startswith('map_')}
    head = MODELS.build(dict(
        type='CenterNetHead', in_channels=4, feat_channels=0,
        branches=dict(heatmap=dict(), scale=dict(), offset=dict(), landmarks=dict()),
        codec=dict(type='CenterFaceCodec', kernel=1, topk=maps['heatmap'].numel()),
        test_cfg=dict(score_thr=float(data['threshold']),
                      nms=dict(type='nms', iou_threshold=0.3, offset=1))))
    res = head.decode_maps(maps, [dict(img_shape=(96, 128))], rescale=False)[0]
    dets, lms = data['dets'], data['landmarks']
    assert len(res) == len(dets) > 10
    order = np.argsort(-dets[:, 4], kind='stable')
    np.testing.assert_allclose(res.scores.numpy(), dets[order, 4], rtol=0, atol=1e-6)
    np.testing.assert_allclose(res.bboxes.numpy(), dets[order, :4], rtol=0, atol=1e-4)
    np.testing.assert_allclose(res.keypoints.numpy().reshape(-1, 10), lms[order], rtol=0,
                               atol=1e-4)
