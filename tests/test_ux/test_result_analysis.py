"""eval_metric.py, analyze_results.py and confusion_matrix.py on toy data: results built from
the ground truth (perfect, class-swapped, displaced, missing) whose outcome is known by
construction, and mmdet's own confusion-matrix code as a second oracle."""
import csv
import glob
import importlib.util
import os
import os.path as osp
import pickle
import runpy

import numpy as np
import pytest
import torch
from mmengine.config import Config

from test_engine.conftest import run_main
from test_tools.toy_workspace import ROOT

NUM_CLASSES = 4


def toy_ground_truth(cfg):
    from mmcenternet.evaluation.offline import build_test_dataset, ground_truth
    dataset = build_test_dataset(Config.fromfile(cfg))
    return dataset, [ground_truth(dataset, i) for i in range(len(dataset))]


def box_iou(a, b):
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda x: (x[:, 2:] - x[:, :2]).prod(-1)  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None] - inter)


def separate_boxes(gt):
    """Whether no two ground-truth boxes of an image overlap by IoU 0.5 (so that each
    prediction copied from one matches that one only)."""
    boxes, _, ignored = gt
    iou = box_iou(boxes, boxes)
    return not ignored.any() and (iou[~np.eye(len(boxes), dtype=bool)] < 0.5).all()


@pytest.fixture(scope='module')
def crafted(tmp_path_factory):
    """A toy config with 12 val images; results for 4 of them whose boxes are separate:
    the 1st perfect, the 2nd with every class shifted by one, the 3rd with every box moved
    off its object, the 4th empty; and the expected confusion matrix."""
    from test_tools.toy_workspace import make_workspace
    tmp = tmp_path_factory.mktemp('crafted')
    cfg = make_workspace(tmp, num_train=1, num_val=12)
    dataset, gts = toy_ground_truth(cfg)
    chosen = [i for i, gt in enumerate(gts) if separate_boxes(gt)][:4]
    assert len(chosen) == 4
    results, expected = [], np.zeros((NUM_CLASSES + 1, NUM_CLASSES + 1), np.int64)
    for case, index in enumerate(chosen):
        boxes, labels, _ = gts[index]
        pred_boxes, pred_labels = boxes.copy(), labels.copy()
        if case == 1:
            pred_labels = (labels + 1) % NUM_CLASSES
        if case == 2:
            pred_boxes = np.tile([[1000., 1000., 1010., 1010.]], (len(boxes), 1))
        if case == 3:
            pred_boxes, pred_labels = pred_boxes[:0], pred_labels[:0]
        for g, p in zip(labels, pred_labels):
            if case == 0:
                expected[g, g] += 1
            elif case == 1:
                expected[g, p] += 1
                expected[g, NUM_CLASSES] += 1  # no prediction of its own class
        if case in (2, 3):
            np.add.at(expected, (labels, NUM_CLASSES), 1)
        if case == 2:
            np.add.at(expected, (NUM_CLASSES, pred_labels), 1)
        info = dataset.get_data_info(index)
        results.append(dict(img_id=info['img_id'], img_path=info['img_path'],
                            ori_shape=(64, 64), pred_instances=dict(
                                bboxes=torch.from_numpy(pred_boxes),
                                scores=torch.full((len(pred_boxes), ), 0.9),
                                labels=torch.from_numpy(pred_labels))))
    path = tmp / 'crafted.pkl'
    with open(path, 'wb') as f:
        pickle.dump(results, f)
    names = [osp.basename(dataset.get_data_info(i)['img_path'])[:-4] for i in chosen]
    return cfg, path, results, expected, names


def test_confusion_matrix_counts(crafted, capsys, monkeypatch, tmp_path):
    cfg, path, _, expected, _ = crafted
    code, stdout, err = run_main('tools/analysis_tools/confusion_matrix.py',
                                 [cfg, path, tmp_path], capsys, monkeypatch)
    assert code == 0, err[-2000:]
    with open(tmp_path / 'confusion_matrix.csv') as f:
        rows = list(csv.reader(f))
    assert rows[0] == ['gt\\pred', 'circle', 'square', 'triangle', 'cross', 'background']
    np.testing.assert_array_equal(np.array([r[1:] for r in rows[1:]], int), expected)
    assert (tmp_path / 'confusion_matrix.png').read_bytes()[:4] == b'\x89PNG'


MMDET_TOOL = osp.join(osp.dirname(importlib.util.find_spec('mmdet').origin), '.mim', 'tools',
                      'analysis_tools', 'confusion_matrix.py')


@pytest.mark.skipif(not osp.isfile(MMDET_TOOL), reason="mmdet's tools are not installed")
def test_confusion_matrix_equals_mmdets(toy_model, tmp_path, capsys, monkeypatch):
    """On a real (random model) dump: mmdet's own counting, without NMS, agrees."""
    from mmcenternet.evaluation.offline import build_test_dataset, confusion_matrix
    _, cfg, ckpt = toy_model
    out = tmp_path / 'res.pkl'
    code, _, err = run_main('tools/test.py', [cfg, ckpt, '--out', out, '--work-dir',
                                              tmp_path], capsys, monkeypatch)
    assert code == 0, err[-2000:]
    with open(out, 'rb') as f:
        results = pickle.load(f)
    dataset = build_test_dataset(Config.fromfile(cfg))
    theirs = runpy.run_path(MMDET_TOOL)['calculate_confusion_matrix'](
        dataset, results, score_thr=0.05, nms_iou_thr=None, tp_iou_thr=0.3)
    ours = confusion_matrix(dataset, results, score_thr=0.05, tp_iou_thr=0.3)
    assert ours.sum() > 20
    np.testing.assert_array_equal(ours, theirs.astype(int))


def test_analyze_results_best_and_worst(crafted, capsys, monkeypatch, tmp_path):
    cfg, path, _, _, names = crafted
    code, stdout, err = run_main('tools/analysis_tools/analyze_results.py',
                                 [cfg, path, tmp_path, '--topk', 2], capsys, monkeypatch)
    assert code == 0, err[-2000:]
    with open(tmp_path / 'per_image_map.csv') as f:
        rows = list(csv.DictReader(f))
    ap = {osp.basename(r['img_path'])[:-4]: float(r['mAP']) for r in rows}
    assert ap == {names[0]: 1.0, names[1]: 0.0, names[2]: 0.0, names[3]: 0.0}
    assert sorted(os.listdir(tmp_path / 'good')) == [f'{names[0]}_1.000.png',
                                                     f'{names[1]}_0.000.png']
    assert sorted(os.listdir(tmp_path / 'bad')) == [f'{names[2]}_0.000.png',
                                                    f'{names[3]}_0.000.png']
    import cv2
    drawn = cv2.imread(str(tmp_path / 'good' / f'{names[0]}_1.000.png'))
    assert drawn.shape == (64, 128, 3)  # ground truth | prediction


def test_eval_metric_equals_test_tool(toy_model, crafted, tmp_path):
    """The offline metrics of a dump are the test tool's; the crafted dump scores what its
    construction says (only the 1st image's boxes are found: AP50 = their share)."""
    _, cfg, ckpt = toy_model
    test_main = runpy.run_path(osp.join(ROOT, 'tools/test.py'))['main']
    eval_main = runpy.run_path(osp.join(ROOT, 'tools/analysis_tools/eval_metric.py'))['main']
    out = tmp_path / 'res.pkl'
    online = test_main([cfg, str(ckpt), '--out', str(out), '--work-dir', str(tmp_path)])
    offline = eval_main([cfg, str(out), '--eval', 'bbox'])
    assert offline == pytest.approx(online)
    crafted_cfg, path, results, _, _ = crafted
    scores = eval_main([crafted_cfg, str(path)])
    assert 0 < scores['coco/bbox_mAP_50'] < 1


def test_results_of_another_dataset(crafted, capsys, monkeypatch, tmp_path):
    cfg, _, results, _, _ = crafted
    results = [dict(r, img_id=r['img_id'] + 100) for r in results]
    bad = tmp_path / 'other.pkl'
    with open(bad, 'wb') as f:
        pickle.dump(results, f)
    code, _, err = run_main('tools/analysis_tools/confusion_matrix.py', [cfg, bad, tmp_path],
                            capsys, monkeypatch)
    assert code == 2, err
    assert f'error: {bad}: 4 results are of images that the test dataset does not have' in err
    assert not glob.glob(str(tmp_path / '*.png'))
