"""Training targets of CenterNet multi-person pose (the official ``multi_pose`` sample)."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmcenternet.registry import TASK_UTILS
from ..gaussian import draw_gaussians, gaussian_windows
from .ctdet_encoder import CTDetEncoder, _boxes_tensor


def _first_rows(tensors: Sequence[Tensor], max_objs: int, shape: Tuple[int, ...]) -> Tensor:
    """Concatenates each image's first ``max_objs`` rows (the order of ``flatten_gt``)."""
    return torch.cat([t[:max_objs].reshape(-1, *shape) for t in tensors])


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
class MultiPoseEncoder(CTDetEncoder):
    """Encodes gt boxes and keypoints into the official ``multi_pose`` targets.

    Matches the target code of the official ``MultiPoseDataset.__getitem__`` value for
    value, for a whole batch at once (no loop over people or joints):

    - boxes as :class:`CTDetEncoder` (``heatmap``, ``wh``, ``offset``, ``indices``,
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

    Differences: the official code can rotate (``--aug_rot``, 0 by default); the input
    transform here does not, so that branch is absent. Keypoints arrive in network-input
    pixels and are divided by ``stride`` (the official code maps them to the output with
    its own affine matrix).

    Args:
        num_classes: Heatmap channels (1 for COCO person keypoints).
        num_keypoints: Joints per object ``K`` (17 for COCO).
        stride: Output stride.
        max_objs: Object slots per image (official ``coco_hp``: 32).
        radius_mode: ``'official'`` or ``'corrected'`` (see ``gaussian_radius``).
        min_overlap: IoU of the radius rule.
        dense_hp: Dense keypoint-offset targets (see above).
        keypoint_labels: Labels of the classes that carry keypoints (None: all). Only for
            those does "no annotated joint" switch off the box size / offset loss, so a
            model can detect every COCO class and the pose of people (official multi_pose
            has the one person class).
    """

    def __init__(self, num_classes: int = 1, num_keypoints: int = 17, stride: int = 4,
                 max_objs: int = 32, radius_mode: str = 'official', min_overlap: float = 0.7,
                 dense_hp: bool = False,
                 keypoint_labels: Optional[Sequence[int]] = None) -> None:
        super().__init__(num_classes=num_classes, stride=stride, max_objs=max_objs,
                         radius_mode=radius_mode, min_overlap=min_overlap)
        if num_keypoints < 1:
            raise ValueError(f'MultiPoseEncoder.num_keypoints must be >= 1, got {num_keypoints}')
        self.num_keypoints = num_keypoints
        self.dense_hp = dense_hp
        if keypoint_labels is not None:
            bad = [lb for lb in keypoint_labels if not 0 <= int(lb) < num_classes]
            if bad:
                raise ValueError(f'MultiPoseEncoder.keypoint_labels {bad} are not labels of '
                                 f'the {num_classes} classes')
        self.keypoint_labels = None if keypoint_labels is None else [int(lb) for lb in
                                                                     keypoint_labels]

    def encode(self, batch_gt_instances: Sequence[InstanceData], feat_shape: Tuple[int, int],
               batch_img_metas: Optional[List[dict]] = None) -> Dict[str, Tensor]:
        """Encodes the gt of a batch.

        Args:
            batch_gt_instances: Per image ``bboxes`` (xyxy), ``labels``, ``keypoints
                (N, K, 2)`` (input pixels) and ``keypoints_visible (N, K)`` (COCO 0/1/2).
            feat_shape: ``(H, W)`` of the output maps.
            batch_img_metas: Unused.

        Returns:
            The :class:`CTDetEncoder` targets plus ``kps``, ``kps_mask``, ``kp_heatmap``,
            ``kp_offset``, ``kp_offset_indices``, ``kp_offset_mask`` (see the class doc).
        """
        for i, gt in enumerate(batch_gt_instances):
            missing = [k for k in ('keypoints', 'keypoints_visible') if k not in gt]
            if missing:
                raise KeyError(
                    f'MultiPoseEncoder: gt_instances of image {i} have no {missing}; the '
                    'pipeline must load and pack them (LoadPoseAnnotations, '
                    'PackCenterNetInputs)')
            if gt.keypoints.shape[1:] != (self.num_keypoints, 2):
                raise ValueError(
                    f'MultiPoseEncoder: gt keypoints of image {i} have shape '
                    f'{tuple(gt.keypoints.shape)}, expected (N, {self.num_keypoints}, 2) '
                    '(model.bbox_head.encoder.num_keypoints)')
        return self.encode_tensors(
            [_boxes_tensor(g.bboxes) for g in batch_gt_instances],
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
        kpts = _first_rows(batch_keypoints, self.max_objs, (k, 2)).to(device, torch.float32)
        vis = _first_rows(batch_visible, self.max_objs, (k, )).to(device)
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
