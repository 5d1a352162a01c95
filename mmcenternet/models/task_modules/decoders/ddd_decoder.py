"""3D boxes from CenterNet monocular 3D maps (official ``ddd_decode`` + ``ddd_post_process``)."""
import math
import warnings
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor

from mmcenternet.registry import TASK_UTILS
from mmcenternet.structures.camera3d import affine_cam2img, boxes3d_from_center
from .base import AFFINE_KEY, BaseCenterDecoder
from .ctdet_decoder import CTDetDecoder, gather_at

CAM_KEY = 'cam2img'


class MissingCameraWarning(UserWarning):
    """A 3D model predicted on an image without its camera matrix."""


BOX_MODES = ('official', 'corrected')
#: Where the 3D center is unprojected from: the 2D box center (official) or the regressed
#: projected 3D center (``DDDEncoder(center_mode='projected')``'s target).
CENTER_MODES = ('official', 'projected')
CENTER3D_BRANCH = 'center3d_offset'


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
class DDDDecoder(BaseCenterDecoder):
    """Decodes the ``heatmap``, ``wh``, ``offset``, ``depth``, ``rot`` and ``dim`` maps.

    Peaks, top-K and 2D boxes as :class:`CTDetDecoder`; at each peak the depth (already
    ``1 / sigmoid - 1`` by the head's activation), the size ``(h, w, l)`` and the angle
    ``alpha`` from the two orientation bins (:func:`bins_to_alpha`). After the detections
    are mapped back to the original image, :meth:`finalize` builds the 3D boxes from the
    calibration ``metainfo['cam2img']`` (the original image's ``P2``): the peak (2D box
    center) unprojected at the predicted depth, moved down by half the height, and
    ``rot_y = alpha + atan2(u - cx, fx)`` (official ``ddd2locrot``).

    Without back-mapping (``rescale=False``) the 3D boxes come from the network input's
    camera ``affine_matrix @ P2``, which gives the same boxes.

    ``center_mode='projected'`` (an option; the official code has no such branch) reads a
    ``center3d_offset`` branch (2 channels, trained on the target of
    ``DDDEncoder(center_mode='projected')``): the projected 3D center is the integer peak
    plus that offset (output ``centers_3d``), and the 3D box is unprojected from it, and
    ``rot_y`` taken at its column, instead of at the 2D box center. The 2D box center is
    not where a 3D box's center projects (perspective makes the near face larger,
    truncation clips the box): from perfect maps, the official construction reaches only
    part of the 3D AP that this one does (``configs/quickstart/README.md``). The 2D boxes
    are unchanged.

    Args:
        topk: Detections per image (official K = 100).
        kernel: Peak window.
        stride: Output stride.
        box_mode: ``'official'`` maps the predicted box size back to the image as if it
            were a point (the official ``ddd_post_process_2d`` passes ``wh`` through
            ``transform_preds``, which adds the inverse affine's translation, about 1.2 px
            of height on KITTI); ``'corrected'`` maps the box corners.
        center_mode: ``'official'`` (unproject the 2D box center) or ``'projected'``
            (unproject the regressed projected 3D center; needs the ``center3d_offset``
            branch).
    """

    point_keys: Sequence[str] = ('bboxes', 'centers', 'box_sizes', 'centers_3d')
    instance_keys: Sequence[str] = ('bboxes', 'scores', 'labels', 'bboxes_3d', 'alphas')
    # read by finalize (the 3D boxes), besides the point_keys
    finalize_keys: Sequence[str] = ('depths', 'dims')
    # depth and size are mirror-invariant; the rotation and offsets are not
    flip_average: Sequence[str] = ('heatmap', 'wh', 'depth', 'dim')

    def __init__(self, topk: int = 100, kernel: int = 3, stride: int = 4,
                 box_mode: str = 'official', center_mode: str = 'official') -> None:
        if box_mode not in BOX_MODES:
            raise ValueError(f'DDDDecoder.box_mode must be one of {BOX_MODES}, '
                             f'got {box_mode!r}')
        if center_mode not in CENTER_MODES:
            raise ValueError(f'DDDDecoder.center_mode must be one of {CENTER_MODES}, '
                             f'got {center_mode!r}')
        self.ctdet = CTDetDecoder(topk=topk, kernel=kernel, stride=stride)
        self.stride = stride
        self.box_mode = box_mode
        self.center_mode = center_mode

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
            raise KeyError(f'DDDDecoder(center_mode="projected") needs a "{CENTER3D_BRANCH}" '
                           f'branch in the head; the maps are {sorted(maps)}')
        dets = self.ctdet.decode(maps['heatmap'], maps['wh'], maps.get('offset'))
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
                f'DDDDecoder: an image has no {CAM_KEY!r} in its metainfo, so its 3D boxes '
                'cannot be computed (2D boxes, depths, dims and alphas only): give the '
                'camera, e.g. demo/mono3d_demo.py IMG CALIB CONFIG CKPT or a dataset with '
                'calibration files', MissingCameraWarning, stacklevel=2)
        return dets

    def boxes_3d(self, dets: Dict[str, Tensor], cam2img: Tensor) -> Tensor:
        """``(B, K, 7)`` boxes from ``depths``, ``dims``, ``alphas`` and the ``centers``
        (``centers_3d`` with ``center_mode='projected'``)."""
        uv = dets['centers_3d'] if self.center_mode == 'projected' else dets['centers']
        return boxes3d_from_center(uv, dets['depths'], dets['dims'], dets['alphas'], cam2img)
