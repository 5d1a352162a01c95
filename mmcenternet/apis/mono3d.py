"""Monocular 3D inference on an image and its camera calibration."""
import os.path as osp
from typing import Union

import numpy as np
import torch
from mmengine.dataset import Compose, pseudo_collate
from mmdet.structures import DetDataSample
from torch import nn

from mmcenternet.datasets.kitti_mono3d import read_kitti_calib


def load_cam2img(calib: Union[str, np.ndarray]) -> np.ndarray:
    """``P2`` (3 x 4) from a KITTI calibration file, a text file of 12 numbers, or an
    array."""
    if not isinstance(calib, str):
        cam = np.asarray(calib, np.float64)
        if cam.size != 12:
            raise ValueError(f'a camera matrix has 12 values (3 x 4), got shape {cam.shape}')
        return cam.reshape(3, 4)
    with open(calib) as f:
        text = f.read()
    if 'P2:' in text:
        return read_kitti_calib(calib)
    try:
        values = np.array(text.split(), dtype=np.float64)
    except ValueError:
        values = np.array([])
    if values.size != 12:
        raise ValueError(f'{calib}: expected a KITTI calibration file (with a "P2:" line) '
                         f'or the 12 numbers of a 3 x 4 projection matrix')
    return values.reshape(3, 4)


def inference_mono3d(model: nn.Module, img: Union[str, np.ndarray],
                     calib: Union[str, np.ndarray]) -> DetDataSample:
    """Runs the model's test pipeline on an image (path or BGR array) with its camera.

    Returns:
        The ``DetDataSample``; ``pred_instances`` holds ``bboxes_3d`` (camera coordinates),
        ``bboxes``, ``scores``, ``labels`` and ``alphas``.
    """
    cfg = model.cfg
    pipeline = list(cfg.test_dataloader.dataset.pipeline)
    data = dict(img_id=0, cam2img=load_cam2img(calib))
    if isinstance(img, str):
        data.update(img_path=img, kitti_id=osp.splitext(osp.basename(img))[0])
    else:
        pipeline[0] = dict(type='mmdet.LoadImageFromNDArray')
        data.update(img=img, img_path=None, kitti_id='0')
    sample = Compose(pipeline)(data)
    with torch.no_grad():
        return model.test_step(pseudo_collate([sample]))[0]
