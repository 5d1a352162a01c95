"""The toy dataset generator, print_config and browse_dataset."""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
from pycocotools.coco import COCO

from .toy_workspace import QUICKSTART, ROOT, load_generator, make_workspace

ENV = dict(os.environ, PYTHONPATH=ROOT, PYTHONWARNINGS='ignore')


def generate(tmp_path, name='toy', **kwargs):
    args = dict(num_train=12, num_val=4, img_size=128, seed=0)
    args.update(kwargs)
    return load_generator().generate(str(tmp_path / name), **args)


def test_deterministic(tmp_path):
    a = generate(tmp_path, 'a')
    b = generate(tmp_path, 'b')
    for key in ('train_ann_file', 'val_ann_file'):
        assert open(a[key]).read() == open(b[key]).read()
    for name in sorted(os.listdir(a['train_img_dir'])):
        assert np.array_equal(cv2.imread(os.path.join(a['train_img_dir'], name)),
                              cv2.imread(os.path.join(b['train_img_dir'], name)))
    c = generate(tmp_path, 'c', seed=1)
    assert open(a['train_ann_file']).read() != open(c['train_ann_file']).read()


def test_valid_coco_with_keypoints(tmp_path):
    paths = generate(tmp_path, num_train=20)
    coco = COCO(paths['train_ann_file'])
    assert sorted(coco.getCatIds()) == [1, 2, 3, 4]
    assert len(coco.getImgIds()) == 20 and len(coco.getAnnIds()) > 20
    for ann in coco.loadAnns(coco.getAnnIds()):
        img = coco.imgs[ann['image_id']]
        x, y, w, h = ann['bbox']
        assert w > 0 and h > 0 and x >= 0 and y >= 0
        assert x + w <= img['width'] + 1e-6 and y + h <= img['height'] + 1e-6
        kps = np.array(ann['keypoints'], dtype=float).reshape(-1, 3)
        assert kps.shape == (5, 3) and (kps[:, 2] == 2).all() and ann['num_keypoints'] == 5
        assert (kps[:, 0] >= x - 1).all() and (kps[:, 0] <= x + w + 1).all()
        assert (kps[:, 1] >= y - 1).all() and (kps[:, 1] <= y + h + 1).all()
    val = json.load(open(paths['val_ann_file']))
    train_pixels = cv2.imread(os.path.join(paths['train_img_dir'], '000000.png'))
    val_pixels = cv2.imread(os.path.join(paths['val_img_dir'], val['images'][0]['file_name']))
    assert not np.array_equal(train_pixels, val_pixels)


def test_object_size_spread(tmp_path):
    paths = generate(tmp_path, num_train=40)
    sides = [max(a['bbox'][2:]) for a in json.load(open(paths['train_ann_file']))['annotations']]
    assert min(sides) < 16 and max(sides) > 40


def test_skip_when_identical_and_force(tmp_path, capsys):
    paths = generate(tmp_path)
    stamp = os.path.getmtime(paths['train_ann_file'])
    generate(tmp_path)
    assert 'skipping' in capsys.readouterr().out
    assert os.path.getmtime(paths['train_ann_file']) == stamp
    generate(tmp_path, force=True)
    assert os.path.getmtime(paths['train_ann_file']) >= stamp
    assert 'skipping' not in capsys.readouterr().out


def test_print_config_merges_options():
    out = subprocess.run([sys.executable, 'tools/misc/print_config.py', QUICKSTART,
                          '--cfg-options', 'train_cfg.max_epochs=3'], cwd=ROOT, env=ENV,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "default_scope = 'mmcenternet'" in out.stdout
    assert 'max_epochs=3' in out.stdout
    bad = subprocess.run([sys.executable, 'tools/misc/print_config.py', QUICKSTART,
                          '--cfg-options', 'train_cfg.max_epoch=3'], cwd=ROOT, env=ENV,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and 'max_epoch' in bad.stderr


def test_browse_dataset_draws_gt(tmp_path):
    cfg = make_workspace(tmp_path, num_train=4, num_val=2)
    out_dir = tmp_path / 'vis'
    proc = subprocess.run([sys.executable, 'tools/analysis_tools/browse_dataset.py', cfg,
                           '--output-dir', str(out_dir), '--not-show', '--max-images', '3'],
                          cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    files = sorted(os.listdir(out_dir))
    assert len(files) == 3
    img = cv2.imread(str(out_dir / files[0]))
    assert img is not None and img.shape[0] > 0
