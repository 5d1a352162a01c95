"""mmdet's ``DetLocalVisualizer`` plus the outputs of the other CenterNet tasks.

mmdet draws boxes, labels and masks. A task whose results carry more (keypoints and their
skeleton, 3D boxes, landmarks) registers a drawer for its ``InstanceData`` field with
:func:`register_instance_drawer`; the visualizer calls every drawer whose field is present,
after mmdet's boxes, on the same (score-filtered) instances.

A data sample may also carry center heatmaps (``gt_heatmap`` / ``pred_heatmap``, see
:mod:`mmcenternet.visualization.heatmap`): each is blended into the image of its side before
that side's instances are drawn.
"""
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
from mmdet.visualization import DetLocalVisualizer
from mmengine.structures import InstanceData

from mmcenternet.registry import VISUALIZERS
from .heatmap import HEATMAP_FIELDS, overlay_heatmap

# field -> drawer(visualizer, instances); drawers use the visualizer's draw_* calls.
INSTANCE_DRAWERS: Dict[str, Callable[['CenterNetVisualizer', InstanceData], None]] = {}


def register_instance_drawer(field: str) -> Callable:
    """Decorator: ``fn(visualizer, instances)`` draws ``instances.<field>``."""
    def wrap(fn: Callable) -> Callable:
        INSTANCE_DRAWERS[field] = fn
        return fn
    return wrap


@VISUALIZERS.register_module()
class CenterNetVisualizer(DetLocalVisualizer):
    """Boxes as mmdet, then every registered task drawer (see the module docstring).

    Boxes with a negative width or height (a weak model can regress a negative size: the
    official decoder does not clamp it) are not drawn, as mmengine's ``draw_bboxes`` would
    stop with a bare ``AssertionError``; the other fields of those instances (keypoints, 3D
    boxes, ...) are. This is the one rule for such boxes (demos, ``test.py --show-dir``,
    ``DetInferencer``).

    Drawers can read the metainfo of the sample being drawn (e.g. the camera of 3D boxes)
    as ``visualizer.sample_metainfo``.

    Args:
        heatmap_alpha: Opacity of the heatmap colours at value 1 (``gt_heatmap`` /
            ``pred_heatmap`` of a data sample).
        **kwargs: ``DetLocalVisualizer`` arguments.
    """

    sample_metainfo: dict = {}

    def __init__(self, name: str = 'visualizer', *args, heatmap_alpha: float = 0.6,
                 **kwargs) -> None:
        super().__init__(name, *args, **kwargs)
        self.heatmap_alpha = heatmap_alpha
        self._heatmaps: dict = {}

    def add_datasample(self, name: str, image: np.ndarray, data_sample=None, *args,
                       **kwargs) -> None:
        """mmdet's ``add_datasample``, with the sample's heatmaps under its instances.

        mmdet draws the ground-truth side, then the prediction side, each through
        ``_draw_instances``; the heatmap of a side is blended there (a side without
        instances is drawn without its heatmap).
        """
        self.sample_metainfo = dict(data_sample.metainfo) if data_sample is not None else {}
        self._heatmaps = {}
        if data_sample is not None:
            self._heatmaps = {side: data_sample.get(field) for side, field in
                              HEATMAP_FIELDS.items() if data_sample.get(field) is not None}
        try:
            super().add_datasample(name, image, data_sample, *args, **kwargs)
        finally:
            self._heatmaps = {}

    def _draw_instances(self, image: np.ndarray, instances: InstanceData,
                        classes: Optional[List[str]],
                        palette: Optional[List[Tuple[int, int, int]]]) -> np.ndarray:
        boxed = instances
        if 'bboxes' in instances and len(instances) > 0:
            boxes = torch.as_tensor(getattr(instances.bboxes, 'tensor', instances.bboxes))
            boxed = instances[(boxes[:, 2] >= boxes[:, 0]) & (boxes[:, 3] >= boxes[:, 1])]
        heat = self._heatmaps.get('pred' if 'scores' in instances else 'gt')
        if heat is not None:  # predictions have scores, ground truth has none
            image = overlay_heatmap(image, np.asarray(heat), self.heatmap_alpha)
        image = super()._draw_instances(image, boxed, classes, palette)
        drawers = [fn for field, fn in INSTANCE_DRAWERS.items() if field in instances]
        if not drawers or len(instances) == 0:
            return image
        self.set_image(image)
        for fn in drawers:
            fn(self, instances)
        return self.get_image()
