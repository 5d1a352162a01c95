"""CenterNet 2D detection (official ``ctdet``): targets and decoding, batched."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmcenternet.registry import TASK_UTILS
from ..gaussian import check_radius_mode, draw_gaussians, flatten_gt, gaussian_radius
from ..peaks import gather_at, local_peaks, topk_peaks
from .base import BaseCodec, boxes_tensor


@TASK_UTILS.register_module()
class CTDetCodec(BaseCodec):
    """Boxes as heatmap peaks (``heatmap`` C, ``wh`` 2, ``offset`` 2 branches).

    :meth:`encode` matches the official ``CTDetDataset.__getitem__`` target code value for
    value, but for a whole batch at once in torch (no loop over objects): boxes (in
    network-input pixels) are divided by ``stride`` and clipped to ``[0, size - 1]``;
    objects whose clipped box has no area get no target; the radius is
    ``max(0, int(gaussian_radius(ceil(h), ceil(w))))``; the peak sits at the truncated float
    center; ``wh`` is the clipped box size in output pixels and ``offset`` the center's
    fractional part. Only the first ``max_objs`` objects of an image are used, as officially.

    :meth:`decode_maps` is the official ``ctdet_decode``: 3x3 max-pool peaks, top-K over all
    classes, box = (peak + offset) +- wh / 2, times the stride. No NMS (CenterNet's peaks
    replace it); the head can add one.

    Args:
        num_classes: Number of heatmap channels.
        stride: Output stride of the network (4 for all official models).
        max_objs: Target slots per image (official 128).
        topk: Detections per image (official K = 100).
        kernel: Peak window (official 3).
        radius_mode: ``'official'`` or ``'corrected'`` (see :func:`gaussian_radius`).
        min_overlap: IoU used by the radius rule (official 0.7).
    """

    official_task = 'ctdet'
    official_heads = {'hm': 'heatmap', 'wh': 'wh', 'reg': 'offset'}

    def __init__(self, num_classes: int, stride: int = 4, max_objs: int = 128,
                 topk: int = 100, kernel: int = 3, radius_mode: str = 'official',
                 min_overlap: float = 0.7) -> None:
        check_radius_mode(radius_mode, f'{type(self).__name__}.radius_mode')
        self.num_classes = num_classes
        self.stride = stride
        self.max_objs = max_objs
        self.topk = topk
        self.kernel = kernel
        self.radius_mode = radius_mode
        self.min_overlap = min_overlap

    @property
    def branch_channels(self) -> Dict[str, int]:
        return dict(heatmap=self.num_classes, wh=2, offset=2)

    # ------------------------------------------------------------------ encoding
    def encode(self, batch_gt_instances: Sequence[InstanceData], feat_shape: Tuple[int, int],
               batch_img_metas: Optional[List[dict]] = None) -> Dict[str, Tensor]:
        """Encodes the gt of a batch.

        Args:
            batch_gt_instances: Per image, ``bboxes`` (xyxy, input pixels) and ``labels``.
            feat_shape: ``(H, W)`` of the output maps.
            batch_img_metas: The images' metainfo (unused by 2D boxes; every codec takes
                it, for tasks whose targets need e.g. the camera calibration).

        Returns:
            ``heatmap (B, C, H, W)``, ``wh (B, M, 2)``, ``offset (B, M, 2)``,
            ``indices (B, M)`` (flat ``y * W + x``), ``mask (B, M)`` (float).
        """
        return self.encode_tensors([boxes_tensor(g.bboxes) for g in batch_gt_instances],
                                   [g.labels for g in batch_gt_instances], feat_shape)

    def encode_tensors(self, batch_bboxes: Sequence[Tensor], batch_labels: Sequence[Tensor],
                       feat_shape: Tuple[int, int]) -> Dict[str, Tensor]:
        """Same as :meth:`encode`, from per-image box and label tensors."""
        return self.encode_boxes(batch_bboxes, batch_labels, feat_shape)[0]

    def encode_boxes(self, batch_bboxes: Sequence[Tensor], batch_labels: Sequence[Tensor],
                     feat_shape: Tuple[int, int]
                     ) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
        """The box targets of :meth:`encode_tensors` and the objects that got them.

        Returns:
            ``(targets, objects)``; ``objects`` describes each object with a target
            (``(O,)`` or ``(O, 2)`` tensors): ``row`` (its row among the first ``max_objs``
            objects of every image, concatenated), ``img``, ``slot``, ``label``,
            ``center_int`` (long ``(x, y)``), ``radius`` (long). Tasks that add targets
            per object (e.g. keypoints) build on them.
        """
        height, width = feat_shape
        num_imgs = len(batch_bboxes)
        bboxes, labels, img_idx, slot = flatten_gt(batch_bboxes, batch_labels, self.max_objs)
        device = bboxes.device
        boxes = self.output_boxes(bboxes, height, width)
        w = boxes[:, 2] - boxes[:, 0]
        h = boxes[:, 3] - boxes[:, 1]
        keep = ((h > 0) & (w > 0)).nonzero().squeeze(1)  # one nonzero for all six
        boxes, w, h, labels, img_idx, slot = (t[keep] for t in (boxes, w, h, labels, img_idx,
                                                                 slot))
        radius, center, center_int = self.peaks(boxes, w, h)

        heatmap = torch.zeros((num_imgs * self.num_classes, height, width),
                              dtype=torch.float32, device=device)
        draw_gaussians(heatmap, img_idx * self.num_classes + labels, center_int, radius)

        targets = self.empty_sparse_targets(num_imgs, device)
        targets['heatmap'] = heatmap.view(num_imgs, self.num_classes, height, width)
        targets['wh'][img_idx, slot] = torch.stack([w, h], dim=1)
        targets['offset'][img_idx, slot] = center - center_int
        targets['indices'][img_idx, slot] = center_int[:, 1] * width + center_int[:, 0]
        targets['mask'][img_idx, slot] = 1
        objects = dict(row=keep, img=img_idx, slot=slot, label=labels, center_int=center_int,
                       radius=radius)
        return targets, objects

    def peaks(self, boxes: Tensor, w: Tensor, h: Tensor,
              ceil_size: bool = True) -> Tuple[Tensor, Tensor, Tensor]:
        """Gaussian radius (``max(0, int(r))``), float center and integer center of
        output-map boxes; ``ceil_size``: the radius rule gets ``ceil(h), ceil(w)`` (official
        ``ctdet``; the official 3D code passes the sizes unrounded)."""
        size_h, size_w = (torch.ceil(h), torch.ceil(w)) if ceil_size else (h, w)
        radius = gaussian_radius(size_h, size_w, self.min_overlap, self.radius_mode)
        radius = torch.trunc(radius).clamp(min=0).long()
        center = torch.stack([(boxes[:, 0] + boxes[:, 2]) / 2,
                              (boxes[:, 1] + boxes[:, 3]) / 2], dim=1)
        return radius, center, center.long()

    def output_boxes(self, bboxes: Tensor, height: int, width: int) -> Tensor:
        """Input-pixel boxes -> output-map boxes, clipped to the map as officially."""
        boxes = bboxes.to(torch.float32) / self.stride
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, width - 1)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, height - 1)
        return boxes

    def empty_sparse_targets(self, num_imgs: int, device: torch.device) -> Dict[str, Tensor]:
        """Zero-filled ``(B, max_objs, ...)`` targets for the sparse branches."""
        m = self.max_objs
        return dict(
            wh=torch.zeros((num_imgs, m, 2), device=device),
            offset=torch.zeros((num_imgs, m, 2), device=device),
            indices=torch.zeros((num_imgs, m), dtype=torch.long, device=device),
            mask=torch.zeros((num_imgs, m), device=device))

    # ------------------------------------------------------------------ decoding
    def decode_maps(self, maps: Dict[str, Tensor],
                    batch_img_metas: Optional[List[dict]] = None) -> Dict[str, Tensor]:
        """:meth:`decode` of the ``heatmap``, ``wh`` and (optional) ``offset`` branches."""
        return self.decode(maps['heatmap'], maps['wh'], maps.get('offset'))

    def decode(self, heatmap: Tensor, wh: Tensor,
               offset: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Decodes a batch.

        Args:
            heatmap: ``(B, C, H, W)`` scores in ``[0, 1]`` (after sigmoid / flip merge).
            wh: ``(B, 2, H, W)`` box sizes in output pixels.
            offset: ``(B, 2, H, W)`` sub-pixel center offsets, or None (centers at +0.5).

        Returns:
            ``bboxes (B, K, 4)`` xyxy in input pixels, ``scores (B, K)``, ``labels (B, K)``,
            ``centers (B, K, 2)`` and ``pixel (B, K)`` for tasks that decode more there.
        """
        scores, labels, pixel, ys, xs = topk_peaks(local_peaks(heatmap, self.kernel),
                                                   self.topk)
        centers = torch.stack([xs, ys], dim=2).to(wh.dtype)
        if offset is None:
            centers = centers + 0.5
        else:
            centers = centers + gather_at(offset, pixel)
        half = gather_at(wh, pixel) / 2
        bboxes = torch.cat([centers - half, centers + half], dim=2) * self.stride
        return dict(bboxes=bboxes, scores=scores, labels=labels, centers=centers,
                    pixel=pixel)
