"""TripletTTAModel: Duan's flip test (decode both views, pool the candidates) and its
multi-scale order (pool all scales, then the central-region test with scale-1 centers)."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmcenternet.models.detectors.triplet_tta import CANDIDATE_KEYS, view_scale
from mmcenternet.registry import MODELS
from test_models.test_detectors.test_centernet_tta import views

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def tiny_triplet_model():
    torch.manual_seed(0)
    module = dict(
        type='CenterNet',
        data_preprocessor=dict(type='mmdet.DetDataPreprocessor', mean=[100.] * 3,
                               std=[70.] * 3, bgr_to_rgb=False),
        backbone=dict(type='StackedHourglassNet', downsample_times=2, num_stacks=1,
                      stage_channels=(16, 16, 24), stage_blocks=(1, 1, 1),
                      feat_channel=16),
        bbox_head=dict(type='TripletHead', in_channels=16, feat_channels=16,
                       pool_channels=8, num_stacks=1,
                       codec=dict(type='TripletCodec', num_classes=1, topk=20, num_dets=200)),
        test_cfg=dict(max_per_img=30))
    model = MODELS.build(dict(type='TripletTTAModel', module=module))
    model.module.init_weights()
    branches = model.module.bbox_head.branches
    for name in ('tl_embedding', 'br_embedding'):  # all pairs pass the embedding test
        torch.nn.init.zeros_(branches[name][0][-1].weight)
    for name in ('tl_heatmap', 'br_heatmap', 'ct_heatmap'):  # peaks all over the image
        torch.nn.init.normal_(branches[name][0][-1].weight, std=3.)
    return model.eval()


def _maps(model, view):
    det = model.module
    feats = det.extract_feat(det.data_preprocessor(view)['inputs'])
    return det.bbox_head.activate(det.bbox_head(feats)[-1])


def _view(data, i):
    return {k: v[i] for k, v in data.items()}


def test_single_scale_is_the_heads_flip_decoding():
    model = tiny_triplet_model()
    img = np.random.RandomState(0).randint(0, 255, (60, 90, 3)).astype(np.uint8)
    data = views(img, [1.0])  # [flipped, unflipped]
    with torch.no_grad():
        result = model.test_step(data)[0].pred_instances
        head = model.module.bbox_head
        base = _view(data, 1)
        metas = [base['data_samples'][0].metainfo]
        maps = head.codec.flip_merge(_maps(model, base), _maps(model, _view(data, 0)))
        manual = head.decode_maps(maps, metas, rescale=True)[0]
    assert 0 < len(result) <= 30
    torch.testing.assert_close(result.bboxes, manual.bboxes)
    torch.testing.assert_close(result.scores, manual.scores)
    # the mirror's candidates are part of it: twice the candidates of one view
    with torch.no_grad():
        one = head.candidates(_maps(model, base), metas, True)
        two = head.candidates(maps, metas, True)
    assert two['scores'].shape[1] == 2 * one['scores'].shape[1]
    assert two['centers'].shape[1] == 2 * one['centers'].shape[1]


def test_multi_scale_pools_candidates_and_uses_scale_one_centers():
    model = tiny_triplet_model()
    img = np.random.RandomState(0).randint(0, 255, (64, 96, 3)).astype(np.uint8)
    data = views(img, [0.5, 1.0])  # [0.5 flipped, 0.5, 1.0 flipped, 1.0]
    with torch.no_grad():
        result = model.test_step(data)[0].pred_instances
        head = model.module.bbox_head
        per_scale = []
        for flipped, base in ((0, 1), (2, 3)):
            b = _view(data, base)
            metas = [b['data_samples'][0].metainfo]
            maps = head.codec.flip_merge(_maps(model, b), _maps(model, _view(data, flipped)))
            per_scale.append(head.candidates(maps, metas, True))
        dets = {k: torch.cat([d[k] for d in per_scale], 1) for k in CANDIDATE_KEYS}
        dets.update({k: per_scale[1][k] for k in ('centers', 'center_scores',
                                                  'center_labels')})
        manual = head.finish(dets)[0]
    assert view_scale(_view(data, 1)['data_samples'][0].metainfo) < 0.6
    assert 0 < len(result) <= 30
    torch.testing.assert_close(result.bboxes, manual.bboxes)
    torch.testing.assert_close(result.scores, manual.scores)
    centers = (result.bboxes[:, :2] + result.bboxes[:, 2:]) / 2
    assert centers.min() >= 0 and centers[:, 0].max() <= 96 and centers[:, 1].max() <= 64


@pytest.mark.parametrize('name', [
    'quickstart/centernet-triplet_hg-tiny_1xb8-30e_toy.py',
    'centernet_triplet/centernet-triplet_hg104_8xb6-crop511-480k_coco.py',
    'centernet_triplet/centernet-triplet_hg52_8xb6-crop511-480k-mstest_coco.py'])
def test_configs_tta_model_builds(name):
    """What ``tools/test.py --tta`` builds (on 'meta': no weights are needed)."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    tta = cfg.tta_model
    tta.module = cfg.model
    with torch.device('meta'):
        model = MODELS.build(tta)
    assert type(model).__name__ == 'TripletTTAModel'
    scales = [t['scale_ratio'] for t in cfg.tta_pipeline[1]['transforms'][0]]
    assert (len(scales) == 5) == ('mstest' in name)
