"""KITTI object detection data (``training/{image_2,label_2,calib}`` + split files), read
directly and checked line by line, for monocular 3D detection.

Layout (the KITTI download plus the split files of 3DOP / SubCNN)::

    data/kitti/
      training/image_2/000000.png   training/label_2/000000.txt   training/calib/000000.txt
      testing/image_2/...           testing/calib/...
      ImageSets/{train,val,trainval,test}.txt        (any split folder: ImageSets_3dop/...)

A label line has 15 fields: ``type truncated occluded alpha x1 y1 x2 y2 h w l x y z
rotation_y`` (dimensions in metres as height, width, length; location = bottom center in
camera coordinates); a result line adds a 16th, the score. A calibration file holds
``P2: <12 numbers>`` (the left colour camera's 3 x 4 projection).

The official CenterNet converts KITTI to COCO-style json first
(``tools/convert_kitti_to_coco.py``); here the files are read as they are, with the same
class mapping (official ``datasets/dataset/kitti.py``): Pedestrian / Car / Cyclist are the
classes; Van and Truck are ignore regions of Car, Person_sitting of Pedestrian, DontCare of
every class; Tram and Misc are skipped.
"""
from __future__ import annotations

import logging
import math
import os.path as osp
import warnings
from collections import Counter
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from mmdet.datasets import BaseDetDataset
from mmengine.logging import print_log

from mmcenternet.errors import DatasetError
from mmcenternet.registry import DATASETS
from .coco import DatasetWarning

__all__ = ['KittiMono3DDataset', 'read_kitti_label', 'read_kitti_calib', 'KITTI_TYPES',
           'LABEL_FIELDS', 'format_kitti_line']

KITTI_TYPES = ('Car', 'Van', 'Truck', 'Pedestrian', 'Person_sitting', 'Cyclist', 'Tram',
               'Misc', 'DontCare')
#: Field names of a label line, in order (16th only in result files).
LABEL_FIELDS = ('type', 'truncated', 'occluded', 'alpha', 'x1', 'y1', 'x2', 'y2', 'h', 'w',
                'l', 'x', 'y', 'z', 'rotation_y', 'score')
#: Official mapping of the other KITTI types: ignore region of a class, or of all (None).
OFFICIAL_IGNORE = {'Van': 'Car', 'Truck': 'Car', 'Person_sitting': 'Pedestrian',
                   'DontCare': None}
ANGLE_TOL = 0.01  # labels round angles to 2 decimals: |alpha| may print as 3.15


def _float(path: str, line_no: int, index: int, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise DatasetError(f'{path}:{line_no}: field {index + 1} ({LABEL_FIELDS[index]}) '
                           f'is {text!r}, expected a finite number.')
    return value


def _check_range(path: str, line_no: int, index: int, value: float, low: float,
                 high: float) -> None:
    if not low <= value <= high:
        raise DatasetError(f'{path}:{line_no}: field {index + 1} ({LABEL_FIELDS[index]}) '
                           f'is {value:g}, expected a value in [{low:g}, {high:g}].')


def parse_label_line(path: str, line_no: int, line: str, with_score: bool) -> dict:
    """One checked KITTI line (``line_no`` is 1-based, for messages).

    Raises:
        DatasetError: Wrong field count, unknown type, a non-number, or (ground truth only:
            results may hold anything a detector gives) a value out of its KITTI range or a
            box with ``x2 < x1`` (DontCare lines hold -1 / -10 / -1000 placeholders).
    """
    fields = line.split()
    expected = (15, 16) if with_score else (15, )
    if len(fields) not in expected:
        raise DatasetError(
            f'{path}:{line_no}: {len(fields)} fields, expected '
            f'{" or ".join(map(str, expected))} ({" ".join(LABEL_FIELDS[:15])}'
            f'{" [score]" if with_score else ""}).')
    name = fields[0]
    if name not in KITTI_TYPES:
        raise DatasetError(f'{path}:{line_no}: field 1 (type) is {name!r}, expected one of '
                           f'{", ".join(KITTI_TYPES)}.')
    values = [_float(path, line_no, i, fields[i]) for i in range(1, len(fields))]
    trunc, occ, alpha = values[0], values[1], values[2]
    if occ != int(occ):
        raise DatasetError(f'{path}:{line_no}: field 3 (occluded) is {fields[2]!r}, expected '
                           'an integer.')
    if name != 'DontCare' and not with_score:
        _check_range(path, line_no, 1, trunc, 0., 1.)
        _check_range(path, line_no, 2, occ, 0, 3)
        _check_range(path, line_no, 3, alpha, -math.pi - ANGLE_TOL, math.pi + ANGLE_TOL)
        _check_range(path, line_no, 14, values[13], -math.pi - ANGLE_TOL,
                     math.pi + ANGLE_TOL)
    x1, y1, x2, y2 = values[3:7]
    if not with_score and (x2 < x1 or y2 < y1):
        raise DatasetError(f'{path}:{line_no}: fields 5-8 (x1 y1 x2 y2) are '
                           f'{" ".join(fields[4:8])}: x2 < x1 or y2 < y1.')
    return dict(name=name, truncated=trunc, occluded=int(occ), alpha=alpha,
                bbox=values[3:7], dims_hwl=values[7:10], location=values[10:13],
                rotation_y=values[13], score=values[14] if len(values) > 14 else None)


def read_kitti_label(path: str, with_score: bool = False) -> List[dict]:
    """All lines of a KITTI label (or result, ``with_score``) file, checked.

    Returns:
        One dict per line: ``name``, ``truncated``, ``occluded``, ``alpha``, ``bbox``
        (x1, y1, x2, y2), ``dims_hwl``, ``location``, ``rotation_y``, ``score``.

    Raises:
        FileNotFoundError / DatasetError: naming the file, line and field.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'KITTI label file {path} does not exist.')
    with open(path) as f:
        return [parse_label_line(path, i + 1, line, with_score)
                for i, line in enumerate(f) if line.strip()]


def read_kitti_calib(path: str) -> np.ndarray:
    """The ``P2`` matrix (3 x 4, float64) of a KITTI calibration file.

    Raises:
        FileNotFoundError / DatasetError: missing file, no ``P2:`` line or not 12 numbers.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'KITTI calibration file {path} does not exist.')
    with open(path) as f:
        for line_no, line in enumerate(f, 1):
            if not line.startswith('P2:'):
                continue
            parts = line.split()[1:]
            try:
                values = np.array([float(v) for v in parts], dtype=np.float64)
            except ValueError:
                values = np.array([])
            if values.size != 12 or not np.isfinite(values).all():
                raise DatasetError(f'{path}:{line_no}: P2 has {parts!r}, expected 12 finite '
                                   'numbers (a 3 x 4 projection matrix).')
            if values[0] <= 0 or values[5] <= 0:
                raise DatasetError(f'{path}:{line_no}: P2 has focal lengths {values[0]:g}, '
                                   f'{values[5]:g}; expected positive ones.')
            return values.reshape(3, 4)
    raise DatasetError(f'{path}: no "P2:" line (a KITTI calibration file lists P0 to P3).')


def format_kitti_line(name: str, alpha: float, bbox: Sequence[float],
                      dims_hwl: Sequence[float], location: Sequence[float], rot_y: float,
                      score: Optional[float] = None, truncated: float = -1.,
                      occluded: int = -1) -> str:
    """A KITTI label / result line (truncation and occlusion -1 in results, as KITTI's
    submission format asks)."""
    nums = [alpha, *bbox, *dims_hwl, *location, rot_y] + ([score] if score is not None else [])
    trunc = f'{truncated:.2f}' if truncated >= 0 else '-1'
    return f'{name} {trunc} {int(occluded)} ' + ' '.join(f'{v:.4f}' for v in nums)


def read_split(path: str) -> List[str]:
    """Sample ids of a split file (one per line, e.g. ``000123``)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'KITTI split file {path} does not exist (check data_root and '
                                'ann_file, e.g. ImageSets/train.txt).')
    ids = []
    with open(path) as f:
        for line_no, line in enumerate(f, 1):
            text = line.strip()
            if not text:
                continue
            if len(text.split()) != 1 or '/' in text:
                raise DatasetError(f'{path}:{line_no}: {text!r} is not a sample id (one id '
                                   'such as 000123 per line).')
            ids.append(text)
    if not ids:
        raise DatasetError(f'{path}: the split file lists no sample.')
    return ids


@DATASETS.register_module()
class KittiMono3DDataset(BaseDetDataset):
    """KITTI for monocular 3D detection, from the KITTI files directly.

    Each entry: ``img_path``, ``img_id`` (the numeric sample id), ``kitti_id``,
    ``label_path``, ``cam2img`` (``P2``, 3 x 4) and ``instances``: ``bbox`` (x1, y1, x2, y2),
    ``bbox_label``, ``ignore_flag`` (0: see below), ``bbox_3d`` (x, y, z, l, h, w, rot_y; the
    bottom center in camera coordinates), ``alpha``, ``truncation``, ``occlusion``,
    ``dontcare`` and ``name``, in file order.

    Objects of ``classes`` are labelled by their index; objects of the types in
    ``ignore_types`` become *ignore regions* (``dontcare=True``) of the named class, or of
    every class (label -1) for ``None``: the official negative category ids. They stay in
    ``gt_instances`` in file order (the target encoder draws them as ignore peaks); mmdet's
    ``ignore_flag`` is not used for them because ``PackDetInputs`` would move them out of
    ``gt_instances``. Other types (official: Tram, Misc) are skipped and counted in the log.

    Every label line is checked (:func:`parse_label_line`): a malformed one is an error
    naming the file, the line and the field. Objects that cannot be trained on are dropped
    with one counted warning: an empty 2D box, non-positive 3D size or depth (not for ignore
    regions, whose 3D fields KITTI fills with placeholders).

    Args:
        ann_file: The split file, relative to ``data_root`` (``ImageSets/train.txt``,
            ``ImageSets_3dop/val.txt``, ...).
        data_prefix: ``img``, ``label`` (leave it out for the unlabelled test split) and
            ``calib`` folders relative to ``data_root``.
        ignore_types: ``{KITTI type: class name or None}`` (official by default).
        img_suffix: Image file extension.
        **kwargs: As mmdet's ``BaseDetDataset`` (``metainfo``, ``pipeline``,
            ``test_mode``, ``filter_cfg`` with ``filter_empty_gt``, ...).
    """

    METAINFO = dict(classes=('Pedestrian', 'Car', 'Cyclist'),
                    palette=[(220, 20, 60), (0, 142, 255), (255, 179, 0)])

    def __init__(self, *args, ignore_types: Optional[Mapping[str, Optional[str]]] = None,
                 img_suffix: str = '.png', **kwargs) -> None:
        self.ignore_types = dict(OFFICIAL_IGNORE if ignore_types is None else ignore_types)
        self.img_suffix = img_suffix
        kwargs.setdefault('data_prefix', dict(img='training/image_2', label='training/label_2',
                                              calib='training/calib'))
        super().__init__(*args, **kwargs)

    def _check_mapping(self, classes: Sequence[str]) -> None:
        for kind, names in (('classes', classes), ('ignore_types', self.ignore_types)):
            unknown = [n for n in names if n not in KITTI_TYPES]
            if unknown:
                raise DatasetError(f'KittiMono3DDataset.{kind}: {unknown} are not KITTI types '
                                   f'({", ".join(KITTI_TYPES)}).')
        for kitti_type, target in self.ignore_types.items():
            if target is not None and target not in classes:
                raise DatasetError(f'KittiMono3DDataset.ignore_types: {kitti_type} -> '
                                   f'{target!r}, which is not one of the classes {classes}.')
            if kitti_type in classes:
                raise DatasetError(f'KittiMono3DDataset.ignore_types: {kitti_type} is also a '
                                   'class.')

    def load_data_list(self) -> List[dict]:
        """Reads the split file, then each sample's calibration and labels."""
        classes = tuple(self.metainfo['classes'])
        self._check_mapping(classes)
        ids = read_split(self.ann_file)
        folders = {k: self.data_prefix.get(k) for k in ('img', 'label', 'calib')}
        if not folders['img'] or not folders['calib']:
            raise DatasetError('KittiMono3DDataset.data_prefix needs "img" and "calib" '
                               f'folders, got {dict(self.data_prefix)}.')
        dropped: Counter = Counter()
        skipped: Counter = Counter()
        data_list = []
        for index, sample in enumerate(ids):
            img_path = osp.join(folders['img'], sample + self.img_suffix)
            if not osp.isfile(img_path):
                raise DatasetError(f'{self.ann_file}: sample {sample!r} (line {index + 1}) has '
                                   f'no image {img_path}.')
            info = dict(img_path=img_path, img_id=int(sample) if sample.isdigit() else index,
                        kitti_id=sample,
                        cam2img=read_kitti_calib(osp.join(folders['calib'], sample + '.txt')),
                        label_path=None, instances=[])
            if folders['label']:
                info['label_path'] = osp.join(folders['label'], sample + '.txt')
                objects = read_kitti_label(info['label_path'])
                info['instances'] = self._instances(objects, classes, dropped, skipped)
            data_list.append(info)
        self._report(dropped, skipped)
        return data_list

    def _instances(self, objects: List[dict], classes: Tuple[str, ...], dropped: Counter,
                   skipped: Counter) -> List[dict]:
        instances = []
        for obj in objects:
            name = obj['name']
            if name in classes:
                label, dontcare = classes.index(name), False
            elif name in self.ignore_types:
                target = self.ignore_types[name]
                label, dontcare = (-1 if target is None else classes.index(target)), True
            else:
                skipped[name] += 1
                continue
            x1, y1, x2, y2 = obj['bbox']
            h, w, length = obj['dims_hwl']
            if x2 <= x1 or y2 <= y1:
                dropped['an empty 2D box'] += 1
                continue
            if not dontcare and min(h, w, length) <= 0:
                dropped['a non-positive 3D size'] += 1
                continue
            if not dontcare and obj['location'][2] <= 0:
                dropped['a depth <= 0 (behind the camera)'] += 1
                continue
            instances.append(dict(
                bbox=[x1, y1, x2, y2], bbox_label=label, ignore_flag=0,
                bbox_3d=[*obj['location'], length, h, w, obj['rotation_y']],
                alpha=obj['alpha'], truncation=obj['truncated'], occlusion=obj['occluded'],
                dontcare=dontcare, name=name))
        return instances

    def _report(self, dropped: Counter, skipped: Counter) -> None:
        if skipped:
            print_log(f'{self.ann_file}: skipped objects of types outside classes and '
                      f'ignore_types: {dict(skipped)}', logger='current', level=logging.INFO)
        if not dropped:
            return
        reasons = ', '.join(f'{n} with {r}' for r, n in sorted(dropped.items()))
        message = f'{self.ann_file}: dropped {sum(dropped.values())} objects ({reasons}).'
        warnings.warn(message, DatasetWarning, stacklevel=2)
        print_log(message, logger='current', level=logging.WARNING)

    def filter_data(self) -> List[dict]:
        """``filter_cfg=dict(filter_empty_gt=True)`` drops training images without an object
        of the classes (off by default: the official KITTI loader keeps every image)."""
        if self.test_mode or not self.filter_cfg or not self.filter_cfg.get(
                'filter_empty_gt', False):
            return self.data_list
        kept = [d for d in self.data_list
                if any(not inst['dontcare'] for inst in d['instances'])]
        if not kept:
            raise DatasetError(f'{self.ann_file}: no image with an object of the classes '
                               f'{self.metainfo["classes"]} is left.')
        return kept
