"""CenterFace (faces with five landmarks, Xu et al. 2019): targets and decoding, batched.

CenterFace's release (Star-Clouds/CenterFace) ships no training code; its ONNX model and the
post-processing of its demos (``prj-python/centerface.py``) define what the four maps mean,
and the targets here are the ones that post-processing inverts exactly:

- ``heatmap`` (1): a gaussian per face at the integer center, as CenterNet (official radius
  rule, the one the MindSpore model-zoo port of CenterFace uses);
- ``scale`` (2): ``(log h, log w)`` of the box in output pixels (the demo's box side is
  ``exp(scale) * 4`` input pixels), **height first**, as the released maps;
- ``offset`` (2): ``(y, x)`` of the box center minus the center of its output pixel (the
  demo adds ``0.5`` to the pixel index), so in ``[-0.5, 0.5)``;
- ``landmarks`` (10): per landmark ``((y - y1) / h, (x - x1) / w)``, relative to the box's
  top-left corner and size (the demo's ``lm * size + corner``; the paper writes the same up
  to a constant 0.5, relative to the center).

The box is the one CenterNet trains: the input-pixel box divided by the stride and clipped
to the map (official ``ctdet``), so ``decode(encode(gt))`` returns the boxes (and the
landmarks relative to them) exactly for faces inside the image.

Differences from the MindSpore port (the one published training recipe): its ``wh`` target
is ``log(w / 4)`` in output pixels with a decode in output pixels (the release decodes
``exp(scale) * 4`` in *input* pixels, which this follows), its offset has no ``-0.5``, its
landmarks are relative to the integer center, and it up-weights the size loss of tiny faces;
here the release's decoding defines the targets and every face is weighted alike.

Decoding: what CenterFace's release does after its network (``prj-python/centerface.py`` and
the C++ demos, identical), for each map pixel ``(i, j)`` whose heatmap exceeds a threshold:
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
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmcenternet.registry import TASK_UTILS
from ..peaks import gather_at, local_peaks, topk_peaks
from .base import boxes_tensor, first_rows, flip_lr_maps, flip_permutation
from .ctdet import CTDetCodec


@TASK_UTILS.register_module()
class CenterFaceCodec(CTDetCodec):
    """Faces and their landmarks: CenterFace's ``heatmap`` (C), ``scale`` (2), ``offset`` (2)
    and ``landmarks`` (2L) branches (see the module docstring), for a whole batch at once.

    Sparse targets (``(B, M, D)`` at ``indices`` with ``mask``): ``scale``, ``offset``;
    ``landmarks`` with its per-landmark mask ``landmarks_mask (B, M, 2L)``: 1 where the
    landmark is labelled (``keypoints_visible > 0``), so faces without landmarks (RetinaFace
    ``label.txt`` gives ``-1``, the official WIDER FACE files none) and landmarks that left
    the input train only their box.

    Decoded outputs (``(B, K, ...)``, input pixels): ``bboxes``, ``scores``, ``labels``,
    ``keypoints (B, K, L, 2)`` (the landmarks, ``(x, y)``) and ``keypoint_scores (B, K, L)``
    (each landmark gets its face's score: CenterFace predicts no per-landmark confidence).

    Args:
        num_classes: Heatmap channels (1: faces).
        num_landmarks: Landmarks per face ``L`` (5).
        stride: Output stride.
        max_objs: Face slots per image (WIDER FACE has crowds: the configs use 512).
        topk: Faces per image before the head's threshold / NMS.
        kernel: Peak window (3: CenterNet's local maxima; 1: every pixel, as the release).
        radius_mode / min_overlap: The gaussian radius rule (see ``gaussian_radius``).
    """

    point_keys = ('bboxes', 'keypoints')
    instance_keys = ('bboxes', 'scores', 'labels', 'keypoints', 'keypoint_scores')
    flip_average = ('heatmap', 'scale')
    official_heads = {}

    def __init__(self, num_classes: int = 1, num_landmarks: int = 5, stride: int = 4,
                 max_objs: int = 128, topk: int = 100, kernel: int = 3,
                 radius_mode: str = 'official', min_overlap: float = 0.7) -> None:
        super().__init__(num_classes=num_classes, stride=stride, max_objs=max_objs,
                         topk=topk, kernel=kernel, radius_mode=radius_mode,
                         min_overlap=min_overlap)
        if num_landmarks < 1:
            raise ValueError(f'CenterFaceCodec.num_landmarks must be >= 1, got '
                             f'{num_landmarks}')
        self.num_landmarks = num_landmarks

    @property
    def branch_channels(self) -> Dict[str, int]:
        return dict(heatmap=self.num_classes, scale=2, offset=2,
                    landmarks=2 * self.num_landmarks)

    def check_dataset(self, metainfo, where: str) -> None:
        super().check_dataset(metainfo, where)
        self._check_keypoints(metainfo, where, self.num_landmarks, 'num_landmarks')

    # ------------------------------------------------------------------ encoding
    def encode(self, batch_gt_instances: Sequence[InstanceData], feat_shape: Tuple[int, int],
               batch_img_metas: Optional[List[dict]] = None) -> Dict[str, Tensor]:
        """Encodes the gt of a batch.

        Args:
            batch_gt_instances: Per image ``bboxes`` (xyxy, input pixels), ``labels`` and,
                optionally, ``keypoints (N, K, 2)`` (input pixels) with
                ``keypoints_visible (N, K)``; an image without them trains boxes only.
            feat_shape: ``(H, W)`` of the output maps.
            batch_img_metas: Unused.

        Returns:
            ``heatmap (B, C, H, W)``, ``scale``, ``offset`` ``(B, M, 2)``, ``landmarks`` and
            ``landmarks_mask`` ``(B, M, 2K)``, ``indices``, ``mask`` ``(B, M)``.
        """
        k = self.num_landmarks
        landmarks, visible = [], []
        for i, gt in enumerate(batch_gt_instances):
            count = len(gt.bboxes)
            if 'keypoints' in gt:
                if tuple(gt.keypoints.shape[1:]) != (k, 2):
                    raise ValueError(
                        f'CenterFaceCodec: gt keypoints of image {i} have shape '
                        f'{tuple(gt.keypoints.shape)}, expected (N, {k}, 2) '
                        '(model.bbox_head.codec.num_landmarks)')
                landmarks.append(gt.keypoints)
                visible.append(gt.keypoints_visible if 'keypoints_visible' in gt else
                               gt.keypoints.new_full((count, k), 2.))
            else:
                device = boxes_tensor(gt.bboxes).device
                landmarks.append(torch.zeros((count, k, 2), device=device))
                visible.append(torch.zeros((count, k), device=device))
        return self.encode_tensors([boxes_tensor(g.bboxes) for g in batch_gt_instances],
                                   [g.labels for g in batch_gt_instances], landmarks,
                                   visible, feat_shape)

    def encode_tensors(self, batch_bboxes: Sequence[Tensor], batch_labels: Sequence[Tensor],
                       batch_landmarks: Sequence[Tensor], batch_visible: Sequence[Tensor],
                       feat_shape: Tuple[int, int]) -> Dict[str, Tensor]:
        """Same as :meth:`encode`, from per-image tensors."""
        k = self.num_landmarks
        targets, objs = self.encode_boxes(batch_bboxes, batch_labels, feat_shape)
        device = targets['heatmap'].device
        img, slot, mask = objs['img'], objs['slot'], targets['mask']
        wh = targets.pop('wh')
        # log of the (clipped) output-pixel size where a face sits, (h, w) as the release
        scale = torch.zeros_like(wh)
        scale[img, slot] = wh[img, slot].log().flip(-1)
        targets['scale'] = scale
        targets_offset_xy = targets['offset'][img, slot]  # center - integer center (x, y)
        offset = torch.zeros_like(targets['offset'])
        offset[img, slot] = (targets_offset_xy - 0.5).flip(-1)
        targets['offset'] = offset

        num_imgs, m = mask.shape
        pts = first_rows(batch_landmarks, self.max_objs, (k, 2)).to(device, torch.float32)
        vis = first_rows(batch_visible, self.max_objs, (k, )).to(device)
        pts, vis = pts[objs['row']] / self.stride, vis[objs['row']]
        size = wh[img, slot]  # (O, 2) w, h of the clipped output box
        corner = objs['center_int'] + targets_offset_xy - size / 2  # its top-left corner
        rel = ((pts - corner[:, None]) / size[:, None]).flip(-1)  # (O, K, 2) as (y, x)
        labelled = (vis > 0)[..., None].expand(-1, -1, 2).to(torch.float32)
        lm = torch.zeros((num_imgs, m, k, 2), device=device)
        lm_mask = torch.zeros((num_imgs, m, k, 2), device=device)
        lm[img, slot] = rel * labelled
        lm_mask[img, slot] = labelled
        targets['landmarks'] = lm.view(num_imgs, m, 2 * k)
        targets['landmarks_mask'] = lm_mask.view(num_imgs, m, 2 * k)
        return targets

    # ------------------------------------------------------------------ decoding
    def decode_maps(self, maps: Dict[str, Tensor],
                    batch_img_metas: Optional[List[dict]] = None) -> Dict[str, Tensor]:
        """Decodes the face branches of a batch: ``heatmap (B, C, H, W)``, ``scale (B, 2, H,
        W)`` (``(log h, log w)`` in output pixels) and the optional ``offset`` (``(y, x)``
        from the pixel center; none: centers at the pixel centers) and ``landmarks (B, 2L, H,
        W)`` (``(y, x)`` per landmark relative to the box corner and size; none: no
        ``keypoints`` output)."""
        heatmap, scale, offset = maps['heatmap'], maps['scale'], maps.get('offset')
        landmarks = maps.get('landmarks')
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
