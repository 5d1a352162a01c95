"""Keypoint Triplets (Duan et al.'s CenterNet): targets (``sample/coco.py:kp_detection``)
and decoding (``kp_utils.py:_decode``, the central-region test), batched."""
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmcenternet.registry import TASK_UTILS
from ..gaussian import check_radius_mode, draw_gaussians, flatten_gt, gaussian_radius
from ..peaks import gather_at, local_peaks, topk_peaks
from .base import BaseCodec, boxes_tensor

#: The three keypoints of a triplet, in the order of the targets and branches.
KEYPOINTS = ('tl', 'br', 'ct')
#: Prefix of the mirrored view's maps that :meth:`TripletCodec.flip_merge` adds.
FLIP_PREFIX = 'flip_'
#: Score of a rejected candidate (Duan's ``-1``).
REJECTED = -1.0


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


def central_region(bboxes: Tensor, n: Tensor) -> Tensor:
    """The central region of xyxy boxes for odd scales ``n`` (broadcast with the boxes).

    ``ctl = ((n + 1) tl + (n - 1) br) / 2n``, ``cbr = ((n - 1) tl + (n + 1) br) / 2n``,
    evaluated as Duan's code does (``(2 x1 + x2) / 3`` for n = 3, ``(3 x1 + 2 x2) / 5`` for
    n = 5) so that the float32 bounds are the same.
    """
    near = (n + 1) / 2
    far = (n - 1) / 2
    tl, br = bboxes[..., :2], bboxes[..., 2:]
    return torch.cat([(near * tl + far * br) / n, (far * tl + near * br) / n], dim=-1)


@TASK_UTILS.register_module()
class TripletCodec(BaseCodec):
    """Corner pairs and center keypoints: the ``{tl,br,ct}_heatmap`` (C), ``{tl,br}_embedding``
    (1) and ``{tl,br,ct}_offset`` (2) branches of :class:`TripletHead`.

    :meth:`encode` matches Duan's ``sample/coco.py:kp_detection`` value for value (tested
    against it on the same boxes), for a whole batch at once and without a loop over
    objects:

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

    :meth:`decode_maps` is Duan's ``_decode``: 3x3 peaks, the top-``topk`` top-left,
    bottom-right and center keypoints (over all classes), every top-left x bottom-right pair
    scored ``(tl + br) / 2`` and rejected (score -1) for different classes, embedding
    distance above ``ae_threshold`` or a bottom-right corner left of or above the top-left
    one; the best ``num_dets`` pairs are kept. Coordinates are ``(peak + offset) / ratio``
    with ``ratio = output / input`` size (Duan: ``128 / 511``).

    :meth:`finalize` (after the back-mapping to the original image) is Duan's
    ``_rescale_dets``: candidates reaching more than ``border_tolerance`` pixels outside
    the image are rejected, the rest clipped to it.

    :meth:`rescore` is Duan's central-region test: a candidate keeps a score only if a
    center keypoint of its class lies strictly inside its central region (scale ``n`` 3
    for boxes of area up to ``area_thr``, else 5); its score becomes
    ``(2 * pair + center) / 3`` with the first such center keypoint in the given order
    (the centers are sorted by score, so the best; with a flipped view, the unflipped
    view's come first, as in Duan's concatenation).

    Args:
        num_classes: Heatmap channels.
        stride: Input / output size ratio used only when the image metas lack the input
            shape (unit use); with metas the ratio is the actual ``batch_input_shape`` /
            map size.
        max_objs: Tag slots per image (Duan's ``max_tag_len`` 128).
        radius_mode: ``'official'`` (CornerNet's formula, as Duan) or ``'corrected'``.
        min_overlap: IoU of the radius rule (Duan's ``gaussian_iou`` 0.7).
        corner_sigma_divisor / center_sigma_divisor: Gaussian diameter / sigma of the
            corner (6) and center (5) heatmaps.
        topk: Corners and centers taken per map (Duan's ``top_k`` 70).
        kernel: Peak window (Duan's ``nms_kernel`` 3).
        ae_threshold: Largest embedding distance of a pair (0.5).
        num_dets: Candidate pairs kept by :meth:`decode_maps` (Duan's ``num_dets`` 1000).
        area_thr: Box area (pixels, of the image the boxes are in) up to which the small
            central region is used (Duan: 22500 = 150^2, in original-image pixels).
        small_n / large_n: Central-region scales (3 and 5).
        border_tolerance: See :meth:`finalize` (Duan: 5 pixels).
    """

    point_keys = ('bboxes', 'centers')
    instance_keys = ('bboxes', 'scores', 'labels')

    def __init__(self, num_classes: int, stride: float = 4, max_objs: int = 128,
                 radius_mode: str = 'official', min_overlap: float = 0.7,
                 corner_sigma_divisor: float = 6.0, center_sigma_divisor: float = 5.0,
                 topk: int = 70, kernel: int = 3, ae_threshold: float = 0.5,
                 num_dets: int = 1000, area_thr: float = 22500., small_n: int = 3,
                 large_n: int = 5, border_tolerance: float = 5.) -> None:
        check_radius_mode(radius_mode, f'{type(self).__name__}.radius_mode')
        self.num_classes = num_classes
        self.stride = stride
        self.max_objs = max_objs
        self.radius_mode = radius_mode
        self.min_overlap = min_overlap
        self.sigma_divisors = dict(tl=corner_sigma_divisor, br=corner_sigma_divisor,
                                   ct=center_sigma_divisor)
        self.topk = topk
        self.kernel = kernel
        self.ae_threshold = ae_threshold
        self.num_dets = num_dets
        self.area_thr = area_thr
        self.small_n = small_n
        self.large_n = large_n
        self.border_tolerance = border_tolerance

    @property
    def branch_channels(self) -> Dict[str, int]:
        c = self.num_classes
        return dict(tl_heatmap=c, br_heatmap=c, ct_heatmap=c, tl_embedding=1,
                    br_embedding=1, tl_offset=2, br_offset=2, ct_offset=2)

    @property
    def activations(self) -> Dict[str, str]:
        return {f'{kp}_heatmap': 'sigmoid' for kp in KEYPOINTS}

    # ------------------------------------------------------------------ encoding
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
        return self.encode_tensors([boxes_tensor(g.bboxes) for g in batch_gt_instances],
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
            warnings.warn(f'TripletCodec: {int((~capped).sum())} object(s) beyond '
                          f'max_objs={self.max_objs} per image got no target (raise '
                          'TripletCodec.max_objs)')
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

    # ------------------------------------------------------------------ decoding
    def decode_maps(self, maps: Dict[str, Tensor],
                    batch_img_metas: Optional[List[dict]] = None) -> Dict[str, Tensor]:
        """Activated maps (heatmaps after sigmoid) -> candidates in input pixels.

        With the mirrored view's maps (see :meth:`flip_merge`) both views are decoded and
        the mirror's candidates and centers, reflected as Duan's ``out_width - x``, are
        appended after the image's.

        Returns:
            ``bboxes (B, N, 4)``, ``scores (B, N)`` (-1: rejected), ``labels (B, N)``,
            ``tl_scores`` / ``br_scores (B, N)`` (the corners' own scores),
            ``centers (B, K, 2)``, ``center_scores (B, K)``, ``center_labels (B, K)``.
        """
        views = [maps]
        if FLIP_PREFIX + 'tl_heatmap' in maps:
            views.append({k[len(FLIP_PREFIX):]: v for k, v in maps.items()
                          if k.startswith(FLIP_PREFIX)})
        num_imgs = maps['tl_heatmap'].shape[0]
        stacked = {k: torch.cat([v[k] for v in views]) for k in views[0]
                   if not k.startswith(FLIP_PREFIX)}
        dets = self.decode(**stacked)
        if len(views) > 1:
            dets = self.merge_mirror(dets, num_imgs, maps['tl_heatmap'].shape[-1])
        height, width = maps['tl_heatmap'].shape[-2:]
        inputs, _ = input_and_clip_shapes(batch_img_metas, num_imgs, (height, width),
                                          self.stride)  # Duan's ratios, (w, h) as float32
        ratio = (inputs.new_tensor([height, width]) / inputs).flip(1).float().to(
            dets['bboxes'].device)
        dets['bboxes'] = dets['bboxes'] / ratio.repeat(1, 2)[:, None]
        dets['centers'] = dets['centers'] / ratio[:, None]
        return dets

    def decode(self, tl_heatmap: Tensor, br_heatmap: Tensor, ct_heatmap: Tensor,
               tl_embedding: Tensor, br_embedding: Tensor, tl_offset: Tensor,
               br_offset: Tensor, ct_offset: Tensor) -> Dict[str, Tensor]:
        """Duan's ``_decode`` on a batch of activated maps, in output-map coordinates."""
        num_imgs = tl_heatmap.shape[0]
        tl = self.keypoints(tl_heatmap, tl_offset)
        br = self.keypoints(br_heatmap, br_offset)
        ct = self.keypoints(ct_heatmap, ct_offset)
        k = tl['scores'].shape[1]
        # all K x K pairs: top-left along dim 1, bottom-right along dim 2
        tl_xy, br_xy = tl['points'][:, :, None], br['points'][:, None]
        bboxes = torch.cat([tl_xy.expand(-1, -1, k, -1), br_xy.expand(-1, k, -1, -1)], dim=3)
        tl_tag = gather_at(tl_embedding, tl['pixel'])[..., 0]
        br_tag = gather_at(br_embedding, br['pixel'])[..., 0]
        scores = (tl['scores'][:, :, None] + br['scores'][:, None]) / 2
        rejected = ((tl['labels'][:, :, None] != br['labels'][:, None])
                    | ((tl_tag[:, :, None] - br_tag[:, None]).abs() > self.ae_threshold)
                    | (bboxes[..., 2] < bboxes[..., 0]) | (bboxes[..., 3] < bboxes[..., 1]))
        scores = scores.masked_fill(rejected, REJECTED).view(num_imgs, -1)
        scores, order = scores.topk(min(self.num_dets, k * k))

        def pick(pairs: Tensor) -> Tensor:  # (B, K, K) pair values -> the kept (B, N)
            return pairs.expand(-1, k, k).reshape(num_imgs, -1).gather(1, order)

        return dict(
            bboxes=bboxes.view(num_imgs, -1, 4).gather(1, order[..., None].expand(-1, -1, 4)),
            scores=scores, labels=pick(tl['labels'][:, :, None]),
            tl_scores=pick(tl['scores'][:, :, None]), br_scores=pick(br['scores'][:, None]),
            centers=ct['points'], center_scores=ct['scores'], center_labels=ct['labels'])

    def keypoints(self, heatmap: Tensor, offset: Tensor) -> Dict[str, Tensor]:
        """Top-K peaks of one keypoint type: scores, labels, pixel, points + offsets."""
        scores, labels, pixel, ys, xs = topk_peaks(local_peaks(heatmap, self.kernel),
                                                   self.topk)
        points = torch.stack([xs, ys], dim=2).to(offset.dtype) + gather_at(offset, pixel)
        return dict(scores=scores, labels=labels, pixel=pixel, points=points)

    @staticmethod
    def merge_mirror(dets: Dict[str, Tensor], num_imgs: int,
                     width: int) -> Dict[str, Tensor]:
        """Appends the mirrored view's outputs (the second half of the batch) to the
        image's, reflected as Duan's flip test: ``x -> width - x``, corners swapped."""
        out = {}
        for key, value in dets.items():
            image, mirror = value[:num_imgs], value[num_imgs:]
            if key == 'bboxes':
                mirror = torch.stack([width - mirror[..., 2], mirror[..., 1],
                                      width - mirror[..., 0], mirror[..., 3]], dim=-1)
            elif key == 'centers':
                mirror = torch.stack([width - mirror[..., 0], mirror[..., 1]], dim=-1)
            out[key] = torch.cat([image, mirror], dim=1)
        return out

    def flip_merge(self, maps: Dict[str, Tensor], flipped_maps: Dict[str, Tensor],
                   batch_img_metas: Optional[List[dict]] = None) -> Dict[str, Tensor]:
        """Duan's flip test decodes the image and its mirror separately and pools the
        detections (no map averaging): the mirror's maps travel along under
        ``flip_<name>`` and :meth:`decode_maps` decodes both."""
        merged = dict(maps)
        merged.update({FLIP_PREFIX + k: v for k, v in flipped_maps.items()})
        return merged

    # ------------------------------------------------------------------ after decoding
    def finalize(self, dets: Dict[str, Tensor],
                 batch_img_metas: List[dict]) -> Dict[str, Tensor]:
        """Duan's ``_rescale_dets`` in original-image pixels: rejects candidates whose
        top-left x/y <= -tolerance or bottom-right x/y >= size + tolerance, then clips
        boxes and centers to ``[0, w] x [0, h]`` (``ori_shape``)."""
        dets = dict(dets)
        bboxes = dets['bboxes']
        size = torch.tensor([m['ori_shape'][:2][::-1] for m in batch_img_metas],
                            dtype=bboxes.dtype, device=bboxes.device)[:, None]  # (B, 1, 2)
        tol = self.border_tolerance
        outside = ((bboxes[..., :2] <= -tol).any(-1) | (bboxes[..., 2:] >= size + tol).any(-1))
        dets['scores'] = dets['scores'].masked_fill(outside, REJECTED)
        zero = torch.zeros_like(size)
        dets['bboxes'] = torch.cat([bboxes[..., :2].clamp(zero, size),
                                    bboxes[..., 2:].clamp(zero, size)], dim=-1)
        dets['centers'] = dets['centers'].clamp(zero, size)
        return dets

    def rescore(self, dets: Dict[str, Tensor]) -> Tensor:
        """Central-region scores ``(B, N)``: rejected candidates stay -1, candidates with
        no same-class center keypoint strictly inside their central region become -1, the
        rest ``(2 * score + center score) / 3`` (see the class docstring)."""
        bboxes, scores = dets['bboxes'], dets['scores']
        wh = bboxes[..., 2:] - bboxes[..., :2]
        small = wh[..., 0] * wh[..., 1] <= self.area_thr
        n = torch.where(small, self.small_n, self.large_n).to(bboxes.dtype)[..., None]
        region = central_region(bboxes, n)[:, :, None]  # (B, N, 1, 4)
        centers = dets['centers'][:, None]  # (B, 1, K, 2)
        inside = ((centers > region[..., :2]) & (centers < region[..., 2:])).all(-1)
        inside &= dets['labels'][:, :, None] == dets['center_labels'][:, None]
        found = inside.any(-1)
        first = inside.to(torch.uint8).argmax(-1)  # the first matching center
        center_score = dets['center_scores'].gather(1, first)
        new = (scores * 2 + center_score) / 3
        valid = (scores > REJECTED) & found
        return torch.where(valid, new, torch.full_like(scores, REJECTED))
