"""mmdet's own inference API runs our configs and gives our ``Predictor``'s detections.

``DetInferencer(model=CFG, weights=CKPT, scope='mmcenternet')`` (what mmdet 3.x's README,
demo and tutorials use) and ``mmdet.apis.init_detector`` / ``inference_detector`` on every
task's quickstart config, with a checkpoint saved from a randomly initialised model of the
config. Test pipelines name ``LoadImageFromFile`` (our safe loader in the ``mmcenternet``
scope), which ``DetInferencer`` finds and replaces by its own loader.

A 3D model needs the image's camera: a ``DetInferencer`` user passes the image as a dict,
``inferencer(dict(img_path=IMG, cam2img=P2))`` (``DetInferencer`` takes dicts and its loader
keeps their keys), exactly what ``Predictor.predict`` takes. ``mmdet.apis.inference_detector``
builds ``dict(img_path=..., img_id=0)`` itself, so no camera reaches the model that way: it
gives the 2D boxes only (and the decoder's missing-camera warning).
"""
import os.path as osp
import warnings

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmcenternet.apis import Predictor, init_detector
from test_tools.toy_workspace import ROOT

QUICKSTARTS = {
    '2d': 'centernet_r18w16_1xb8-70e_toy.py',
    'pose': 'centernet_r18w16_1xb8-90e_toy-pose.py',
    'all-pose': 'centernet_r18w16_1xb8-90e_toy-all-pose.py',
    'face': 'centerface_mobilenetv2_1xb8-60e_toy.py',
    'triplet': 'centernet-triplet_hg-tiny_1xb8-30e_toy.py',
    '3d': 'centernet3d_r18w16_1xb8-20e_toy-kitti.py',
}
KITTI_P2 = np.array([[721.5377, 0., 609.5593, 44.85728], [0., 721.5377, 172.854, 0.2163791],
                     [0., 0., 1., 0.002745884]])


def _config(task):
    return osp.join(ROOT, 'configs', 'quickstart', QUICKSTARTS[task])


@pytest.fixture(scope='module')
def image(tmp_path_factory):
    path = tmp_path_factory.mktemp('mmdet_apis') / 'image.png'
    cv2.imwrite(str(path), np.random.RandomState(0).randint(0, 256, (150, 200, 3), np.uint8))
    return str(path)


def _random_checkpoint(task, tmp_path):
    from mmcenternet.registry import MODELS
    cfg = Config.fromfile(_config(task))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    classes = cfg.test_dataloader.dataset.metainfo['classes']
    ckpt = tmp_path / f'{task}.pth'
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': {'classes': tuple(classes)}}}, ckpt)
    return str(ckpt)


def _inferencer(task, ckpt):
    from mmdet.apis import DetInferencer
    return DetInferencer(model=_config(task), weights=ckpt, scope='mmcenternet', device='cpu',
                         show_progress=False)


def _assert_same(ours, theirs, fields=None):
    ours, theirs = ours.pred_instances, theirs.pred_instances
    assert set(fields or ours.keys()) <= set(theirs.keys())
    for key in fields or ours.keys():
        torch.testing.assert_close(theirs.get(key), ours.get(key), rtol=0, atol=0, msg=key)


@pytest.mark.parametrize('task', ['2d', 'pose', 'all-pose', 'face', 'triplet'])
def test_det_inferencer_and_mmdet_apis_give_the_predictors_detections(task, image, tmp_path):
    ckpt = _random_checkpoint(task, tmp_path)
    ours = Predictor(init_detector(_config(task), ckpt)).predict([image])[0]
    fields = {'2d': {'bboxes'}, 'triplet': {'bboxes'}, 'pose': {'keypoints'},
              'all-pose': {'keypoints'}, 'face': {'keypoints'}}[task]
    assert fields <= set(ours.pred_instances.keys())
    # a random triplet model pairs no corners with a center: its (empty) results must agree
    assert len(ours.pred_instances) > 0 or task == 'triplet'
    theirs = _inferencer(task, ckpt)(image, return_datasamples=True)['predictions'][0]
    _assert_same(ours, theirs)

    from mmdet.apis import inference_detector, init_detector as mmdet_init_detector
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # mmdet's "checkpoint is None" (we pass one) etc.
        model = mmdet_init_detector(_config(task), ckpt, device='cpu')
    _assert_same(ours, inference_detector(model, image))


def test_det_inferencer_3d_takes_the_cam2img_of_each_image(image, tmp_path):
    ckpt = _random_checkpoint('3d', tmp_path)
    inputs = dict(img_path=image, cam2img=KITTI_P2)
    ours = Predictor(init_detector(_config('3d'), ckpt)).predict([inputs])[0]
    assert {'bboxes_3d', 'alphas'} <= set(ours.pred_instances.keys())
    inferencer = _inferencer('3d', ckpt)
    out = inferencer(inputs, return_datasamples=True, return_vis=True)
    theirs = out['predictions'][0]
    _assert_same(ours, theirs)
    np.testing.assert_array_equal(theirs.cam2img, KITTI_P2)
    # drawn by our visualizer with the camera: the image and a bird's-eye-view panel
    assert out['visualization'][0].shape[0] == 150 and out['visualization'][0].shape[1] > 200

    from mmdet.apis import inference_detector, init_detector as mmdet_init_detector
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # no camera: 2D boxes only, with a warning
        model = mmdet_init_detector(_config('3d'), ckpt, device='cpu')
        plain = inference_detector(model, image)
    assert 'bboxes_3d' not in plain.pred_instances
    _assert_same(ours, plain, fields=('bboxes', 'scores', 'labels'))


def test_load_image_from_file_is_ours_only_in_our_scope():
    """Our safe loader answers to ``LoadImageFromFile`` in the mmcenternet scope; mmcv's and
    mmdet's registries keep mmcv's loader."""
    import mmcv.transforms
    from mmdet.registry import TRANSFORMS as MMDET_TRANSFORMS
    from mmengine.registry import TRANSFORMS as MMCV_TRANSFORMS  # mmcv's (the root)

    from mmcenternet.datasets.transforms import LoadImageFromFileSafe
    from mmcenternet.registry import TRANSFORMS
    assert TRANSFORMS.get('LoadImageFromFile') is LoadImageFromFileSafe
    assert TRANSFORMS.get('LoadImageFromFileSafe') is LoadImageFromFileSafe  # the old name
    assert MMDET_TRANSFORMS.get('LoadImageFromFile') is mmcv.transforms.LoadImageFromFile
    assert MMCV_TRANSFORMS.get('LoadImageFromFile') is mmcv.transforms.LoadImageFromFile
    assert TRANSFORMS.get('mmdet.LoadImageFromFile') is mmcv.transforms.LoadImageFromFile
