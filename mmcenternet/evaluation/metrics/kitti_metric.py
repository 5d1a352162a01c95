"""``--eval kitti``: KITTI 2D / AOS / BEV / 3D AP of monocular 3D detections, on CPU."""
import os
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmcenternet.datasets.kitti_mono3d import format_kitti_line, read_kitti_label
from mmcenternet.registry import METRICS
from ..functional.kitti_eval import (DIFFICULTIES, OFFICIAL_MIN_OVERLAPS, format_table,
                                     kitti_eval)

ANNO_KEYS = ('name', 'truncated', 'occluded', 'alpha', 'bbox', 'dims_hwl', 'location',
             'rotation_y', 'score')


def objects_to_anno(objects: Sequence[Mapping]) -> Dict[str, np.ndarray]:
    """``read_kitti_label`` dicts -> the per-image arrays :func:`kitti_eval` takes."""
    anno = {}
    for key in ANNO_KEYS:
        values = [o[key] for o in objects]
        if key == 'name':
            anno[key] = np.array(values, dtype=str)
        elif key == 'score':
            anno[key] = np.array([np.nan if v is None else v for v in values], np.float64)
        else:
            anno[key] = np.array(values, np.float64)
    for key, width in (('bbox', 4), ('dims_hwl', 3), ('location', 3)):
        anno[key] = anno[key].reshape(-1, width)
    return anno


def predictions_to_anno(pred: Mapping, classes: Sequence[str]) -> Dict[str, np.ndarray]:
    """An image's ``pred_instances`` (numpy) -> KITTI result arrays."""
    boxes_3d = np.asarray(pred['bboxes_3d'], np.float64).reshape(-1, 7)
    labels = np.asarray(pred['labels']).reshape(-1)
    return dict(name=np.array([classes[int(i)] for i in labels], dtype=str),
                truncated=np.full(len(labels), -1.), occluded=np.full(len(labels), -1.),
                alpha=np.asarray(pred['alphas'], np.float64).reshape(-1),
                bbox=np.asarray(pred['bboxes'], np.float64).reshape(-1, 4),
                dims_hwl=boxes_3d[:, [4, 5, 3]], location=boxes_3d[:, :3],
                rotation_y=boxes_3d[:, 6],
                score=np.asarray(pred['scores'], np.float64).reshape(-1))


def write_kitti_results(out_dir: str, kitti_id: str, anno: Mapping[str, np.ndarray]) -> str:
    """One KITTI result file (``<out_dir>/<kitti_id>.txt``; empty without detections, so
    that the official evaluator counts the image)."""
    os.makedirs(out_dir, exist_ok=True)
    path = osp.join(out_dir, f'{kitti_id}.txt')
    with open(path, 'w') as f:
        for i in range(len(anno['name'])):
            f.write(format_kitti_line(anno['name'][i], anno['alpha'][i], anno['bbox'][i],
                                      anno['dims_hwl'][i], anno['location'][i],
                                      anno['rotation_y'][i], anno['score'][i]) + '\n')
    return path


@METRICS.register_module()
class KittiMetric(BaseMetric):
    """KITTI object evaluation of ``bboxes_3d`` / ``bboxes`` / ``alphas`` predictions.

    2D AP, AOS, BEV AP and 3D AP for Easy / Moderate / Hard with R11 and R40 interpolation
    (:func:`~mmcenternet.evaluation.functional.kitti_eval.kitti_eval`, the rules of the
    official evaluator, no GPU needed). Ground truth is read from each sample's KITTI label
    file (``metainfo['label_path']``, else ``label_dir/<kitti_id>.txt``).

    Args:
        metric: ``'kitti'`` (all four) or a list among ``bbox``, ``aos``, ``bev``, ``3d``.
        classes: Classes to evaluate; default: the dataset's classes that have IoU
            thresholds (Car, Pedestrian, Cyclist).
        min_overlaps: ``{class: (2D, BEV, 3D)}`` IoU thresholds; default the official
            evaluator's (Car 0.7 / 0.5 / 0.5, Pedestrian and Cyclist 0.5 / 0.25 / 0.25).
        score_thr: Detections at or below this score are not evaluated (nor written).
        out_dir: Where to write one KITTI result file per image (for the KITTI server or
            the official evaluator); ``tools/test.py --out-dir`` sets it.
        label_dir: Label folder when the samples carry no ``label_path``.
    """

    default_prefix = 'kitti'
    #: ``tools/test.py --eval`` names -> ``metric`` (mmcenternet.utils.eval_options)
    eval_names = {'kitti': 'kitti'}
    METRIC_NAMES = ('bbox', 'aos', 'bev', '3d')
    LOG_NAMES = dict(bbox='2D', aos='AOS', bev='BEV', **{'3d': '3D'})

    def __init__(self, metric='kitti', classes: Optional[Sequence[str]] = None,
                 min_overlaps: Optional[Mapping[str, Sequence[float]]] = None,
                 score_thr: float = 0.0, out_dir: Optional[str] = None,
                 label_dir: Optional[str] = None, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        names = [metric] if isinstance(metric, str) else list(metric)
        if names == ['kitti']:
            names = list(self.METRIC_NAMES)
        unknown = [m for m in names if m not in self.METRIC_NAMES]
        if unknown:
            raise ValueError(f'KittiMetric.metric: {unknown} are not among '
                             f'{["kitti", *self.METRIC_NAMES]}')
        self.metrics = names
        self.classes = None if classes is None else list(classes)
        self.min_overlaps = dict(OFFICIAL_MIN_OVERLAPS if min_overlaps is None
                                 else min_overlaps)
        self.score_thr = score_thr
        self.out_dir = out_dir
        self.label_dir = label_dir

    def _label_path(self, sample: Mapping) -> str:
        if sample.get('label_path'):
            return sample['label_path']
        if self.label_dir is None:
            raise ValueError('KittiMetric needs the samples\' label_path (add it to the '
                             'meta_keys of PackCenterNetInputs) or label_dir')
        return osp.join(self.label_dir, f'{self.kitti_id(sample)}.txt')

    @staticmethod
    def kitti_id(sample: Mapping) -> str:
        if sample.get('kitti_id') is not None:
            return str(sample['kitti_id'])
        return osp.splitext(osp.basename(sample['img_path']))[0]

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        classes = self.dataset_meta['classes']
        for sample in data_samples:
            pred = {k: v.detach().cpu().numpy() if hasattr(v, 'detach') else v
                    for k, v in sample['pred_instances'].items()}
            keep = np.asarray(pred['scores']) > self.score_thr
            pred = {k: np.asarray(v)[keep] for k, v in pred.items()}
            self.results.append(dict(kitti_id=self.kitti_id(sample),
                                     label_path=self._label_path(sample),
                                     det=predictions_to_anno(pred, classes)))

    def eval_classes(self) -> List[str]:
        if self.classes is not None:
            return self.classes
        return [c for c in self.dataset_meta['classes'] if c in self.min_overlaps]

    def compute_metrics(self, results: list) -> Dict[str, float]:
        logger = MMLogger.get_current_instance()
        gts = [objects_to_anno(read_kitti_label(r['label_path'])) for r in results]
        dets = [r['det'] for r in results]
        if self.out_dir:
            for r in results:
                write_kitti_results(self.out_dir, r['kitti_id'], r['det'])
            logger.info(f'KITTI result files of {len(results)} images written to '
                        f'{self.out_dir}')
        classes = self.eval_classes()
        evaluated = kitti_eval(gts, dets, classes, self.min_overlaps, self.metrics)
        logger.info(f'KITTI evaluation of {len(results)} images (R11 = 11-point AP of the '
                    'official evaluator, R40 = 40-point):\n'
                    + format_table(evaluated, self.min_overlaps))
        out = {}
        for cls, per_metric in evaluated.items():
            for metric, res in per_metric.items():
                for interp in ('R11', 'R40'):
                    for diff, value in zip(DIFFICULTIES, res[interp]):
                        out[f'{cls}_{self.LOG_NAMES[metric]}_{interp}_{diff}'] = value
        return out
