"""Soft-NMS with the exact semantics of the official CenterNet multi-scale merge.

The official ``merge_outputs`` (``detectors/ctdet.py``, ``detectors/multi_pose.py``) calls the
Cython ``soft_nms`` / ``soft_nms_39`` of ``external/nms.pyx`` on each class's stacked
detections *in place* and ignores its return value. mmcv's ``soft_nms`` implements the
textbook algorithm; these differ from it in three ways that change the published numbers:

1. IoU uses the "+1" pixel convention: ``area = (x2 - x1 + 1) * (y2 - y1 + 1)``;
2. a box whose score falls below ``min_score`` is removed by copying the last active row
   over it and shrinking the active range, but the array keeps all its rows, so the rows
   past the active range are *stale* copies that the official code still returns (with the
   scores they had when they were moved). ``soft_nms_39`` (the multi-pose merge, which
   carries 34 keypoint values after the box and score) copies the box and score the same
   way but *swaps* the keypoint columns, so a stale row there holds the moved box with the
   removed box's keypoints;
3. (in the caller) every detection whose score is >= the ``max_per_img``-th largest is kept,
   so ties can give more than ``max_per_img`` boxes.

:func:`official_soft_nms` reproduces 1 and 2 in float32 like the Cython code, returning for
each output row which input box it holds and its score; :func:`official_topk_threshold`
reproduces 3. The outer loop is sequential by nature (each step depends on the previous
suppression); the decay of all boxes against the current maximum is one vectorised step, and
only rows that drop below ``min_score`` are handled one by one.
"""
from typing import Optional, Tuple

import numpy as np

SOFT_NMS_METHODS = ('linear', 'gaussian', 'naive')


def _decay(method: str, iou: np.ndarray, sigma: float, iou_threshold: float) -> np.ndarray:
    """Weight of each box given its IoU with the current maximum (float32, as the Cython)."""
    if method == 'gaussian':
        # exp(-(ov * ov) / sigma) evaluated in double from float32 operands, stored as float
        arg = (-(iou * iou) / np.float32(sigma)).astype(np.float32)
        return np.exp(arg.astype(np.float64)).astype(np.float32)
    if method == 'linear':
        return np.where(iou > np.float32(iou_threshold),
                        1.0 - iou.astype(np.float64), 1.0).astype(np.float32)
    return np.where(iou > np.float32(iou_threshold), np.float32(0),
                    np.float32(1)).astype(np.float32)


def _plus_one(length: np.ndarray) -> np.ndarray:
    """``float32 length + 1`` as the compiled Cython evaluates it (the literal makes it a
    double addition)."""
    return length.astype(np.float64) + 1.0


def _plus_one_iou(box: np.ndarray, boxes: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """IoU of ``box`` with ``boxes`` with the +1 convention, and which pairs overlap.

    Rounded step by step as the compiled Cython code (float32 variables, double
    intermediates where its C expression has them), so the scores agree to the last bit.
    The Cython code only touches a box whose ``+1`` intersection width and height are both
    positive; the others keep their score (``overlaps`` is False for them).
    """
    f32 = np.float32
    area = (_plus_one(boxes[:, 2] - boxes[:, 0]) *
            _plus_one(boxes[:, 3] - boxes[:, 1])).astype(f32)
    iw = _plus_one(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0])).astype(f32)
    ih = _plus_one(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1])).astype(f32)
    overlaps = (iw > 0) & (ih > 0)
    inter = (iw * ih).astype(f32)
    own = _plus_one(np.asarray(box[2] - box[0])) * _plus_one(np.asarray(box[3] - box[1]))
    union = ((own + area.astype(np.float64)) - inter.astype(np.float64)).astype(f32)
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = (inter / union).astype(f32)
    return iou, overlaps


def official_soft_nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.5,
                      sigma: float = 0.5, min_score: float = 0.001,
                      method: str = 'gaussian') -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The official in-place soft-NMS, as seen by a caller that ignores its return value.

    Args:
        boxes: ``(N, 4)`` xyxy boxes of one class.
        scores: ``(N,)`` their scores.
        iou_threshold: ``Nt`` (used by ``'linear'`` and ``'naive'``; the official merge
            passes 0.5 with the gaussian method, where it has no effect).
        sigma: Gaussian ``sigma`` (weight ``exp(-iou^2 / sigma)``, official 0.5).
        min_score: Scores below it are removed from the active range (official 0.001).
        method: ``'gaussian'`` (official ``method=2``), ``'linear'`` (1) or ``'naive'`` (0).

    Returns:
        ``(rows, extra_rows, new_scores)``: for each of the ``N`` output rows, the index of
        the input box whose box and score it holds, the index of the input box whose other
        values it holds (``soft_nms_39``'s keypoint columns; equal to ``rows`` until a box is
        removed), and its final score (float32). Every row is returned, stale ones included.
    """
    if method not in SOFT_NMS_METHODS:
        raise ValueError(f'soft-NMS method must be one of {SOFT_NMS_METHODS}, got {method!r}')
    box = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    score = np.asarray(scores, dtype=np.float32).reshape(-1).copy()
    num = len(score)
    rows = np.arange(num)
    extra = np.arange(num)
    thr = np.float32(min_score)
    active = num
    for i in range(num):  # the Cython loop bound is the initial N
        if i >= active:
            continue  # a stale row: compared with nothing, left as it is
        top = i + int(np.argmax(score[i:active]))  # first maximum, as the strict '<'
        rows[[i, top]] = rows[[top, i]]
        extra[[i, top]] = extra[[top, i]]
        score[[i, top]] = score[[top, i]]
        if i + 1 >= active:
            continue
        rest = slice(i + 1, active)
        iou, overlaps = _plus_one_iou(box[rows[i]], box[rows[rest]])
        weight = np.where(overlaps, _decay(method, iou, sigma, iou_threshold), np.float32(1))
        decayed = np.where(overlaps, (weight * score[rest]).astype(np.float32), score[rest])
        if not (overlaps & (decayed < thr)).any():
            score[rest] = decayed
            continue
        # Some rows fall below min_score: replay the swap-with-last loop row by row. Each
        # box is decayed once, by the weight of its own overlap with row i.
        # (weights are looked up by the box a row holds: ``rows``, not ``extra``)
        weight_of = dict(zip(rows[rest].tolist(), weight.tolist()))
        touched_of = dict(zip(rows[rest].tolist(), overlaps.tolist()))
        pos = i + 1
        while pos < active:
            box_id = int(rows[pos])
            if touched_of[box_id]:
                score[pos] = np.float32(np.float32(weight_of[box_id]) * score[pos])
                if score[pos] < thr:
                    rows[pos], score[pos] = rows[active - 1], score[active - 1]
                    extra[[pos, active - 1]] = extra[[active - 1, pos]]
                    active -= 1
                    continue  # the moved row is processed at the same position
            pos += 1
    return rows, extra, score


def official_topk_threshold(scores: np.ndarray, max_per_img: Optional[int]) -> float:
    """The official cut: the ``max_per_img``-th largest score (keep ``scores >= it``).

    Returns ``-inf`` when there are at most ``max_per_img`` scores or no limit.
    """
    if max_per_img is None or len(scores) <= max_per_img:
        return float('-inf')
    kth = len(scores) - max_per_img
    return float(np.partition(np.asarray(scores, dtype=np.float32), kth)[kth])
