"""The COCO metric scores against exactly the boxes the val dataset kept.

Before: the metric read the raw val JSON, so boxes the dataset dropped (degenerate,
outside the image) or clipped still counted as ground truth, and the dataset's own boxes
fed back as predictions scored below 1.0.
"""
import copy
import json
import logging

import torch
from mmengine.logging import MMLogger

from mmcenternet.datasets import CenterNetCocoDataset
from mmcenternet.engine.config import load_config
from mmcenternet.engine.launch import build_runner, set_run_options
from test_tools.toy_workspace import make_workspace

EXTRA_BOXES = [
    [10, 10, 0, 8],        # zero width: dropped
    [70, 5, 10, 10],       # fully outside the 64x64 image: dropped
    [-6, 20, 16, 12],      # partly outside: clipped to [0, 20, 10, 32]
    [54, 50, 20, 20],      # partly outside: clipped to [54, 50, 64, 64]
]


def _messy_val_set(tmp_path):
    cfg = make_workspace(tmp_path, num_train=4, num_val=4, epochs=1)
    path = tmp_path / 'toy' / 'annotations' / 'instances_val.json'
    data = json.loads(path.read_text())
    next_id = max(a['id'] for a in data['annotations']) + 1
    for i, box in enumerate(EXTRA_BOXES):
        data['annotations'].append(dict(id=next_id + i, image_id=data['images'][i]['id'],
                                        category_id=1, bbox=box, area=box[2] * box[3],
                                        iscrowd=0))
    # a segment area (smaller than its box), which COCO's area ranges use
    data['annotations'][0]['area'] = 100.0
    path.write_text(json.dumps(data))
    return cfg, data


class _LogLines(logging.Handler):

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_dataset_boxes_as_predictions_score_one(tmp_path):
    cfg_path, raw = _messy_val_set(tmp_path)
    cfg = set_run_options(load_config(cfg_path), cfg_path, str(tmp_path / 'work'))
    runner = build_runner(cfg, 'none')
    logs = _LogLines()
    MMLogger.get_current_instance().addHandler(logs)
    try:
        loop = runner.test_loop  # built here: the metric meets its dataset
        dataset = loop.dataloader.dataset
        samples = []
        for index in range(len(dataset)):
            info = dataset.get_data_info(index)
            boxes = torch.tensor([i['bbox'] for i in info['instances']]).reshape(-1, 4)
            labels = torch.tensor([i['bbox_label'] for i in info['instances']],
                                  dtype=torch.long)
            samples.append(dict(img_id=info['img_id'], ori_shape=(info['height'],
                                                                  info['width']),
                                pred_instances=dict(bboxes=boxes, labels=labels,
                                                    scores=torch.ones(len(labels)))))
        loop.evaluator.process(data_samples=samples, data_batch=None)
        metrics = loop.evaluator.evaluate(len(dataset))
    finally:
        MMLogger.get_current_instance().removeHandler(logs)
    kept = sum(len(dataset.get_data_info(i)['instances']) for i in range(len(dataset)))
    assert kept == len(raw['annotations']) - 2  # two dropped, two clipped
    assert metrics['coco/bbox_mAP'] == 1.0 and metrics['coco/bbox_mAP_50'] == 1.0
    said = [line for line in logs.lines if 'evaluating against' in line]
    assert said and said[0].startswith(
        f'CenterNetCocoMetric: evaluating against the {kept} boxes on 4 images that '
        f'CenterNetCocoDataset kept from {dataset.ann_file}, not the raw file')


class _TaskDataset(CenterNetCocoDataset):
    """A task dataset adding a field to its evaluation ground truth."""

    def coco_gt_annotation(self, instance):
        ann = super().coco_gt_annotation(instance)
        ann['task_field'] = len(instance['bbox'])
        return ann


def test_ground_truth_of_a_subclass(tmp_path):
    from mmcenternet.evaluation.metrics import CenterNetCocoMetric
    cfg_path, raw = _messy_val_set(tmp_path)
    dataset = _TaskDataset(
        ann_file=str(tmp_path / 'toy' / 'annotations' / 'instances_val.json'),
        data_prefix=dict(img=str(tmp_path / 'toy' / 'val') + '/'), test_mode=True,
        metainfo=dict(classes=('circle', 'square', 'triangle', 'cross')), pipeline=[])
    metric = CenterNetCocoMetric(ann_file='never/read.json')
    metric.bind_dataset(dataset)
    anns = list(metric._coco_api.anns.values())
    assert all(a['task_field'] == 4 for a in anns)
    clipped = sorted(a['bbox'] for a in anns if a['bbox'][0] in (0.0, 54.0)
                     and a['bbox'][1] in (20.0, 50.0))
    assert clipped == [[0.0, 20.0, 10.0, 12.0], [54.0, 50.0, 10.0, 14.0]]
    first = copy.deepcopy(raw['annotations'][0])
    match = [a for a in anns if a['image_id'] == first['image_id']
             and a['bbox'] == [float(v) for v in first['bbox']]]
    assert match[0]['area'] == 100.0  # the file's area, not the box's
    assert [c['name'] for c in metric._coco_api.dataset['categories']] == [
        'circle', 'square', 'triangle', 'cross']
