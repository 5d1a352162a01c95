"""WIDER FACE evaluation: cross-check with the widely used Python evaluation on fixed
predictions (fixtures from tests/data/make_widerface_fixtures.py), a case worked by hand,
the metric end to end, its errors, and the landmark error metric."""
import os.path as osp
import shutil

import numpy as np
import pytest
import torch

from mmcenternet.evaluation import FaceLandmarkMetric, WiderFaceMetric
from mmcenternet.evaluation.functional import (SETTINGS, WiderGroundTruth,
                                               evaluate_widerface,
                                               load_wider_ground_truth,
                                               write_wider_ground_truth)

DATA = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data')
GT_DIR = osp.join(DATA, 'widerface_gt')


def fixture_predictions():
    data = np.load(osp.join(DATA, 'widerface_eval.npz'))
    preds = {(str(e), str(n)): data[f'pred_{i}']
             for i, (e, n) in enumerate(zip(data['events'], data['names']))}
    return preds, data['aps']


def test_same_ap_as_the_python_evaluation():
    preds, reference = fixture_predictions()
    aps = evaluate_widerface(preds, load_wider_ground_truth(GT_DIR))
    assert 0.2 < reference.min() and reference.max() < 0.9  # neither trivial nor perfect
    np.testing.assert_allclose([aps[s] for s in SETTINGS], reference, rtol=0, atol=1e-12)
    # detections are sorted by score inside (the official read_pred.m): order is irrelevant
    shuffled = {k: v[::-1] for k, v in preds.items()}
    aps2 = evaluate_widerface(shuffled, load_wider_ground_truth(GT_DIR))
    assert aps2 == aps


def test_a_case_worked_by_hand(tmp_path):
    """Faces A and C count, B does not. Detections (score): A 0.9, a false positive 0.8,
    B 0.75, C 0.7 -> normalised 1, 0.5, 0.25, 0. Down to 0.5: 1 proposal, 1 face (P 1,
    R 0.5); to 0.25: 2 proposals (P 0.5); to 0 (B's match is no proposal): still 2; at 0:
    3 proposals, 2 faces (P 2/3, R 1). AP = 0.5 * 1 + 0.5 * 2/3 = 5/6."""
    boxes = np.array([[0, 0, 20, 20], [100, 100, 20, 20], [200, 0, 30, 30]], np.float64)
    keep = {s: [[np.array([0, 2])]] for s in SETTINGS}
    gt = WiderGroundTruth(['0--Ev'], [['im']], [[boxes]], keep)
    write_wider_ground_truth(str(tmp_path), gt)
    dets = np.array([[1, 0, 20, 20, 0.9], [400, 400, 20, 20, 0.8], [100, 101, 20, 20, 0.75],
                     [200, 1, 30, 30, 0.7]], np.float64)
    aps = evaluate_widerface({('0--Ev', 'im'): dets}, load_wider_ground_truth(str(tmp_path)))
    assert aps == pytest.approx({s: 5 / 6 for s in SETTINGS}, abs=1e-12)
    # a duplicate on A is a false positive, not a second recall
    dup = np.concatenate([dets, [[0, 1, 20, 20, 0.85]]])
    aps = evaluate_widerface({('0--Ev', 'im'): dup}, gt)
    assert aps['hard'] < 5 / 6


def test_ground_truth_round_trip_and_errors(tmp_path):
    gt = load_wider_ground_truth(GT_DIR)
    write_wider_ground_truth(str(tmp_path), gt)
    again = load_wider_ground_truth(str(tmp_path))
    assert again.events == gt.events and again.files == gt.files
    for s in SETTINGS:
        for a, b in zip(again.keep[s], gt.keep[s]):
            assert all(np.array_equal(x, y) for x, y in zip(a, b))
    (tmp_path / 'wider_hard_val.mat').unlink()
    with pytest.raises(FileNotFoundError, match='wider_hard_val.mat'):
        load_wider_ground_truth(str(tmp_path))
    shutil.copy(osp.join(GT_DIR, 'wider_face_val.mat'), tmp_path / 'wider_hard_val.mat')
    with pytest.raises(match="wider_hard_val.mat: no variable 'gt_list'"):
        load_wider_ground_truth(str(tmp_path))


def _samples(preds):
    out = []
    for (event, name), dets in preds.items():
        xyxy = np.concatenate([dets[:, :2], dets[:, :2] + dets[:, 2:4]], 1)
        out.append(dict(img_path=f'/data/WIDER_val/images/{event}/{name}.jpg',
                        pred_instances=dict(bboxes=torch.from_numpy(xyxy),
                                            scores=torch.from_numpy(dets[:, 4]))))
    return out


def test_metric_end_to_end_and_submission_files(tmp_path):
    preds, reference = fixture_predictions()
    metric = WiderFaceMetric(gt_dir=GT_DIR, outfile_dir=str(tmp_path / 'sub'))
    metric.process({}, _samples(preds))
    res = metric.compute_metrics(metric.results)
    np.testing.assert_allclose([res[s] for s in SETTINGS], reference, atol=1e-4)
    event, name = sorted(preds)[0]
    lines = (tmp_path / 'sub' / event / f'{name}.txt').read_text().splitlines()
    assert lines[0] == name and int(lines[1]) == len(preds[(event, name)])
    scores = [float(line.split()[4]) for line in lines[2:]]
    assert scores == sorted(scores, reverse=True)


def test_metric_refuses_images_outside_the_ground_truth():
    metric = WiderFaceMetric(gt_dir=GT_DIR)
    metric.process({}, _samples({('9--Other', 'x'): np.zeros((1, 5))}))
    with pytest.raises(ValueError, match='none of the 1 test images'):
        metric.compute_metrics(metric.results)
    with pytest.raises(KeyError):
        WiderFaceMetric(gt_dir=GT_DIR, metric='bbox')


class _Faces:
    """A dataset stand-in with ``get_data_info``."""

    def __init__(self, infos):
        self.infos = infos

    def __len__(self):
        return len(self.infos)

    def get_data_info(self, i):
        return self.infos[i]


def test_landmark_error_by_hand():
    """A 10 x 40 face (sqrt area 20) whose five landmarks are all predicted 3, 4 px off:
    error 5 / 20 = 0.25; a face without landmarks is not counted; a face whose only
    prediction overlaps it below IoU 0.5 is unmatched."""
    pts = np.array([[12., 10.], [17., 10.], [15., 20.], [12., 30.], [18., 30.]])
    face = dict(bbox=[10., 5., 20., 45.], keypoints=pts, keypoints_visible=np.full(5, 2.))
    bare = dict(bbox=[60., 5., 80., 45.], keypoints=np.zeros((5, 2)),
                keypoints_visible=np.zeros(5))
    far = dict(bbox=[100., 5., 120., 45.], keypoints=pts + 90, keypoints_visible=np.ones(5))
    metric = FaceLandmarkMetric()
    metric.bind_dataset(_Faces([dict(img_id=7, instances=[face, bare, far])]))
    boxes = torch.tensor([[10., 5., 20., 45.], [60., 5., 80., 45.], [112., 5., 130., 45.]])
    kps = torch.stack([torch.from_numpy(pts + [3, 4]), torch.zeros(5, 2),
                       torch.from_numpy(pts + 90)]).float()
    metric.process({}, [dict(img_id=7, pred_instances=dict(
        bboxes=boxes, scores=torch.tensor([0.9, 0.8, 0.7]), keypoints=kps))])
    res = metric.compute_metrics(metric.results)
    assert res['nme'] == pytest.approx(0.25, abs=1e-4)
    assert res['matched'] == pytest.approx(0.5)  # 1 of the 2 labelled faces
    with pytest.raises(RuntimeError, match='bind_dataset'):
        FaceLandmarkMetric().compute_metrics([])
