"""What every CenterNet decoder gives the head: the contract between maps and results.

A task (2D boxes, pose, 3D, faces) is a dict of branches plus an encoder/decoder pair. The
head never looks inside a task: it asks the decoder to

1. ``decode_maps``: turn the activated branch maps of a batch into ``(B, K, ...)`` tensors in
   network-input pixels (``bboxes``, ``scores``, ``labels`` and the task's extras);
2. ``to_original``: map every coordinate output back to the original image (the keys in
   ``point_keys`` hold ``(x, y)`` pairs in their last dimension), then ``finalize`` anything
   that needs original-image coordinates (e.g. 3D boxes from the camera calibration);
3. ``flip_merge``: merge the maps of an image and of its mirror for the flip test.

The head then builds one ``InstanceData`` per image from ``instance_keys``.
"""
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor

AFFINE_KEY = 'affine_matrix'


def apply_affine(points: Tensor, matrices: Tensor) -> Tensor:
    """``points (B, N, 2)`` through ``matrices (B, 3, 3)`` (homogeneous, row vectors)."""
    return torch.einsum('bij,bkj->bki', matrices[:, :2, :2], points) + matrices[:, None, :2, 2]


def inverse_affines(batch_img_metas: Sequence[dict], device: torch.device,
                    dtype: torch.dtype) -> Optional[Tensor]:
    """``(B, 3, 3)`` inverses of the metas' ``affine_matrix`` (None if one lacks it)."""
    if not batch_img_metas or not all(AFFINE_KEY in m for m in batch_img_metas):
        return None
    mats = torch.stack([torch.as_tensor(m[AFFINE_KEY], dtype=torch.float64)
                        for m in batch_img_metas]).to(device)
    return torch.linalg.inv(mats).to(dtype)


def map_points_back(points: Tensor, batch_img_metas: Sequence[dict]) -> Tensor:
    """Input-pixel coordinates ``(B, K, ..., 2m)`` -> original-image pixels.

    Uses the inverse of ``affine_matrix`` (set by ``CenterAffine``) when every meta has one,
    else mmdet's ``scale_factor`` (pipelines built from mmdet's ``Resize``).
    """
    shape = points.shape
    inv = inverse_affines(batch_img_metas, points.device, points.dtype)
    pairs = points.reshape(shape[0], -1, 2)
    if inv is not None:
        return apply_affine(pairs, inv).reshape(shape)
    scale = torch.stack([points.new_tensor(m.get('scale_factor', (1., 1.)))
                         for m in batch_img_metas])
    return (pairs / scale[:, None, :]).reshape(shape)


def flip_lr_maps(maps: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """Mirrors every branch map left-right."""
    return {name: value.flip(-1) for name, value in maps.items()}


class BaseCenterDecoder:
    """Base of the decoders of :class:`CenterNetHead` (see the module docstring).

    Attributes:
        point_keys: Outputs whose last dimension holds ``(x, y)`` pairs in input pixels.
        instance_keys: Outputs that become fields of the per-image ``InstanceData``.
        finalize_keys: Other outputs of :meth:`decode_maps` that :meth:`finalize` reads
            (e.g. 3D depths and sizes); an ONNX export keeps them as graph outputs, with
            ``instance_keys`` and ``point_keys``, so that :meth:`to_original` can run
            after ONNX Runtime.
        flip_average: Branches averaged with their mirror in :meth:`flip_merge`; the other
            branches are taken from the unflipped image, as the official flip test.
    """

    point_keys: Sequence[str] = ('bboxes', )
    instance_keys: Sequence[str] = ('bboxes', 'scores', 'labels')
    finalize_keys: Sequence[str] = ()
    flip_average: Sequence[str] = ('heatmap', 'wh')

    def decode_maps(self, maps: Dict[str, Tensor],
                    batch_img_metas: Optional[List[dict]] = None) -> Dict[str, Tensor]:
        """Activated branch maps of a batch -> ``(B, K, ...)`` outputs in input pixels."""
        raise NotImplementedError

    def to_original(self, dets: Dict[str, Tensor],
                    batch_img_metas: List[dict]) -> Dict[str, Tensor]:
        """Maps every ``point_keys`` output back to the original image, then finalizes."""
        dets = dict(dets)
        for key in self.point_keys:
            if key in dets:
                dets[key] = map_points_back(dets[key], batch_img_metas)
        return self.finalize(dets, batch_img_metas)

    def finalize(self, dets: Dict[str, Tensor],
                 batch_img_metas: List[dict]) -> Dict[str, Tensor]:
        """Hook for outputs computed from original-image coordinates (identity here)."""
        return dets

    def flip_merge(self, maps: Dict[str, Tensor], flipped_maps: Dict[str, Tensor],
                   batch_img_metas: Optional[List[dict]] = None) -> Dict[str, Tensor]:
        """Official flip test: the mean of ``flip_average`` branches of the image and its
        un-mirrored flip; every other branch from the image itself."""
        merged = dict(maps)
        unflipped = flip_lr_maps({k: flipped_maps[k] for k in self.flip_average
                                  if k in flipped_maps})
        for name, value in unflipped.items():
            merged[name] = (maps[name] + value) / 2
        return merged
