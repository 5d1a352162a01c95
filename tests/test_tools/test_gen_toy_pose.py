"""The toy pose generator: deterministic COCO keypoint files with COCO's conventions."""
import json
import os

import cv2
import numpy as np
from mmengine.config import Config
from pycocotools.coco import COCO

from .pose_workspace import ROOT, load_pose_generator

COCO_META = Config.fromfile(os.path.join(ROOT, 'configs', '_base_', 'datasets',
                                         'coco_keypoints.py')).metainfo


def generate(tmp_path, name='pose', **kwargs):
    args = dict(num_train=24, num_val=2, img_size=96, seed=0)
    args.update(kwargs)
    return load_pose_generator().generate(str(tmp_path / name), **args)


def test_deterministic_and_seeded(tmp_path):
    a, b = generate(tmp_path, 'a'), generate(tmp_path, 'b')
    assert open(a['train_ann_file']).read() == open(b['train_ann_file']).read()
    img = sorted(os.listdir(a['train_img_dir']))[3]
    assert np.array_equal(cv2.imread(os.path.join(a['train_img_dir'], img)),
                          cv2.imread(os.path.join(b['train_img_dir'], img)))
    c = generate(tmp_path, 'c', seed=1)
    assert open(a['train_ann_file']).read() != open(c['train_ann_file']).read()


def test_coco_keypoint_file_with_coco_joints_and_flip_pairs(tmp_path):
    gen = load_pose_generator()
    paths = generate(tmp_path)
    coco = COCO(paths['train_ann_file'])
    cat = coco.loadCats([1])[0]
    assert cat['name'] == 'person' and tuple(cat['keypoints']) == COCO_META['keypoint_names']
    # the 1-based file skeleton is the metainfo's 0-based one
    assert [[a - 1, b - 1] for a, b in cat['skeleton']] == COCO_META['skeleton']
    perm = list(range(17))
    for a, b in gen.FLIP_PAIRS:
        perm[a], perm[b] = b, a
    assert perm == COCO_META['flip_indices']
    anns = coco.loadAnns(coco.getAnnIds())
    kps = np.array([a['keypoints'] for a in anns], np.float64).reshape(len(anns), 17, 3)
    vis = kps[:, :, 2]
    assert set(np.unique(vis)) == {0, 1, 2}  # visible, hidden and unlabelled joints
    for ann, k in zip(anns, kps):
        assert ann['num_keypoints'] == int((k[:, 2] > 0).sum())
        assert ann['area'] > 0 and ann['iscrowd'] == 0
        x, y, w, h = ann['bbox']
        lab = k[k[:, 2] > 0]
        assert ((lab[:, 0] >= x - 3) & (lab[:, 0] <= x + w + 3) & (lab[:, 1] >= y - 3) &
                (lab[:, 1] <= y + h + 3)).all()
        assert (k[k[:, 2] == 0, :2] == 0).all()  # COCO writes unlabelled joints as 0, 0
    # front-facing figures: the person's left shoulder / hip on the image's right
    both = (vis[:, 5] > 0) & (vis[:, 6] > 0) & (vis[:, 11] > 0) & (vis[:, 12] > 0)
    assert both.sum() > 10
    assert (kps[both, 5, 0] > kps[both, 6, 0]).all() and (kps[both, 11, 0] > kps[both, 12, 0]).all()


def test_with_shapes_annotates_the_occluders(tmp_path):
    paths = generate(tmp_path, with_shapes=True)
    data = json.load(open(paths['train_ann_file']))
    assert [c['name'] for c in data['categories']] == ['person', 'circle', 'square',
                                                      'triangle', 'cross']
    shapes = [a for a in data['annotations'] if a['category_id'] > 1]
    assert shapes and all('keypoints' not in a for a in shapes)
