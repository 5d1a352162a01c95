"""WIDER FACE easy / medium / hard AP and the error of predicted face landmarks."""
from __future__ import annotations

import os
import os.path as osp
from collections import OrderedDict
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmcenternet.registry import METRICS
from mmcenternet.utils.messages import warn_and_log
from ..functional.widerface import (SETTINGS, WiderGroundTruth, evaluate_widerface,
                                    load_wider_ground_truth, wider_overlaps)

__all__ = ['WiderFaceMetric', 'FaceLandmarkMetric', 'image_key']


def image_key(img_path: str) -> Tuple[str, str]:
    """``(event, image name)`` of an image path: its folder's name and its name without
    extension (``.../images/0--Parade/0_Parade_marchingband_1_465.jpg``), as the official
    evaluation names prediction files ``<event>/<name>.txt``."""
    return osp.basename(osp.dirname(img_path)), osp.splitext(osp.basename(img_path))[0]


def _numpy(value) -> np.ndarray:
    return value.detach().cpu().numpy() if hasattr(value, 'detach') else np.asarray(value)


@METRICS.register_module()
class WiderFaceMetric(BaseMetric):
    """WIDER FACE val AP of the easy, medium and hard settings, as the official evaluation
    computes it (:mod:`mmcenternet.evaluation.functional.widerface`), from the official
    ground truth (``wider_face_val.mat``, ``wider_{easy,medium,hard}_val.mat``).

    Each prediction is keyed by its image's folder (the event) and name, so the test images
    must keep WIDER's ``<event>/<name>.jpg`` layout (or, for another set, the ``.mat`` files
    must list its folders and names). Predicted boxes are written ``x1, y1, x2 - x1,
    y2 - y1`` with their scores, as the usual test scripts write the submission files.

    Args:
        gt_dir: Folder with the four ``.mat`` files (``eval_tools/ground_truth``).
        iou_thr: Matching IoU (official 0.5).
        outfile_dir: Also write the official submission files (``<event>/<name>.txt``:
            name, count, ``x y w h score`` rows) there, e.g. for the MATLAB tools.
        format_only: Only write them (needs ``outfile_dir``).
        metric: ``'widerface'`` (the one metric; ``--eval widerface``).
        collect_device / prefix: As mmengine's ``BaseMetric`` (prefix ``widerface``).
    """

    default_prefix: Optional[str] = 'widerface'
    #: ``tools/test.py --eval`` names -> ``metric`` (mmcenternet.utils.eval_options)
    eval_names = {'widerface': 'widerface'}

    def __init__(self, gt_dir: str, iou_thr: float = 0.5, outfile_dir: Optional[str] = None,
                 format_only: bool = False, metric: str = 'widerface',
                 collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        metrics = metric if isinstance(metric, (list, tuple)) else [metric]
        if list(metrics) != ['widerface']:
            raise KeyError(f'WiderFaceMetric.metric must be "widerface", got {metric!r}')
        if format_only and not outfile_dir:
            raise ValueError('WiderFaceMetric: format_only needs outfile_dir')
        self.gt_dir = gt_dir
        self.iou_thr = iou_thr
        self.outfile_dir = outfile_dir
        self.format_only = format_only
        self._gt: Optional[WiderGroundTruth] = None

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Keeps each image's key and its detections as ``x, y, w, h, score``."""
        for sample in data_samples:
            pred = sample['pred_instances']
            boxes = _numpy(pred['bboxes']).astype(np.float64).reshape(-1, 4)
            scores = _numpy(pred['scores']).astype(np.float64).reshape(-1, 1)
            xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
            self.results.append((image_key(sample['img_path']),
                                 np.concatenate([xywh, scores], axis=1)))

    def ground_truth(self) -> WiderGroundTruth:
        if self._gt is None:
            self._gt = load_wider_ground_truth(self.gt_dir)
        return self._gt

    def write_submission(self, preds: Dict[Tuple[str, str], np.ndarray]) -> None:
        """The official submission layout: ``<outfile_dir>/<event>/<name>.txt``."""
        for (event, name), dets in preds.items():
            folder = osp.join(self.outfile_dir, event)
            os.makedirs(folder, exist_ok=True)
            order = np.argsort(-dets[:, 4], kind='stable')
            lines = [name, str(len(dets))] + [' '.join(repr(float(v)) for v in row)
                                               for row in dets[order]]
            with open(osp.join(folder, f'{name}.txt'), 'w') as f:
                f.write('\n'.join(lines) + '\n')
        MMLogger.get_current_instance().info(
            f'WIDER FACE submission files of {len(preds)} images written to '
            f'{osp.abspath(self.outfile_dir)}')

    def compute_metrics(self, results: list) -> Dict[str, float]:
        logger = MMLogger.get_current_instance()
        preds = {}
        for key, dets in results:
            if key in preds:
                raise ValueError(f'WiderFaceMetric: two test images are named {key[0]}/'
                                 f'{key[1]}; the WIDER FACE evaluation keys images by folder '
                                 'and name')
            preds[key] = dets
        if self.outfile_dir:
            self.write_submission(preds)
        if self.format_only:
            return OrderedDict()
        gt = self.ground_truth()
        known = set(gt.image_keys())
        unknown = [k for k in preds if k not in known]
        if preds and len(unknown) == len(preds):
            raise ValueError(
                f'WiderFaceMetric: none of the {len(preds)} test images (e.g. '
                f'{unknown[0][0]}/{unknown[0][1]}) is in the ground truth of {self.gt_dir} '
                f'(e.g. {gt.events[0]}/{gt.files[0][0] if gt.files[0] else "?"}); check '
                'gt_dir and that the images keep the <event>/<name> layout')
        if unknown:
            warn_and_log(f'WiderFaceMetric: {len(unknown)} of {len(preds)} test images are '
                         f'not in the ground truth of {self.gt_dir} and are not evaluated '
                         f'(e.g. {unknown[0][0]}/{unknown[0][1]})')
        missing = len(known) - (len(preds) - len(unknown))
        if missing:
            logger.info(f'WiderFaceMetric: {missing} ground-truth images have no prediction '
                        '(evaluated as without detections)')
        aps = evaluate_widerface(preds, gt, self.iou_thr)
        logger.info('WIDER FACE val AP (official protocol): ' + ', '.join(
            f'{s} {aps[s]:.4f}' for s in SETTINGS))
        return OrderedDict((s, round(aps[s], 4)) for s in SETTINGS)


@METRICS.register_module()
class FaceLandmarkMetric(BaseMetric):
    """Error of predicted face landmarks (or any keypoints) against the dataset's labels.

    Each labelled face (a gt box with at least one landmark of ``keypoints_visible > 0``) is
    matched to the highest-scoring prediction whose box overlaps it with IoU >= ``iou_thr``;
    its error is the mean distance of the labelled landmarks to the predicted ones divided
    by ``sqrt(w * h)`` of the gt box (the box-normalised NME used for WIDER FACE landmarks).
    Reports ``nme`` (mean over matched faces) and ``matched`` (the fraction of labelled faces
    with a match).

    The ground truth is the bound dataset's (``bind_dataset``, called by
    ``CenterNetRunner`` for the val / test loops), in original-image pixels.

    Args:
        iou_thr: Matching IoU.
        metric: ``'landmarks'`` (``--eval landmarks``).
        collect_device / prefix: As mmengine's ``BaseMetric`` (prefix ``landmarks``).
    """

    default_prefix: Optional[str] = 'landmarks'
    #: ``tools/test.py --eval`` names -> ``metric`` (mmcenternet.utils.eval_options)
    eval_names = {'landmarks': 'landmarks'}

    def __init__(self, iou_thr: float = 0.5, metric: str = 'landmarks',
                 collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        metrics = metric if isinstance(metric, (list, tuple)) else [metric]
        if list(metrics) != ['landmarks']:
            raise KeyError(f'FaceLandmarkMetric.metric must be "landmarks", got {metric!r}')
        self.iou_thr = iou_thr
        self._gt: Optional[Dict[Any, Tuple[np.ndarray, np.ndarray, np.ndarray]]] = None

    def bind_dataset(self, dataset: Any) -> None:
        """Takes each image's gt boxes and landmarks from the val / test dataset."""
        gt = {}
        for index in range(len(dataset)):
            info = dataset.get_data_info(index)
            insts = [i for i in info['instances'] if 'keypoints' in i]
            boxes = np.array([i['bbox'] for i in insts], np.float64).reshape(-1, 4)
            count = len(insts[0]['keypoints']) if insts else 0
            points = np.array([i['keypoints'] for i in insts], np.float64).reshape(
                len(insts), count, 2)
            visible = np.array([i['keypoints_visible'] for i in insts],
                               np.float64).reshape(len(insts), count)
            gt[info['img_id']] = (boxes, points, visible)
        self._gt = gt

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = sample['pred_instances']
            self.results.append(dict(
                img_id=sample['img_id'], bboxes=_numpy(pred['bboxes']).astype(np.float64),
                scores=_numpy(pred['scores']).astype(np.float64),
                keypoints=_numpy(pred['keypoints']).astype(np.float64)))

    def image_errors(self, res: dict) -> Tuple[np.ndarray, int]:
        """The NMEs of one image's matched labelled faces, and its labelled face count."""
        boxes, points, visible = self._gt[res['img_id']]
        labelled = visible.sum(1) > 0
        boxes, points, visible = boxes[labelled], points[labelled], visible[labelled] > 0
        if not len(boxes) or not len(res['bboxes']):
            return np.zeros(0), len(boxes)
        # wider_overlaps adds a pixel to the widths: with x2 - 1 it is the plain IoU
        iou = wider_overlaps(res['bboxes'] - [0, 0, 1, 1], boxes - [0, 0, 1, 1])  # (P, G)
        ranked = np.where(iou >= self.iou_thr, res['scores'][:, None], -np.inf)
        best = ranked.argmax(0)
        matched = np.isfinite(ranked[best, np.arange(len(boxes))])
        dist = np.linalg.norm(res['keypoints'][best] - points, axis=-1)  # (G, K)
        scale = np.sqrt(np.prod(boxes[:, 2:] - boxes[:, :2], axis=1))
        nme = (dist * visible).sum(1) / visible.sum(1) / scale
        return nme[matched], len(boxes)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        if self._gt is None:
            raise RuntimeError('FaceLandmarkMetric needs the ground truth of its dataset: run '
                               'it through tools/train.py / tools/test.py (CenterNetRunner '
                               'binds it) or call bind_dataset(dataset) first')
        errors, faces = [], 0
        for res in results:
            nme, count = self.image_errors(res)
            errors.append(nme)
            faces += count
        errors = np.concatenate(errors) if errors else np.zeros(0)
        nme = float(errors.mean()) if len(errors) else float('nan')
        matched = len(errors) / faces if faces else 0.0
        MMLogger.get_current_instance().info(
            f'Face landmarks: NME {nme:.4f} (mean distance / sqrt(gt box area)) over '
            f'{len(errors)} of {faces} labelled faces matched at IoU {self.iou_thr}')
        return OrderedDict(nme=round(nme, 4), matched=round(matched, 4))
