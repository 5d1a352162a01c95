"""Training targets of Keypoint Triplets (Duan et al.'s ``kp_detection`` sample)."""
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmcenternet.registry import TASK_UTILS
from ..gaussian import RADIUS_MODES, draw_gaussians, flatten_gt, gaussian_radius
from .ctdet_encoder import _boxes_tensor

#: The three keypoints of a triplet, in the order of the targets.
KEYPOINTS = ('tl', 'br', 'ct')


def input_and_clip_shapes(batch_img_metas: Optional[Sequence[dict]], num_imgs: int,
                          feat_shape: Tuple[int, int], stride: float
                          ) -> Tuple[Tensor, Tensor]:
    """Per image, the network input ``(h, w)`` and the image region ``(h, w)`` in it.

    The input is the padded batch (``batch_input_shape``, set by mmdet's data
    preprocessor), else ``img_shape``, else ``feat_shape * stride``; the image region is
    ``img_shape`` (boxes are clipped to it), else the input.

    Returns:
        ``(input_shapes, clip_shapes)``, float64 ``(B, 2)`` tensors of ``(h, w)``.
    """
    default = (feat_shape[0] * stride, feat_shape[1] * stride)
    inputs, clips = [], []
    for i in range(num_imgs):
        meta = batch_img_metas[i] if batch_img_metas else {}
        img_shape = meta.get('img_shape')
        inp = meta.get('batch_input_shape', img_shape) or default
        inputs.append(tuple(inp[:2]))
        clips.append(tuple((img_shape or inp)[:2]))
    return (torch.tensor(inputs, dtype=torch.float64),
            torch.tensor(clips, dtype=torch.float64))


@TASK_UTILS.register_module()
class TripletEncoder:
    """Encodes gt boxes into the corner and center targets of Keypoint Triplets.

    Matches Duan's ``sample/coco.py:kp_detection`` value for value (tested against it on
    the same boxes), for a whole batch at once and without a loop over objects:

    * boxes (network-input pixels) are clipped to ``[0, w - 1] x [0, h - 1]`` of the image
      and those left without area are dropped (Duan's ``_clip_detections``, which runs
      in the data pipeline there);
    * they are scaled by ``output / input`` size per axis (Duan: ``128 / 511``, not
      ``1 / 4``) in float64; the top-left, bottom-right and center keypoints sit at the
      truncated scaled points and their offsets are the fractional parts;
    * one radius per object, ``max(0, int(gaussian_radius((ceil(h), ceil(w)), 0.7)))`` on
      the scaled size (CornerNet's formula, see :func:`gaussian_radius`), for all three
      keypoints; corner gaussians have ``sigma = diameter / 6``, center ones
      ``diameter / 5`` (Duan's ``delte=5``); overlaps combine by element-wise max;
    * tag slots are filled in box order per image; ``indices`` are ``y * W + x``.

    Duan's sampler has no cap on the objects of an image (more than 128 would overflow its
    arrays); here the first ``max_objs`` kept objects get targets and the rest are
    dropped with a counted warning.

    Args:
        num_classes: Heatmap channels.
        stride: Input / output size ratio used only when the image metas are missing
            (unit use); with metas the ratio is the actual ``batch_input_shape`` / map size.
        max_objs: Tag slots per image (Duan's ``max_tag_len`` 128).
        radius_mode: ``'official'`` (CornerNet's formula, as Duan) or ``'corrected'``.
        min_overlap: IoU of the radius rule (Duan's ``gaussian_iou`` 0.7).
        corner_sigma_divisor / center_sigma_divisor: Gaussian diameter / sigma of the
            corner (6) and center (5) heatmaps.
    """

    def __init__(self, num_classes: int, stride: float = 4, max_objs: int = 128,
                 radius_mode: str = 'official', min_overlap: float = 0.7,
                 corner_sigma_divisor: float = 6.0, center_sigma_divisor: float = 5.0) -> None:
        if radius_mode not in RADIUS_MODES:
            raise ValueError(f'TripletEncoder.radius_mode must be one of {RADIUS_MODES}, '
                             f'got {radius_mode!r}')
        self.num_classes = num_classes
        self.stride = stride
        self.max_objs = max_objs
        self.radius_mode = radius_mode
        self.min_overlap = min_overlap
        self.sigma_divisors = dict(tl=corner_sigma_divisor, br=corner_sigma_divisor,
                                   ct=center_sigma_divisor)

    def encode(self, batch_gt_instances: Sequence[InstanceData], feat_shape: Tuple[int, int],
               batch_img_metas: Optional[List[dict]] = None) -> Dict[str, Tensor]:
        """Encodes the gt of a batch.

        Args:
            batch_gt_instances: Per image, ``bboxes`` (xyxy, input pixels) and ``labels``.
            feat_shape: ``(H, W)`` of the output maps.
            batch_img_metas: Image metas (``batch_input_shape``, ``img_shape``).

        Returns:
            ``{tl,br,ct}_heatmap (B, C, H, W)``, ``{tl,br,ct}_offset (B, M, 2)``,
            ``{tl,br,ct}_indices (B, M)`` (long, ``y * W + x``), ``mask (B, M)`` (float).
        """
        num_imgs = len(batch_gt_instances)
        input_shapes, clip_shapes = input_and_clip_shapes(batch_img_metas, num_imgs,
                                                          feat_shape, self.stride)
        return self.encode_tensors([_boxes_tensor(g.bboxes) for g in batch_gt_instances],
                                   [g.labels for g in batch_gt_instances], feat_shape,
                                   input_shapes, clip_shapes)

    def encode_tensors(self, batch_bboxes: Sequence[Tensor], batch_labels: Sequence[Tensor],
                       feat_shape: Tuple[int, int], input_shapes: Tensor,
                       clip_shapes: Tensor) -> Dict[str, Tensor]:
        """:meth:`encode` from per-image tensors and the ``(B, 2)`` shapes it derives."""
        height, width = feat_shape
        num_imgs = len(batch_bboxes)
        bboxes, labels, img_idx, _ = flatten_gt(batch_bboxes, batch_labels, 2**62)
        device = bboxes.device
        boxes = self.clip_boxes(bboxes.to(torch.float64), clip_shapes.to(device)[img_idx])
        keep = ((boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])).nonzero().squeeze(1)
        boxes, labels, img_idx = boxes[keep], labels[keep], img_idx[keep]
        slot = self.slots(img_idx, num_imgs)
        capped = slot < self.max_objs
        if not bool(capped.all()):
            warnings.warn(f'TripletEncoder: {int((~capped).sum())} object(s) beyond '
                          f'max_objs={self.max_objs} per image got no target (raise '
                          'TripletEncoder.max_objs)')
            boxes, labels, img_idx, slot = (t[capped] for t in (boxes, labels, img_idx, slot))

        feat = torch.tensor([height, width], dtype=torch.float64, device=device)
        ratio = (feat / input_shapes.to(device))[img_idx]  # (M, 2) as (h, w)
        ratio_xy = ratio.flip(1).repeat(1, 2)
        points = dict(tl=boxes[:, :2], br=boxes[:, 2:],
                      ct=(boxes[:, :2] + boxes[:, 2:]) / 2)
        scaled = {k: v * ratio_xy[:, :2] for k, v in points.items()}
        size = (boxes[:, 2:] - boxes[:, :2]) * ratio_xy[:, :2]
        radius = gaussian_radius(torch.ceil(size[:, 1]), torch.ceil(size[:, 0]),
                                 self.min_overlap, self.radius_mode)
        radius = torch.trunc(radius).clamp(min=0).long()

        map_index = img_idx * self.num_classes + labels
        targets = dict(mask=torch.zeros((num_imgs, self.max_objs), device=device))
        targets['mask'][img_idx, slot] = 1
        for key in KEYPOINTS:
            ints = scaled[key].long()  # non-negative: truncation is Duan's int()
            heatmap = torch.zeros((num_imgs * self.num_classes, height, width),
                                  dtype=torch.float32, device=device)
            draw_gaussians(heatmap, map_index, ints, radius, self.sigma_divisors[key])
            targets[f'{key}_heatmap'] = heatmap.view(num_imgs, self.num_classes, height,
                                                     width)
            offset = torch.zeros((num_imgs, self.max_objs, 2), device=device)
            offset[img_idx, slot] = (scaled[key] - ints).to(torch.float32)
            targets[f'{key}_offset'] = offset
            indices = torch.zeros((num_imgs, self.max_objs), dtype=torch.long, device=device)
            indices[img_idx, slot] = ints[:, 1] * width + ints[:, 0]
            targets[f'{key}_indices'] = indices
        return targets

    @staticmethod
    def clip_boxes(boxes: Tensor, clip_hw: Tensor) -> Tensor:
        """Clips xyxy ``boxes (M, 4)`` to ``[0, w - 1] x [0, h - 1]`` of ``clip_hw (M, 2)``."""
        upper = (clip_hw.flip(1) - 1).repeat(1, 2)
        return torch.minimum(boxes.clamp(min=0), upper)

    @staticmethod
    def slots(img_idx: Tensor, num_imgs: int) -> Tensor:
        """Position of each object among its image's objects (``img_idx`` is sorted)."""
        counts = torch.bincount(img_idx, minlength=num_imgs)
        starts = torch.cumsum(counts, 0) - counts
        return torch.arange(len(img_idx), device=img_idx.device) - starts[img_idx]
