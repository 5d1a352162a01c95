"""Monocular 3D annotations (KITTI) through the pipeline: loading, ``CenterAffine``'s flip
of them and the official 3D jitter, packing.

Per object: ``gt_bboxes_3d (N, 7)`` -> ``gt_instances.bboxes_3d``: ``x, y, z`` (bottom center,
camera coordinates, metres), ``l, h, w``, ``rot_y``, as KITTI labels; ``gt_alphas`` ->
``alphas`` (observation angle); ``gt_truncation`` / ``gt_occlusion`` -> ``truncation`` /
``occlusion``; ``gt_dontcare`` -> ``dontcare`` (bool): ignore regions that stay in
``gt_instances`` in annotation order (KITTI ``DontCare`` / ``Van`` ..., see
``KittiMono3DDataset``); mmdet's ``gt_ignore_flags`` would move them out. The 3D boxes stay
in camera coordinates through ``CenterAffine`` (``cam2img`` stays the original image's
calibration, the network input's camera being ``affine_matrix @ cam2img``); a flip mirrors
them (:func:`flip_mono3d_annotations`).
"""
from typing import Tuple

import numpy as np
import torch
from mmdet.datasets.transforms import LoadAnnotations

from mmcenternet.registry import TRANSFORMS
from mmcenternet.structures.camera3d import project, wrap_angle
from .center_affine import hflip_matrix, register_affine_mapper, register_jitter_style
from .formatting import register_packed_fields

#: ``results`` keys of the per-object 3D annotations: instance key, dtype, shape, packed name.
MONO3D_FIELDS = dict(gt_bboxes_3d=('bbox_3d', np.float32, (-1, 7), 'bboxes_3d'),
                     gt_alphas=('alpha', np.float32, (-1, ), 'alphas'),
                     gt_truncation=('truncation', np.float32, (-1, ), 'truncation'),
                     gt_occlusion=('occlusion', np.int64, (-1, ), 'occlusion'),
                     gt_dontcare=('dontcare', bool, (-1, ), 'dontcare'))
register_packed_fields(**{key: spec[3] for key, spec in MONO3D_FIELDS.items()})


@TRANSFORMS.register_module()
class LoadMono3DAnnotations(LoadAnnotations):
    """mmdet's ``LoadAnnotations`` (2D boxes and labels) plus the 3D fields of
    :class:`~mmcenternet.datasets.KittiMono3DDataset` instances.

    Adds ``gt_bboxes_3d (N, 7)``, ``gt_alphas``, ``gt_truncation``, ``gt_occlusion`` and
    ``gt_dontcare`` (ignore regions, see the dataset), which ``PackCenterNetInputs`` packs
    into ``gt_instances``. ``cam2img`` comes from the dataset entry itself.
    """

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault('with_bbox', True)
        kwargs.setdefault('with_label', True)
        super().__init__(**kwargs)

    def transform(self, results: dict) -> dict:
        results = super().transform(results)
        instances = results.get('instances', [])
        for key, (field, dtype, shape, _) in MONO3D_FIELDS.items():
            results[key] = np.array([inst[field] for inst in instances],
                                    dtype=dtype).reshape(shape)
        return results


def flip_mono3d_annotations(results: dict, width: int) -> None:
    """Mirrors the 3D annotations of an image flipped left-right (``u -> width - 1 - u``).

    The camera is not centered on the image (``cx != (width - 1) / 2``), so a mirrored
    scene seen by the same camera is not exactly the mirrored image. The flipped object keeps
    ``y`` and ``z`` and gets the ``x`` that ``P = cam2img`` projects to the mirrored column;
    ``alpha`` becomes ``pi - alpha`` (the mirrored observation angle) and ``rot_y = alpha +
    atan2(x, z)`` (KITTI's relation). ``cam2img`` becomes ``H P`` with ``H`` the image flip,
    so that, as for unflipped samples, ``affine_matrix @ cam2img`` (``affine_matrix``
    includes the flip) is the camera of the network input for these boxes. Ignore regions
    (``gt_dontcare``) keep their placeholders. The official 3D task never flips; this is
    an option.
    """
    boxes = torch.as_tensor(results['gt_bboxes_3d'], dtype=torch.float64).reshape(-1, 7)
    alphas = torch.as_tensor(results['gt_alphas'], dtype=torch.float64).reshape(-1)
    real = ~torch.as_tensor(results.get('gt_dontcare', np.zeros(len(alphas), bool)))
    cam = torch.as_tensor(results['cam2img'], dtype=torch.float64)[:3, :4]
    results['cam2img'] = hflip_matrix(width) @ cam.numpy()
    if len(boxes) == 0 or not bool(real.any()):
        return
    loc = boxes[:, :3]
    u_new = (width - 1) - project(loc, cam)[:, 0]
    # solve u_new = (P0 . X) / (P2 . X) for x, the other coordinates fixed
    rest0 = cam[0, 1] * loc[:, 1] + cam[0, 2] * loc[:, 2] + cam[0, 3]
    rest2 = cam[2, 1] * loc[:, 1] + cam[2, 2] * loc[:, 2] + cam[2, 3]
    x_new = (u_new * rest2 - rest0) / (cam[0, 0] - u_new * cam[2, 0])
    alpha_new = wrap_angle(np.pi - alphas)
    rot_new = wrap_angle(alpha_new + torch.atan2(x_new, loc[:, 2]))
    boxes[real, 0] = x_new[real]
    boxes[real, 6] = rot_new[real]
    alphas[real] = alpha_new[real]
    results['gt_bboxes_3d'] = boxes.numpy().astype(np.float32)
    results['gt_alphas'] = alphas.numpy().astype(np.float32)


@register_affine_mapper('gt_alphas')
def map_mono3d(results: dict, mat: np.ndarray, flipped: bool, width: int,
               out_size: Tuple[int, int]) -> None:
    """``CenterAffine`` mapper: the 3D annotations stay in camera coordinates; a flip
    mirrors them (:func:`flip_mono3d_annotations`)."""
    if flipped:
        flip_mono3d_annotations(results, width)


@register_jitter_style('ddd')
def ddd_jitter(t, center: np.ndarray, size: np.ndarray, height: int,
               width: int) -> np.ndarray:
    """``CenterAffine(jitter_style='ddd')``, the official ``DddDataset`` jitter: a uniform
    draw against ``jitter_prob`` for every image, then the scale, then the shift relative to
    the image width / height."""
    if t.random.random() < t.jitter_prob:
        sf, cf = t.scale, t.shift
        size = size * np.clip(t.random.randn() * sf + 1, 1 - sf, 1 + sf)
        center[0] += width * np.clip(t.random.randn() * cf, -2 * cf, 2 * cf)
        center[1] += height * np.clip(t.random.randn() * cf, -2 * cf, 2 * cf)
    return size
