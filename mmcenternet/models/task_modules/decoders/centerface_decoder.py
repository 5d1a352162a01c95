"""Faces and their five landmarks from CenterFace maps (the release's decode, batched).

What CenterFace's release does after its network (``prj-python/centerface.py`` and the
C++ demos, identical), for each map pixel ``(i, j)`` whose heatmap exceeds a threshold:
box side ``exp(scale) * 4`` (``scale`` channel 0 the height, 1 the width), box center
``(j + offset_x + 0.5, i + offset_y + 0.5) * 4`` (``offset`` channel 0 is y), landmark
``k`` at ``corner + landmarks[2k+1, 2k] * (w, h)`` (``x`` in the odd channels), then NMS at
IoU 0.3. Here the same maps decode the same way, with CenterNet's peak extraction in front:
``kernel`` 3 keeps 3x3 local maxima and the top-``topk`` (CenterNet), ``kernel`` 1 keeps
every pixel as the release does; the threshold and the NMS are the head's ``test_cfg``
(``score_thr``, ``nms``). One difference: the release clips the box corner to the image
*before* adding the size (a face cut by the border moves inwards, and its landmarks with
it); boxes and landmarks here are not clipped.
"""
from typing import Dict, List, Optional

import torch
from torch import Tensor

from mmcenternet.registry import TASK_UTILS
from .base import flip_lr_maps
from .ctdet_decoder import CTDetDecoder, gather_at, local_peaks, topk_peaks
from .multi_pose_decoder import flip_permutation


@TASK_UTILS.register_module()
class CenterFaceDecoder(CTDetDecoder):
    """Decodes CenterFace's ``heatmap``, ``scale``, ``offset`` and ``landmarks`` maps.

    Outputs (``(B, K, ...)``, input pixels): ``bboxes``, ``scores``, ``labels``,
    ``keypoints (B, K, L, 2)`` (the landmarks, ``(x, y)``) and ``keypoint_scores (B, K, L)``
    (each landmark gets its face's score: CenterFace predicts no per-landmark confidence).

    Args:
        topk: Faces per image before the head's threshold / NMS (WIDER FACE has crowds).
        kernel: Peak window (3: CenterNet's local maxima; 1: every pixel, as the release).
        stride: Output stride.
    """

    point_keys = ('bboxes', 'keypoints')
    instance_keys = ('bboxes', 'scores', 'labels', 'keypoints', 'keypoint_scores')
    flip_average = ('heatmap', 'scale')

    def decode_maps(self, maps: Dict[str, Tensor],
                    batch_img_metas: Optional[List[dict]] = None) -> Dict[str, Tensor]:
        """:meth:`decode` of the face branches (``offset`` and ``landmarks`` optional)."""
        return self.decode(maps['heatmap'], maps['scale'], maps.get('offset'),
                           maps.get('landmarks'))

    def decode(self, heatmap: Tensor, scale: Tensor, offset: Optional[Tensor] = None,
               landmarks: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Decodes a batch.

        Args:
            heatmap: ``(B, C, H, W)`` face scores in ``[0, 1]``.
            scale: ``(B, 2, H, W)`` ``(log h, log w)`` in output pixels.
            offset: ``(B, 2, H, W)`` ``(y, x)`` center offsets from the pixel center, or
                None (centers at the pixel centers).
            landmarks: ``(B, 2L, H, W)`` ``(y, x)`` per landmark relative to the box corner
                and size, or None (no ``keypoints`` output).
        """
        scores, labels, pixel, ys, xs = topk_peaks(local_peaks(heatmap, self.kernel),
                                                   self.topk)
        centers = torch.stack([xs, ys], dim=2).to(scale.dtype) + 0.5
        if offset is not None:
            centers = centers + gather_at(offset, pixel).flip(-1)
        size = gather_at(scale, pixel).flip(-1).exp()  # (B, K, 2) w, h
        corner = centers - size / 2
        dets = dict(bboxes=torch.cat([corner, corner + size], dim=2) * self.stride,
                    scores=scores, labels=labels, centers=centers, pixel=pixel)
        if landmarks is not None:
            num_imgs, num_dets = pixel.shape
            rel = gather_at(landmarks, pixel).view(num_imgs, num_dets, -1, 2).flip(-1)
            points = corner[:, :, None] + rel * size[:, :, None]
            dets['keypoints'] = points * self.stride
            dets['keypoint_scores'] = scores[..., None].expand(-1, -1, rel.shape[2])
        return dets

    def flip_merge(self, maps: Dict[str, Tensor], flipped_maps: Dict[str, Tensor],
                   batch_img_metas: Optional[List[dict]] = None) -> Dict[str, Tensor]:
        """Flip test: ``heatmap`` and ``scale`` averaged with their mirror (a mirror keeps
        the box size), ``offset`` from the image itself (as CenterNet), and ``landmarks``
        mirrored (``x`` relative to the box becomes ``1 - x``), re-ordered by the metas'
        ``flip_indices`` (left and right eyes / mouth corners swap) and averaged."""
        merged = super().flip_merge(maps, flipped_maps, batch_img_metas)
        if 'landmarks' not in flipped_maps or 'landmarks' not in maps:
            return merged
        mirrored = flip_lr_maps({'landmarks': flipped_maps['landmarks']})['landmarks']
        num_imgs, channels, height, width = mirrored.shape
        perm = flip_permutation(batch_img_metas, channels // 2, mirrored.device)
        pairs = mirrored.view(num_imgs, channels // 2, 2, height, width)[:, perm]
        pairs = torch.stack([pairs[:, :, 0], 1 - pairs[:, :, 1]], dim=2)
        merged['landmarks'] = (maps['landmarks'] + pairs.reshape(mirrored.shape)) / 2
        return merged
