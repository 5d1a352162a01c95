"""Flip and multi-scale test of Keypoint Triplets, in the order of Duan's ``test/coco.py``."""
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
from mmdet.structures import DetDataSample
from torch import Tensor

from mmcenternet.registry import MODELS
from .centernet_tta import CenterNetTTAModel, view_pairs

#: Candidate outputs pooled over the scales (centers come from one scale).
CANDIDATE_KEYS = ('bboxes', 'scores', 'labels', 'tl_scores', 'br_scores')
CENTER_KEYS = ('centers', 'center_scores', 'center_labels')


def view_scale(meta: dict) -> float:
    """The test scale of a view: the linear scale of its ``affine_matrix`` (1 without)."""
    matrix = meta.get('affine_matrix')
    if matrix is None:
        return 1.0
    return float(np.sqrt(abs(np.linalg.det(np.asarray(matrix, np.float64)[:2, :2]))))


@MODELS.register_module()
class TripletTTAModel(CenterNetTTAModel):
    """Duan's test of a Keypoint Triplets detector (a ``CenterNet`` with ``TripletHead``).

    Per scale, the image and its mirror are decoded separately and their corner-pair
    candidates pooled (``TripletCodec.flip_merge``), and mapped back to the image. The
    candidates of all scales are then pooled, and only then rescored by the central-region
    test against the center keypoints of the scale nearest ``center_scale`` (Duan: scale
    1 only), followed by per-class soft-NMS and the best ``max_per_img`` (the head's
    ``test_cfg``). With one scale this is Duan's single-scale (flip) test exactly (see
    tests/test_models/test_duan_triplet_fidelity.py, which runs the head's path).

    Differences from Duan's multi-scale test: Duan merges the scales with
    ``soft_nms_merge`` (soft-NMS that also replaces each kept box by a score-weighted mean
    of the boxes it suppresses, ``weight_exp`` 10); mmcv has no such op and this model
    uses the plain gaussian soft-NMS of the single-scale test. Duan's 5-pixel border
    rejection is applied in the scaled image there, in the original image here.

    Args:
        module: The detector config.
        flip: Decode each scale's mirrored view too (needs ``RandomFlip(prob=1.)`` views).
        center_scale: Scale whose center keypoints are used (Duan 1).
    """

    def __init__(self, module: dict, flip: bool = True, center_scale: float = 1.0,
                 data_preprocessor: dict = None) -> None:
        super().__init__(module=module, flip=flip, data_preprocessor=data_preprocessor)
        self.center_scale = center_scale

    def _test_one(self, views: Sequence[dict]) -> DetDataSample:
        head = self.module.bbox_head
        per_scale: List[Tuple[float, Dict[str, Tensor]]] = []
        for base, flipped in view_pairs(views):
            metas = [base['data_samples'][0].metainfo]
            maps = self._maps(base)
            if self.flip and flipped is not None:
                maps = head.codec.flip_merge(maps, self._maps(flipped), metas)
            per_scale.append((view_scale(metas[0]), head.candidates(maps, metas, True)))
        dets = {k: torch.cat([d[k] for _, d in per_scale], dim=1) for k in CANDIDATE_KEYS}
        _, center_view = min(per_scale, key=lambda s: abs(s[0] - self.center_scale))
        dets.update({k: center_view[k] for k in CENTER_KEYS})
        out = DetDataSample(metainfo=views[0]['data_samples'][0].metainfo)
        out.pred_instances = head.finish(dets)[0]
        return out
