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
        merged = head.decoder.flip_merge(maps, fmaps)
        torch.testing.assert_close(merged['heatmap'], expected_heat)
        torch.testing.assert_close(merged['offset'], maps['offset'])  # offset: image only
        manual = head.decode_maps(merged, [batch['data_samples'][0].metainfo], rescale=True)[0]
    assert len(result) == 50  # one scale: no soft-NMS, top max_per_img of the decoded 100
    top = manual.scores.topk(50).indices
    torch.testing.assert_close(result.bboxes, manual.bboxes[top])


def test_multi_scale_merges_in_original_coordinates():
    model = trained_like_model()
    img = np.random.RandomState(1).randint(0, 255, (64, 96, 3)).astype(np.uint8)
    with torch.no_grad():
        result = model.test_step(views(img, [0.5, 1.0, 1.5]))[0].pred_instances
    assert 0 < len(result) <= 50
    # boxes are in original-image pixels: centers within the (slightly extended) image
    centers = (result.bboxes[:, :2] + result.bboxes[:, 2:]) / 2
    assert centers[:, 0].min() > -20 and centers[:, 0].max() < 96 + 20
    assert centers[:, 1].min() > -20 and centers[:, 1].max() < 64 + 20


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
