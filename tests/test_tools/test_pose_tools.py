"""Pose end to end with tools/train.py and tools/test.py on tiny generated toy sets (CPU).

Each run trains on a few 64 px images for one epoch: the pose quickstart with the command
line tools (train, then test with the flip + multi-scale ``--tta``, ``--eval keypoints
bbox`` and ``--show-dir``; subprocesses, a few seconds each plus the start-up), then
in-process the all-classes + person-pose model and a custom keypoint set given by config
alone.
"""
import os
import os.path as osp
import textwrap

import pytest

from .pose_workspace import (ALL_POSE_QUICKSTART, POSE_QUICKSTART, make_pose_workspace,
                             train_in_process)
from .test_train_test_tools import newest_train_log, run_tool
from .toy_workspace import load_generator

KEYPOINT_TABLE = 'Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets= 20 ]'
BBOX_TABLE = 'Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]'


@pytest.fixture(scope='module')
def trained_pose(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('toy_pose')
    cfg = make_pose_workspace(tmp, POSE_QUICKSTART, epochs=1)
    work = tmp / 'work'
    run_tool('tools/train.py', cfg, '--work-dir', str(work))
    return cfg, work


def test_train_validates_keypoints_and_boxes(trained_pose):
    _, work = trained_pose
    assert osp.isfile(work / 'epoch_1.pth')
    log = newest_train_log(work)
    for name in ('loss_kps', 'loss_kp_heatmap', 'loss_kp_offset', 'coco/keypoints_mAP',
                 'coco/bbox_mAP'):
        assert name in log


def test_test_tool_tta_eval_keypoints_bbox_and_show_dir(trained_pose):
    """One run for the start-up cost: the flip + multi-scale test, both tables, drawings
    (the plain test path runs in the training's validation)."""
    cfg, work = trained_pose
    show = work / 'show'
    out = run_tool('tools/test.py', cfg, str(work / 'epoch_1.pth'), '--tta', '--eval',
                   'keypoints', 'bbox', '--show-dir', str(show), '--work-dir',
                   str(work / 'test'))
    text = out.stdout + out.stderr
    assert KEYPOINT_TABLE in text and BBOX_TABLE in text
    assert 'coco/keypoints_mAP' in text and 'coco/bbox_mAP' in text
    assert any(files for _, _, files in os.walk(show))


def test_all_classes_and_person_pose_model(tmp_path):
    """The all-classes + person-pose model trains on toy people + shapes and is evaluated
    with the box AP of every class and the person keypoint AP."""
    # every position (16 x 16 x 5) is a detection, so the barely trained model predicts people
    cfg = make_pose_workspace(tmp_path, ALL_POSE_QUICKSTART, with_shapes=True, epochs=1,
                              head='codec=dict(topk=2000)')
    train_in_process(cfg, str(tmp_path / 'work'))
    log = newest_train_log(tmp_path / 'work')
    assert 'coco/keypoints_mAP' in log and 'coco/bbox_mAP' in log
    assert KEYPOINT_TABLE in log and 'bbox_mAP_copypaste' in log


def test_custom_keypoint_set_by_config_alone(tmp_path):
    """The toy shapes (4 classes, each with 5 keypoints: top, right, bottom, left, centre)
    as a keypoint dataset: metainfo and the codec's classes and num_keypoints in the config,
    nothing else."""
    root = tmp_path / 'shapes'
    load_generator().generate(str(root), 8, 4, 64, 0)
    ann = root / 'annotations'
    cfg = tmp_path / 'shapes_pose.py'
    cfg.write_text(textwrap.dedent(f'''
        _base_ = [{POSE_QUICKSTART!r}]
        classes = ('circle', 'square', 'triangle', 'cross')
        metainfo = dict(
            classes=classes,
            keypoint_names=('top', 'right', 'bottom', 'left', 'center'),
            flip_indices=[0, 3, 2, 1, 4],
            skeleton=[[0, 1], [1, 2], [2, 3], [3, 0], [0, 4], [1, 4], [2, 4], [3, 4]],
            sigmas=[0.05, 0.05, 0.05, 0.05, 0.05],
            keypoint_colors=None, skeleton_colors=None)
        model = dict(
            backbone=dict(base_channels=8), neck=dict(in_channels=32, num_filters=(16, 16)),
            bbox_head=dict(in_channels=16, feat_channels=16,
                           codec=dict(num_classes=4, num_keypoints=5, topk=2000)))
        data = dict(data_root={str(root) + '/'!r}, metainfo=metainfo)
        train_dataloader = dict(batch_size=4, dataset=dict(
            ann_file='annotations/instances_train.json', **data))
        val_dataloader = dict(dataset=dict(ann_file='annotations/instances_val.json', **data))
        test_dataloader = val_dataloader
        val_evaluator = [dict(type='CocoKeypointMetric',
                              ann_file={str(ann / 'instances_val.json')!r})]
        test_evaluator = val_evaluator
        train_cfg = dict(max_epochs=1, val_interval=1)
        param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0)]
        default_hooks = dict(logger=dict(interval=1))
        '''))
    train_in_process(str(cfg), str(tmp_path / 'work'))
    log = newest_train_log(tmp_path / 'work')
    assert KEYPOINT_TABLE in log and 'coco/keypoints_mAP' in log
