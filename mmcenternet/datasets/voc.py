"""Pascal VOC read from its XML files as the official CenterNet training sees it.

The official ``pascal`` dataset reads ``pascal_trainval0712.json``, the COCO-format merge of
the ``PASCAL_VOC.zip`` annotations (COCO's "external" release). Two things differ from
mmdet's ``VOCDataset``, which reads the same objects from the XML files:

- **Box convention.** The json boxes are ``[xmin - 1, ymin - 1, xmax - xmin + 1,
  ymax - ymin + 1]``, i.e. ``xyxy = [xmin - 1, ymin - 1, xmax, ymax]``; mmdet subtracts 1
  from all four coordinates, so its training boxes are one pixel smaller on the right and
  at the bottom.
- **Difficult objects.** The json keeps them, marked ``"ignore": 1``, and the official
  ``CTDetDataset`` never reads that flag: difficult objects are trained as positives.
  mmdet flags them ``ignore_flag=1`` (no target).

Evaluation is unchanged: in ``test_mode`` the boxes and flags are mmdet's, whose VOC metric
(all coordinates minus one, IoU with +1 widths, difficult objects ignored) computes what the
official ``voc_eval`` computes on the XML files with the detections shifted by +1.
"""
from typing import List
from xml.etree import ElementTree as ET

from mmdet.datasets import VOCDataset

from mmcenternet.registry import DATASETS


@DATASETS.register_module()
class CenterNetVOCDataset(VOCDataset):
    """mmdet ``VOCDataset`` with the official CenterNet training annotations.

    Args:
        difficult: How training treats difficult objects: ``'positive'`` (official, see
            the module docstring) or ``'ignore'`` (mmdet).
        box_convention: Training boxes ``'official'`` (``[xmin - 1, ymin - 1, xmax,
            ymax]``, as the official json) or ``'mmdet'`` (all four minus one).
        **kwargs: mmdet ``VOCDataset`` arguments.
    """

    DIFFICULT_MODES = ('positive', 'ignore')
    BOX_CONVENTIONS = ('official', 'mmdet')

    def __init__(self, difficult: str = 'positive', box_convention: str = 'official',
                 **kwargs) -> None:
        if difficult not in self.DIFFICULT_MODES:
            raise ValueError(f'CenterNetVOCDataset.difficult must be one of '
                             f'{self.DIFFICULT_MODES}, got {difficult!r}')
        if box_convention not in self.BOX_CONVENTIONS:
            raise ValueError(f'CenterNetVOCDataset.box_convention must be one of '
                             f'{self.BOX_CONVENTIONS}, got {box_convention!r}')
        self.difficult = difficult
        self.box_convention = box_convention
        super().__init__(**kwargs)

    def _parse_instance_info(self, raw_ann_info: ET, minus_one: bool = True) -> List[dict]:
        """mmdet's instances, changed for training as ``difficult`` / ``box_convention``
        say (test mode keeps mmdet's, which its VOC metric expects)."""
        instances = super()._parse_instance_info(raw_ann_info, minus_one=minus_one)
        if self.test_mode:
            return instances
        classes = self._metainfo['classes']
        objects = [obj for obj in raw_ann_info.findall('object')
                   if obj.find('name').text in classes]
        for obj, instance in zip(objects, instances):
            node = obj.find('difficult')
            is_difficult = node is not None and int(node.text) == 1
            if self.difficult == 'positive' and is_difficult and not self._too_small(
                    instance['bbox']):
                instance['ignore_flag'] = 0
            if self.box_convention == 'official' and minus_one:
                x1, y1, x2, y2 = instance['bbox']
                instance['bbox'] = [x1, y1, x2 + 1, y2 + 1]
        return instances

    def _too_small(self, bbox: List[float]) -> bool:
        """mmdet's ``bbox_min_size`` rule, which also sets ``ignore_flag``."""
        if self.bbox_min_size is None:
            return False
        return min(bbox[2] - bbox[0], bbox[3] - bbox[1]) < self.bbox_min_size
