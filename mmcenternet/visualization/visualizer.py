"""mmdet's ``DetLocalVisualizer`` plus the outputs of the other CenterNet tasks.

mmdet draws boxes, labels and masks. A task whose results carry more (keypoints and their
skeleton, 3D boxes, landmarks) registers a drawer for its ``InstanceData`` field with
:func:`register_instance_drawer`; the visualizer calls every drawer whose field is present,
after mmdet's boxes, on the same (score-filtered) instances.
"""
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
from mmdet.visualization import DetLocalVisualizer
from mmengine.structures import InstanceData

from mmcenternet.registry import VISUALIZERS

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
    official decoder does not clamp it) are not drawn; mmengine's ``draw_bboxes`` would
    stop with a bare ``AssertionError``.

    Drawers can read the metainfo of the sample being drawn (e.g. the camera of 3D boxes)
    as ``visualizer.sample_metainfo``.
    """

    sample_metainfo: dict = {}

    def add_datasample(self, name: str, image: np.ndarray, data_sample=None, *args,
                       **kwargs) -> None:
        self.sample_metainfo = dict(data_sample.metainfo) if data_sample is not None else {}
        return super().add_datasample(name, image, data_sample, *args, **kwargs)

    def _draw_instances(self, image: np.ndarray, instances: InstanceData,
                        classes: Optional[List[str]],
                        palette: Optional[List[Tuple[int, int, int]]]) -> np.ndarray:
        if 'bboxes' in instances and len(instances) > 0:
            boxes = torch.as_tensor(getattr(instances.bboxes, 'tensor', instances.bboxes))
            instances = instances[(boxes[:, 2] >= boxes[:, 0]) & (boxes[:, 3] >= boxes[:, 1])]
        image = super()._draw_instances(image, instances, classes, palette)
        drawers = [fn for field, fn in INSTANCE_DRAWERS.items() if field in instances]
        if not drawers or len(instances) == 0:
            return image
        self.set_image(image)
        for fn in drawers:
            fn(self, instances)
        return self.get_image()
