"""Faces end to end with tools/train.py, tools/test.py and the demo on a tiny generated toy
face set (CPU): training validates COCO box AP, the landmark error and the WIDER FACE
protocol; the test tool runs the flip + multi-scale test with ``--eval widerface landmarks
bbox`` and draws; the demo draws the five landmarks in the metainfo's colours."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from mmcenternet.datasets import WiderFaceDataset
from mmcenternet.registry import VISUALIZERS
from .face_workspace import make_face_workspace
from .test_train_test_tools import newest_train_log, run_tool
from .toy_workspace import ROOT, load_generator


@pytest.fixture(scope='module')
def trained_face(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('toy_face')
    cfg, paths = make_face_workspace(tmp, extra='''
        train_cfg = dict(max_epochs=1, val_interval=1)
        param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0)]
        default_hooks = dict(logger=dict(interval=1))
        ''')
    work = tmp / 'work'
    run_tool('tools/train.py', cfg, '--work-dir', str(work))
    return cfg, work, paths


def test_train_validates_boxes_landmarks_and_widerface(trained_face):
    _, work, _ = trained_face
    log = newest_train_log(work)
    for name in ('loss_scale', 'loss_offset', 'loss_landmarks', 'coco/bbox_mAP_50',
                 'landmarks/nme', 'widerface/easy', 'widerface/medium', 'widerface/hard'):
        assert name in log, name


def test_test_tool_tta_eval_and_show_dir_and_demo(trained_face):
    """One test run for the start-up cost (the plain test runs in the validation)."""
    cfg, work, paths = trained_face
    show = work / 'show'
    out = run_tool('tools/test.py', cfg, str(work / 'epoch_1.pth'), '--tta', '--eval',
                   'widerface', 'landmarks', 'bbox', '--show-dir', str(show), '--work-dir',
                   str(work / 'test'))
    text = out.stdout + out.stderr
    assert 'WIDER FACE val AP (official protocol)' in text and 'Face landmarks: NME' in text
    assert 'widerface/hard' in text and 'coco/bbox_mAP' in text
    assert any(files for _, _, files in os.walk(show))
    demo = work / 'demo'
    run_tool('demo/image_demo.py', paths['val_img_dir'], cfg, str(work / 'epoch_1.pth'),
             '--out-dir', str(demo), '--score-thr', '0')
    assert len(os.listdir(demo)) == 4


def test_landmarks_drawn_in_the_metainfo_colours():
    vis = VISUALIZERS.build(dict(type='CenterNetVisualizer', name='face-landmarks'))
    vis.dataset_meta = WiderFaceDataset.METAINFO
    pts = torch.tensor([[[20., 24.], [44., 24.], [32., 34.], [22., 44.], [42., 44.]]])
    sample = DetDataSample()
    sample.pred_instances = InstanceData(
        bboxes=torch.tensor([[10., 10., 54., 54.]]), scores=torch.tensor([0.9]),
        labels=torch.tensor([0]), keypoints=pts, keypoint_scores=torch.full((1, 5), 0.9))
    vis.add_datasample('face', np.zeros((64, 64, 3), np.uint8), sample, draw_gt=False,
                       pred_score_thr=0.3)
    img = vis.get_image()
    for (x, y), colour in zip(pts[0].tolist(), WiderFaceDataset.METAINFO['keypoint_colors']):
        patch = img[int(y) - 1:int(y) + 2, int(x) - 1:int(x) + 2].reshape(-1, 3).astype(int)
        assert (np.abs(patch - colour).sum(1) < 60).any(), (x, y, colour)


WIDER_CONFIGS = [osp.join(ROOT, 'configs', 'centerface',
                          'centerface_mobilenetv2_8xb8-crop512-140e_widerface.py'),
                 osp.join(ROOT, 'configs', 'centernet_light',
                          'centernet_shufflenetv2-1x_1xb14-crop512-16e_widerface.py')]


@pytest.mark.parametrize('path', WIDER_CONFIGS, ids=osp.basename)
def test_wider_face_configs_read_the_wider_face_layout(path, tmp_path):
    """The WIDER FACE configs' datasets and pipelines on a WIDER FACE folder layout (toy
    images as one event): RetinaFace's train/label.txt, the official box files, the .mat
    ground truth; a training sample and a val sample go through their pipelines."""
    import shutil

    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmcenternet.registry import DATASETS
    gen = load_generator('gen_toy_face')
    paths = gen.generate(str(tmp_path / 'toy'), 4, 2, 64, 0)
    root = tmp_path / 'WIDERFace'
    official = {}
    for split, img_split in (('train', 'WIDER_train'), ('val', 'WIDER_val')):
        shutil.copytree(paths[f'{split}_img_dir'], root / img_split / 'images' / '0--Toy')
        text = open(paths[f'{split}_label_file']).read().replace('# ', '# 0--Toy/')
        (root / 'retinaface_gt' / split).mkdir(parents=True)
        (root / 'retinaface_gt' / split / 'label.txt').write_text(text)
        lines = []
        for block in text.split('# ')[1:]:
            rows = block.strip().splitlines()
            lines += [rows[0], str(len(rows) - 1)] + [
                ' '.join(r.split()[:4]) + ' 0 0 0 0 0 0' for r in rows[1:]]
        official[split] = '\n'.join(lines) + '\n'
    (root / 'wider_face_split').mkdir()
    for split, text in official.items():
        (root / 'wider_face_split' / f'wider_face_{split}_bbx_gt.txt').write_text(text)
    cfg = Config.fromfile(path)
    init_default_scope('mmcenternet')
    for loader in ('train_dataloader', 'val_dataloader'):
        ds_cfg = cfg[loader].dataset
        ds_cfg.data_root = str(root) + '/'
        sample = DATASETS.build(ds_cfg)[0]
        assert sample['inputs'].shape[0] == 3
        if loader == 'train_dataloader':
            assert sample['inputs'].shape[1:] == (512, 512)
            assert len(sample['data_samples'].gt_instances) > 0
        else:
            assert sample['data_samples'].metainfo['flip_indices'] == [1, 0, 2, 4, 3]
