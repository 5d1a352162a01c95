import torch

from mmcenternet.models.task_modules import CTDetDecoder
from mmcenternet.models.task_modules.decoders import local_peaks, topk_peaks
from mmcenternet.registry import TASK_UTILS


def test_builds_from_config():
    dec = TASK_UTILS.build(dict(type='CTDetDecoder', topk=7, kernel=5, stride=8))
    assert (dec.topk, dec.kernel, dec.stride) == (7, 5, 8)


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
    dets = CTDetDecoder(topk=1000, stride=4).decode(heat, wh, off)
    assert dets['bboxes'].shape == (1, 64, 4)  # K capped at C*H*W
    torch.testing.assert_close(dets['bboxes'][0, 0], torch.tensor([6., 9., 14., 25.]))
    no_off = CTDetDecoder(topk=1, stride=1).decode(heat, wh, None)
    torch.testing.assert_close(no_off['bboxes'][0, 0], torch.tensor([1.5, 2.5, 3.5, 6.5]))
