"""CocoKeypointMetric: OKS AP from pycocotools with the metainfo's sigmas."""
import json

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmcenternet.registry import METRICS
from mmcenternet.utils.eval_options import apply_eval_option, supported_metrics

META = dict(classes=('person', 'dog'), keypoint_classes=('person', ),
            keypoint_names=('c', 'l', 'r'), flip_indices=[0, 2, 1], sigmas=[0.05, 0.05, 0.05])
PEOPLE = {  # image id -> joints (x, y) of each person (all labelled)
    1: [[[20, 10], [26, 20], [14, 20]], [[60, 12], [70, 30], [52, 28]]],
    2: [[[30, 30], [40, 50], [22, 48]]],
}


def _write_gt(tmp_path):
    anns = []
    for img_id, people in PEOPLE.items():
        for joints in people:
            joints = np.array(joints, np.float64)
            x0, y0 = joints.min(0) - 4
            x1, y1 = joints.max(0) + 4
            kps = np.concatenate([joints, np.full((3, 1), 2.)], 1).ravel().tolist()
            anns.append(dict(id=len(anns) + 1, image_id=img_id, category_id=1, iscrowd=0,
                             bbox=[x0, y0, x1 - x0, y1 - y0], area=(x1 - x0) * (y1 - y0) / 2,
                             keypoints=kps))  # no num_keypoints: the metric fills it in
    anns.append(dict(id=99, image_id=1, category_id=2, iscrowd=0, bbox=[80, 5, 10, 10],
                     area=100.))
    data = dict(images=[dict(id=i, file_name=f'{i}.png', width=100, height=80)
                        for i in PEOPLE],
                annotations=anns, categories=[dict(id=1, name='person'),
                                              dict(id=2, name='dog')])
    path = tmp_path / 'gt.json'
    path.write_text(json.dumps(data))
    return str(path)


def _evaluate(ann_file, shift=0.0, meta=META, dog_preds=True):
    metric = METRICS.build(dict(type='CocoKeypointMetric', ann_file=ann_file))
    metric.dataset_meta = meta
    samples = []
    for img_id, people in PEOPLE.items():
        kpts = torch.tensor(people, dtype=torch.float32) + shift
        labels = [0] * len(people)
        scores = [0.9] * len(people)
        if dog_preds:  # a confident "dog" with joints far away: not a person, not evaluated
            kpts = torch.cat([kpts, torch.zeros(1, 3, 2)])
            labels.append(1)
            scores.append(0.99)
        samples.append(dict(img_id=img_id, pred_instances=dict(
            keypoints=kpts, scores=torch.tensor(scores), labels=torch.tensor(labels))))
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


def test_perfect_joints_give_ap_one(tmp_path):
    result = _evaluate(_write_gt(tmp_path))
    assert result['keypoints_mAP'] == pytest.approx(1.0)
    assert result['keypoints_AR'] == pytest.approx(1.0)


def test_sigmas_come_from_the_metainfo(tmp_path):
    ann = _write_gt(tmp_path)
    tight = _evaluate(ann, shift=1.5)['keypoints_mAP']
    loose = _evaluate(ann, shift=1.5, meta=dict(META, sigmas=[0.3, 0.3, 0.3]))['keypoints_mAP']
    assert tight < 0.5 and loose == pytest.approx(1.0)


def test_errors(tmp_path):
    ann = _write_gt(tmp_path)
    with pytest.raises(ValueError, match='has \\[3\\] keypoints per person but dataset '
                       'metainfo.sigmas has 2'):
        _evaluate(ann, meta=dict(META, sigmas=[0.1, 0.1]))
    with pytest.raises(ValueError, match=r"keypoint classes \['cat'\]"):
        _evaluate(ann, meta=dict(META, classes=('cat', ), keypoint_classes=('cat', )))
    with pytest.raises(KeyError, match='must be "keypoints"'):
        METRICS.build(dict(type='CocoKeypointMetric', ann_file=ann, metric='bbox'))


def test_eval_option_keypoints_and_bbox():
    cfg = Config.fromfile('configs/centernet_pose/'
                          'centernet_dla34-dcnv2_8xb16-crop512-140e_coco-keypoints.py')
    assert supported_metrics(cfg.test_evaluator)[:2] == ['keypoints', 'bbox']
    apply_eval_option(cfg, ['keypoints'], 'pose.py')
    assert cfg.test_evaluator['type'] == 'CocoKeypointMetric'
    cfg = Config.fromfile('configs/centernet_pose/'
                          'centernet_dla34-dcnv2_8xb16-crop512-140e_coco-keypoints.py')
    apply_eval_option(cfg, ['keypoints', 'bbox'], 'pose.py')
    assert [e['type'] for e in cfg.test_evaluator] == ['CocoKeypointMetric', 'mmdet.CocoMetric']
