import copy

import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.config import Config

from mmcenternet.registry import MODELS
from test_tools.toy_workspace import QUICKSTART

META = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
        'flip_direction', 'affine_matrix')


def tiny_model_cfg():
    model = copy.deepcopy(Config.fromfile(QUICKSTART).model.to_dict())
    model['backbone']['base_channels'] = 8
    model['neck'].update(in_channels=32, num_filters=(16, 16))
    model['bbox_head'].update(in_channels=16, feat_channels=16)
    return model


def views(img, scales, flips=(True, False)):
    """What TestTimeAug gives for one image: every (scale, flip) view, as a batch of 1."""
    out = dict(inputs=[], data_samples=[])
    for s in scales:
        for f in flips:
            pipe = Compose([
                dict(type='CenterAffine', keep_res=True, pad_divisor=32, scale_ratio=s),
                dict(type='RandomFlip', prob=1. if f else 0.),
                dict(type='PackDetInputs', meta_keys=META)
            ])
            packed = pipe(dict(img=img.copy(), img_id=0, img_path='x.png',
                               ori_shape=img.shape[:2], img_shape=img.shape[:2]))
            out['inputs'].append([packed['inputs']])
            out['data_samples'].append([packed['data_samples']])
    return out


def trained_like_model():
    torch.manual_seed(0)
    model = MODELS.build(dict(type='CenterNetTTAModel', module=tiny_model_cfg(),
                              max_per_img=50))
    model.module.init_weights()
    model.eval()
    return model


def test_flip_merge_equals_map_average_of_image_and_mirror():
    model = trained_like_model()
    img = np.random.RandomState(0).randint(0, 255, (70, 90, 3)).astype(np.uint8)
    data = views(img, [1.0])
    with torch.no_grad():
        result = model.test_step(data)[0].pred_instances
        det = model.module
        head = det.bbox_head
        batch = {k: v[1] for k, v in data.items()}  # the unflipped view
        flipped = {k: v[0] for k, v in data.items()}
        maps = head.activate(head(det.extract_feat(det.data_preprocessor(batch)['inputs']))[-1])
        fmaps = head.activate(
            head(det.extract_feat(det.data_preprocessor(flipped)['inputs']))[-1])
        expected_heat = (maps['heatmap'] + fmaps['heatmap'].flip(-1)) / 2
        merged = head.codec.flip_merge(maps, fmaps)
        torch.testing.assert_close(merged['heatmap'], expected_heat)
        torch.testing.assert_close(merged['offset'], maps['offset'])  # offset: image only
        manual = head.decode_maps(merged, [batch['data_samples'][0].metainfo], rescale=True)[0]
    assert len(result) == 50  # one scale: no soft-NMS, top max_per_img of the decoded 100
    top = manual.scores.topk(50).indices
    # the official merge lists the kept detections class by class
    order = torch.argsort(manual.labels[top], stable=True)
    torch.testing.assert_close(result.bboxes, manual.bboxes[top][order])


def test_multi_scale_merges_in_original_coordinates():
    model = trained_like_model()
    img = np.random.RandomState(1).randint(0, 255, (64, 96, 3)).astype(np.uint8)
    with torch.no_grad():
        result = model.test_step(views(img, [0.5, 1.0, 1.5]))[0].pred_instances
    assert 0 < len(result) <= 50
    # boxes are in original-image pixels: centers within the image and the padding of the
    # views (keep_res pads 64 x 96 at scale 0.5 to 64 x 64 input pixels: 32 px in the image)
    centers = (result.bboxes[:, :2] + result.bboxes[:, 2:]) / 2
    assert centers[:, 0].min() > -32.01 and centers[:, 0].max() < 96 + 32.01
    assert centers[:, 1].min() > -32.01 and centers[:, 1].max() < 64 + 32.01


def test_missing_unflipped_view_is_an_error():
    model = trained_like_model()
    img = np.zeros((32, 32, 3), np.uint8)
    data = views(img, [1.0], flips=(True, ))
    try:
        model.test_step(data)
    except ValueError as err:
        assert 'RandomFlip(prob=0.)' in str(err)
    else:
        raise AssertionError('expected a ValueError')


def _overlapping_dets():
    """Two scales' detections of one class: many near-duplicates with low scores."""
    from mmengine.structures import InstanceData
    rng = np.random.RandomState(3)
    dets = []
    for _ in range(2):
        xy = rng.uniform(0, 20, (60, 2)).astype(np.float32)
        boxes = np.concatenate([xy, xy + 30], 1)
        dets.append(InstanceData(bboxes=torch.from_numpy(boxes),
                                 scores=torch.from_numpy(rng.uniform(0.001, 0.05, 60)).float(),
                                 labels=torch.zeros(60, dtype=torch.long),
                                 keypoints=torch.from_numpy(boxes[:, None, :2]).clone()))
    return dets


def test_official_and_clean_multi_scale_merges_differ_as_documented():
    official = MODELS.build(dict(type='CenterNetTTAModel', module=tiny_model_cfg(),
                                 max_per_img=100)).merge_scales(_overlapping_dets())
    clean = MODELS.build(dict(type='CenterNetTTAModel', module=tiny_model_cfg(),
                              max_per_img=100, merge='clean')).merge_scales(
                                  _overlapping_dets())
    # official: all 120 rows come back (removed boxes leave stale copies), clean: only
    # the survivors, at most max_per_img, all distinct
    assert len(official) == 100 and len(clean) < 100
    assert len(torch.unique(clean.bboxes, dim=0)) == len(clean)
    assert len(torch.unique(official.bboxes, dim=0)) < len(official)
    # other fields follow their rows (keypoints of a kept box are its own, except the
    # official stale rows, whose keypoints are swapped as soft_nms_39 does)
    torch.testing.assert_close(clean.keypoints[:, 0], clean.bboxes[:, :2])


def test_unknown_merge_mode_is_a_clear_error():
    import pytest
    with pytest.raises(ValueError, match="merge must be one of"):
        MODELS.build(dict(type='CenterNetTTAModel', module=tiny_model_cfg(), merge='fast'))
