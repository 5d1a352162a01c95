"""CenterNet multi-person pose (official ``multi_pose``): targets and decoding, batched."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmcenternet.registry import TASK_UTILS
from ..gaussian import draw_gaussians, gaussian_windows
from ..peaks import gather_at, local_peaks
from .base import boxes_tensor, first_rows, flip_permutation
from .ctdet import CTDetCodec


def segmented_exclusive_max(values: Tensor, segment: Tensor) -> Tensor:
    """For values sorted by segment, the max of the earlier values of the same segment.

    A Hillis-Steele scan (``log2`` of the longest segment steps, no loop over elements);
    0 where an element is the first of its segment (the maps start at 0).
    """
    run = values.clone()
    if values.numel() == 0:
        return run
    longest = int(torch.unique_consecutive(segment, return_counts=True)[1].max())
    step = 1
    while step < longest:
        same = segment[step:] == segment[:-step]
        run[step:] = torch.where(same, torch.maximum(run[step:], run[:-step]), run[step:])
        step *= 2
    prev = torch.zeros_like(values)
    same = segment[1:] == segment[:-1]
    prev[1:] = torch.where(same, run[:-1], prev[1:])
    return prev


@TASK_UTILS.register_module()
class MultiPoseCodec(CTDetCodec):
    """People (boxes) and their ``K`` joints: the branches of :class:`CTDetCodec` plus
    ``kps`` (2K), ``kp_heatmap`` (K) and ``kp_offset`` (2).

    :meth:`encode` matches the target code of the official ``MultiPoseDataset.__getitem__``
    value for value, for a whole batch at once (no loop over people or joints):

    - boxes as :class:`CTDetCodec` (``heatmap``, ``wh``, ``offset``, ``indices``,
      ``mask``); a person without any annotated joint (all visibilities 0, e.g. COCO crowd
      regions) still gets its center peak but no ``wh`` / ``offset`` loss (``mask`` 0), as
      officially (the official code first writes 0.9999 at the center, which its own
      gaussian then overwrites with 1);
    - ``kps (B, M, 2K)``: each annotated joint inside the output map minus the integer
      center, with the per-joint ``kps_mask (B, M, 2K)`` (gathered at the centers);
    - ``kp_heatmap (B, K, H, W)``: a gaussian per such joint at its integer position with
      the object's radius (official ``hp_radius`` equals the box radius);
    - ``kp_offset (B, M * K, 2)``: the joint's fractional part, at its own pixel
      ``kp_offset_indices (B, M * K)`` (slot ``m * K + k``) with ``kp_offset_mask``.

    With ``dense_hp`` (official ``--dense_hp``) ``kps`` and ``kps_mask`` are dense
    ``(B, 2K, H, W)`` maps instead: around each center (the box gaussian's window) the
    offset from that pixel to the joint, written where the object's gaussian is at least
    the class heatmap drawn so far (later objects overwrite, as the official
    ``draw_dense_reg``), weighted by the per-joint max of the objects' gaussians.

    :meth:`decode_maps` is the official ``multi_pose_decode``: boxes as :class:`CTDetCodec`;
    each person's joints are the ``kps`` offsets at its peak added to the peak's integer
    position; with a ``kp_heatmap`` each joint is then snapped to the nearest of that joint's
    top-K ``kp_heatmap`` peaks (3x3 max-pool peaks, ``+ kp_offset`` or ``+ 0.5``) whose score
    exceeds ``snap_thr``, unless that peak lies outside the person's box or farther than
    ``snap_dist * max(box h, box w)``. Outputs (``(B, K, ...)``, input pixels): ``bboxes``,
    ``scores``, ``labels``, ``keypoints (B, K, J, 2)`` and ``keypoint_scores (B, K, J)``. The
    official code gives no per-joint score; here a snapped joint scores its peak and a
    regressed one 0.

    Differences: the official code can rotate (``--aug_rot``, 0 by default); the input
    transform here does not, so that branch is absent. Keypoints arrive in network-input
    pixels and are divided by ``stride`` (the official code maps them to the output with
    its own affine matrix).

    Args:
        num_classes: Heatmap channels (1 for COCO person keypoints).
        num_keypoints: Joints per object ``K`` (17 for COCO).
        stride: Output stride.
        max_objs: Object slots per image (official ``coco_hp``: 32).
        topk: People per image, and peaks per joint channel (official ``K`` 100).
        kernel: Peak window of both heatmaps (official 3).
        radius_mode: ``'official'`` or ``'corrected'`` (see ``gaussian_radius``).
        min_overlap: IoU of the radius rule.
        dense_hp: Dense keypoint-offset targets (see above).
        keypoint_labels: Labels of the classes that carry keypoints (None: all). Only for
            those does "no annotated joint" switch off the box size / offset loss, so a
            model can detect every COCO class and the pose of people (official multi_pose
            has the one person class).
        snap_thr: Minimum joint peak score (official 0.1).
        snap_dist: Maximum snapping distance as a fraction of the box's longer side
            (official 0.3).
    """

    point_keys = ('bboxes', 'keypoints')
    instance_keys = ('bboxes', 'scores', 'labels', 'keypoints', 'keypoint_scores')
    official_task = 'multi_pose'
    official_heads = dict(CTDetCodec.official_heads, hps='kps', hm_hp='kp_heatmap',
                          hp_offset='kp_offset')

    def __init__(self, num_classes: int = 1, num_keypoints: int = 17, stride: int = 4,
                 max_objs: int = 32, topk: int = 100, kernel: int = 3,
                 radius_mode: str = 'official', min_overlap: float = 0.7,
                 dense_hp: bool = False, keypoint_labels: Optional[Sequence[int]] = None,
                 snap_thr: float = 0.1, snap_dist: float = 0.3) -> None:
        super().__init__(num_classes=num_classes, stride=stride, max_objs=max_objs,
                         topk=topk, kernel=kernel, radius_mode=radius_mode,
                         min_overlap=min_overlap)
        if num_keypoints < 1:
            raise ValueError(f'MultiPoseCodec.num_keypoints must be >= 1, got {num_keypoints}')
        self.num_keypoints = num_keypoints
        self.dense_hp = dense_hp
        if keypoint_labels is not None:
            bad = [lb for lb in keypoint_labels if not 0 <= int(lb) < num_classes]
            if bad:
                raise ValueError(f'MultiPoseCodec.keypoint_labels {bad} are not labels of '
                                 f'the {num_classes} classes')
        self.keypoint_labels = None if keypoint_labels is None else [int(lb) for lb in
                                                                     keypoint_labels]
        self.snap_thr = snap_thr
        self.snap_dist = snap_dist

    @property
    def branch_channels(self) -> Dict[str, int]:
        k = self.num_keypoints
        return dict(super().branch_channels, kps=2 * k, kp_heatmap=k, kp_offset=2)

    @property
    def activations(self) -> Dict[str, str]:
        return dict(heatmap='sigmoid', kp_heatmap='sigmoid')

    def check_dataset(self, metainfo, where: str) -> None:
        super().check_dataset(metainfo, where)
        self._check_keypoints(metainfo, where, self.num_keypoints, 'num_keypoints')

    # ------------------------------------------------------------------ encoding
    def encode(self, batch_gt_instances: Sequence[InstanceData], feat_shape: Tuple[int, int],
               batch_img_metas: Optional[List[dict]] = None) -> Dict[str, Tensor]:
        """Encodes the gt of a batch.

        Args:
            batch_gt_instances: Per image ``bboxes`` (xyxy), ``labels``, ``keypoints
                (N, K, 2)`` (input pixels) and ``keypoints_visible (N, K)`` (COCO 0/1/2).
            feat_shape: ``(H, W)`` of the output maps.
            batch_img_metas: Unused.

        Returns:
            The :class:`CTDetCodec` targets plus ``kps``, ``kps_mask``, ``kp_heatmap``,
            ``kp_offset``, ``kp_offset_indices``, ``kp_offset_mask`` (see the class doc).
        """
        for i, gt in enumerate(batch_gt_instances):
            missing = [k for k in ('keypoints', 'keypoints_visible') if k not in gt]
            if missing:
                raise KeyError(
                    f'MultiPoseCodec: gt_instances of image {i} have no {missing}; the '
                    'pipeline must load and pack them (LoadPoseAnnotations, '
                    'PackCenterNetInputs)')
            if gt.keypoints.shape[1:] != (self.num_keypoints, 2):
                raise ValueError(
                    f'MultiPoseCodec: gt keypoints of image {i} have shape '
                    f'{tuple(gt.keypoints.shape)}, expected (N, {self.num_keypoints}, 2) '
                    '(model.bbox_head.codec.num_keypoints)')
        return self.encode_tensors(
            [boxes_tensor(g.bboxes) for g in batch_gt_instances],
            [g.labels for g in batch_gt_instances],
            [g.keypoints for g in batch_gt_instances],
            [g.keypoints_visible for g in batch_gt_instances], feat_shape)

    def encode_tensors(self, batch_bboxes: Sequence[Tensor], batch_labels: Sequence[Tensor],
                       batch_keypoints: Sequence[Tensor], batch_visible: Sequence[Tensor],
                       feat_shape: Tuple[int, int]) -> Dict[str, Tensor]:
        """Same as :meth:`encode`, from per-image tensors."""
        height, width = feat_shape
        num_imgs = len(batch_bboxes)
        k = self.num_keypoints
        targets, objs = self.encode_boxes(batch_bboxes, batch_labels, feat_shape)
        device = targets['heatmap'].device
        kpts = first_rows(batch_keypoints, self.max_objs, (k, 2)).to(device, torch.float32)
        vis = first_rows(batch_visible, self.max_objs, (k, )).to(device)
        kpts, vis = kpts[objs['row']] / self.stride, vis[objs['row']]
        img, slot = objs['img'], objs['slot']

        no_joints = vis.sum(1) == 0
        if self.keypoint_labels is not None:
            no_joints &= torch.isin(objs['label'], no_joints.new_tensor(
                self.keypoint_labels, dtype=torch.long))
        targets['mask'][img[no_joints], slot[no_joints]] = 0

        inside = ((vis > 0) & (kpts[..., 0] >= 0) & (kpts[..., 0] < width) &
                  (kpts[..., 1] >= 0) & (kpts[..., 1] < height))
        obj, joint = inside.nonzero(as_tuple=True)
        pts = kpts[obj, joint]
        pt_int = pts.long()  # pts >= 0: truncation is the official floor
        o_img, o_slot = img[obj], slot[obj]
        m = self.max_objs

        heat = torch.zeros((num_imgs * k, height, width), device=device)
        draw_gaussians(heat, o_img * k + joint, pt_int, objs['radius'][obj])
        targets['kp_heatmap'] = heat.view(num_imgs, k, height, width)
        joint_slot = o_slot * k + joint
        targets['kp_offset'] = torch.zeros((num_imgs, m * k, 2), device=device)
        targets['kp_offset'][o_img, joint_slot] = pts - pt_int
        targets['kp_offset_indices'] = torch.zeros((num_imgs, m * k), dtype=torch.long,
                                                   device=device)
        targets['kp_offset_indices'][o_img, joint_slot] = pt_int[:, 1] * width + pt_int[:, 0]
        targets['kp_offset_mask'] = torch.zeros((num_imgs, m * k), device=device)
        targets['kp_offset_mask'][o_img, joint_slot] = 1

        if self.dense_hp:
            targets.update(self.dense_kps(objs, kpts, inside, num_imgs, feat_shape))
        else:
            kps = torch.zeros((num_imgs, m, k, 2), device=device)
            kps[o_img, o_slot, joint] = pts - objs['center_int'][obj]
            kps_mask = torch.zeros((num_imgs, m, k, 2), device=device)
            kps_mask[o_img, o_slot, joint] = 1
            targets['kps'] = kps.view(num_imgs, m, 2 * k)
            targets['kps_mask'] = kps_mask.view(num_imgs, m, 2 * k)
        return targets

    def dense_kps(self, objs: Dict[str, Tensor], kpts: Tensor, inside: Tensor, num_imgs: int,
                  feat_shape: Tuple[int, int]) -> Dict[str, Tensor]:
        """Dense ``kps`` / ``kps_mask`` ``(B, 2K, H, W)`` (official ``--dense_hp``)."""
        height, width = feat_shape
        k = self.num_keypoints
        hw = height * width
        device = kpts.device
        num_objs = objs['img'].numel()
        centers, radius = objs['center_int'], objs['radius']
        class_map = objs['img'] * self.num_classes + objs['label']
        obj, flat, offset, value = gaussian_windows(class_map, centers, radius, height, width)
        # Official order: objects one by one, each compared with the class heatmap drawn by
        # the objects before it. Sort the window pixels by (pixel, object) and scan.
        order = torch.argsort(flat * max(num_objs, 1) + obj)
        obj, flat, offset, value = obj[order], flat[order], offset[order], value[order]
        before = segmented_exclusive_max(value.float(), flat)
        writes = value >= before.double()

        entry, joint = inside[obj].nonzero(as_tuple=True)  # (window pixel, joint) pairs
        chosen = writes[entry]
        entry, joint = entry[chosen], joint[chosen]
        w_obj = obj[entry]
        key = (objs['img'][w_obj] * k + joint) * hw + flat[entry] % hw
        last = torch.full((num_imgs * k * hw, ), -1, dtype=torch.long, device=device)
        last.scatter_reduce_(0, key, w_obj, reduce='amax', include_self=True)
        final = w_obj == last[key]
        key, w_obj, joint, entry = key[final], w_obj[final], joint[final], entry[final]
        reg = kpts[w_obj, joint] - centers[w_obj] - offset[entry]
        dense = torch.zeros((num_imgs * k * hw, 2), device=device)
        dense[key] = reg
        dense = dense.view(num_imgs, k, height, width, 2).permute(0, 1, 4, 2, 3)

        j_obj, j_joint = inside.nonzero(as_tuple=True)
        weight = torch.zeros((num_imgs * k, height, width), device=device)
        draw_gaussians(weight, objs['img'][j_obj] * k + j_joint, centers[j_obj],
                       radius[j_obj])
        weight = weight.view(num_imgs, k, 1, height, width).expand(-1, -1, 2, -1, -1)
        return dict(kps=dense.reshape(num_imgs, 2 * k, height, width),
                    kps_mask=weight.reshape(num_imgs, 2 * k, height, width))

    # ------------------------------------------------------------------ decoding
    def decode_maps(self, maps: Dict[str, Tensor],
                    batch_img_metas: Optional[List[dict]] = None) -> Dict[str, Tensor]:
        """Decodes the pose branches of a batch: ``heatmap (B, C, H, W)``, ``wh``, ``kps
        (B, 2J, H, W)`` (joint offsets from the center, ``(x, y)`` per joint) and the optional
        ``offset``, ``kp_heatmap (B, J, H, W)`` (none: no snapping) and ``kp_offset`` (none:
        joint peaks at +0.5), as the official ``--not_reg_offset`` / ``--not_hm_hp`` /
        ``--not_reg_hp_offset``."""
        heatmap, kps, kp_heatmap = maps['heatmap'], maps['kps'], maps.get('kp_heatmap')
        dets = self.decode(heatmap, maps['wh'], maps.get('offset'))
        num_imgs, num_dets = dets['pixel'].shape
        width = heatmap.shape[-1]
        ys = torch.div(dets['pixel'], width, rounding_mode='floor')
        peak = torch.stack([dets['pixel'] - ys * width, ys], dim=-1).to(kps.dtype)
        joints = gather_at(kps, dets['pixel']).view(num_imgs, num_dets, -1, 2)
        joints = joints + peak[:, :, None, :]
        scores = joints.new_zeros(joints.shape[:3])
        if kp_heatmap is not None:
            joints, scores = self.snap(joints, dets['bboxes'] / self.stride, kp_heatmap,
                                       maps.get('kp_offset'))
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
