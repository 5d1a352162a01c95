"""Offline analysis of a ``tools/test.py --out results.pkl`` dump against the test dataset.

What ``tools/analysis_tools/{eval_metric,analyze_results,confusion_matrix}.py`` run. The
dump is mmdet's ``DumpDetResults`` list (one dict per image: ``img_id``, ``img_path``,
``pred_instances`` with ``bboxes`` / ``scores`` / ``labels`` and the task's fields); the
ground truth is the config's test dataset *as loaded* (the boxes it kept, as the metric of
``tools/test.py`` scores them), matched to the results by ``img_id``.

mmdet's tools of the same names (``mmdet/.mim/tools/analysis_tools``, or mmdet's
repository) compute with the same library functions: per-image AP is
``mmdet.evaluation.eval_map``, overlaps are ``mmdet.evaluation.bbox_overlaps``. Their
``eval_metric.py`` and ``confusion_matrix.py`` also run on our configs (mmengine imports
``mmcenternet`` through the config's ``default_scope``), but ``eval_metric.py`` scores against
the raw annotation file, and ``analyze_results.py`` draws with mmdet's visualizer (boxes only,
and it stops at boxes of negative size).
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np

from mmcenternet.errors import ConfigError


def load_results(path: str) -> List[dict]:
    """The per-image dicts of a ``--out`` pickle.

    Raises:
        ConfigError: Not a list of dicts with ``pred_instances``.
    """
    import mmengine
    results = mmengine.load(path)
    if not isinstance(results, list) or not all(
            isinstance(r, dict) and 'pred_instances' in r for r in results):
        raise ConfigError(f'{path} is not a tools/test.py --out dump (a list of dicts with '
                           '"pred_instances")')
    return results


def analysis_inputs(cfg, results_path: str):
    """What every analysis tool starts from: ``(test dataset, results)`` of a config the
    tool loaded (``mmcenternet.engine.config.load_config``).

    Registers the modules (mmcenternet default scope), loads the ``--out`` dump and builds
    the test dataset.
    """
    from mmcenternet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    results = load_results(results_path)
    return build_test_dataset(cfg), results


def build_test_dataset(cfg, split: str = 'test'):
    """The config's ``<split>_dataloader.dataset`` (built in the mmcenternet scope)."""
    from mmcenternet.registry import DATASETS
    return DATASETS.build(cfg[f'{split}_dataloader'].dataset)


def ground_truth(dataset, index: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(bboxes (N, 4) xyxy, labels (N,), ignored (N,) bool)`` of one dataset entry."""
    instances = dataset.get_data_info(index).get('instances', [])
    boxes = np.array([i['bbox'] for i in instances], np.float32).reshape(-1, 4)
    labels = np.array([i['bbox_label'] for i in instances], np.int64)
    ignored = np.array([bool(i.get('ignore_flag', 0)) for i in instances], bool)
    return boxes, labels, ignored


def match_results(dataset, results: Sequence[dict], path: str = 'results') -> List[int]:
    """The dataset index of every result, by ``img_id`` (else by order).

    Raises:
        ConfigError: A result whose image is not in the dataset, or a count mismatch.
    """
    ids = [dataset.get_data_info(i).get('img_id') for i in range(len(dataset))]
    if all('img_id' in r for r in results) and None not in ids:
        where = {img_id: i for i, img_id in enumerate(ids)}
        missing = [r['img_id'] for r in results if r['img_id'] not in where]
        if missing:
            raise ConfigError(f'{path}: {len(missing)} results are of images that the '
                               f'test dataset does not have (img_id {missing[:5]}); was it '
                               'written with this config?')
        return [where[r['img_id']] for r in results]
    if len(results) != len(dataset):
        raise ConfigError(f'{path} holds {len(results)} results, the test dataset '
                           f'{len(dataset)} images')
    return list(range(len(results)))


def predictions(result: dict) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(bboxes, scores, labels)`` numpy arrays of one result."""
    pred = result['pred_instances']
    def arr(key, dtype):
        value = pred[key]
        value = getattr(value, 'tensor', value)
        return np.asarray(value.numpy() if hasattr(value, 'numpy') else value, dtype)
    return (arr('bboxes', np.float32).reshape(-1, 4), arr('scores', np.float32),
            arr('labels', np.int64))


def image_ap(result: dict, gt: Tuple[np.ndarray, np.ndarray, np.ndarray],
             num_classes: int, iou_thrs: Sequence[float] = (0.5, ),
             score_thr: float = 0.0) -> float:
    """Mean over ``iou_thrs`` of the image's mAP (``mmdet.evaluation.eval_map``, area
    mode, classes without ground truth and predictions left out as mmdet does)."""
    from mmdet.evaluation import eval_map
    boxes, scores, labels = predictions(result)
    keep = scores >= score_thr
    boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
    dets = [np.hstack([boxes[labels == c], scores[labels == c, None]])
            for c in range(num_classes)]
    gt_boxes, gt_labels, ignored = gt
    ann = dict(bboxes=gt_boxes[~ignored], labels=gt_labels[~ignored],
               bboxes_ignore=gt_boxes[ignored], labels_ignore=gt_labels[ignored])
    aps = [eval_map([dets], [ann], iou_thr=thr, logger='silent')[0] for thr in iou_thrs]
    return float(np.mean(aps))


def rank_images(dataset, results: Sequence[dict], iou_thrs: Sequence[float] = (0.5, ),
                score_thr: float = 0.0, path: str = 'results') -> List[Tuple[int, int, float]]:
    """``(result index, dataset index, AP)`` of every image, best first (ties in file
    order)."""
    from mmcenternet.utils.progress import track
    num_classes = len(dataset.metainfo['classes'])
    indices = match_results(dataset, results, path)
    scored = [(i, d, image_ap(results[i], ground_truth(dataset, d), num_classes, iou_thrs,
                              score_thr))
              for i, d in track(list(enumerate(indices)), desc='per-image AP', unit='img')]
    return sorted(scored, key=lambda item: (-item[2], item[0]))


def confusion_matrix(dataset, results: Sequence[dict], score_thr: float = 0.3,
                     tp_iou_thr: float = 0.5, path: str = 'results') -> np.ndarray:
    """Ground truth (rows) vs predicted class (columns), background last.

    As mmdet's tool: a prediction above ``score_thr`` counts in ``[gt class, its class]``
    for every non-ignored ground-truth box it overlaps by ``tp_iou_thr`` or more (and a
    ground-truth box matched by no prediction of its class counts once in
    ``[gt class, background]``); a prediction overlapping no ground-truth box counts in
    ``[background, its class]``. No NMS (CenterNet's peaks replace it; mmdet's tool has an
    optional one, ``--nms-iou-thr``, off by default).
    """
    from mmdet.evaluation import bbox_overlaps

    from mmcenternet.utils.progress import track
    num_classes = len(dataset.metainfo['classes'])
    matrix = np.zeros((num_classes + 1, num_classes + 1), np.int64)
    indices = match_results(dataset, results, path)
    for result, index in track(list(zip(results, indices)), desc='confusion', unit='img'):
        boxes, scores, labels = predictions(result)
        keep = scores >= score_thr
        boxes, labels = boxes[keep], labels[keep]
        gt_boxes, gt_labels, ignored = ground_truth(dataset, index)
        gt_boxes, gt_labels = gt_boxes[~ignored], gt_labels[~ignored]
        ious = bbox_overlaps(boxes, gt_boxes) if len(boxes) and len(gt_boxes) else \
            np.zeros((len(boxes), len(gt_boxes)))
        hits = ious >= tp_iou_thr  # (predictions, gt)
        pred_idx, gt_idx = np.nonzero(hits)
        np.add.at(matrix, (gt_labels[gt_idx], labels[pred_idx]), 1)
        found = (hits & (labels[:, None] == gt_labels[None])).any(0)
        np.add.at(matrix, (gt_labels[~found], num_classes), 1)
        np.add.at(matrix, (num_classes, labels[~hits.any(1)]), 1)
    return matrix


def plot_confusion_matrix(matrix: np.ndarray, classes: Sequence[str], out: Optional[str],
                          title: str = 'Normalized confusion matrix (%)'):
    """Row-normalised matrix as a labelled image (percent of each ground-truth row)."""
    import matplotlib
    if out is not None:
        matplotlib.use('Agg', force=False)
    import matplotlib.pyplot as plt
    names = list(classes) + ['background']
    rows = matrix.sum(1, keepdims=True)
    percent = np.where(rows > 0, 100 * matrix / np.maximum(rows, 1), 0)
    size = max(4, 0.6 * len(names) + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.9))
    image = ax.imshow(percent, cmap='Blues', vmin=0, vmax=100)
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set_xticks(range(len(names)), names, rotation=45, ha='right')
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel('prediction')
    ax.set_ylabel('ground truth')
    ax.set_title(title)
    for (i, j), value in np.ndenumerate(percent):
        if matrix[i, j]:
            ax.text(j, i, f'{value:.0f}', ha='center', va='center',
                    color='white' if value > 50 else 'black', fontsize=8)
    fig.tight_layout()
    if out is not None:
        fig.savefig(out, dpi=120)
    return fig

