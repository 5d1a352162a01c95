"""People and their joints from CenterNet pose maps (official ``multi_pose_decode``)."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from mmcenternet.registry import TASK_UTILS
from .ctdet_decoder import CTDetDecoder, gather_at, local_peaks

FLIP_KEY = 'flip_indices'


def flip_permutation(batch_img_metas: Optional[Sequence[dict]], num_keypoints: int,
                     device: torch.device) -> Tensor:
    """The joint permutation of a mirror image (``new[k] = old[perm[k]]``) from the metas.

    Raises:
        KeyError: A meta has no ``flip_indices``.
        ValueError: The images disagree, or it is not a permutation of ``num_keypoints``.
    """
    metas = list(batch_img_metas or [])
    if not metas or any(FLIP_KEY not in m for m in metas):
        raise KeyError(
            'the flip test of keypoints needs "flip_indices" in every image meta: use a '
            'keypoint dataset (e.g. CocoPoseDataset, metainfo.flip_indices) and add '
            '"flip_indices" to the meta_keys of PackCenterNetInputs')
    perm = [int(i) for i in metas[0][FLIP_KEY]]
    if any([int(i) for i in m[FLIP_KEY]] != perm for m in metas[1:]):
        raise ValueError('the images of a batch have different flip_indices')
    if sorted(perm) != list(range(num_keypoints)):
        raise ValueError(f'flip_indices {perm} is not a permutation of the {num_keypoints} '
                         'keypoints of the model')
    return torch.tensor(perm, dtype=torch.long, device=device)


@TASK_UTILS.register_module()
class MultiPoseDecoder(CTDetDecoder):
    """Decodes people (boxes) and their ``K`` joints, as the official ``multi_pose_decode``.

    Boxes as :class:`CTDetDecoder`. Each person's joints are the ``kps`` offsets at its
    peak added to the peak's integer position; with a ``kp_heatmap`` each joint is then
    snapped to the nearest of that joint's top-K ``kp_heatmap`` peaks (3x3 max-pool peaks,
    ``+ kp_offset`` or ``+ 0.5``) whose score exceeds ``snap_thr``, unless that peak lies
    outside the person's box or farther than ``snap_dist * max(box h, box w)``.

    Outputs (``(B, K, ...)``, input pixels): ``bboxes``, ``scores``, ``labels``,
    ``keypoints (B, K, J, 2)`` and ``keypoint_scores (B, K, J)``. The official code gives no
    per-joint score; here a snapped joint scores its peak and a regressed one 0.

    Args:
        topk: People per image, and peaks per joint channel (official ``K`` 100).
        kernel: Peak window of both heatmaps (official 3).
        stride: Output stride.
        snap_thr: Minimum joint peak score (official 0.1).
        snap_dist: Maximum snapping distance as a fraction of the box's longer side
            (official 0.3).
    """

    point_keys = ('bboxes', 'keypoints')
    instance_keys = ('bboxes', 'scores', 'labels', 'keypoints', 'keypoint_scores')

    def __init__(self, topk: int = 100, kernel: int = 3, stride: int = 4,
                 snap_thr: float = 0.1, snap_dist: float = 0.3) -> None:
        super().__init__(topk=topk, kernel=kernel, stride=stride)
        self.snap_thr = snap_thr
        self.snap_dist = snap_dist

    def decode_maps(self, maps: Dict[str, Tensor],
                    batch_img_metas: Optional[List[dict]] = None) -> Dict[str, Tensor]:
        """:meth:`decode` of the pose branches (``offset``, ``kp_heatmap``, ``kp_offset``
        optional, as the official ``--not_reg_offset`` / ``--not_hm_hp`` /
        ``--not_reg_hp_offset``)."""
        return self.decode(maps['heatmap'], maps['wh'], maps['kps'], maps.get('offset'),
                           maps.get('kp_heatmap'), maps.get('kp_offset'))

    def decode(self, heatmap: Tensor, wh: Tensor, kps: Tensor, offset: Optional[Tensor] = None,
               kp_heatmap: Optional[Tensor] = None,
               kp_offset: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Decodes a batch.

        Args:
            heatmap: ``(B, C, H, W)`` center scores in ``[0, 1]``.
            wh: ``(B, 2, H, W)`` box sizes (output pixels).
            kps: ``(B, 2J, H, W)`` joint offsets from the center, ``(x, y)`` per joint.
            offset: ``(B, 2, H, W)`` center offsets, or None.
            kp_heatmap: ``(B, J, H, W)`` joint scores in ``[0, 1]``, or None (no snapping).
            kp_offset: ``(B, 2, H, W)`` joint offsets, or None (joint peaks at +0.5).
        """
        dets = super().decode(heatmap, wh, offset)
        num_imgs, num_dets = dets['pixel'].shape
        width = heatmap.shape[-1]
        ys = torch.div(dets['pixel'], width, rounding_mode='floor')
        peak = torch.stack([dets['pixel'] - ys * width, ys], dim=-1).to(kps.dtype)
        joints = gather_at(kps, dets['pixel']).view(num_imgs, num_dets, -1, 2)
        joints = joints + peak[:, :, None, :]
        scores = joints.new_zeros(joints.shape[:3])
        if kp_heatmap is not None:
            joints, scores = self.snap(joints, dets['bboxes'] / self.stride, kp_heatmap,
                                       kp_offset)
        dets['keypoints'] = joints * self.stride
        dets['keypoint_scores'] = scores
        return dets

    def joint_peaks(self, kp_heatmap: Tensor,
                    kp_offset: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        """Top-K peaks of every joint channel: ``(xy (B, J, P, 2), score (B, J, P))``, with
        the peaks at or below ``snap_thr`` moved far away (score -1), as officially."""
        num_imgs, num_joints, height, width = kp_heatmap.shape
        k = min(self.topk, height * width)
        scores, pixel = local_peaks(kp_heatmap, self.kernel).reshape(
            num_imgs, num_joints, -1).topk(k)
        ys = torch.div(pixel, width, rounding_mode='floor')
        xy = torch.stack([pixel - ys * width, ys], dim=-1).to(kp_heatmap.dtype)
        if kp_offset is None:
            xy = xy + 0.5
        else:
            xy = xy + gather_at(kp_offset, pixel.view(num_imgs, -1)).view(
                num_imgs, num_joints, k, 2)
        valid = scores > self.snap_thr
        xy = torch.where(valid[..., None], xy, xy.new_tensor(-10000.))
        return xy, torch.where(valid, scores, scores.new_tensor(-1.))

    def snap(self, joints: Tensor, boxes: Tensor, kp_heatmap: Tensor,
             kp_offset: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        """Moves regressed joints ``(B, K, J, 2)`` onto joint peaks (output pixels).

        Returns:
            The joints and their scores ``(B, K, J)`` (0 where not snapped).
        """
        peaks, peak_scores = self.joint_peaks(kp_heatmap, kp_offset)  # (B, J, P, ...)
        regressed = joints.transpose(1, 2)  # (B, J, K, 2)
        dist = ((regressed[:, :, :, None] - peaks[:, :, None]) ** 2).sum(-1).sqrt()
        min_dist, nearest = dist.min(dim=3)  # (B, J, K)
        score = peak_scores.gather(2, nearest)
        near = peaks.gather(2, nearest[..., None].expand(-1, -1, -1, 2))
        left, top, right, bottom = (boxes[..., i][:, None] for i in range(4))  # (B, 1, K)
        x, y = near[..., 0], near[..., 1]
        reject = ((x < left) | (x > right) | (y < top) | (y > bottom) |
                  (score < self.snap_thr) |
                  (min_dist > torch.maximum(bottom - top, right - left) * self.snap_dist))
        out = torch.where(reject[..., None], regressed, near)
        score = torch.where(reject, score.new_zeros(()), score)
        return out.transpose(1, 2), score.transpose(1, 2)

    def flip_merge(self, maps: Dict[str, Tensor], flipped_maps: Dict[str, Tensor],
                   batch_img_metas: Optional[List[dict]] = None) -> Dict[str, Tensor]:
        """Official pose flip test: ``heatmap`` and ``wh`` as the base class; ``kps``
        mirrored (x offsets negated) and ``kp_heatmap`` mirrored, both with the left/right
        joints swapped by the metas' ``flip_indices`` (official ``flip_lr_off`` /
        ``flip_lr``, for any number of joints), then averaged; ``offset`` and
        ``kp_offset`` from the unflipped image."""
        merged = super().flip_merge(maps, flipped_maps, batch_img_metas)
        if 'kps' not in flipped_maps and 'kp_heatmap' not in flipped_maps:
            return merged
        num_joints = maps['kps'].shape[1] // 2
        perm = flip_permutation(batch_img_metas, num_joints, maps['kps'].device)
        if 'kps' in flipped_maps:
            mirrored = flipped_maps['kps'].flip(-1)
            num_imgs, channels, height, width = mirrored.shape
            sign = mirrored.new_tensor([-1., 1.]).view(1, 1, 2, 1, 1)
            mirrored = (mirrored.view(num_imgs, num_joints, 2, height, width) * sign)[:, perm]
            merged['kps'] = (maps['kps'] + mirrored.reshape(maps['kps'].shape)) / 2
        if 'kp_heatmap' in flipped_maps:
            mirrored = flipped_maps['kp_heatmap'].flip(-1)[:, perm]
            merged['kp_heatmap'] = (maps['kp_heatmap'] + mirrored) / 2
        return merged
