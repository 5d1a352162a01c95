"""KITTI object evaluation (2D AP, AOS, BEV AP, 3D AP; Easy / Moderate / Hard; R11 and R40)
on CPU, with the rules of the official evaluator that CenterNet ships
(``src/tools/kitti_eval/evaluate_object_3d_offline.cpp``, the KITTI devkit's).

The C++ evaluator needs Boost and MMDetection3D's Python port needs ``numba.cuda`` for the
rotated overlaps, which fails on CPU-only machines. Here the rotated bird's-eye-view overlap
comes from ``mmcv.ops.box_iou_rotated`` (CPU and CUDA), the 3D overlap is that area times
the height overlap, and the per-image greedy matching of the evaluator runs vectorised over
images and score thresholds in numpy.

The rules, as the C++ code:

- difficulty: ground truth is *ignored* (neither TP nor FN) when occluded more than
  0 / 1 / 2, truncated more than 0.15 / 0.3 / 0.5 or lower than 40 / 25 / 25 px (Easy /
  Moderate / Hard); detections lower than the same height are ignored;
- neighbour classes (Van for Car, Person_sitting for Pedestrian) are ignored ground truth;
  other classes are not considered;
- matching, per image and ground truth in file order: the unassigned detection with the
  largest overlap above the class threshold (an ignored one only if nothing else fits);
  unassigned detections overlapping a DontCare area by more than the threshold (as a
  fraction of the detection) are not false positives;
- 41 score thresholds from the true positives' scores at (about) equally spaced recalls;
  precision (and orientation similarity ``(1 + cos(d alpha)) / 2``) made monotone; R11 = the
  mean over recall 0, 0.1, ..., 1 (every 4th of the 41), R40 = over the 40 points after 0.

Differences to the C++ code, none of which changes a value for valid inputs: classes are
evaluated even when nothing was detected (AP 0, the C++ code skips them), and a precision of
0 / 0 (no TP or FP at a threshold) counts as 0 instead of NaN.
"""
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

#: Official CenterNet evaluator: IoU per class for 2D, BEV, 3D (``MIN_OVERLAP``).
OFFICIAL_MIN_OVERLAPS = {'Car': (0.7, 0.5, 0.5), 'Pedestrian': (0.5, 0.25, 0.25),
                         'Cyclist': (0.5, 0.25, 0.25)}
#: The KITTI benchmark's stricter thresholds (Car 0.7 everywhere).
KITTI_MIN_OVERLAPS = {'Car': (0.7, 0.7, 0.7), 'Pedestrian': (0.5, 0.5, 0.5),
                      'Cyclist': (0.5, 0.5, 0.5)}
NEIGHBOURS = {'car': 'van', 'pedestrian': 'person_sitting'}
DIFFICULTIES = ('Easy', 'Moderate', 'Hard')
MIN_HEIGHT = (40, 25, 25)
MAX_OCCLUSION = (0, 1, 2)
MAX_TRUNCATION = (0.15, 0.3, 0.5)
METRICS = ('bbox', 'bev', '3d')
N_SAMPLE_PTS = 41


# ----------------------------------------------------------------------------- overlaps
def image_overlaps(det: np.ndarray, gt: np.ndarray, criterion: int = -1) -> np.ndarray:
    """2D overlaps ``(D, G)``: IoU (``criterion=-1``) or intersection / det area (0)."""
    if len(det) == 0 or len(gt) == 0:
        return np.zeros((len(det), len(gt)))
    w = np.minimum(det[:, None, 2], gt[None, :, 2]) - np.maximum(det[:, None, 0], gt[None, :, 0])
    h = np.minimum(det[:, None, 3], gt[None, :, 3]) - np.maximum(det[:, None, 1], gt[None, :, 1])
    inter = np.where((w > 0) & (h > 0), w * h, 0.)
    area_d = (det[:, 2] - det[:, 0]) * (det[:, 3] - det[:, 1])
    area_g = (gt[:, 2] - gt[:, 0]) * (gt[:, 3] - gt[:, 1])
    denom = area_d[:, None] if criterion == 0 else area_d[:, None] + area_g[None, :] - inter
    return _safe_ratio(inter, denom)


def _safe_ratio(num: np.ndarray, denom: np.ndarray) -> np.ndarray:
    """``num / denom``, 0 where the denominator is not positive (degenerate boxes, which
    the C++ code turns into NaN or inf and never matches)."""
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where(denom > 0, num / np.where(denom > 0, denom, 1.), 0.)


def bev_intersections(det: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Intersection areas ``(D, G)`` of bird's-eye-view boxes ``(x, z, l, w, rot_y)``.

    KITTI's ``rot_y`` turns the box clockwise in the ``x``-``z`` plane (the C++
    ``toPolygon``: ``(l/2, w/2) -> (cos l/2 + sin w/2, -sin l/2 + cos w/2)``), which is
    ``mmcv.ops.box_iou_rotated``'s counter-clockwise convention. Coordinates are centred on
    the pair's mean before the float32 op.
    """
    from mmcv.ops import box_iou_rotated
    if len(det) == 0 or len(gt) == 0:
        return np.zeros((len(det), len(gt)))
    origin = np.concatenate([det[:, :2], gt[:, :2]]).mean(0)
    boxes = []
    for b in (det, gt):
        b = b.astype(np.float64).copy()
        b[:, :2] -= origin
        boxes.append(torch.from_numpy(b).float())
    iof = box_iou_rotated(boxes[0], boxes[1], mode='iof', clockwise=False).double().numpy()
    return iof * (det[:, 2] * det[:, 3])[:, None]


def box3d_overlaps(det: np.ndarray, gt: np.ndarray, metric: str,
                   criterion: int = -1) -> np.ndarray:
    """BEV or 3D overlaps ``(D, G)`` of KITTI boxes ``(x, y, z, l, h, w, rot_y)`` (camera
    coordinates, ``y`` the bottom, the box spanning ``[y - h, y]``)."""
    if len(det) == 0 or len(gt) == 0:
        return np.zeros((len(det), len(gt)))
    inter = bev_intersections(det[:, [0, 2, 3, 5, 6]], gt[:, [0, 2, 3, 5, 6]])
    if metric == 'bev':
        size_d, size_g = det[:, 3] * det[:, 5], gt[:, 3] * gt[:, 5]
    else:
        top = np.maximum(det[:, None, 1] - det[:, None, 4], gt[None, :, 1] - gt[None, :, 4])
        bottom = np.minimum(det[:, None, 1], gt[None, :, 1])
        inter = inter * np.maximum(bottom - top, 0.)
        size_d = det[:, 3] * det[:, 4] * det[:, 5]
        size_g = gt[:, 3] * gt[:, 4] * gt[:, 5]
    if criterion == 0:
        return _safe_ratio(inter, np.broadcast_to(size_d[:, None], inter.shape))
    return _safe_ratio(inter, size_d[:, None] + size_g[None, :] - inter)


def _boxes3d(anno: Mapping[str, np.ndarray]) -> np.ndarray:
    """``(N, 7)`` ``(x, y, z, l, h, w, rot_y)`` of an annotation dict."""
    dims = np.asarray(anno['dims_hwl'], np.float64).reshape(-1, 3)
    return np.concatenate([np.asarray(anno['location'], np.float64).reshape(-1, 3),
                           dims[:, [2, 0, 1]],
                           np.asarray(anno['rotation_y'], np.float64).reshape(-1, 1)], 1)


def overlaps(det: Mapping, gt: Mapping, metric: str, criterion: int = -1) -> np.ndarray:
    """Overlaps ``(D, G)`` of two annotation dicts for ``metric`` in ``METRICS``.

    Boxes without a positive 3D size (DontCare placeholders) overlap nothing in BEV / 3D.
    """
    if metric == 'bbox':
        return image_overlaps(np.asarray(det['bbox'], np.float64).reshape(-1, 4),
                              np.asarray(gt['bbox'], np.float64).reshape(-1, 4), criterion)
    det_boxes, gt_boxes = _boxes3d(det), _boxes3d(gt)
    valid = (gt_boxes[:, 3:6] > 0).all(1)
    out = np.zeros((len(det_boxes), len(gt_boxes)))
    if valid.any():
        out[:, valid] = box3d_overlaps(det_boxes, gt_boxes[valid], metric, criterion)
    return out


# ----------------------------------------------------------------------------- per image
def clean_data(gt: Mapping, det: Mapping, cls: str,
               difficulty: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``ignored_gt`` / ``ignored_det`` (0 evaluated, 1 ignored, -1 other class) and the
    DontCare mask of the ground truth (C++ ``cleanData``)."""
    cls_l = cls.lower()
    gt_names = np.char.lower(np.asarray(gt['name'], dtype=str))
    det_names = np.char.lower(np.asarray(det['name'], dtype=str))
    bbox = np.asarray(gt['bbox'], np.float64).reshape(-1, 4)
    height = bbox[:, 3] - bbox[:, 1]
    valid = gt_names == cls_l
    neighbour = gt_names == NEIGHBOURS.get(cls_l, '\0')
    hard = ((np.asarray(gt['occluded']) > MAX_OCCLUSION[difficulty])
            | (np.asarray(gt['truncated']) > MAX_TRUNCATION[difficulty])
            | (height < MIN_HEIGHT[difficulty]))
    ignored_gt = np.where(valid & ~hard, 0, np.where(neighbour | (valid & hard), 1, -1))
    dbox = np.asarray(det['bbox'], np.float64).reshape(-1, 4)
    det_height = np.trunc(np.abs(dbox[:, 1] - dbox[:, 3]))  # C++: int32_t height
    ignored_det = np.where(det_height < MIN_HEIGHT[difficulty], 1,
                           np.where(det_names == cls_l, 0, -1))
    return ignored_gt, ignored_det, gt_names == 'dontcare'


class _ClassData:
    """The padded per-image arrays of one class / difficulty / metric."""

    def __init__(self, gts: Sequence[Mapping], dets: Sequence[Mapping], cls: str,
                 difficulty: int, metric: str, min_overlap: float,
                 cache: Dict[Tuple[int, str], Tuple[np.ndarray, np.ndarray]]) -> None:
        self.n_gt = 0
        per_image = []
        for i, (gt, det) in enumerate(zip(gts, dets)):
            ig_gt, ig_det, dc = clean_data(gt, det, cls, difficulty)
            self.n_gt += int((ig_gt == 0).sum())
            if (i, metric) not in cache:
                cache[(i, metric)] = (overlaps(det, gt, metric),
                                      overlaps(det, gt, metric, criterion=0))
            ov, ov_dc = cache[(i, metric)]
            g_idx = np.nonzero(ig_gt != -1)[0]
            d_idx = np.nonzero(ig_det != -1)[0]
            score = np.asarray(det['score'], np.float64)[d_idx]
            dc_hit = (ov_dc[np.ix_(d_idx, np.nonzero(dc)[0])] > min_overlap).any(1)
            per_image.append(dict(
                ov=ov[np.ix_(d_idx, g_idx)], ig_gt=ig_gt[g_idx], ig_det=ig_det[d_idx],
                score=score, dc_hit=dc_hit,
                alpha_gt=np.asarray(gt['alpha'], np.float64)[g_idx],
                alpha_det=np.asarray(det['alpha'], np.float64)[d_idx]))
        self.images = per_image
        self.min_overlap = min_overlap
        n = len(per_image)
        self.G = max([len(p['ig_gt']) for p in per_image] + [1])
        self.D = max([len(p['ig_det']) for p in per_image] + [1])
        self.ov = np.zeros((n, self.G, self.D))
        self.ig_gt = np.full((n, self.G), -1)
        self.ig_det = np.full((n, self.D), -1)
        self.score = np.full((n, self.D), -np.inf)
        self.dc_hit = np.zeros((n, self.D), bool)
        self.alpha_gt = np.zeros((n, self.G))
        self.alpha_det = np.zeros((n, self.D))
        for i, p in enumerate(per_image):
            g, d = len(p['ig_gt']), len(p['ig_det'])
            self.ov[i, :g, :d] = p['ov'].T
            self.ig_gt[i, :g] = p['ig_gt']
            self.ig_det[i, :d] = p['ig_det']
            self.score[i, :d] = p['score']
            self.dc_hit[i, :d] = p['dc_hit']
            self.alpha_gt[i, :g] = p['alpha_gt']
            self.alpha_det[i, :d] = p['alpha_det']

    def tp_scores(self) -> np.ndarray:
        """Scores of the true positives when every detection counts (C++
        ``computeStatistics`` with ``compute_fp=false``): the highest-scoring unassigned
        detection above the threshold per ground truth."""
        n = len(self.images)
        assigned = np.zeros((n, self.D), bool)
        scores = []
        rows = np.arange(n)
        for g in range(self.G):
            cand = (self.ov[:, g] > self.min_overlap) & ~assigned & (self.ig_det != -1)
            masked = np.where(cand, self.score, -np.inf)
            pick = masked.argmax(1)
            found = cand.any(1)
            ig_gt = self.ig_gt[:, g]
            relevant = ig_gt != -1
            hit = found & relevant
            tp = hit & (ig_gt == 0) & (self.ig_det[rows, pick] == 0)
            scores.append(self.score[rows[tp], pick[tp]])
            assigned[rows[hit], pick[hit]] = True
        return np.concatenate(scores) if scores else np.zeros(0)

    def statistics(self, thresholds: np.ndarray) -> np.ndarray:
        """``(T, 4)`` summed TP, FP, FN, orientation similarity per score threshold
        (C++ ``computeStatistics`` with ``compute_fp=true``)."""
        n, t = len(self.images), len(thresholds)
        if t == 0:
            return np.zeros((0, 4))
        rows = np.arange(n)[:, None]
        cols = np.arange(t)[None, :]
        live = self.score[:, None, :] >= thresholds[None, :, None]  # (N, T, D)
        assigned = np.zeros((n, t, self.D), bool)
        tp = np.zeros((n, t), np.int64)
        fn = np.zeros((n, t), np.int64)
        sim = np.zeros((n, t))
        for g in range(self.G):
            over = self.ov[:, g] > self.min_overlap  # (N, D)
            avail = over[:, None, :] & ~assigned & live & (self.ig_det != -1)[:, None, :]
            valid = avail & (self.ig_det == 0)[:, None, :]
            ignored = avail & (self.ig_det == 1)[:, None, :]
            ov_valid = np.where(valid, self.ov[:, g][:, None, :], -np.inf)
            pick_valid = ov_valid.argmax(2)
            pick_ignored = ignored.argmax(2)
            has_valid = valid.any(2)
            pick = np.where(has_valid, pick_valid, pick_ignored)
            found = has_valid | ignored.any(2)
            ig_gt = self.ig_gt[:, g][:, None]
            fn += (~found & (ig_gt == 0))
            hit = found & (ig_gt != -1)
            is_tp = hit & (ig_gt == 0) & has_valid
            tp += is_tp
            delta = self.alpha_gt[:, g][:, None] - self.alpha_det[rows, pick]
            sim += np.where(is_tp, (1 + np.cos(delta)) / 2, 0.)
            ni, ti = np.nonzero(hit)
            assigned[ni, ti, pick[ni, ti]] = True
        valid_live = live & (self.ig_det == 0)[:, None, :] & ~assigned
        fp = valid_live.sum(2) - (valid_live & self.dc_hit[:, None, :]).sum(2)
        return np.stack([tp.sum(0), fp.sum(0), fn.sum(0), sim.sum(0)], 1)


def get_thresholds(scores: np.ndarray, n_gt: int) -> np.ndarray:
    """Scores at (about) ``N_SAMPLE_PTS`` equally spaced recalls (C++ ``getThresholds``)."""
    scores = np.sort(scores)[::-1]
    out, current = [], 0.0
    for i, score in enumerate(scores):
        left = (i + 1) / n_gt
        right = (i + 2) / n_gt if i < len(scores) - 1 else left
        if (right - current) < (current - left) and i < len(scores) - 1:
            continue
        out.append(score)
        current += 1.0 / (N_SAMPLE_PTS - 1.0)
    return np.array(out)


def precision_curves(gts: Sequence[Mapping], dets: Sequence[Mapping], cls: str,
                     difficulty: int, metric: str, min_overlap: float,
                     cache: Optional[dict] = None) -> Tuple[np.ndarray, np.ndarray]:
    """The 41-point precision and orientation-similarity curves of one class, difficulty
    and metric (C++ ``eval_class``)."""
    data = _ClassData(gts, dets, cls, difficulty, metric, min_overlap,
                      {} if cache is None else cache)
    thresholds = get_thresholds(data.tp_scores(), data.n_gt)
    stats = data.statistics(thresholds)
    precision = np.zeros(N_SAMPLE_PTS)
    aos = np.zeros(N_SAMPLE_PTS)
    if len(stats):
        denom = stats[:, 0] + stats[:, 1]
        with np.errstate(invalid='ignore', divide='ignore'):
            precision[:len(stats)] = np.where(denom > 0, stats[:, 0] / denom, 0.)
            aos[:len(stats)] = np.where(denom > 0, stats[:, 3] / denom, 0.)
        precision = np.maximum.accumulate(precision[::-1])[::-1]
        aos = np.maximum.accumulate(aos[::-1])[::-1]
    return precision, aos


def ap_r11(curve: np.ndarray) -> float:
    """Mean of the curve at recall 0, 0.1, ..., 1, in percent (the C++ printout)."""
    return float(curve[0::4].sum() / 11 * 100)


def ap_r40(curve: np.ndarray) -> float:
    """Mean of the curve at the 40 recalls 1/40 ... 1, in percent."""
    return float(curve[1:].sum() / 40 * 100)


def kitti_eval(gts: Sequence[Mapping], dets: Sequence[Mapping],
               classes: Sequence[str] = ('Car', 'Pedestrian', 'Cyclist'),
               min_overlaps: Optional[Mapping[str, Sequence[float]]] = None,
               metrics: Sequence[str] = ('bbox', 'aos', 'bev', '3d')) -> Dict[str, dict]:
    """Evaluates detections against KITTI ground truth, image by image.

    Args:
        gts / dets: One dict per image with arrays ``name``, ``truncated``, ``occluded``,
            ``alpha``, ``bbox (N, 4)``, ``dims_hwl (N, 3)``, ``location (N, 3)``,
            ``rotation_y`` (and ``score`` for detections), as
            :func:`~mmcenternet.datasets.kitti_mono3d.read_kitti_label` gives them.
        classes: Classes to evaluate (names as in the labels).
        min_overlaps: ``{class: (2D, BEV, 3D)}`` IoU thresholds; the official evaluator's
            (:data:`OFFICIAL_MIN_OVERLAPS`) by default.
        metrics: Among ``bbox`` (2D AP), ``aos``, ``bev``, ``3d``.

    Returns:
        ``{class: {metric: {'precision': (3, 41), 'R11': [E, M, H], 'R40': [E, M, H]}}}``
        in percent.
    """
    if len(gts) != len(dets):
        raise ValueError(f'kitti_eval: {len(gts)} ground-truth images but {len(dets)} '
                         'detection images')
    thresholds = dict(OFFICIAL_MIN_OVERLAPS if min_overlaps is None else min_overlaps)
    unknown = [c for c in classes if c not in thresholds]
    if unknown:
        raise ValueError(f'kitti_eval: no IoU thresholds for classes {unknown}; pass '
                         'min_overlaps={class: (2D, BEV, 3D)}')
    results: Dict[str, dict] = {}
    cache: dict = {}
    for cls in classes:
        results[cls] = {}
        for metric in metrics:
            base = 'bbox' if metric == 'aos' else metric
            min_ov = thresholds[cls][METRICS.index(base)]
            curves = [precision_curves(gts, dets, cls, d, base, min_ov, cache)
                      for d in range(3)]
            curve = np.stack([c[1] if metric == 'aos' else c[0] for c in curves])
            results[cls][metric] = dict(precision=curve,
                                        R11=[ap_r11(c) for c in curve],
                                        R40=[ap_r40(c) for c in curve])
    return results


def format_table(results: Mapping[str, dict],
                 min_overlaps: Optional[Mapping[str, Sequence[float]]] = None) -> str:
    """The results as a text table (one row per class and metric)."""
    thresholds = dict(OFFICIAL_MIN_OVERLAPS if min_overlaps is None else min_overlaps)
    names = dict(bbox='2D AP', aos='AOS', bev='BEV AP', **{'3d': '3D AP'})
    lines = [f'{"class":<11}{"metric":<8}{"IoU":>5} | {"R11 Easy":>9}{"Mod.":>7}{"Hard":>7}'
             f' | {"R40 Easy":>9}{"Mod.":>7}{"Hard":>7}']
    lines.append('-' * len(lines[0]))
    for cls, per_metric in results.items():
        for metric, res in per_metric.items():
            base = 'bbox' if metric == 'aos' else metric
            iou = thresholds.get(cls, (0, 0, 0))[METRICS.index(base)]
            r11 = ''.join(f'{v:>7.2f}' for v in res['R11'])
            r40 = ''.join(f'{v:>7.2f}' for v in res['R40'])
            lines.append(f'{cls:<11}{names[metric]:<8}{iou:>5.2f} |  {r11} |  {r40}')
    return '\n'.join(lines)
