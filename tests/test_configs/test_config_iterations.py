"""Every model config builds and runs one training and one test iteration on CPU."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.structures import InstanceData

from mmcenternet.models.dense_heads import CenterNetHead
from mmcenternet.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p)


# camera of the 3D task (monocular 3D configs read it; the others ignore it)
CAM2IMG = np.array([[100., 0., 64., 0.], [0., 100., 64., 0.], [0., 0., 1., 0.]])


def synthetic_batch(num_classes: int, size: int = 128, num_keypoints: int = 0):
    """Two images with boxes (and ``num_keypoints`` joints per object for pose models),
    already in network-input form (as PackDetInputs / PackCenterNetInputs give), with 3D
    boxes and observation angles for the 3D configs."""
    rng = np.random.RandomState(0)
    inputs, samples = [], []
    for _ in range(2):
        inputs.append(torch.from_numpy(rng.randint(0, 255, (3, size, size)).astype(np.uint8)))
        s = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                        affine_matrix=np.eye(3, dtype=np.float32),
                                        scale_factor=(1., 1.), cam2img=CAM2IMG))
        xy = rng.uniform(0, size * 0.6, (3, 2))
        wh = rng.uniform(8, size * 0.4, (3, 2))
        boxes_3d = np.concatenate([rng.uniform(-3, 3, (3, 1)), np.full((3, 1), 1.6),
                                   rng.uniform(5, 30, (3, 1)), rng.uniform(0.5, 4, (3, 3)),
                                   rng.uniform(-3, 3, (3, 1))], 1)
        s.gt_instances = InstanceData(
            bboxes=torch.tensor(np.concatenate([xy, xy + wh], 1), dtype=torch.float32),
            labels=torch.tensor(rng.randint(0, num_classes, 3)),
            bboxes_3d=torch.tensor(boxes_3d, dtype=torch.float32),
            alphas=torch.tensor(rng.uniform(-3, 3, 3), dtype=torch.float32))
        if num_keypoints:
            joints = xy[:, None] + rng.uniform(0, 1, (3, num_keypoints, 2)) * wh[:, None]
            s.gt_instances.keypoints = torch.tensor(joints, dtype=torch.float32)
            s.gt_instances.keypoints_visible = torch.tensor(
                rng.randint(0, 3, (3, num_keypoints)), dtype=torch.float32)
            s.set_metainfo(dict(flip_indices=list(range(num_keypoints))))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def test_there_are_configs():
    names = [osp.basename(p) for p in CONFIGS]
    assert 'centernet_r18-dcnv2_8xb16-crop512-140e_coco.py' in names
    assert len(CONFIGS) >= 4


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_config_train_and_test_iteration(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmcenternet'
    # an untrained model scores below a config's threshold (3D: official 0.2): keep all
    cfg.model.setdefault('test_cfg', {})['score_thr'] = 0
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    head = model.bbox_head
    pose_keypoints = getattr(head.codec, 'num_keypoints', 0)
    # pose joints and face landmarks both travel as gt keypoints
    num_keypoints = pose_keypoints or getattr(head.codec, 'num_landmarks', 0)
    data = synthetic_batch(head.num_classes, num_keypoints=num_keypoints)
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items() if v.dtype.is_floating_point}
    log_vars = model.train_step(data, optim_wrapper)
    # a head names its loss terms (TripletHead.loss_keys) or has one per branch
    loss_keys = getattr(head, 'loss_keys', None) or [f'loss_{n}' for n in head.losses]
    assert {'loss', *loss_keys} <= set(log_vars)
    if pose_keypoints:
        assert {'loss_kps', 'loss_kp_heatmap', 'loss_kp_offset'} <= set(log_vars)
    elif num_keypoints:
        assert 'loss_landmarks' in log_vars
    assert all(torch.isfinite(torch.as_tensor(v)) for v in log_vars.values())
    changed = [k for k, v in model.state_dict().items()
               if k in before and not torch.equal(before[k], v)]
    assert any(k.startswith('bbox_head') for k in changed)
    assert any(k.startswith('backbone') for k in changed)
    model.eval()
    with torch.no_grad():
        results = model.test_step(data)
    assert len(results) == 2
    pred = results[0].pred_instances
    assert pred.bboxes.shape[1] == 4 and len(pred) == len(pred.scores)
    # top-K decoding always returns boxes; an untrained TripletHead may keep no corner pair
    assert len(pred) > 0 or not isinstance(head, CenterNetHead)
    if num_keypoints:
        assert pred.keypoints.shape[1:] == (num_keypoints, 2) and len(pred.keypoint_scores)
