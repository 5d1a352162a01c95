"""COCO keypoints (``person_keypoints_*.json`` or any keypoint set) with strict checks.

The keypoint set is data, not code: ``metainfo`` in the config names the joints, their
left/right ``flip_indices``, the ``skeleton``, the OKS ``sigmas`` and the colours, so
another set (animals, hands, faces, several categories) is a config change. Keypoint
categories of the file must have as many joints as ``metainfo.keypoint_names``.
"""
from __future__ import annotations

import math
import os.path as osp
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.fileio import get_local_path

from mmcenternet.errors import DatasetError
from mmcenternet.registry import DATASETS
from .coco import CenterNetCocoDataset, read_coco_json

__all__ = ['CocoPoseDataset', 'check_keypoint_metainfo', 'flip_pairs_to_indices']

VISIBILITY = (0, 1, 2)


def flip_pairs_to_indices(pairs: Sequence[Sequence[int]], num_keypoints: int) -> List[int]:
    """Official ``flip_idx`` pairs (``[[1, 2], [3, 4], ...]``) -> ``flip_indices``."""
    perm = list(range(num_keypoints))
    for a, b in pairs:
        perm[a], perm[b] = b, a
    return perm


def _fail(option: str, message: str) -> None:
    raise DatasetError(f'dataset metainfo.{option}: {message}')


def check_keypoint_metainfo(meta: dict) -> int:
    """Checks the keypoint entries of a dataset metainfo; returns the number of joints.

    Required: ``keypoint_names`` (K names), ``flip_indices`` (the joint each joint becomes
    in a mirror image: a permutation of ``range(K)`` that is its own inverse), ``sigmas``
    (K positive OKS constants). Optional: ``skeleton`` (pairs of 0-based joint indices),
    ``keypoint_colors`` (K RGB), ``skeleton_colors`` (one RGB per limb),
    ``keypoint_classes`` (class names whose objects carry keypoints; default all).

    Raises:
        DatasetError: Naming the ``metainfo`` key and what is wrong.
    """
    for key in ('keypoint_names', 'flip_indices', 'sigmas'):
        if key not in meta:
            _fail(key, 'missing; a keypoint dataset needs keypoint_names, flip_indices and '
                  'sigmas (see configs/_base_/datasets/coco_keypoints.py)')
    num = len(meta['keypoint_names'])
    if num < 1:
        _fail('keypoint_names', 'is empty')
    perm = [int(i) for i in meta['flip_indices']]
    if sorted(perm) != list(range(num)) or any(perm[perm[i]] != i for i in range(num)):
        _fail('flip_indices', f'{perm} is not a self-inverse permutation of range({num}) '
              '(entry k is the joint that joint k becomes in a mirror image)')
    sigmas = list(meta['sigmas'])
    if len(sigmas) != num or not all(isinstance(s, (int, float)) and s > 0 for s in sigmas):
        _fail('sigmas', f'needs {num} positive numbers (one per keypoint), got {sigmas}')
    for index, limb in enumerate(meta.get('skeleton') or []):
        if len(limb) != 2 or not all(isinstance(j, int) and 0 <= j < num for j in limb):
            _fail('skeleton', f'limb #{index} {list(limb)} is not a pair of 0-based joint '
                  f'indices below {num}')
    for key, count in (('keypoint_colors', num),
                       ('skeleton_colors', len(meta.get('skeleton') or []))):
        colors = meta.get(key)
        if colors is not None and (len(colors) != count or
                                   not all(len(c) == 3 for c in colors)):
            _fail(key, f'needs {count} RGB triples, got {len(colors)} entries')
    classes = list(meta.get('classes') or [])
    unknown = [c for c in meta.get('keypoint_classes') or [] if c not in classes]
    if unknown:
        _fail('keypoint_classes', f'{unknown} are not in metainfo.classes {classes}')
    return num


@DATASETS.register_module()
class CocoPoseDataset(CenterNetCocoDataset):
    """COCO-format keypoints, loaded and checked like :class:`CenterNetCocoDataset`.

    Each instance gains ``keypoints (K, 2)`` and ``keypoints_visible (K,)`` (COCO ``v``:
    0 not labelled, 1 labelled but hidden, 2 visible); each image ``flip_indices`` (from
    the metainfo, for ``CenterAffine`` and the flip test). As the official ``coco_hp``
    dataset, crowd regions (the detection dataset's ``crowd='positive'``) and people without
    labelled joints stay ordinary objects (their box is a heatmap peak; the encoder gives
    them no size / joint loss), so
    ``filter_empty_gt`` keeps every image with an annotation, like the official training
    list. Objects of classes outside ``metainfo.keypoint_classes`` (a model that detects
    every class and the pose of people) get unlabelled joints.

    Checks, each a :class:`DatasetError` naming the file and the entry: a keypoint
    annotation without ``keypoints`` (or not ``3 K`` numbers, or a visibility outside
    0/1/2), a keypoint category whose ``keypoints`` names are not ``K`` long, an invalid
    keypoint metainfo (see :func:`check_keypoint_metainfo`).

    Args:
        keypoint_ann_file: Optional second file whose annotations give the ``keypoints``
            by annotation id (e.g. ``person_keypoints_train2017.json`` next to
            ``instances_train2017.json``, whose ids are the same), for the all-classes
            model.
        **kwargs: As :class:`CenterNetCocoDataset`; ``metainfo`` must hold the keypoint
            entries.
    """

    METAINFO = dict(classes=('person', ))

    def __init__(self, *args, keypoint_ann_file: Optional[str] = None, **kwargs) -> None:
        self.keypoint_ann_file = keypoint_ann_file
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Checks the keypoint metainfo, then loads as the detection dataset does."""
        self.num_keypoints = check_keypoint_metainfo(self.metainfo)
        self._keypoints_by_id = self._read_keypoint_file()
        return super().load_data_list()

    def _read_keypoint_file(self) -> Optional[Dict[Any, Any]]:
        """``{annotation id: keypoints}`` of ``keypoint_ann_file`` (None without one)."""
        if not self.keypoint_ann_file:
            return None
        path = self.keypoint_ann_file
        if self.data_root and not osp.isabs(path) and not path.startswith(self.data_root):
            path = osp.join(self.data_root, path)
        with get_local_path(path, backend_args=self.backend_args) as local_path:
            data = read_coco_json(local_path)
        anns = data.get('annotations') if isinstance(data, dict) else None
        if not isinstance(anns, list):
            raise DatasetError(f'{path} (keypoint_ann_file): no "annotations" list.')
        return {ann['id']: ann['keypoints'] for ann in anns
                if isinstance(ann, dict) and 'id' in ann and 'keypoints' in ann}

    def _select_categories(self, categories: List[dict]) -> None:
        """As the base; also the keypoint classes and their joint count."""
        super()._select_categories(categories)
        classes = list(self.metainfo['classes'])
        kp_classes = set(self.metainfo.get('keypoint_classes') or classes)
        by_name = {cat['name']: cat for cat in categories}
        self.keypoint_cat_ids = {by_name[c]['id'] for c in classes if c in kp_classes}
        for name in kp_classes:
            names = by_name[name].get('keypoints')
            if names is not None and len(names) != self.num_keypoints:
                raise DatasetError(
                    f'{self.ann_file}: category {name!r} has {len(names)} keypoints but '
                    f'metainfo.keypoint_names has {self.num_keypoints}; set the metainfo '
                    'keypoint entries for this file\'s keypoint set.')

    def _keypoints_of(self, ann: dict, img: dict) -> Optional[np.ndarray]:
        """The ``(K, 3)`` keypoints of a keypoint-class annotation, checked."""
        where = f'annotation id {ann.get("id")!r} (image id {img["id"]!r})'
        values = ann.get('keypoints')
        if values is None and self._keypoints_by_id is not None:
            values = self._keypoints_by_id.get(ann.get('id'))
            where += f' via keypoint_ann_file {self.keypoint_ann_file}'
        if values is None:
            raise DatasetError(
                f'{self.ann_file}: {where} of a keypoint class has no "keypoints" (give '
                'them in the file or with keypoint_ann_file, or leave the class out of '
                'metainfo.keypoint_classes).')
        k = self.num_keypoints
        if (not isinstance(values, (list, tuple)) or len(values) != 3 * k or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in values)):
            raise DatasetError(
                f'{self.ann_file}: {where} has invalid "keypoints" (expected {3 * k} '
                f'numbers x, y, v for the {k} keypoints of metainfo.keypoint_names).')
        array = np.asarray(values, dtype=np.float32).reshape(k, 3)
        bad = sorted(set(array[:, 2].tolist()) - set(VISIBILITY))
        if bad:
            raise DatasetError(f'{self.ann_file}: {where} has keypoint visibility {bad} '
                               '(COCO v must be 0, 1 or 2).')
        return array

    def _parse_image(self, img: dict, anns: List[dict], counts: Counter) -> dict:
        """As the base, plus each instance's keypoints and the image's ``flip_indices``."""
        keypoints = {}
        for i, ann in enumerate(anns):
            if ann['category_id'] in self.keypoint_cat_ids and not ann.get('ignore', False):
                keypoints[i] = self._keypoints_of(ann, img)
        # tag each annotation to find its instance (the base drops some)
        tagged = [dict(ann, keypoints=i) for i, ann in enumerate(anns)]
        info = super()._parse_image(img, tagged, counts)
        empty = np.zeros((self.num_keypoints, 3), np.float32)
        for inst in info['instances']:
            array = keypoints.get(inst.pop('keypoints'), empty)
            inst['keypoints'] = array[:, :2].copy()
            inst['keypoints_visible'] = array[:, 2].copy()
        info['flip_indices'] = [int(i) for i in self.metainfo['flip_indices']]
        return info
