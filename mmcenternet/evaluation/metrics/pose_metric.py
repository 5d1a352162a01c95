"""COCO keypoint AP (OKS) of predicted people, with pycocotools' ``COCOeval``."""
import contextlib
import io
import json
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.fileio import get_local_path
from mmengine.logging import MMLogger
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmcenternet.registry import METRICS

#: ``COCOeval.stats`` of ``iouType='keypoints'``, in order, as metric names.
STAT_NAMES = ('mAP', 'mAP_50', 'mAP_75', 'mAP_m', 'mAP_l', 'AR', 'AR_50', 'AR_75', 'AR_m',
              'AR_l')


def _num_labelled(keypoints: Sequence[float]) -> int:
    return int(np.count_nonzero(np.asarray(keypoints, dtype=np.float64)[2::3] > 0))


@METRICS.register_module()
class CocoKeypointMetric(BaseMetric):
    """COCO keypoint evaluation (``COCOeval(iouType='keypoints')``, OKS AP / AR).

    Predictions are ``pred_instances.keypoints (N, K, 2)`` in original-image pixels with
    the detection ``scores``, as the official ``coco_hp`` evaluation (every joint given
    visibility 1, the person's score as its score; the official code also rounds scores
    to 2 decimals, which only reorders ties). The OKS ``sigmas`` come from the dataset
    metainfo (``dataset_meta['sigmas']``), so another keypoint set is evaluated with its
    own constants; only detections of ``dataset_meta['keypoint_classes']`` (default: all
    classes) are evaluated, so a model that also detects other classes can be scored.
    Ground-truth annotations without ``num_keypoints`` get it from their visibilities.

    Args:
        ann_file: The COCO keypoint annotation file (e.g. ``person_keypoints_val2017.json``).
        metric: ``'keypoints'`` (the only one; person boxes: mmdet's ``CocoMetric``).
        format_only: Only write the results file (``outfile_prefix.keypoints.json``).
        outfile_prefix: Where to write the results json (a temporary place by default).
        backend_args: File backend arguments for ``ann_file``.
        collect_device / prefix: As mmengine's ``BaseMetric`` (prefix default ``coco``).
    """

    default_prefix: Optional[str] = 'coco'
    #: ``tools/test.py --eval`` names -> ``metric`` (mmcenternet.utils.eval_options)
    eval_names = {'keypoints': 'keypoints'}

    def __init__(self, ann_file: str, metric: Union[str, List[str]] = 'keypoints',
                 format_only: bool = False, outfile_prefix: Optional[str] = None,
                 backend_args: Optional[dict] = None, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        metrics = metric if isinstance(metric, (list, tuple)) else [metric]
        if list(metrics) != ['keypoints']:
            raise KeyError(f'CocoKeypointMetric.metric must be "keypoints", got {metric!r} '
                           '(person boxes are evaluated by mmdet CocoMetric)')
        if format_only and outfile_prefix is None:
            raise ValueError('CocoKeypointMetric: format_only needs outfile_prefix')
        self.ann_file = ann_file
        self.format_only = format_only
        self.outfile_prefix = outfile_prefix
        self.backend_args = backend_args
        self._coco: Optional[COCO] = None

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Keeps each image's id and predicted people (numpy)."""
        for sample in data_samples:
            pred = sample['pred_instances']
            self.results.append(dict(
                img_id=sample['img_id'],
                scores=pred['scores'].cpu().numpy(),
                labels=pred['labels'].cpu().numpy(),
                keypoints=pred['keypoints'].cpu().numpy()))

    def load_gt(self) -> COCO:
        """The annotation file as a pycocotools ``COCO`` (``num_keypoints`` filled in)."""
        if self._coco is None:
            with get_local_path(self.ann_file, backend_args=self.backend_args) as path, \
                    contextlib.redirect_stdout(io.StringIO()):
                coco = COCO(path)
            for ann in coco.dataset.get('annotations', []):
                if 'num_keypoints' not in ann and 'keypoints' in ann:
                    ann['num_keypoints'] = _num_labelled(ann['keypoints'])
            self._coco = coco
        return self._coco

    def keypoint_categories(self, coco: COCO) -> Dict[int, int]:
        """``{label: category id}`` of the classes whose people are evaluated (the
        keypoint classes; the file may hold only those, e.g. a person_keypoints file next
        to an 80-class model)."""
        classes = list(self.dataset_meta['classes'])
        kp_classes = set(self.dataset_meta.get('keypoint_classes') or classes)
        by_name = {cat['name']: cat['id'] for cat in coco.dataset.get('categories', [])}
        missing = [name for name in classes if name in kp_classes and name not in by_name]
        if missing:
            raise ValueError(f'{self.ann_file}: keypoint classes {missing} of the dataset '
                             f'metainfo are not categories of the file '
                             f'({sorted(by_name)[:20]})')
        return {label: by_name[name] for label, name in enumerate(classes)
                if name in kp_classes}

    def results_to_coco(self, results: List[dict], categories: Dict[int, int]) -> List[dict]:
        """COCO keypoint results: ``keypoints [x, y, 1] * K`` and the person's score."""
        dets = []
        for res in results:
            keep = np.isin(res['labels'], list(categories))
            kpts = res['keypoints'][keep]
            flat = np.concatenate([kpts, np.ones(kpts.shape[:2] + (1, ), kpts.dtype)], axis=2)
            for label, score, values in zip(res['labels'][keep], res['scores'][keep],
                                            flat.reshape(len(flat), flat.shape[1] * 3)):
                dets.append(dict(image_id=res['img_id'], category_id=categories[int(label)],
                                 keypoints=[float(v) for v in values], score=float(score)))
        return dets

    def compute_metrics(self, results: list) -> Dict[str, float]:
        logger = MMLogger.get_current_instance()
        coco = self.load_gt()
        categories = self.keypoint_categories(coco)
        dets = self.results_to_coco(results, categories)
        if self.outfile_prefix is not None:
            out = f'{self.outfile_prefix}.keypoints.json'
            with open(out, 'w') as f:
                json.dump(dets, f)
            logger.info(f'keypoint results written to {osp.abspath(out)}')
        if self.format_only:
            return OrderedDict()
        sigmas = np.asarray(self.dataset_meta['sigmas'], dtype=np.float64)
        metrics = OrderedDict((f'keypoints_{name}', 0.0) for name in STAT_NAMES)
        if not dets:
            logger.warning('CocoKeypointMetric: no predicted people to evaluate')
            return metrics
        num_gt_kpts = {len(a['keypoints']) // 3 for a in coco.dataset['annotations']
                       if a.get('category_id') in categories.values() and 'keypoints' in a}
        if num_gt_kpts and num_gt_kpts != {len(sigmas)}:
            raise ValueError(f'{self.ann_file} has {sorted(num_gt_kpts)} keypoints per '
                             f'person but dataset metainfo.sigmas has {len(sigmas)}')
        with contextlib.redirect_stdout(io.StringIO()):
            coco_dt = coco.loadRes(dets)
        evaluator = COCOeval(coco, coco_dt, iouType='keypoints')
        evaluator.params.kpt_oks_sigmas = sigmas
        evaluator.params.catIds = sorted(categories.values())
        evaluator.params.imgIds = sorted({res['img_id'] for res in results})
        table = io.StringIO()
        with contextlib.redirect_stdout(table):
            evaluator.evaluate()
            evaluator.accumulate()
            evaluator.summarize()
        logger.info('Evaluating keypoints (OKS)...\n' + table.getvalue())
        for name, value in zip(STAT_NAMES, evaluator.stats):
            metrics[f'keypoints_{name}'] = round(float(value), 4)
        return metrics
