"""COCO-format detection dataset that checks its annotation file.

mmdet's ``CocoDataset`` trusts the file: a JSON syntax error or a missing key
surfaces as a bare ``JSONDecodeError`` / ``KeyError`` without the file name,
an unknown ``category_id`` or ``image_id`` is silently dropped, a class name
missing from ``categories`` silently shifts every label, and broken boxes are
dropped without a word. :class:`CenterNetCocoDataset` loads the same data
(same ``data_list`` layout, same label order, same ``filter_cfg``) but

- raises :class:`DatasetError` naming the file, the key and the entry for a
  malformed file (invalid JSON with its position, missing keys, unknown
  categories or images, duplicate ids, non-numeric boxes);
- clips boxes that are partly outside their image, drops boxes with zero or
  negative size or fully outside the image, and reports both in ONE warning
  per file with counts by reason;
- leaves out the boxes of categories that are in the file but not in
  ``metainfo['classes']`` (as mmdet) with ONE warning naming each category
  and its box and image counts (mmdet says nothing);
- keeps images without annotations for val / test and removes them for
  training per ``filter_cfg=dict(filter_empty_gt=True)`` (an image whose
  boxes were all dropped or ignored counts as empty);
- raises :class:`DatasetError` when no image is left.
"""
from __future__ import annotations

import json
import logging
import math
import os.path as osp
import warnings
from collections import Counter, defaultdict
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmdet.datasets import CocoDataset
from mmengine.fileio import get_local_path
from mmengine.logging import print_log

from mmcenternet.errors import DatasetError
from mmcenternet.registry import DATASETS
from mmcenternet.utils.messages import warn_and_log

__all__ = ['CenterNetCocoDataset', 'DatasetWarning',
           'read_coco_json', 'validate_coco_dict']

REQUIRED_TOP = ('images', 'annotations', 'categories')
REQUIRED_IMAGE = ('id', 'file_name', 'width', 'height')
REQUIRED_ANN = ('bbox', 'image_id', 'category_id')
REQUIRED_CATEGORY = ('id', 'name')


class DatasetWarning(UserWarning):
    """Annotations were dropped or changed while loading."""


def read_coco_json(path: str) -> dict:
    """Read a JSON annotation file with errors that name it.

    Args:
        path: Local path of the file.

    Returns:
        The parsed JSON object.

    Raises:
        FileNotFoundError: The file does not exist.
        DatasetError: It is not valid JSON (with line / column / char).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'annotation file {path} does not exist (check data_root and '
            'ann_file in the dataset config).')
    try:
        with open(path, 'rb') as f:
            return json.loads(f.read())
    except json.JSONDecodeError as exc:
        raise DatasetError(
            f'annotation file {path} is not valid JSON: {exc.msg} at line '
            f'{exc.lineno} column {exc.colno} (char {exc.pos}).') from exc
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f'annotation file {path} is not valid JSON: not UTF-8 text '
            f'(byte {exc.start}).') from exc


def _entry(kind: str, index: int, entry: Any) -> str:
    """``'annotation #3 (id 17)'``."""
    entry_id = entry.get('id') if isinstance(entry, dict) else None
    return f'{kind} #{index}' + (f' (id {entry_id})'
                                 if entry_id is not None else '')


def _require(path: str, kind: str, index: int, entry: Any,
             keys: Sequence[str]) -> None:
    """Raise if ``entry`` is not a dict holding ``keys``."""
    if not isinstance(entry, dict):
        raise DatasetError(f'{path}: {kind} #{index} is a '
                           f'{type(entry).__name__}, expected an object.')
    for key in keys:
        if key not in entry:
            raise DatasetError(f'{path}: {_entry(kind, index, entry)} has no '
                               f'required key {key!r}.')


def _is_number(value: Any) -> bool:
    """A finite int / float (not bool)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _unique_ids(path: str, kind: str, entries: List[dict]) -> None:
    """Raise on a duplicate ``id`` among ``entries``."""
    seen: Dict[Any, int] = {}
    for index, entry in enumerate(entries):
        if 'id' not in entry:
            continue
        if entry['id'] in seen:
            raise DatasetError(
                f'{path}: {kind} id {entry["id"]!r} is used twice (entries '
                f'#{seen[entry["id"]]} and #{index}).')
        seen[entry['id']] = index


def validate_coco_dict(data: Any, path: str,
                       require_annotations: bool = True) -> None:
    """Check the structure of a parsed COCO detection file.

    Args:
        data: The parsed JSON.
        path: The file name for messages.
        require_annotations: Whether ``annotations`` must be present (test
            files such as ``image_info_test-dev2017.json`` have none).

    Raises:
        DatasetError: Naming the file, the key and the entry index / id.
    """
    if not isinstance(data, dict):
        raise DatasetError(f'{path}: expected a JSON object with keys '
                           f'{list(REQUIRED_TOP)}, got a '
                           f'{type(data).__name__}.')
    for key in REQUIRED_TOP:
        if key == 'annotations' and not require_annotations:
            continue
        if key not in data:
            raise DatasetError(f'{path}: missing required top-level key '
                               f'{key!r}.')
    for key in REQUIRED_TOP:
        if key in data and not isinstance(data[key], list):
            raise DatasetError(f'{path}: {key!r} must be a list, got a '
                               f'{type(data[key]).__name__}.')
    images, categories = data['images'], data['categories']
    annotations = data.get('annotations', [])
    for index, img in enumerate(images):
        _require(path, 'image', index, img, REQUIRED_IMAGE)
        for key in ('width', 'height'):
            if not _is_number(img[key]) or img[key] <= 0:
                raise DatasetError(
                    f'{path}: {_entry("image", index, img)} has invalid '
                    f'{key!r} {img[key]!r} (expected a positive number).')
    for index, cat in enumerate(categories):
        _require(path, 'category', index, cat, REQUIRED_CATEGORY)
    _unique_ids(path, 'image', images)
    _unique_ids(path, 'category', categories)
    _unique_ids(path, 'annotation', annotations)
    image_ids = {img['id'] for img in images}
    category_ids = {cat['id'] for cat in categories}
    for index, ann in enumerate(annotations):
        _require(path, 'annotation', index, ann, REQUIRED_ANN)
        where = _entry('annotation', index, ann)
        bbox = ann['bbox']
        if (not isinstance(bbox, (list, tuple)) or len(bbox) != 4
                or not all(_is_number(v) for v in bbox)):
            raise DatasetError(f'{path}: {where} has an invalid bbox {bbox!r} '
                               '(expected [x, y, width, height] numbers).')
        if ann['category_id'] not in category_ids:
            raise DatasetError(
                f'{path}: {where} has category_id {ann["category_id"]!r}, '
                'which is not in "categories" (ids: '
                f'{sorted(category_ids, key=str)[:20]}).')
        if ann['image_id'] not in image_ids:
            raise DatasetError(f'{path}: {where} has image_id '
                               f'{ann["image_id"]!r}, which is not in '
                               '"images".')


def clean_box(bbox: Sequence[float], width: float,
              height: float) -> Tuple[Optional[List[float]], Optional[str]]:
    """Turn a COCO ``[x, y, w, h]`` box into a valid ``[x1, y1, x2, y2]``.

    Args:
        bbox: The COCO box.
        width: Image width.
        height: Image height.

    Returns:
        ``(box, reason)``: ``box`` is None when the box is dropped; ``reason``
        is ``'zero or negative size'``, ``'fully outside the image'``,
        ``'clipped to the image'`` or None.
    """
    x, y, w, h = (float(v) for v in bbox)
    if w <= 0 or h <= 0:
        return None, 'zero or negative size'
    x1, y1 = max(x, 0.0), max(y, 0.0)
    x2, y2 = min(x + w, float(width)), min(y + h, float(height))
    if x2 <= x1 or y2 <= y1:
        return None, 'fully outside the image'
    clipped = (x1, y1, x2, y2) != (x, y, x + w, y + h)
    return [x1, y1, x2, y2], ('clipped to the image' if clipped else None)


@DATASETS.register_module()
class CenterNetCocoDataset(CocoDataset):
    """mmdet ``CocoDataset`` with a validated annotation file.

    Same arguments, ``data_list`` layout and label order as mmdet's
    ``CocoDataset`` (labels follow the file's category order restricted to
    ``metainfo['classes']``); see the module docstring for the checks.
    ``keypoints`` / ``num_keypoints`` / ``area`` of an annotation are kept
    in its instance when present; :meth:`coco_ground_truth` returns the kept
    instances as a COCO dict, which ``CenterNetCocoMetric`` scores against.

    Args:
        crowd: How training treats ``iscrowd`` annotations. ``'positive'``
            (default) trains them as ordinary objects, as the official
            CenterNet ``ctdet`` sample does (it never reads ``iscrowd``);
            ``'ignore'`` flags them ``ignore_flag=1`` as mmdet does, so they
            get no target. In ``test_mode`` crowd boxes are always flagged,
            so a metric built from the dataset treats them as crowd.
        **kwargs: mmdet ``CocoDataset`` arguments.
    """

    CROWD_MODES = ('positive', 'ignore')

    def __init__(self, *args, crowd: str = 'positive', **kwargs) -> None:
        if crowd not in self.CROWD_MODES:
            raise DatasetError(f'CenterNetCocoDataset.crowd must be one of '
                               f'{self.CROWD_MODES}, got {crowd!r}')
        self.crowd = crowd
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read, check and parse the annotation file.

        Returns:
            One dict per image (``img_path``, ``img_id``, ``width``,
            ``height``, ``instances``, ...).
        """
        with get_local_path(self.ann_file,
                            backend_args=self.backend_args) as local_path:
            data = read_coco_json(local_path)
        validate_coco_dict(data, self.ann_file,
                           require_annotations=not self.test_mode)
        self._select_categories(data['categories'])

        anns_by_image: Dict[Any, List[dict]] = defaultdict(list)
        for ann in data.get('annotations', []):
            anns_by_image[ann['image_id']].append(ann)
        self._report_unused_categories(data)
        self.cat_img_map = defaultdict(list)
        for ann in data.get('annotations', []):
            self.cat_img_map[ann['category_id']].append(ann['image_id'])

        counts: Counter = Counter()
        data_list = []
        for img in data['images']:
            raw = dict(img, img_id=img['id'])
            data_list.append(
                self._parse_image(raw, anns_by_image.get(img['id'], []),
                                  counts))
        self._report(counts)
        return data_list

    def _select_categories(self, categories: List[dict]) -> None:
        """Set ``cat_ids`` / ``cat2label`` as mmdet does; check the names.

        Raises:
            DatasetError: A class of ``metainfo['classes']`` is not the name
                of any category in the file (labels would shift silently).
        """
        classes = list(self.metainfo['classes'])
        names = {cat['name'] for cat in categories}
        unknown = [c for c in classes if c not in names]
        if unknown:
            raise DatasetError(
                f'{self.ann_file}: classes {unknown[:10]} of the dataset '
                f'metainfo are not category names in the file (its '
                f'categories: {sorted(names)[:20]}). Set '
                'metainfo=dict(classes=(...)) to match the file.')
        self.categories = [cat for cat in categories
                           if cat['name'] in set(classes)]
        self.cat_ids = [cat['id'] for cat in self.categories]
        self.cat2label = {cat_id: i for i, cat_id in enumerate(self.cat_ids)}
        self._name_labels_in_file_order(classes)

    def _name_labels_in_file_order(self, classes: List[str]) -> None:
        """Labels follow the file's category order (as mmdet's); when
        ``metainfo['classes']`` lists the same names in another order, mmdet
        names label ``i`` ``classes[i]`` anyway (wrong names in drawings,
        per-class results and the checkpoint's ``dataset_meta``). Here the
        names (and a per-class ``palette``) are put in label order, with one
        warning saying so."""
        in_label_order = tuple(cat['name'] for cat in self.categories)
        if in_label_order == tuple(classes) or \
                sorted(in_label_order) != sorted(classes):
            return
        palette = self._metainfo.get('palette')
        if palette is not None and len(palette) == len(classes):
            self._metainfo['palette'] = [palette[classes.index(name)]
                                         for name in in_label_order]
        self._metainfo['classes'] = in_label_order
        warn_and_log(
            f'{self.ann_file}: metainfo classes {tuple(classes)} are not in '
            f'the file\'s category order; labels follow the file (as in '
            f'mmdet), so the names are used in that order: {in_label_order}. '
            'List the classes in this order to silence this warning.',
            DatasetWarning, stacklevel=3)

    def _report_unused_categories(self, data: dict) -> None:
        """One counted warning for boxes whose category is not in ``classes``.

        Such annotations are left out of training and evaluation as mmdet
        does, but mmdet says nothing; here the warning names each category
        with its box and image counts.
        """
        selected = self.cat2label
        boxes: Counter = Counter()
        images: Dict[Any, set] = defaultdict(set)
        for ann in data.get('annotations', []):
            if ann['category_id'] not in selected and not ann.get(
                    'ignore', False):
                boxes[ann['category_id']] += 1
                images[ann['category_id']].add(ann['image_id'])
        if not boxes:
            return
        names = {cat['id']: cat['name'] for cat in data['categories']}
        total = sum(boxes.values())
        touched = len(set().union(*images.values()))
        ranked = sorted(boxes.items(), key=lambda x: -x[1])
        listed = ', '.join(
            f'{names[cat_id]!r} (id {cat_id}): {n} boxes on '
            f'{len(images[cat_id])} images' for cat_id, n in ranked[:10])
        if len(ranked) > 10:
            listed += f' and {len(ranked) - 10} more categories'
        message = (
            f'{self.ann_file}: left out {total} of '
            f'{len(data.get("annotations", []))} boxes ({touched} images '
            f'affected) whose category is not in metainfo classes '
            f'{tuple(self.metainfo["classes"])}: {listed}. Add the names to '
            'metainfo=dict(classes=(...)) (and the class counts of the '
            'model) to train on them.')
        warn_and_log(message, DatasetWarning, stacklevel=3)

    def _parse_image(self, img: dict, anns: List[dict],
                     counts: Counter) -> dict:
        """Build one ``data_list`` entry, cleaning its boxes."""
        img_path = osp.join(self.data_prefix.get('img', ''), img['file_name'])
        seg_map_path = None
        if self.data_prefix.get('seg', None):
            seg_map_path = osp.join(
                self.data_prefix['seg'],
                img['file_name'].rsplit('.', 1)[0] + self.seg_map_suffix)
        instances = []
        for ann in anns:
            if ann.get('ignore', False):
                continue
            if ann['category_id'] not in self.cat2label:
                continue  # a category outside metainfo['classes']
            box, reason = clean_box(ann['bbox'], img['width'], img['height'])
            if reason is not None:
                counts[reason] += 1
            if box is None:
                continue
            crowd = bool(ann.get('iscrowd', False))
            instance = dict(
                bbox=box,
                bbox_label=self.cat2label[ann['category_id']],
                ignore_flag=1 if crowd and (self.test_mode or self.crowd == 'ignore')
                else 0,
                iscrowd=int(crowd))
            if ann.get('segmentation', None):
                instance['mask'] = ann['segmentation']
            for key in ('keypoints', 'num_keypoints', 'area'):
                if key in ann:
                    instance[key] = ann[key]
            instances.append(instance)
        data_info = dict(
            img_path=img_path,
            img_id=img['img_id'],
            seg_map_path=seg_map_path,
            height=img['height'],
            width=img['width'],
            instances=instances)
        if getattr(self, 'return_classes', False):
            data_info['text'] = self.metainfo['classes']
            data_info['caption_prompt'] = self.caption_prompt
            data_info['custom_entities'] = True
        return data_info

    def _report(self, counts: Counter) -> None:
        """Emit one warning with the dropped / clipped box counts."""
        if not counts:
            return
        dropped = sum(n for reason, n in counts.items()
                      if reason != 'clipped to the image')
        parts = []
        if dropped:
            reasons = ', '.join(f'{n} with {r}' if r.startswith('zero') else
                                f'{n} {r}' for r, n in sorted(counts.items())
                                if r != 'clipped to the image')
            parts.append(f'dropped {dropped} boxes ({reasons})')
        if counts['clipped to the image']:
            parts.append(f'clipped {counts["clipped to the image"]} boxes '
                         'partly outside their image to the image')
        message = f'{self.ann_file}: ' + ' and '.join(parts) + '.'
        warnings.warn(message, DatasetWarning, stacklevel=2)
        print_log(message, logger='current', level=logging.WARNING)

    def filter_data(self) -> List[dict]:
        """Filter as mmdet does; raise if no image is left.

        ``filter_cfg``: ``filter_empty_gt`` (drop images without a
        non-ignored box; training only) and ``min_size`` (drop images whose
        shorter side is smaller).

        Returns:
            The kept entries.

        Raises:
            DatasetError: The file has no images, or none passes the filter.
        """
        total = len(self.data_list)
        if total == 0:
            raise DatasetError(f'{self.ann_file}: the file has no images.')
        if self.test_mode or not self.filter_cfg:
            return self.data_list
        filter_empty = self.filter_cfg.get('filter_empty_gt', False)
        min_size = self.filter_cfg.get('min_size', 0)
        kept, empty, small = [], 0, 0
        for info in self.data_list:
            if filter_empty and not any(
                    not inst['ignore_flag'] for inst in info['instances']):
                empty += 1
            elif min(info['width'], info['height']) < min_size:
                small += 1
            else:
                kept.append(info)
        if not kept:
            raise DatasetError(
                f'{self.ann_file}: no images left after filtering ({total} '
                f'in the file; {empty} without a usable box removed by '
                f'filter_empty_gt, {small} smaller than min_size={min_size}).')
        return kept

    # ------------------------------------------------------------------
    # The ground truth the dataset kept, for evaluation
    # ------------------------------------------------------------------
    def coco_ground_truth(self) -> dict:
        """The images and boxes this dataset kept, as a COCO detection dict.

        Evaluating against the raw annotation file would count as ground
        truth the boxes the dataset dropped (degenerate, outside the image,
        a category outside ``classes``) and the unclipped version of boxes
        it clipped. ``CenterNetCocoMetric`` scores against this dict instead.

        Returns:
            ``{'images', 'annotations', 'categories', 'info', 'licenses'}``:
            one image per ``data_list`` entry, one annotation per kept
            instance (see :meth:`coco_gt_annotation`), and the categories of
            ``classes`` in label order.
        """
        images, annotations = [], []
        for index in range(len(self)):
            info = self.get_data_info(index)
            images.append(dict(id=info['img_id'], width=info['width'],
                               height=info['height'],
                               file_name=osp.basename(info['img_path'])))
            for instance in info['instances']:
                ann = self.coco_gt_annotation(instance)
                ann.update(id=len(annotations) + 1, image_id=info['img_id'])
                annotations.append(ann)
        categories = [dict(cat) for cat in getattr(self, 'categories', [])]
        if not categories:  # lazy or foreign subclasses: names from metainfo
            categories = [dict(id=cat_id, name=name) for cat_id, name in zip(
                self.cat_ids, self.metainfo['classes'])]
        return dict(images=images, annotations=annotations,
                    categories=categories, info={}, licenses=[])

    def coco_gt_annotation(self, instance: dict) -> dict:
        """One kept instance as a COCO annotation (without ids).

        ``bbox`` is the cleaned box as ``[x, y, w, h]``; ``area`` is the
        file's (the segment area for COCO, which the official evaluation
        uses for its small / medium / large ranges), else the box area;
        ``iscrowd`` is the instance's ``iscrowd`` when present, else its
        ``ignore_flag``; ``keypoints`` / ``num_keypoints`` / ``mask``
        (as ``segmentation``) are copied when present. Task datasets
        override this to add their fields.

        Args:
            instance: An entry of ``data_info['instances']``.

        Returns:
            The annotation dict.
        """
        x1, y1, x2, y2 = (float(v) for v in instance['bbox'])
        ann = dict(bbox=[x1, y1, x2 - x1, y2 - y1],
                   category_id=self.cat_ids[instance['bbox_label']],
                   area=float(instance.get('area', (x2 - x1) * (y2 - y1))),
                   iscrowd=int(instance.get('iscrowd',
                                            instance['ignore_flag'])))
        for key in ('keypoints', 'num_keypoints'):
            if key in instance:
                ann[key] = instance[key]
        if instance.get('mask'):
            ann['segmentation'] = instance['mask']
        return ann
