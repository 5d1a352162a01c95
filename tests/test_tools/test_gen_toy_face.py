"""The toy face generator: deterministic, and its three formats describe the same faces."""
import os

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from mmcenternet.datasets import CocoPoseDataset, WiderFaceDataset
from mmcenternet.evaluation.functional import load_wider_ground_truth
from .toy_workspace import ROOT, load_generator

META = Config.fromfile(os.path.join(ROOT, 'configs', '_base_', 'datasets',
                                    'toy_face.py')).metainfo.to_dict()


@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    return load_generator('gen_toy_face').generate(
        str(tmp_path_factory.mktemp('toy_face') / 'a'), 16, 6, 96, 0)


def test_deterministic_and_seeded(toy, tmp_path):
    gen = load_generator('gen_toy_face')
    again = gen.generate(str(tmp_path / 'b'), 16, 6, 96, 0)
    assert open(toy['train_ann_file']).read() == open(again['train_ann_file']).read()
    assert open(toy['val_label_file']).read() == open(again['val_label_file']).read()
    img = sorted(os.listdir(toy['val_img_dir']))[2]
    assert np.array_equal(cv2.imread(os.path.join(toy['val_img_dir'], img)),
                          cv2.imread(os.path.join(again['val_img_dir'], img)))
    other = gen.generate(str(tmp_path / 'c'), 16, 6, 96, 1)
    assert open(toy['train_ann_file']).read() != open(other['train_ann_file']).read()


def test_three_formats_agree(toy):
    """COCO json (CocoPoseDataset), RetinaFace label.txt (WiderFaceDataset) and the WIDER
    FACE .mat ground truth hold the same faces; the metainfo is WiderFaceDataset's."""
    assert META == WiderFaceDataset.METAINFO
    for split in ('train', 'val'):
        coco = CocoPoseDataset(ann_file=toy[f'{split}_ann_file'], metainfo=META,
                               data_prefix=dict(img=toy[f'{split}_img_dir'] + '/'),
                               test_mode=True, pipeline=[])
        wider = WiderFaceDataset(ann_file=toy[f'{split}_label_file'],
                                 data_prefix=dict(img=toy[f'{split}_img_dir'] + '/'),
                                 test_mode=True, pipeline=[])
        assert len(coco) == len(wider)
        for i in range(len(coco)):
            a, b = coco.get_data_info(i), wider.get_data_info(i)
            assert a['img_path'] == b['img_path'] and a['flip_indices'] == b['flip_indices']
            assert len(a['instances']) == len(b['instances'])
            for x, y in zip(a['instances'], b['instances']):
                np.testing.assert_allclose(x['bbox'], y['bbox'])
                np.testing.assert_allclose(x['keypoints'], y['keypoints'], atol=1e-4)
                np.testing.assert_array_equal(x['keypoints_visible'], y['keypoints_visible'])
    gt = load_wider_ground_truth(toy['gt_dir'])
    assert gt.events == ['val'] and len(gt.files[0]) == 6
    boxes = [np.array([i['bbox'] for i in coco.get_data_info(j)['instances']]).reshape(-1, 4)
             for j in range(len(coco))]
    for mat, xyxy in zip(gt.boxes[0], boxes):
        np.testing.assert_allclose(mat[:, :2], xyxy[:, :2])
        np.testing.assert_allclose(mat[:, 2:], xyxy[:, 2:] - xyxy[:, :2])
    easy, medium, hard = (gt.keep[s][0] for s in ('easy', 'medium', 'hard'))
    for e, m, h, b in zip(easy, medium, hard, gt.boxes[0]):
        assert set(e) <= set(m) <= set(h) == set(range(len(b)))


def test_faces_have_landmarks_in_place(toy):
    """Eyes above the nose above the mouth, left features left (roll is at most 15
    degrees), inside the box; small faces and a few others unlabelled."""
    coco = CocoPoseDataset(ann_file=toy['train_ann_file'], metainfo=META, test_mode=True,
                           pipeline=[])
    insts = [i for j in range(len(coco)) for i in coco.get_data_info(j)['instances']]
    labelled = [i for i in insts if (i['keypoints_visible'] > 0).all()]
    assert len(labelled) > 10 and len(labelled) < len(insts)
    for inst in labelled:
        pts, (x1, y1, x2, y2) = inst['keypoints'], inst['bbox']
        assert ((pts[:, 0] > x1) & (pts[:, 0] < x2) & (pts[:, 1] > y1) & (pts[:, 1] < y2)).all()
        assert pts[0, 0] < pts[1, 0] and pts[3, 0] < pts[4, 0]
        assert max(pts[0, 1], pts[1, 1]) < pts[2, 1] < min(pts[3, 1], pts[4, 1])
    assert min(i['bbox'][2] - i['bbox'][0] for i in insts
               if i['keypoints_visible'].sum() == 0) < 12
