import pytest
import torch
from mmengine.structures import InstanceData

from mmcenternet.models.task_modules import CTDetDecoder, CTDetEncoder, gaussian_radius
from mmcenternet.registry import TASK_UTILS


def test_builds_from_config():
    enc = TASK_UTILS.build(dict(type='CTDetEncoder', num_classes=2, radius_mode='corrected'))
    assert isinstance(enc, CTDetEncoder) and enc.radius_mode == 'corrected'
    with pytest.raises(ValueError, match='radius_mode'):
        CTDetEncoder(num_classes=2, radius_mode='bogus')


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
    enc = CTDetEncoder(num_classes=3, stride=4, max_objs=4)
    gt = InstanceData(bboxes=torch.tensor([[8., 12., 40., 36.]]), labels=torch.tensor([2]))
    t = enc.encode([gt], (16, 16))
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
    enc = CTDetEncoder(num_classes=4, stride=4)
    gts = []
    for n in (5, 0, 9):
        xy = torch.rand(n, 2) * 100
        wh = torch.rand(n, 2) * 60 + 1
        gts.append(InstanceData(bboxes=torch.cat([xy, xy + wh], 1),
                                labels=torch.randint(0, 4, (n, ))))
    batch = enc.encode(gts, (32, 32))
    for i, gt in enumerate(gts):
        single = enc.encode([gt], (32, 32))
        for key in ('heatmap', 'wh', 'offset', 'indices', 'mask'):
            assert torch.equal(batch[key][i], single[key][0]), key


def test_max_objs_and_degenerate_boxes():
    enc = CTDetEncoder(num_classes=1, stride=4, max_objs=2)
    boxes = torch.tensor([[200., 200., 240., 240.],  # fully outside a 16x16 map (64 px)
                          [4., 4., 20., 20.], [30., 30., 50., 50.]])
    t = enc.encode([InstanceData(bboxes=boxes, labels=torch.zeros(3, dtype=torch.long))],
                   (16, 16))
    assert t['mask'].tolist() == [[0, 1]]  # slot 0 has no area after clipping; 3rd dropped
    assert (t['heatmap'] == 1).sum() == 1


def test_round_trip_decode_recovers_boxes():
    enc = CTDetEncoder(num_classes=2, stride=4)
    boxes = torch.tensor([[10.4, 20.2, 60.8, 50.6], [70., 10., 90., 100.]])
    labels = torch.tensor([0, 1])
    t = enc.encode([InstanceData(bboxes=boxes, labels=labels)], (32, 32))
    wh_map = torch.zeros(1, 2, 32, 32)
    off_map = torch.zeros(1, 2, 32, 32)
    for k in range(2):
        idx = t['indices'][0, k]
        wh_map.view(1, 2, -1)[0, :, idx] = t['wh'][0, k]
        off_map.view(1, 2, -1)[0, :, idx] = t['offset'][0, k]
    dets = CTDetDecoder(topk=2, stride=4).decode(t['heatmap'], wh_map, off_map)
    order = dets['labels'][0].argsort()
    torch.testing.assert_close(dets['bboxes'][0][order], boxes, atol=1e-4, rtol=0)
    assert dets['scores'][0].tolist() == [1.0, 1.0]
