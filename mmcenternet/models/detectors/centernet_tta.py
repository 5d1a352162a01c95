"""Test-time augmentation for CenterNet as the official ``CtdetDetector``.

mmdet's ``DetTTAModel`` merges finished detections with NMS. Official CenterNet instead
averages the sigmoid heatmap and the size map of an image and its mirror *before* decoding
(the offset comes from the unflipped image), and merges the scales' detections with
gaussian soft-NMS. This model does that.
"""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

from mmcv.ops import batched_nms
from mmdet.structures import DetDataSample
from mmengine.model import BaseTTAModel
from mmengine.structures import InstanceData
from torch import Tensor

from mmcenternet.registry import MODELS


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

    The flip merge is the head decoder's ``flip_merge`` (each task knows which maps to
    average and how to mirror them, e.g. the keypoint flip pairs).

    Args:
        module: The detector config.
        flip: Average each scale's image with its horizontal flip (needs the flipped views
            from the TTA pipeline, i.e. ``RandomFlip(prob=1.)``).
        soft_nms: mmcv ``batched_nms`` config used to merge the scales (per class); the
            official merge is gaussian soft-NMS, applied only when there are several scales.
        max_per_img: Detections kept per image (official 100).
    """

    def __init__(self, module: dict, flip: bool = True, soft_nms: dict = None,
                 max_per_img: int = 100, data_preprocessor: dict = None) -> None:
        super().__init__(module=module, data_preprocessor=data_preprocessor)
        self.flip = flip
        self.soft_nms = soft_nms or dict(type='soft_nms', iou_threshold=0.5, sigma=0.5,
                                         min_score=0.001, method='gaussian')
        self.max_per_img = max_per_img

    def _maps(self, batch: dict) -> Dict[str, Tensor]:
        data = self.module.data_preprocessor(batch, False)
        feats = self.module.extract_feat(data['inputs'])
        head = self.module.bbox_head
        return head.activate(head(feats)[-1])

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
                maps = head.decoder.flip_merge(maps, self._maps(flipped), metas)
            dets.append(head.decode_maps(maps, metas, rescale=True)[0])
        merged = self.merge_scales(dets)
        out = DetDataSample(metainfo=views[0]['data_samples'][0].metainfo)
        out.pred_instances = merged
        return out

    def merge_scales(self, dets: List[InstanceData]) -> InstanceData:
        """Concatenates the scales; soft-NMS per class when there are several; top-K."""
        merged = InstanceData.cat(dets)
        if len(dets) > 1 and len(merged) > 0:
            boxes, keep = batched_nms(merged.bboxes, merged.scores, merged.labels,
                                      self.soft_nms)
            merged = merged[keep]
            merged.scores = boxes[:, -1]
        if len(merged) > self.max_per_img:
            order = merged.scores.topk(self.max_per_img).indices
            merged = merged[order]
        return merged

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
