"""CTDetCodec: targets, decoding, round trip, the branches it asks for, dataset checks.

(Value-for-value agreement with the official code: tests/test_models/test_official_fidelity.py.)
"""
import pytest
import torch
from mmengine.structures import InstanceData

from mmcenternet.models.task_modules import CTDetCodec, gaussian_radius, local_peaks, topk_peaks
from mmcenternet.registry import TASK_UTILS
from mmcenternet.errors import ConfigError


def test_builds_from_config():
    codec = TASK_UTILS.build(dict(type='CTDetCodec', num_classes=2, radius_mode='corrected',
                                  topk=7, kernel=5, stride=8))
    assert isinstance(codec, CTDetCodec) and codec.radius_mode == 'corrected'
    assert (codec.topk, codec.kernel, codec.stride) == (7, 5, 8)
    with pytest.raises(ValueError, match='radius_mode'):
        CTDetCodec(num_classes=2, radius_mode='bogus')


def test_branches_activations_and_official_heads():
    codec = CTDetCodec(num_classes=3)
    assert codec.branch_channels == dict(heatmap=3, wh=2, offset=2)
    assert list(codec.branch_channels) == ['heatmap', 'wh', 'offset']  # the build order
    assert codec.activations == dict(heatmap='sigmoid')
    assert CTDetCodec.official_heads == {'hm': 'heatmap', 'wh': 'wh', 'reg': 'offset'}
    maps = codec.activate(dict(heatmap=torch.zeros(1, 3, 2, 2), wh=torch.ones(1, 2, 2, 2)))
    assert bool((maps['heatmap'] == 0.5).all()) and bool((maps['wh'] == 1).all())


def test_check_dataset_names_the_class_counts():
    codec = CTDetCodec(num_classes=3)
    codec.check_dataset(dict(classes=('a', 'b', 'c')), 'train_dataloader.dataset')
    codec.check_dataset(dict(), 'train_dataloader.dataset')  # nothing to check
    with pytest.raises(ConfigError, match=r'train_dataloader.dataset has 2 classes \(a, b\) '
                       r'but the codec CTDetCodec has num_classes=3.*codec.num_classes'):
        codec.check_dataset(dict(classes=('a', 'b')), 'train_dataloader.dataset')


def test_radius_modes_differ_and_corrected_is_smaller():
    h = torch.tensor([10., 40., 100.])
    w = torch.tensor([10., 20., 50.])
    official = gaussian_radius(h, w, 0.7, 'official')
    corrected = gaussian_radius(h, w, 0.7, 'corrected')
    assert (corrected < official).all()  # the official roots are not divided by 2a
    # corrected radius: a box shifted diagonally by r keeps IoU >= min_overlap (case 1 root)
    r = gaussian_radius(torch.tensor([20.]), torch.tensor([20.]), 0.7, 'corrected')
    inter = (20 - r) ** 2
    iou = inter / (2 * 400 - inter)
    assert float(iou) >= 0.7 - 1e-6


def test_single_object_peak_and_sparse_targets():
    codec = CTDetCodec(num_classes=3, stride=4, max_objs=4)
    gt = InstanceData(bboxes=torch.tensor([[8., 12., 40., 36.]]), labels=torch.tensor([2]))
    t = codec.encode([gt], (16, 16))
    hm = t['heatmap']
    assert hm.shape == (1, 3, 16, 16)
    assert hm[0, :2].abs().sum() == 0
    # center (24, 24)/4 = (6, 6)
    assert hm[0, 2, 6, 6] == 1 and hm.max() == 1 and (hm == 1).sum() == 1
    assert torch.equal(t['wh'][0, 0], torch.tensor([8., 6.]))
    assert torch.equal(t['indices'][0, 0], torch.tensor(6 * 16 + 6))
    assert t['mask'].tolist() == [[1, 0, 0, 0]]


def test_batch_vectorised_equals_one_by_one():
    torch.manual_seed(0)
    codec = CTDetCodec(num_classes=4, stride=4)
    gts = []
    for n in (5, 0, 9):
        xy = torch.rand(n, 2) * 100
        wh = torch.rand(n, 2) * 60 + 1
        gts.append(InstanceData(bboxes=torch.cat([xy, xy + wh], 1),
                                labels=torch.randint(0, 4, (n, ))))
    batch = codec.encode(gts, (32, 32))
    for i, gt in enumerate(gts):
        single = codec.encode([gt], (32, 32))
        for key in ('heatmap', 'wh', 'offset', 'indices', 'mask'):
            assert torch.equal(batch[key][i], single[key][0]), key


def test_max_objs_and_degenerate_boxes():
    codec = CTDetCodec(num_classes=1, stride=4, max_objs=2)
    boxes = torch.tensor([[200., 200., 240., 240.],  # fully outside a 16x16 map (64 px)
                          [4., 4., 20., 20.], [30., 30., 50., 50.]])
    t = codec.encode([InstanceData(bboxes=boxes, labels=torch.zeros(3, dtype=torch.long))],
                   (16, 16))
    assert t['mask'].tolist() == [[0, 1]]  # slot 0 has no area after clipping; 3rd dropped
    assert (t['heatmap'] == 1).sum() == 1


def test_round_trip_decode_recovers_boxes():
    """decode(encode(gt)) gives the gt boxes back (inside the map: exactly)."""
    codec = CTDetCodec(num_classes=2, stride=4, topk=2)
    boxes = torch.tensor([[10.4, 20.2, 60.8, 50.6], [70., 10., 90., 100.]])
    labels = torch.tensor([0, 1])
    t = codec.encode([InstanceData(bboxes=boxes, labels=labels)], (32, 32))
    wh_map = torch.zeros(1, 2, 32, 32)
    off_map = torch.zeros(1, 2, 32, 32)
    for k in range(2):
        idx = t['indices'][0, k]
        wh_map.view(1, 2, -1)[0, :, idx] = t['wh'][0, k]
        off_map.view(1, 2, -1)[0, :, idx] = t['offset'][0, k]
    dets = codec.decode_maps(dict(heatmap=t['heatmap'], wh=wh_map, offset=off_map))
    order = dets['labels'][0].argsort()
    torch.testing.assert_close(dets['bboxes'][0][order], boxes, atol=1e-4, rtol=0)
    assert dets['scores'][0].tolist() == [1.0, 1.0]


def test_local_peaks_suppresses_neighbours():
    heat = torch.zeros(1, 1, 5, 5)
    heat[0, 0, 2, 2] = 0.9
    heat[0, 0, 2, 3] = 0.8  # neighbour of a higher peak
    heat[0, 0, 0, 0] = 0.5
    peaks = local_peaks(heat)
    assert peaks[0, 0, 2, 3] == 0 and peaks[0, 0, 2, 2] == 0.9 and peaks[0, 0, 0, 0] == 0.5


def test_topk_across_classes_and_positions():
    heat = torch.zeros(2, 3, 4, 6)
    heat[0, 2, 1, 5] = 0.75
    heat[0, 0, 3, 0] = 0.875
    heat[1, 1, 0, 2] = 0.4
    scores, labels, pixel, ys, xs = topk_peaks(heat, 2)
    assert scores[0].tolist() == [0.875, 0.75]
    assert labels[0].tolist() == [0, 2] and ys[0].tolist() == [3, 1] and xs[0].tolist() == [0, 5]
    assert pixel[0].tolist() == [3 * 6 + 0, 1 * 6 + 5]
    assert labels[1, 0] == 1


def test_decode_boxes_and_topk_limit():
    heat = torch.zeros(1, 1, 8, 8)
    heat[0, 0, 4, 2] = 0.95
    wh = torch.zeros(1, 2, 8, 8)
    wh[0, :, 4, 2] = torch.tensor([2., 4.])
    off = torch.zeros(1, 2, 8, 8)
    off[0, :, 4, 2] = torch.tensor([0.5, 0.25])
    dets = CTDetCodec(1, topk=1000, stride=4).decode(heat, wh, off)
    assert dets['bboxes'].shape == (1, 64, 4)  # K capped at C*H*W
    torch.testing.assert_close(dets['bboxes'][0, 0], torch.tensor([6., 9., 14., 25.]))
    no_off = CTDetCodec(1, topk=1, stride=1).decode_maps(dict(heatmap=heat, wh=wh))
    torch.testing.assert_close(no_off['bboxes'][0, 0], torch.tensor([1.5, 2.5, 3.5, 6.5]))
