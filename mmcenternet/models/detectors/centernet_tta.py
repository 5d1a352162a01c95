"""Test-time augmentation for CenterNet as the official ``CtdetDetector``.

mmdet's ``DetTTAModel`` merges finished detections with NMS. Official CenterNet instead
averages the sigmoid heatmap and the size map of an image and its mirror *before* decoding
(the offset comes from the unflipped image), and merges the scales' detections with
gaussian soft-NMS. This model does that.
"""
import math
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmcv.ops import batched_nms
from mmdet.structures import DetDataSample
from mmengine.model import BaseTTAModel
from mmengine.structures import InstanceData
from torch import Tensor

from mmcenternet.registry import MODELS
from ..utils.soft_nms import official_soft_nms, official_topk_threshold

MERGE_MODES = ('official', 'clean')


def _group_key(sample: DetDataSample) -> tuple:
    meta = sample.metainfo
    matrix = meta.get('affine_matrix')
    return (tuple(meta['img_shape']), None if matrix is None else matrix.tobytes())


def view_pairs(views: Sequence[dict]) -> List[Tuple[dict, Optional[dict]]]:
    """Groups one image's TTA views by scale: ``[(unflipped view, flipped view or None)]``.

    Raises:
        ValueError: A flipped view without its unflipped twin.
    """
    groups: 'OrderedDict[tuple, Dict[bool, dict]]' = OrderedDict()
    for view in views:
        sample = view['data_samples'][0]
        flipped = bool(sample.metainfo.get('flip', False))
        groups.setdefault(_group_key(sample), {})[flipped] = view
    if any(False not in pair for pair in groups.values()):
        raise ValueError('TTA pipeline gives a flipped view without its unflipped '
                         'twin; include RandomFlip(prob=0.) in tta_pipeline')
    return [(pair[False], pair.get(True)) for pair in groups.values()]


@MODELS.register_module()
class CenterNetTTAModel(BaseTTAModel):
    """Flip and multi-scale test of a :class:`CenterNet` detector.

    The flip merge is the head codec's ``flip_merge`` (each task knows which maps to
    average and how to mirror them, e.g. the keypoint flip pairs).

    Args:
        module: The detector config.
        flip: Average each scale's image with its horizontal flip (needs the flipped views
            from the TTA pipeline, i.e. ``RandomFlip(prob=1.)``).
        soft_nms: Soft-NMS settings used to merge the scales, per class (``iou_threshold``,
            ``sigma``, ``min_score``, ``method``; official: gaussian, sigma 0.5, Nt 0.5,
            0.001), applied only when there are several scales.
        max_per_img: Detections kept per image (official 100; None keeps all, as the
            official multi-pose merge).
        merge: ``'official'`` (default) reproduces the official ``merge_outputs`` exactly:
            its Cython soft-NMS (IoU with +1 widths, removed rows replaced in place and the
            stale rows still returned) and its cut (every detection scoring >= the
            ``max_per_img``-th, ties included), see :mod:`mmcenternet.models.utils.soft_nms`.
            Fields other than boxes, scores and labels (keypoints, ...) follow the official
            ``soft_nms_39`` of the multi-pose merge (swapped, not copied, on removal).
            ``'clean'`` uses mmcv's soft-NMS (no +1, removed boxes dropped) and an exact
            top-``max_per_img``.

    Maps are cropped to the view's ``img_shape`` before merging, so a data preprocessor
    that pads the batch further (e.g. to 128 for Hourglass) cannot shift the mirrored maps.
    """

    def __init__(self, module: dict, flip: bool = True, soft_nms: Optional[dict] = None,
                 max_per_img: Optional[int] = 100, merge: str = 'official',
                 data_preprocessor: dict = None) -> None:
        super().__init__(module=module, data_preprocessor=data_preprocessor)
        if merge not in MERGE_MODES:
            raise ValueError(f'CenterNetTTAModel.merge must be one of {MERGE_MODES}, '
                             f'got {merge!r}')
        self.flip = flip
        self.soft_nms = dict(iou_threshold=0.5, sigma=0.5, min_score=0.001,
                             method='gaussian')
        self.soft_nms.update({k: v for k, v in (soft_nms or {}).items() if k != 'type'})
        self.max_per_img = max_per_img
        self.merge = merge

    def _maps(self, batch: dict) -> Dict[str, Tensor]:
        """Activated maps of the last stack, cropped to the view's unpadded input."""
        data = self.module.data_preprocessor(batch, False)
        feats = self.module.extract_feat(data['inputs'])
        head = self.module.bbox_head
        maps = head.activate(head(feats)[-1])
        in_h, in_w = data['inputs'].shape[-2:]
        map_h, map_w = next(iter(maps.values())).shape[-2:]  # all at the output stride
        img_h, img_w = batch['data_samples'][0].metainfo['img_shape'][:2]
        valid_h = math.ceil(img_h * map_h / in_h)
        valid_w = math.ceil(img_w * map_w / in_w)
        if (valid_h, valid_w) == (map_h, map_w):
            return maps
        return {name: value[..., :valid_h, :valid_w] for name, value in maps.items()}

    def test_step(self, data) -> List[DetDataSample]:
        """Runs every view, merges flips on the maps, scales on the detections."""
        num_augs = len(data['inputs'])
        views = [{key: value[i] for key, value in data.items()} for i in range(num_augs)]
        num_imgs = len(views[0]['inputs'])
        results = []
        for img_idx in range(num_imgs):
            per_img = [{key: [value[img_idx]] for key, value in v.items()} for v in views]
            results.append(self._test_one(per_img))
        return results

    def _test_one(self, views: Sequence[dict]) -> DetDataSample:
        head = self.module.bbox_head
        dets = []
        for base, flipped in view_pairs(views):
            maps = self._maps(base)
            metas = [base['data_samples'][0].metainfo]
            if self.flip and flipped is not None:
                maps = head.codec.flip_merge(maps, self._maps(flipped), metas)
            dets.append(head.decode_maps(maps, metas, rescale=True)[0])
        merged = self.merge_scales(dets)
        out = DetDataSample(metainfo=views[0]['data_samples'][0].metainfo)
        out.pred_instances = merged
        return out

    def merge_scales(self, dets: List[InstanceData]) -> InstanceData:
        """Concatenates the scales; soft-NMS per class when there are several; the cut."""
        merged = InstanceData.cat(dets)
        several = len(dets) > 1 and len(merged) > 0
        if self.merge == 'official':
            return self._merge_official(merged, several)
        if several:
            cfg = dict(self.soft_nms, type='soft_nms')
            boxes, keep = batched_nms(merged.bboxes, merged.scores, merged.labels, cfg)
            merged = merged[keep]
            merged.scores = boxes[:, -1]
        if self.max_per_img is not None and len(merged) > self.max_per_img:
            order = merged.scores.topk(self.max_per_img).indices
            merged = merged[order]
        return merged

    def _merge_official(self, merged: InstanceData, soft_nms: bool) -> InstanceData:
        """Official ``merge_outputs``: classes in order, each class's rows after the
        in-place soft-NMS (stale rows included), then every row >= the cut score."""
        if len(merged) == 0:
            return merged
        labels = merged.labels.cpu().numpy()
        boxes = merged.bboxes.detach().cpu().numpy()
        scores = merged.scores.detach().cpu().numpy().astype(np.float32)
        takes, extra_takes, new_scores = [], [], []
        for label in np.unique(labels):
            idx = np.nonzero(labels == label)[0]
            if soft_nms:
                rows, extra, cls_scores = official_soft_nms(boxes[idx], scores[idx],
                                                            **self.soft_nms)
                takes.append(idx[rows])
                extra_takes.append(idx[extra])
            else:
                cls_scores = scores[idx]
                takes.append(idx)
                extra_takes.append(idx)
            new_scores.append(cls_scores)
        score = np.concatenate(new_scores)
        keep = score >= official_topk_threshold(score, self.max_per_img)
        device = merged.scores.device
        take = torch.as_tensor(np.concatenate(takes)[keep], device=device)
        extra_take = torch.as_tensor(np.concatenate(extra_takes)[keep], device=device)
        out = merged[extra_take]
        out.bboxes = merged.bboxes[take]
        out.labels = merged.labels[take]
        out.scores = torch.as_tensor(score[keep], dtype=merged.scores.dtype, device=device)
        return out

    def merge_preds(self, data_samples_list: List[List[DetDataSample]]
                    ) -> List[DetDataSample]:
        """Merges already-decoded views of each image (as :meth:`merge_scales`).

        :meth:`test_step` does not use it (it merges flips on the maps first); it serves
        callers of mmengine's generic ``BaseTTAModel`` flow.
        """
        merged = []
        for samples in data_samples_list:
            out = DetDataSample(metainfo=samples[0].metainfo)
            out.pred_instances = self.merge_scales([s.pred_instances for s in samples])
            merged.append(out)
        return merged
