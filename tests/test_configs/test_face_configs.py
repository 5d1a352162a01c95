"""The face and light configs say what their READMEs say; every TTA pipeline has numeric
scales."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from mmcenternet.registry import TASK_UTILS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CENTERFACE = osp.join(ROOT, 'configs', 'centerface',
                      'centerface_mobilenetv2_8xb8-crop512-140e_widerface.py')
LIGHT = sorted(glob.glob(osp.join(ROOT, 'configs', 'centernet_light', '*.py')))
ALL = sorted(p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
             if '_base_' not in p)


@pytest.mark.parametrize('path', ALL, ids=lambda p: osp.relpath(p, ROOT))
def test_tta_views_have_numeric_scales(path):
    """mmengine's ``{{_base_.x}}`` is a placeholder string inside a comprehension: a TTA
    list built from it iterates over characters (the bug fixed in coco_keypoints.py)."""
    cfg = Config.fromfile(path)
    if 'tta_pipeline' not in cfg:
        return
    views = cfg.tta_pipeline[1].transforms[0]
    assert all(isinstance(v.get('scale_ratio', 1.0), (int, float)) for v in views)
    assert 1 <= len(views) <= 5


def test_centerface_is_the_released_graph_and_recipe():
    cfg = Config.fromfile(CENTERFACE)
    model = cfg.model
    assert model.backbone.type == 'mmdet.MobileNetV2' and model.backbone.out_indices == (
        1, 2, 4, 6)
    neck = model.neck
    assert (neck.in_channels, neck.out_channels, neck.deconv_kernel, neck.top_conv,
            neck.final_conv) == ([24, 32, 96, 320], 24, 2, True, True)
    head = model.bbox_head
    assert head.feat_channels == 0  # lone 1x1 heads
    weights = {k: v.loss.loss_weight for k, v in head.branches.items()}
    assert weights == dict(heatmap=1.0, scale=0.1, offset=1.0, landmarks=0.1)
    assert head.codec.type == 'CenterFaceCodec'
    sizes = TASK_UTILS.build(head.codec).branch_channels
    assert sizes == dict(heatmap=1, scale=2, offset=2, landmarks=10)
    assert cfg.optim_wrapper.optimizer.lr == 4e-3 and cfg.auto_scale_lr.base_batch_size == 64
    assert cfg.train_dataloader.batch_size == 8 and cfg.train_cfg.max_epochs == 140
    assert cfg.model_wrapper_cfg.find_unused_parameters  # mmdet's unused final conv
    assert cfg.train_dataloader.dataset.ann_format == 'retinaface'
    assert cfg.val_evaluator.type == 'WiderFaceMetric'


@pytest.mark.parametrize('path', LIGHT, ids=osp.basename)
def test_light_models_have_the_tf_version_heads_and_neck(path):
    model = Config.fromfile(path).model
    assert model.neck.type == 'CenterNetFPNNeck' and model.neck.out_channels == 256
    assert model.neck.deconv_kernel == 4 and not model.neck.top_conv
    assert model.bbox_head.feat_channels == 256
    assert sorted(model.bbox_head.branches) == ['heatmap', 'offset', 'wh']
