"""CenterNet monocular 3D detection (official ``ddd``): targets (``DddDataset``) and
decoding (``ddd_decode`` + ``ddd_post_process``), batched."""
import math
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmcenternet.registry import TASK_UTILS
from mmcenternet.structures.camera3d import affine_cam2img, boxes3d_from_center, project
from ..gaussian import draw_gaussians, flatten_gt
from ..peaks import gather_at
from .base import AFFINE_KEY, boxes_tensor, first_rows
from .ctdet import CTDetCodec

#: Value the official code writes at the center of an ignored object (not a positive).
IGNORE_PEAK = 0.9999
#: Centers of the two orientation bins (official ``-0.5 pi`` and ``0.5 pi``).
BIN_CENTERS = (-0.5 * math.pi, 0.5 * math.pi)
#: Where the 3D center comes from: the 2D box center (official) or a regressed offset
#: from the peak to the projected 3D center (``'projected'``, see :class:`DDDCodec`).
CENTER_MODES = ('official', 'projected')
#: How the 2D boxes are mapped back to the original image (see :class:`DDDCodec`).
BOX_MODES = ('official', 'corrected')
#: Branch (and target) of the offset to the projected 3D center (``center_mode='projected'``).
CENTER3D_BRANCH = 'center3d_offset'
CAM_KEY = 'cam2img'


class MissingCameraWarning(UserWarning):
    """A 3D model predicted on an image without its camera matrix."""


def alpha_to_bins(alpha: Tensor) -> Tuple[Tensor, Tensor]:
    """Official ``rotbin`` / ``rotres`` of observation angles.

    Bin 1 (center ``-pi/2``) holds ``alpha < pi/6`` or ``alpha > 5 pi/6``, bin 2 (center
    ``+pi/2``) ``alpha > -pi/6`` or ``alpha < -5 pi/6``; both overlap near 0 and pi. The
    residual of a bin is ``alpha - center`` (0 where the bin is off). Computed in float64
    as the official code (python floats), returned as float32.

    Returns:
        ``bins (N, 2)`` (0/1 float) and ``residuals (N, 2)``.
    """
    a = alpha.to(torch.float64)
    in1 = (a < math.pi / 6.) | (a > 5 * math.pi / 6.)
    in2 = (a > -math.pi / 6.) | (a < -5 * math.pi / 6.)
    bins = torch.stack([in1, in2], dim=1)
    centers = a.new_tensor(BIN_CENTERS)
    residual = torch.where(bins, a[:, None] - centers, torch.zeros_like(centers))
    return bins.float(), residual.float()


def bins_to_alpha(rot: Tensor) -> Tensor:
    """Official ``get_alpha``: the angle of the bin with the larger second logit.

    Args:
        rot: ``(..., 8)`` raw ``rot`` outputs ``[bin1 logits (2), sin, cos, bin2 logits (2),
            sin, cos]``.

    Returns:
        ``(...)`` observation angles, ``atan2(sin, cos) -+ pi/2`` (not wrapped, as
        officially).
    """
    use_first = rot[..., 1] > rot[..., 5]
    alpha1 = torch.atan2(rot[..., 2], rot[..., 3]) - 0.5 * math.pi
    alpha2 = torch.atan2(rot[..., 6], rot[..., 7]) + 0.5 * math.pi
    return torch.where(use_first, alpha1, alpha2)


def cam2img_of(batch_img_metas: Optional[Sequence[dict]], dtype: torch.dtype,
               device: torch.device, through_affine: bool) -> Optional[Tensor]:
    """``(B, 3, 4)`` projection matrices of the metas (None if one lacks ``cam2img``).

    With ``through_affine``, the camera of the network input (``affine_matrix @ P``) when
    the metas carry the affine.
    """
    if not batch_img_metas or not all(CAM_KEY in m for m in batch_img_metas):
        return None
    mats = []
    for meta in batch_img_metas:
        cam = torch.as_tensor(meta[CAM_KEY], dtype=torch.float64)[:3, :4]
        if through_affine and AFFINE_KEY in meta:
            cam = affine_cam2img(cam, meta[AFFINE_KEY])
        mats.append(cam)
    return torch.stack(mats).to(device=device, dtype=dtype)


@TASK_UTILS.register_module()
class DDDCodec(CTDetCodec):
    """KITTI-style objects: the branches of :class:`CTDetCodec` plus ``depth`` (1, output
    ``1 / sigmoid - 1``), ``rot`` (8: two orientation bins ``[2 logits, sin, cos]``) and
    ``dim`` (3: ``h, w, l`` in metres); ``center3d_offset`` (2) with
    ``center_mode='projected'``.

    :meth:`encode` is, value for value, the official ``DddDataset.__getitem__``, batched in
    torch: the 2D part as :class:`CTDetCodec` except that the radius is taken from the
    *unrounded* output box size (the official ``ddd`` code calls ``gaussian_radius((h, w))``
    without ``ceil``); ``depth`` is the location's ``z``, ``dim`` is ``(h, w, l)``, ``rot``
    the two-bin encoding of ``alpha`` (:func:`alpha_to_bins`).

    Ignored objects (``gt_instances.dontcare``, the official negative category ids: KITTI
    ``DontCare`` with label -1 for every class, ``Van`` / ``Truck`` / ``Person_sitting``
    with the label of the class they resemble) get no regression target; their gaussian is
    drawn into the heatmap(s) and their center set to 0.9999, which the focal loss treats as
    a (hardly penalised) negative. The official loop writes that 0.9999 in object order,
    so a later object's gaussian can raise it again; this is reproduced exactly.

    Masks: ``mask`` (official ``rot_mask``) selects every regressed object and is used by
    ``wh``, ``offset`` and ``rot``; ``depth_mask`` / ``dim_mask`` (official ``reg_mask``) are
    zero for the images whose metainfo says ``jittered`` (random scale / shift changes the
    apparent size and position, so depth and size are not supervised there, as officially).

    :meth:`decode_maps`: peaks, top-K and 2D boxes as :class:`CTDetCodec`; at each peak the
    depth (already activated), the size and the angle ``alpha`` from the two orientation
    bins (:func:`bins_to_alpha`). After the detections are mapped back to the original
    image, :meth:`finalize` builds the 3D boxes from the calibration ``metainfo['cam2img']``
    (the original image's ``P2``): the peak (2D box center) unprojected at the predicted
    depth, moved down by half the height, and ``rot_y = alpha + atan2(u - cx, fx)``
    (official ``ddd2locrot``). Without back-mapping (``rescale=False``) the 3D boxes come
    from the network input's camera ``affine_matrix @ P2``, which gives the same boxes.

    ``center_mode='projected'`` (an option, not in the official ``ddd`` code) adds the
    branch and target ``center3d_offset (B, M, 2)``: the projected 3D box center (through
    the network input's camera ``affine_matrix @ cam2img``, in output pixels) minus the
    integer heatmap peak, masked like ``wh`` (an image-plane quantity, so also on jittered
    images). The decoding then unprojects that regressed 3D center (output ``centers_3d``)
    and takes ``rot_y`` at its column, instead of at the 2D box center, which is not where a
    3D box's center projects (perspective makes the near face larger, truncation clips the
    box): from perfect maps the official construction reaches only part of the 3D AP that
    this one does (``configs/quickstart/README.md``), as the same author's CenterTrack does
    with its ``amodel_offset`` head. The heatmap peak and the 2D boxes are unchanged.

    Args:
        num_classes: Heatmap channels (KITTI: Pedestrian, Car, Cyclist).
        stride: Output stride.
        max_objs: Target slots per image (official KITTI 50); ignored objects count.
        topk: Detections per image (official K = 100).
        kernel: Peak window.
        radius_mode: See :func:`gaussian_radius` (official).
        min_overlap: Radius IoU (official 0.7).
        center_mode: ``'official'`` or ``'projected'`` (needs ``cam2img`` in every image's
            metainfo for training), see above.
        box_mode: ``'official'`` maps the predicted box size back to the image as if it
            were a point (the official ``ddd_post_process_2d`` passes ``wh`` through
            ``transform_preds``, which adds the inverse affine's translation, about 1.2 px
            of height on KITTI); ``'corrected'`` maps the box corners.
    """

    point_keys: Sequence[str] = ('bboxes', 'centers', 'box_sizes', 'centers_3d')
    instance_keys: Sequence[str] = ('bboxes', 'scores', 'labels', 'bboxes_3d', 'alphas')
    # read by finalize (the 3D boxes), besides the point_keys
    finalize_keys: Sequence[str] = ('depths', 'dims')
    # depth and size are mirror-invariant; the rotation and offsets are not
    flip_average: Sequence[str] = ('heatmap', 'wh', 'depth', 'dim')
    official_task = 'ddd'
    official_heads = dict(CTDetCodec.official_heads, dep='depth', rot='rot', dim='dim')

    def __init__(self, num_classes: int = 3, stride: int = 4, max_objs: int = 50,
                 topk: int = 100, kernel: int = 3, radius_mode: str = 'official',
                 min_overlap: float = 0.7, center_mode: str = 'official',
                 box_mode: str = 'official') -> None:
        super().__init__(num_classes, stride=stride, max_objs=max_objs, topk=topk,
                         kernel=kernel, radius_mode=radius_mode, min_overlap=min_overlap)
        for name, value, modes in (('center_mode', center_mode, CENTER_MODES),
                                   ('box_mode', box_mode, BOX_MODES)):
            if value not in modes:
                raise ValueError(f'DDDCodec.{name} must be one of {modes}, got {value!r}')
        self.center_mode = center_mode
        self.box_mode = box_mode

    @property
    def branch_channels(self) -> Dict[str, int]:
        channels = dict(super().branch_channels, depth=1, rot=8, dim=3)
        if self.center_mode == 'projected':
            channels[CENTER3D_BRANCH] = 2
        return channels

    @property
    def activations(self) -> Dict[str, str]:
        return dict(heatmap='sigmoid', depth='inverse_sigmoid_depth')

    # ------------------------------------------------------------------ encoding
    def encode(self, batch_gt_instances: Sequence[InstanceData], feat_shape: Tuple[int, int],
               batch_img_metas: Optional[List[dict]] = None) -> Dict[str, Tensor]:
        """Encodes the gt of a batch.

        Args:
            batch_gt_instances: Per image ``bboxes`` (input pixels), ``labels``,
                ``bboxes_3d (N, 7)``, ``alphas (N,)`` and optionally ``dontcare (N,)``.
            feat_shape: ``(H, W)`` of the output maps.
            batch_img_metas: Image metainfo; ``jittered`` (bool) turns the depth and size
                targets of that image off; ``cam2img`` and ``affine_matrix`` give the input
                camera (``center_mode='projected'``).

        Returns:
            ``heatmap (B, C, H, W)``; ``wh``, ``offset`` ``(B, M, 2)``; ``depth (B, M, 1)``;
            ``dim (B, M, 3)``; ``rot (B, M, 4)`` (``bin1, bin2, res1, res2``);
            ``indices``, ``mask``, ``depth_mask``, ``dim_mask`` ``(B, M)``; with
            ``center_mode='projected'`` also ``center3d_offset (B, M, 2)``.
        """
        metas = batch_img_metas or [{}] * len(batch_gt_instances)
        cams = self.input_cameras(metas) if self.center_mode == 'projected' else None
        bboxes = [boxes_tensor(g.bboxes) for g in batch_gt_instances]
        device = bboxes[0].device if bboxes else torch.device('cpu')
        dontcare = [g.dontcare.bool() if 'dontcare' in g else
                    torch.zeros(len(g.labels), dtype=torch.bool, device=device)
                    for g in batch_gt_instances]
        return self.encode_tensors(
            bboxes, [g.labels for g in batch_gt_instances],
            [torch.as_tensor(g.bboxes_3d, device=device) for g in batch_gt_instances],
            [torch.as_tensor(g.alphas, device=device) for g in batch_gt_instances],
            dontcare, [bool(m.get('jittered', False)) for m in metas], feat_shape, cams)

    @staticmethod
    def input_cameras(batch_img_metas: Sequence[dict]) -> Tensor:
        """``(B, 3, 4)`` float64 cameras of the network inputs (``affine_matrix @ cam2img``;
        ``cam2img`` alone where there is no affine)."""
        cams = cam2img_of(batch_img_metas, torch.float64, torch.device('cpu'), True)
        if cams is None:
            i, meta = next((i, m) for i, m in enumerate(batch_img_metas) if CAM_KEY not in m)
            raise KeyError(
                f'DDDCodec(center_mode="projected") needs "cam2img" in the metainfo of every '
                f'image; image {i} ({meta.get("img_path")}) has none (add "cam2img" to the '
                'meta_keys of PackCenterNetInputs)')
        return cams

    def encode_tensors(self, batch_bboxes: Sequence[Tensor], batch_labels: Sequence[Tensor],
                       batch_boxes_3d: Sequence[Tensor], batch_alphas: Sequence[Tensor],
                       batch_dontcare: Sequence[Tensor], batch_jittered: Sequence[bool],
                       feat_shape: Tuple[int, int],
                       batch_cam2img: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Same as :meth:`encode`, from per-image tensors (``batch_cam2img (B, 3, 4)``: the
        input cameras, needed by ``center_mode='projected'``)."""
        height, width = feat_shape
        num_imgs = len(batch_bboxes)
        bboxes, labels, img_idx, slot = flatten_gt(batch_bboxes, batch_labels, self.max_objs)
        device = bboxes.device
        boxes_3d = first_rows(batch_boxes_3d, self.max_objs, (7, )).to(device)
        alphas = first_rows(batch_alphas, self.max_objs, ()).to(device)
        dontcare = first_rows(batch_dontcare, self.max_objs, ()).to(device).bool()
        order = torch.arange(len(labels), device=device)

        boxes = self.output_boxes(bboxes, height, width)
        w = boxes[:, 2] - boxes[:, 0]
        h = boxes[:, 3] - boxes[:, 1]
        keep = ((h > 0) & (w > 0)).nonzero().squeeze(1)
        boxes, w, h, labels, img_idx, slot, boxes_3d, alphas, dontcare, order = (
            t[keep] for t in (boxes, w, h, labels, img_idx, slot, boxes_3d, alphas,
                              dontcare, order))
        radius, center, center_int = self.peaks(boxes, w, h, ceil_size=False)

        heatmap = torch.zeros((num_imgs * self.num_classes, height, width),
                              dtype=torch.float32, device=device)
        self.draw_heatmap(heatmap, img_idx, labels, dontcare, center_int, radius, order)

        real = (~dontcare).nonzero().squeeze(1)
        img_r, slot_r = img_idx[real], slot[real]
        targets = self.empty_sparse_targets(num_imgs, device)
        m = self.max_objs
        targets.update(depth=torch.zeros((num_imgs, m, 1), device=device),
                       dim=torch.zeros((num_imgs, m, 3), device=device),
                       rot=torch.zeros((num_imgs, m, 4), device=device),
                       depth_mask=torch.zeros((num_imgs, m), device=device))
        targets['heatmap'] = heatmap.view(num_imgs, self.num_classes, height, width)
        targets['wh'][img_r, slot_r] = torch.stack([w, h], dim=1)[real]
        targets['offset'][img_r, slot_r] = (center - center_int)[real]
        targets['indices'][img_r, slot_r] = (center_int[:, 1] * width + center_int[:, 0])[real]
        targets['mask'][img_r, slot_r] = 1
        box3d = boxes_3d[real].float()
        targets['depth'][img_r, slot_r] = box3d[:, 2:3]
        targets['dim'][img_r, slot_r] = box3d[:, [4, 5, 3]]  # (l, h, w) -> official (h, w, l)
        bins, residual = alpha_to_bins(alphas[real])
        targets['rot'][img_r, slot_r] = torch.cat([bins, residual], dim=1)
        supervised = ~torch.as_tensor(list(batch_jittered), dtype=torch.bool, device=device)
        targets['depth_mask'][img_r, slot_r] = supervised[img_r].float()
        targets['dim_mask'] = targets['depth_mask'].clone()
        if self.center_mode == 'projected':
            if batch_cam2img is None:
                raise ValueError('DDDCodec(center_mode="projected") needs the input cameras '
                                 '(batch_cam2img)')
            targets[CENTER3D_BRANCH] = torch.zeros((num_imgs, m, 2), device=device)
            targets[CENTER3D_BRANCH][img_r, slot_r] = self.projected_centers(
                boxes_3d[real], batch_cam2img.to(device)[img_r]) - center_int[real]
        return targets

    def projected_centers(self, boxes_3d: Tensor, cams: Tensor) -> Tensor:
        """``(N, 2)`` output-map pixels of the 3D box centers (``boxes_3d (N, 7)`` hold the
        bottom centers) through the per-object input cameras ``cams (N, 3, 4)``."""
        boxes = boxes_3d.to(torch.float64)
        centers = torch.stack([boxes[:, 0], boxes[:, 1] - boxes[:, 4] / 2, boxes[:, 2]], 1)
        return (project(centers, cams) / self.stride).float()

    def draw_heatmap(self, heatmap: Tensor, img_idx: Tensor, labels: Tensor,
                     dontcare: Tensor, centers: Tensor, radii: Tensor, order: Tensor) -> None:
        """Gaussians of every object, then the 0.9999 centers of the ignored ones.

        An ignored object with label -1 is drawn into every class map. Each ignored center
        ends as ``max(0.9999, gaussians drawn there by objects after the last ignored object
        with that center)``, which is what the official sequential loop leaves.
        """
        num_classes = self.num_classes
        all_classes = dontcare & (labels < 0)
        reps = torch.where(all_classes, num_classes, 1)
        obj = torch.repeat_interleave(torch.arange(len(labels), device=labels.device), reps)
        first = torch.cumsum(reps, 0) - reps
        cls = torch.where(all_classes[obj], torch.arange(len(obj), device=obj.device)
                          - first[obj], labels[obj])
        maps = img_idx[obj] * num_classes + cls
        draw_gaussians(heatmap, maps, centers[obj], radii[obj])
        ignored = dontcare[obj].nonzero().squeeze(1)
        if ignored.numel() == 0:
            return
        _, height, width = heatmap.shape
        key = (maps[ignored] * height + centers[obj[ignored], 1]) * width \
            + centers[obj[ignored], 0]
        uniq, inverse = torch.unique(key, return_inverse=True)
        last = torch.full_like(uniq, -1).scatter_reduce(0, inverse, order[obj[ignored]],
                                                       reduce='amax', include_self=True)
        later = self._later_gaussians(uniq, last, maps, obj, centers, radii, order,
                                      height, width)
        heatmap.view(-1)[uniq] = later.clamp(min=IGNORE_PEAK).to(heatmap.dtype)

    @staticmethod
    def _later_gaussians(keys: Tensor, last: Tensor, maps: Tensor, obj: Tensor,
                         centers: Tensor, radii: Tensor, order: Tensor, height: int,
                         width: int) -> Tensor:
        """Max gaussian value at each flat ``keys`` pixel over the draws of objects whose
        ``order`` is after ``last`` (0 where there is none), as ``draw_gaussians`` computes
        it (float64, then the map dtype)."""
        key_map = keys // (height * width)
        pix = keys % (height * width)
        ky, kx = pix // width, pix % width
        dx = (kx[:, None] - centers[obj, 0][None, :]).to(torch.float64)
        dy = (ky[:, None] - centers[obj, 1][None, :]).to(torch.float64)
        r = radii[obj][None, :]
        sigma = (2 * r + 1).to(torch.float64) / 6
        value = torch.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma)).float().double()
        hit = ((key_map[:, None] == maps[None, :]) & (order[obj][None, :] > last[:, None])
               & (dx.abs() <= r) & (dy.abs() <= r))
        return torch.where(hit, value, torch.zeros_like(value)).amax(dim=1)

    # ------------------------------------------------------------------ decoding
    def decode_maps(self, maps: Dict[str, Tensor],
                    batch_img_metas: Optional[List[dict]] = None) -> Dict[str, Tensor]:
        """Activated maps -> ``(B, K, ...)`` outputs in input pixels.

        Returns:
            ``bboxes``, ``scores``, ``labels``, ``centers (B, K, 2)`` (the peaks with their
            offsets), ``box_sizes (B, K, 2)``, ``alphas``, ``depths``, ``dims (B, K, 3)``
            (``h, w, l``), with ``center_mode='projected'`` ``centers_3d (B, K, 2)`` and,
            when the metas hold ``cam2img``, ``bboxes_3d (B, K, 7)``.
        """
        if self.center_mode == 'projected' and CENTER3D_BRANCH not in maps:
            raise KeyError(f'DDDCodec(center_mode="projected") needs a "{CENTER3D_BRANCH}" '
                           f'branch in the head; the maps are {sorted(maps)}')
        dets = self.decode(maps['heatmap'], maps['wh'], maps.get('offset'))
        pixel = dets.pop('pixel')
        out = dict(bboxes=dets['bboxes'], scores=dets['scores'], labels=dets['labels'],
                   centers=dets['centers'] * self.stride,
                   box_sizes=gather_at(maps['wh'], pixel) * self.stride,
                   alphas=bins_to_alpha(gather_at(maps['rot'], pixel)),
                   depths=gather_at(maps['depth'], pixel)[..., 0],
                   dims=gather_at(maps['dim'], pixel))
        if self.center_mode == 'projected':
            width = maps['heatmap'].shape[-1]
            peaks = torch.stack([pixel % width, torch.div(pixel, width, rounding_mode='floor')],
                                -1).to(out['centers'].dtype)
            out['centers_3d'] = (peaks + gather_at(maps[CENTER3D_BRANCH], pixel)) * self.stride
        cam = cam2img_of(batch_img_metas, out['centers'].dtype, out['centers'].device,
                         through_affine=True)
        if cam is not None:
            out['bboxes_3d'] = self.boxes_3d(out, cam)
        return out

    def finalize(self, dets: Dict[str, Tensor],
                 batch_img_metas: List[dict]) -> Dict[str, Tensor]:
        """Original-image 2D boxes (see ``box_mode``) and the 3D boxes from ``cam2img``."""
        dets = dict(dets)
        if self.box_mode == 'official':
            half = dets['box_sizes'] / 2
            dets['bboxes'] = torch.cat([dets['centers'] - half, dets['centers'] + half], -1)
        cam = cam2img_of(batch_img_metas, dets['centers'].dtype, dets['centers'].device,
                         through_affine=False)
        if cam is not None:
            dets['bboxes_3d'] = self.boxes_3d(dets, cam)
        else:
            warnings.warn(
                f'DDDCodec: an image has no {CAM_KEY!r} in its metainfo, so its 3D boxes '
                'cannot be computed (2D boxes, depths, dims and alphas only): give the '
                'camera, e.g. demo/mono3d_demo.py IMG CALIB CONFIG CKPT or a dataset with '
                'calibration files', MissingCameraWarning, stacklevel=2)
        return dets

    def boxes_3d(self, dets: Dict[str, Tensor], cam2img: Tensor) -> Tensor:
        """``(B, K, 7)`` boxes from ``depths``, ``dims``, ``alphas`` and the ``centers``
        (``centers_3d`` with ``center_mode='projected'``)."""
        uv = dets['centers_3d'] if self.center_mode == 'projected' else dets['centers']
        return boxes3d_from_center(uv, dets['depths'], dets['dims'], dets['alphas'], cam2img)
