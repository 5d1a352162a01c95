"""TripletCodec: round trip, caps, central regions, branches.

Value-for-value agreement with Duan's code is in tests/test_models/test_duan_triplet_fidelity.py.
"""
import pytest
import torch
from mmengine.structures import InstanceData

from mmcenternet.models.task_modules.codecs.triplet import central_region
from mmcenternet.registry import TASK_UTILS


def _codec(**kwargs):
    return TASK_UTILS.build(dict(type='TripletCodec', num_classes=2, **kwargs))


def test_branches_in_the_order_of_the_head():
    codec = _codec()
    assert list(codec.branch_channels.items()) == [
        ('tl_heatmap', 2), ('br_heatmap', 2), ('ct_heatmap', 2), ('tl_embedding', 1),
        ('br_embedding', 1), ('tl_offset', 2), ('br_offset', 2), ('ct_offset', 2)]
    assert codec.activations == dict(tl_heatmap='sigmoid', br_heatmap='sigmoid',
                                     ct_heatmap='sigmoid')


def maps_from_targets(targets, num_classes=2):
    """Ideal network outputs for the targets: gaussian heatmaps, offsets at the keypoints,
    embedding ``2k + 1`` at both corners of object ``k``."""
    num_imgs, _, height, width = targets['tl_heatmap'].shape
    maps = {f'{k}_heatmap': targets[f'{k}_heatmap'] for k in ('tl', 'br', 'ct')}
    mask = targets['mask'].bool()
    img, slot = mask.nonzero(as_tuple=True)
    for kp in ('tl', 'br', 'ct'):
        offset = torch.zeros(num_imgs, 2, height * width)
        pixel = targets[f'{kp}_indices'][img, slot]
        offset[img, :, pixel] = targets[f'{kp}_offset'][img, slot]
        maps[f'{kp}_offset'] = offset.view(num_imgs, 2, height, width)
    for kp in ('tl', 'br'):
        tags = torch.zeros(num_imgs, 1, height * width)
        tags[img, 0, targets[f'{kp}_indices'][img, slot]] = 2. * slot + 1
        maps[f'{kp}_embedding'] = tags.view(num_imgs, 1, height, width)
    return maps


@pytest.mark.parametrize('input_size,feat_size', [(128, 32), (511, 128)])
def test_decode_of_encode_recovers_boxes(input_size, feat_size):
    gt = [InstanceData(bboxes=torch.tensor([[10.3, 20.7, 60.2, 50.9], [70., 8., 120.5, 90.],
                                            [-12., 90., 30., 140.]]) * input_size / 128,
                       labels=torch.tensor([0, 1, 1])),
          InstanceData(bboxes=torch.tensor([[5., 5., 100., 110.]]) * input_size / 128,
                       labels=torch.tensor([1]))]
    metas = [dict(batch_input_shape=(input_size, input_size),
                  img_shape=(input_size, input_size)) for _ in gt]
    decoder = _codec(topk=20, num_dets=100)
    targets = decoder.encode(gt, (feat_size, feat_size), metas)
    dets = decoder.decode_maps(maps_from_targets(targets), metas)
    scores = decoder.rescore(dets)
    for i, g in enumerate(gt):
        expected = g.bboxes.clamp(0, input_size - 1)
        top = scores[i].topk(len(expected)).indices
        assert torch.allclose(scores[i][top], torch.ones(len(expected)))  # (2 * 1 + 1) / 3
        found = dets['bboxes'][i][top]
        # every gt box (clipped to the image) is decoded, to float precision
        err = (found[:, None] - expected[None]).abs().amax(-1).amin(0)
        assert err.max() < 1e-3 * input_size / 128
        assert set(dets['labels'][i][top].tolist()) == set(g.labels.tolist())


def test_encoder_falls_back_to_stride_without_metas():
    gt = [InstanceData(bboxes=torch.tensor([[8., 8., 40., 24.]]), labels=torch.tensor([1]))]
    targets = _codec(stride=4).encode(gt, (16, 16))
    assert targets['tl_indices'][0, 0] == 2 * 16 + 2
    assert targets['br_indices'][0, 0] == 6 * 16 + 10
    assert targets['ct_indices'][0, 0] == 4 * 16 + 6
    assert targets['tl_heatmap'][0, 1, 2, 2] == 1 and targets['tl_heatmap'][0, 0].sum() == 0


def test_encoder_caps_objects_with_a_counted_warning():
    boxes = torch.tensor([[4. * i, 4., 4. * i + 20, 30.] for i in range(5)])
    gt = [InstanceData(bboxes=boxes, labels=torch.zeros(5, dtype=torch.long))]
    with pytest.warns(UserWarning, match=r'2 object\(s\) beyond max_objs=3'):
        targets = _codec(max_objs=3).encode(gt, (16, 16))
    assert targets['mask'].sum() == 3


def test_encoder_drops_boxes_outside_the_image_and_compacts_slots():
    gt = [InstanceData(bboxes=torch.tensor([[130., 10., 160., 40.], [8., 8., 40., 24.]]),
                       labels=torch.tensor([0, 1]))]
    metas = [dict(batch_input_shape=(128, 128), img_shape=(128, 128))]
    targets = _codec().encode(gt, (32, 32), metas)
    assert targets['mask'][0].tolist()[:2] == [1, 0]
    assert targets['tl_indices'][0, 0] == 2 * 32 + 2
    assert targets['tl_heatmap'][0, 0].sum() == 0


def test_empty_images_encode_and_decode():
    gt = [InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))]
    targets = _codec().encode(gt, (8, 8))
    assert targets['mask'].sum() == 0 and targets['tl_heatmap'].sum() == 0
    maps = maps_from_targets(targets)
    dets = _codec(topk=5).decode_maps(maps)
    assert dets['bboxes'].shape == (1, 25, 4)


# ----------------------------------------------------------------------------- central region
def _dets(boxes, labels, centers, center_labels, scores=None, center_scores=None):
    n, k = len(boxes), len(centers)
    return dict(
        bboxes=torch.tensor(boxes, dtype=torch.float32)[None],
        scores=torch.tensor(scores or [0.8] * n)[None],
        labels=torch.tensor(labels)[None],
        centers=torch.tensor(centers, dtype=torch.float32)[None],
        center_scores=torch.tensor(center_scores or [0.5] * k)[None],
        center_labels=torch.tensor(center_labels)[None])


def test_central_region_formula():
    box = torch.tensor([[0., 0., 90., 60.]])
    n3 = central_region(box, torch.tensor(3.))
    n5 = central_region(box, torch.tensor(5.))
    assert n3.tolist() == [[30., 20., 60., 40.]]  # ((n+1) tl + (n-1) br) / 2n
    assert n5.tolist() == [[36., 24., 54., 36.]]


def test_rescore_small_box_uses_n3_and_strict_bounds():
    box = [0., 0., 90., 90.]  # area 8100 <= 150^2: n = 3, region [30, 60]^2
    decoder = _codec()
    inside = decoder.rescore(_dets([box], [0], [[31., 59.]], [0]))
    on_edge = decoder.rescore(_dets([box], [0], [[30., 45.]], [0]))
    other_class = decoder.rescore(_dets([box], [0], [[45., 45.]], [1]))
    assert inside.item() == pytest.approx((2 * 0.8 + 0.5) / 3)
    assert on_edge.item() == -1 and other_class.item() == -1


def test_rescore_large_box_uses_n5():
    box = [0., 0., 300., 300.]  # area 90000 > 150^2: n = 5, region [120, 180]^2
    decoder = _codec()
    in_n3_only = decoder.rescore(_dets([box], [0], [[110., 150.]], [0]))
    in_n5 = decoder.rescore(_dets([box], [0], [[121., 179.]], [0]))
    assert in_n3_only.item() == -1
    assert in_n5.item() == pytest.approx((2 * 0.8 + 0.5) / 3)
    # the area threshold is an option (Duan: 22500 in original-image pixels)
    assert _codec(area_thr=1e6).rescore(
        _dets([box], [0], [[110., 150.]], [0])).item() > 0


def test_rescore_takes_the_first_matching_center_and_keeps_rejections():
    box = [0., 0., 90., 90.]
    dets = _dets([box, box], [0, 0], [[40., 40.], [50., 50.]], [0, 0], scores=[0.8, -1.],
                 center_scores=[0.3, 0.9])
    scores = _codec().rescore(dets)[0]
    assert scores[0].item() == pytest.approx((2 * 0.8 + 0.3) / 3)
    assert scores[1].item() == -1
