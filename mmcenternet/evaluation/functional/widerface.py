"""The WIDER FACE evaluation protocol (easy / medium / hard AP), as the official tools.

The official evaluation (``eval_tools`` of the WIDER FACE site, MATLAB: ``wider_eval.m``,
``read_pred.m``, ``norm_score.m``, ``evaluation.m``) and its widely used Python port
(wondervictor/WiderFace-Evaluation) compute, for each setting:

1. every image's detections sorted by score, descending (``read_pred.m``; the Python port
   reads the files in their order, which test scripts write sorted);
2. the scores min-max normalised over all detections of all images (``norm_score``, with
   the running min / max starting at 1 / 0);
3. per image with ground truth and detections, each detection in order takes the gt box of
   highest IoU (``+1`` pixel widths, boxes ``x, y, w, h`` -> ``x2 = x + w``); at IoU >=
   0.5 it recalls that face if the face belongs to the setting (its 1-based index is in the
   setting's ``gt_list``), else the detection is dropped from the proposals and the face is
   marked ignored; faces of the setting count in the denominator of every image, detected
   or not;
4. 1000 score thresholds ``1 - t / 1000``: proposals and recalled faces up to the last
   detection scoring at least the threshold, summed over images; precision and recall;
5. VOC AP (precision envelope, area over recall steps).

This module computes the same with numpy, per image without a loop over detections. (A
threshold above every counted detection gives a ``0 / 0`` precision at recall 0; MATLAB's
``max`` skips that NaN and numpy's propagates it, but only towards earlier thresholds, whose
recall step is 0, so both give the same AP; the envelope here skips it as MATLAB does.)
"""
from __future__ import annotations

import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np

from mmcenternet.errors import DatasetError

__all__ = ['SETTINGS', 'GT_FILES', 'WiderGroundTruth',
           'load_wider_ground_truth', 'write_wider_ground_truth', 'normalise_scores',
           'wider_overlaps', 'image_pr_counts', 'voc_ap', 'evaluate_widerface']

SETTINGS = ('easy', 'medium', 'hard')
#: The official ground-truth files (``eval_tools/ground_truth/``).
GT_FILES = dict(all='wider_face_val.mat', easy='wider_easy_val.mat',
                medium='wider_medium_val.mat', hard='wider_hard_val.mat')


@dataclass
class WiderGroundTruth:
    """The val ground truth of the official ``.mat`` files.

    Attributes:
        events: Event folder names (``event_list``), e.g. ``'0--Parade'``.
        files: Per event, the image names without extension (``file_list``).
        boxes: Per event and image, ``(n, 4)`` float64 ``x, y, w, h`` (``face_bbx_list``).
        keep: Per setting, per event and image, the 0-based indices of the faces that
            count (``gt_list`` of ``wider_<setting>_val.mat``, 1-based there).
    """

    events: List[str]
    files: List[List[str]]
    boxes: List[List[np.ndarray]]
    keep: Dict[str, List[List[np.ndarray]]] = field(default_factory=dict)

    def image_keys(self) -> List[Tuple[str, str]]:
        """``(event, image name)`` of every image, in the file order."""
        return [(event, name) for event, names in zip(self.events, self.files)
                for name in names]


def _cells(mat: dict, key: str, path: str) -> np.ndarray:
    if key not in mat:
        found = sorted(k for k in mat if not k.startswith('__'))
        raise DatasetError(f'{path}: no variable {key!r} (it has {found}; see '
                                    'GT_FILES for the official files and their variables)')
    return np.asarray(mat[key]).reshape(-1)


def _text(cell) -> str:
    return str(np.asarray(cell).reshape(-1)[0])


def load_wider_ground_truth(gt_dir: str) -> WiderGroundTruth:
    """Reads ``wider_face_val.mat`` and ``wider_{easy,medium,hard}_val.mat`` from ``gt_dir``.

    Raises:
        FileNotFoundError: A file is missing (all four are named).
        DatasetError: A variable is missing or its cells do not line up with
            ``wider_face_val.mat`` (file, variable and event named).
    """
    from scipy.io import loadmat
    missing = [name for name in GT_FILES.values() if not osp.isfile(osp.join(gt_dir, name))]
    if missing:
        raise FileNotFoundError(
            f'WIDER FACE ground truth: {missing} not found in {gt_dir} (the folder needs '
            f'{list(GT_FILES.values())}, from eval_tools/ground_truth of the WIDER FACE '
            'evaluation code); set gt_dir of WiderFaceMetric')
    path = osp.join(gt_dir, GT_FILES['all'])
    mat = loadmat(path)
    events = [_text(c) for c in _cells(mat, 'event_list', path)]
    file_cells = _cells(mat, 'file_list', path)
    box_cells = _cells(mat, 'face_bbx_list', path)
    if not len(events) == len(file_cells) == len(box_cells):
        raise DatasetError(f'{path}: event_list, file_list and face_bbx_list have '
                                    f'{len(events)}, {len(file_cells)} and '
                                    f'{len(box_cells)} events')
    files, boxes = [], []
    for event, names, imgs in zip(events, file_cells, box_cells):
        names = [_text(c) for c in np.asarray(names).reshape(-1)]
        imgs = [np.asarray(b, dtype=np.float64).reshape(-1, 4)
                for b in np.asarray(imgs).reshape(-1)]
        if len(names) != len(imgs):
            raise DatasetError(f'{path}: event {event!r} has {len(names)} files but '
                                        f'{len(imgs)} face_bbx_list entries')
        files.append(names)
        boxes.append(imgs)
    gt = WiderGroundTruth(events, files, boxes)
    for setting in SETTINGS:
        path = osp.join(gt_dir, GT_FILES[setting])
        cells = _cells(loadmat(path), 'gt_list', path)
        if len(cells) != len(events):
            raise DatasetError(f'{path}: gt_list has {len(cells)} events, '
                                        f'{GT_FILES["all"]} {len(events)}')
        per_event = []
        for event, names, imgs, cell in zip(events, files, boxes, cells):
            lists = [np.asarray(k).reshape(-1).astype(np.int64) - 1
                     for k in np.asarray(cell).reshape(-1)]
            if len(lists) != len(names):
                raise DatasetError(f'{path}: event {event!r} has {len(lists)} '
                                            f'gt_list entries for {len(names)} images')
            for name, keep, img in zip(names, lists, imgs):
                if len(keep) and (keep.min() < 0 or keep.max() >= len(img)):
                    raise DatasetError(
                        f'{path}: image {event}/{name} keeps face indices '
                        f'{(keep + 1).tolist()} (1-based) of its {len(img)} faces')
            per_event.append(lists)
        gt.keep[setting] = per_event
    return gt


def _cell_column(items: Sequence) -> np.ndarray:
    column = np.empty((len(items), 1), dtype=object)
    for i, item in enumerate(items):
        column[i, 0] = item
    return column


def write_wider_ground_truth(gt_dir: str, gt: WiderGroundTruth) -> None:
    """Writes ``gt`` as the four official ``.mat`` files (the layout ``loadmat`` reads back
    as the official files: cell columns, int32 boxes and 1-based ``gt_list``)."""
    from scipy.io import savemat
    boxes = _cell_column([_cell_column([np.asarray(b).reshape(-1, 4).astype(np.int32)
                                        for b in imgs]) for imgs in gt.boxes])
    files = _cell_column([_cell_column(list(names)) for names in gt.files])
    events = _cell_column(list(gt.events))
    savemat(osp.join(gt_dir, GT_FILES['all']),
            dict(event_list=events, file_list=files, face_bbx_list=boxes))
    for setting in SETTINGS:
        lists = _cell_column([
            _cell_column([(np.asarray(k, dtype=np.int32) + 1).reshape(-1, 1) for k in imgs])
            for imgs in gt.keep[setting]])
        savemat(osp.join(gt_dir, GT_FILES[setting]),
                dict(event_list=events, file_list=files, face_bbx_list=boxes,
                     gt_list=lists))


def normalise_scores(preds: Mapping[Tuple[str, str], np.ndarray]
                     ) -> Dict[Tuple[str, str], np.ndarray]:
    """Official ``norm_score``: ``(s - min) / (max - min)`` over every detection, with the
    running max starting at 0 and the min at 1. Returns new ``(n, 5)`` arrays."""
    max_score, min_score = 0.0, 1.0
    for pred in preds.values():
        if len(pred):
            max_score = max(max_score, float(pred[:, 4].max()))
            min_score = min(min_score, float(pred[:, 4].min()))
    out = {}
    for key, pred in preds.items():
        pred = np.array(pred, dtype=np.float64).reshape(-1, 5)
        pred[:, 4] = (pred[:, 4] - min_score) / (max_score - min_score)
        out[key] = pred
    return out


def wider_overlaps(boxes: np.ndarray, query: np.ndarray) -> np.ndarray:
    """IoU ``(N, K)`` of ``x1, y1, x2, y2`` boxes with ``+1`` pixel widths (official)."""
    iw = (np.minimum(boxes[:, None, 2], query[None, :, 2]) -
          np.maximum(boxes[:, None, 0], query[None, :, 0]) + 1)
    ih = (np.minimum(boxes[:, None, 3], query[None, :, 3]) -
          np.maximum(boxes[:, None, 1], query[None, :, 1]) + 1)
    area_b = (boxes[:, 2] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 1] + 1)
    area_q = (query[:, 2] - query[:, 0] + 1) * (query[:, 3] - query[:, 1] + 1)
    inter = iw * ih
    union = area_b[:, None] + area_q[None, :] - inter
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = inter / union
    return np.where((iw > 0) & (ih > 0), iou, 0.0)


def _xyxy(xywh: np.ndarray) -> np.ndarray:
    out = np.array(xywh[:, :4], dtype=np.float64)
    out[:, 2:] += out[:, :2]
    return out


def image_pr_counts(pred: np.ndarray, gt_boxes: np.ndarray, keep: np.ndarray,
                    thresholds: np.ndarray, iou_thr: float = 0.5
                    ) -> Tuple[np.ndarray, np.ndarray]:
    """One image's proposals and recalled faces at each threshold (``image_evaluation`` +
    ``image_pr_info``).

    Args:
        pred: ``(n, 5)`` ``x, y, w, h, score`` (normalised), sorted by score descending.
        gt_boxes: ``(m, 4)`` ``x, y, w, h``.
        keep: ``(m,)`` bool, the faces of the setting.
        thresholds: ``(T,)`` score thresholds.
        iou_thr: Matching IoU (0.5).

    Returns:
        ``(proposals (T,), recalled (T,))``.
    """
    iou = wider_overlaps(_xyxy(pred), _xyxy(gt_boxes))  # (n, m)
    best = iou.argmax(axis=1)
    matched = iou[np.arange(len(pred)), best] >= iou_thr
    on_ignored = matched & ~keep[best]
    on_kept = matched & keep[best]
    # a kept face is recalled by the first detection that matches it
    first = np.zeros(len(pred), dtype=bool)
    rows = np.flatnonzero(on_kept)
    if len(rows):
        _, first_of_face = np.unique(best[rows], return_index=True)
        first[rows[first_of_face]] = True
    recall_after = np.cumsum(first)
    proposals_after = np.cumsum(~on_ignored)
    # last detection scoring >= t: the scores are sorted descending
    count = np.searchsorted(-pred[:, 4], -thresholds, side='right')
    last = count - 1
    has = count > 0
    proposals = np.where(has, proposals_after[np.maximum(last, 0)], 0)
    recalled = np.where(has, recall_after[np.maximum(last, 0)], 0)
    return proposals.astype(np.float64), recalled.astype(np.float64)


def voc_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """VOC AP as ``wider_eval.m``'s ``VOCap``: the precision envelope (MATLAB ``max``, which
    skips NaN) summed over the recall steps."""
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.fmax.accumulate(mpre[::-1])[::-1]
    steps = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def evaluate_widerface(preds: Mapping[Tuple[str, str], np.ndarray], gt: WiderGroundTruth,
                       iou_thr: float = 0.5, num_thresholds: int = 1000,
                       settings: Sequence[str] = SETTINGS) -> Dict[str, float]:
    """Easy / medium / hard AP of detections against the official ground truth.

    Args:
        preds: ``{(event, image name): (n, 5) x, y, w, h, score}`` in original pixels;
            images of the ground truth without an entry have no detection (as a missing
            prediction file), entries of other images are not used.
        gt: From :func:`load_wider_ground_truth`.
        iou_thr: Matching IoU (official 0.5).
        num_thresholds: Score thresholds (official 1000).
        settings: Which of ``easy``, ``medium``, ``hard``.

    Returns:
        ``{setting: AP}``.
    """
    keys = gt.image_keys()
    empty = np.zeros((0, 5))
    ordered = {}
    for key in keys:
        pred = np.asarray(preds.get(key, empty), dtype=np.float64).reshape(-1, 5)
        ordered[key] = pred[np.argsort(-pred[:, 4], kind='stable')]
    normed = normalise_scores(ordered)
    thresholds = 1.0 - np.arange(1, num_thresholds + 1) / num_thresholds
    aps = {}
    for setting in settings:
        proposals = np.zeros(num_thresholds)
        recalled = np.zeros(num_thresholds)
        count_face = 0
        for e, event in enumerate(gt.events):
            for name, boxes, keep_idx in zip(gt.files[e], gt.boxes[e], gt.keep[setting][e]):
                count_face += len(keep_idx)
                pred = normed[(event, name)]
                if len(boxes) == 0 or len(pred) == 0:
                    continue
                keep = np.zeros(len(boxes), dtype=bool)
                keep[keep_idx] = True
                p, r = image_pr_counts(pred, boxes, keep, thresholds, iou_thr)
                proposals += p
                recalled += r
        with np.errstate(divide='ignore', invalid='ignore'):
            precision = recalled / proposals
            recall = recalled / count_face
        aps[setting] = voc_ap(recall, precision)
    return aps
