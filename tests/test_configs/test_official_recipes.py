"""The official-recipe configs carry the official settings that differ per dataset/arch."""
import os.path as osp

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG = osp.join(ROOT, 'configs', 'centernet')
VOC = ('centernet_r18-dcnv2_1xb32-crop512-70e_voc0712.py',
       'centernet_dla34-dcnv2_2xb16-crop512-70e_voc0712.py')


def load(name):
    return Config.fromfile(osp.join(CFG, name))


@pytest.mark.parametrize('name', VOC)
def test_voc_recipe(name):
    cfg = load(name)
    pre = cfg.model.data_preprocessor
    # ImageNet RGB statistics on the BGR image, as the official pascal.py
    assert pre.mean == [123.675, 116.28, 103.53] and pre.std == [58.395, 57.12, 57.375]
    assert pre.bgr_to_rgb is False
    assert cfg.model.bbox_head.codec.max_objs == 50
    train = cfg.train_dataloader
    gpus = int(name.split('_')[2].split('xb')[0].split('-')[-1])
    assert gpus * train.batch_size == 32  # the official batch, BN over 16-32 images
    assert all(d.type == 'CenterNetVOCDataset' for d in train.dataset.datasets)
    # the official VOC protocol: flip test at a fixed 512 input, one scale
    tta = cfg.tta_pipeline[1].transforms
    assert [t.input_size for t in tta[0]] == [(512, 512)]
    assert [t.prob for t in tta[1]] == [1., 0.]
    assert cfg.tta_model.flip is True


def test_coco_trains_every_image_and_merges_officially():
    cfg = load('centernet_r18-dcnv2_8xb16-crop512-140e_coco.py')
    assert cfg.train_dataloader.dataset.filter_cfg.filter_empty_gt is False
    assert cfg.train_dataloader.dataset.get('crowd', 'positive') == 'positive'
    assert cfg.tta_model['merge'] == 'official'
    assert cfg.auto_scale_lr.base_batch_size == 114  # the official run's batch for lr 5e-4


@pytest.mark.parametrize('name,scheme', [
    ('centernet_r18_8xb16-crop512-140e_coco.py', 'msra'),
    ('centernet_r18-dcnv2_8xb16-crop512-140e_coco.py', 'resdcn'),
    ('centernet_r101-dcnv2_8xb12-crop512-140e_coco.py', 'resdcn'),
    ('centernet_dla34-dcnv2_8xb16-crop512-140e_coco.py', 'dla'),
    ('centernet_hg104_8xb3-crop512-50e_coco.py', 'hourglass')])
def test_head_initialisation_follows_the_architecture(name, scheme):
    assert load(name).model.bbox_head.init_scheme == scheme


def test_hourglass_pads_every_test_view_to_128():
    cfg = load('centernet_hg104_8xb3-crop512-50e_coco.py')
    views = cfg.tta_pipeline[1].transforms[0]
    assert {t.pad_divisor for t in views} == {128}
    assert [t.scale_ratio for t in views] == [0.5, 0.75, 1.0, 1.25, 1.5]
    assert cfg.test_dataloader.dataset.pipeline[1].pad_divisor == 128
    assert cfg.model.data_preprocessor.pad_size_divisor == 128


def test_quickstarts_train_from_scratch_offline():
    """Quickstart configs are narrower than the official backbones and must not download."""
    import glob
    paths = glob.glob(osp.join(ROOT, 'configs', 'quickstart', '*.py'))
    assert paths
    for path in paths:
        assert Config.fromfile(path).model.get('init_cfg') is None, path
