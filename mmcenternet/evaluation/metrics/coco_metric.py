"""COCO evaluation against exactly the ground truth the dataset kept.

mmdet's ``CocoMetric`` reads the raw annotation file, so every box that the
dataset dropped (zero size, outside the image, a category outside
``classes``) or clipped still counts as ground truth: a detector that finds
every box the dataset trained and validated on cannot reach AP 1.0.

A metric with a ``bind_dataset(dataset)`` method is handed its dataset when
the val / test loop is built (:func:`bind_loop_datasets`, called by
:class:`mmcenternet.engine.CenterNetRunner`, the runner of ``tools/train.py``
and ``tools/test.py``). :class:`CenterNetCocoMetric` then builds its COCO
ground truth from ``dataset.coco_ground_truth()`` (see
:class:`mmcenternet.datasets.CenterNetCocoDataset`; task datasets that
subclass it add their fields there) and logs which ground truth it uses.
"""
from __future__ import annotations

import logging
from typing import Any, Optional, Sequence

from mmdet.datasets.api_wrappers import COCO
from mmdet.evaluation.metrics import CocoMetric
from mmengine.fileio import get_local_path
from mmengine.logging import print_log

from mmcenternet.registry import METRICS

__all__ = ['CenterNetCocoMetric', 'coco_from_dict', 'bind_loop_datasets']


def coco_from_dict(data: dict) -> COCO:
    """A pycocotools ``COCO`` index of an in-memory COCO dict (no file)."""
    coco = COCO()
    coco.dataset = data
    coco.createIndex()
    # mmdet's wrapper keeps snake-case aliases of the index it built in
    # __init__; point them at the new index.
    coco.img_ann_map = coco.imgToAnns
    coco.cat_img_map = coco.catToImgs
    return coco


def bind_loop_datasets(loop: Any) -> None:
    """Hand a val / test loop's dataset to its metrics that ask for it.

    Args:
        loop: A built mmengine ``ValLoop`` / ``TestLoop`` (anything with
            ``evaluator.metrics`` and ``dataloader.dataset``).
    """
    evaluator = getattr(loop, 'evaluator', None)
    dataloader = getattr(loop, 'dataloader', None)
    if evaluator is None or dataloader is None:
        return
    for metric in getattr(evaluator, 'metrics', []):
        if callable(getattr(metric, 'bind_dataset', None)):
            metric.bind_dataset(dataloader.dataset)


@METRICS.register_module()
class CenterNetCocoMetric(CocoMetric):
    """mmdet ``CocoMetric`` scored against the boxes the dataset kept.

    When bound to a dataset with ``coco_ground_truth()`` (see the module
    docstring), the ground truth is that dataset's cleaned boxes, with the
    dataset's category ids; ``ann_file`` is not read. Unbound (e.g. under a
    plain mmengine ``Runner``), it reads ``ann_file`` as mmdet does and says
    so in the log.

    Args:
        ann_file: The COCO file to fall back on when no dataset is bound.
        **kwargs: The other arguments of mmdet's ``CocoMetric``.
    """

    def __init__(self, ann_file: Optional[str] = None, **kwargs) -> None:
        # mmdet reads ann_file in __init__; here it is only a fallback.
        super().__init__(ann_file=None, **kwargs)
        self.ann_file = ann_file
        self.ground_truth_source: Optional[str] = None

    def bind_dataset(self, dataset: Any) -> None:
        """Score against ``dataset.coco_ground_truth()`` from now on.

        Args:
            dataset: The val / test dataset. Ignored (with the fallback to
                ``ann_file``) when it has no ``coco_ground_truth``.
        """
        build = getattr(dataset, 'coco_ground_truth', None)
        if not callable(build) or dataset is getattr(self, '_bound', None):
            return
        self._bound = dataset
        data = build()
        self._coco_api = coco_from_dict(data)
        self.cat_ids = list(getattr(dataset, 'cat_ids', [])) or None
        self.img_ids = None
        source = getattr(dataset, 'ann_file', '') or type(dataset).__name__
        self.ground_truth_source = (
            f'the {len(data["annotations"])} boxes on {len(data["images"])} '
            f'images that {type(dataset).__name__} kept from {source}, not '
            'the raw file: boxes it dropped when loading (degenerate, outside '
            'the image, a category outside its classes) are not ground truth '
            'and boxes it clipped count clipped')
        print_log(f'{type(self).__name__}: evaluating against '
                  f'{self.ground_truth_source}.', logger='current')

    def _load_fallback(self) -> None:
        """Read ``ann_file`` (unbound metric), as mmdet's ``CocoMetric``."""
        if self.ann_file is None:
            return  # mmdet converts the gt of the data samples instead
        with get_local_path(self.ann_file,
                            backend_args=self.backend_args) as local_path:
            self._coco_api = COCO(local_path)
        self.ground_truth_source = f'the raw annotation file {self.ann_file}'
        print_log(f'{type(self).__name__}: not bound to a dataset (run it '
                  'with mmcenternet.engine.CenterNetRunner, as tools/train.py '
                  'and tools/test.py do), so it evaluates against '
                  f'{self.ground_truth_source}, including boxes the dataset '
                  'dropped or clipped.', logger='current',
                  level=logging.WARNING)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """As mmdet's ``process``, after making sure a ground truth is set."""
        if self._coco_api is None:
            self._load_fallback()
        super().process(data_batch, data_samples)
