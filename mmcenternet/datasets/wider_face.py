"""WIDER FACE annotations: the official box files and RetinaFace's ``label.txt`` (landmarks).

Two text formats describe WIDER FACE:

- **official** (``wider_face_split/wider_face_{train,val}_bbx_gt.txt``): per image a line
  with its path (``0--Parade/0_Parade_marchingband_1_849.jpg``), a line with the face
  count ``n`` and ``max(n, 1)`` lines of ten integers ``x y w h blur expression
  illumination invalid occlusion pose`` (an image without faces has ``0`` and one line of
  zeros);
- **retinaface** (``retinaface_gt_v1.1``: ``train/label.txt``, ``val/label.txt``): per
  image ``# <path>``, then one line per face: ``x y w h`` alone (the val file) or followed
  by five landmarks ``x y flag`` (``flag`` 0.0 visible, 1.0 occluded; all three ``-1`` when
  the face has no landmarks) and a score, 20 numbers.

:class:`WiderFaceDataset` reads either, checks every line and gives mmdet's ``data_list``
with each face's landmarks as ``keypoints (5, 2)`` + ``keypoints_visible (5,)`` (COCO
visibility: 2 visible, 1 occluded, 0 none), so the keypoint pipeline (``LoadPoseAnnotations``,
``CenterAffine``'s flip with ``flip_indices``, ``PackCenterNetInputs``) carries them.
"""
from __future__ import annotations

import math
import os.path as osp
from collections import Counter
from typing import Dict, List, Optional, Tuple

import numpy as np
from mmdet.datasets import BaseDetDataset
from mmengine.fileio import get_local_path

from mmcenternet.errors import DatasetError
from mmcenternet.registry import DATASETS
from mmcenternet.utils.messages import warn_and_log
from .coco import DatasetWarning
from .coco_pose import check_keypoint_metainfo

__all__ = ['WiderFaceDataset', 'parse_official', 'parse_retinaface', 'ANN_FORMATS']

ANN_FORMATS = ('official', 'retinaface', 'auto')
NUM_LANDMARKS = 5
OFFICIAL_FIELDS = ('blur', 'expression', 'illumination', 'invalid', 'occlusion', 'pose')
#: What one face line of each format holds.
RETINAFACE_LENGTHS = (4, 4 + 3 * NUM_LANDMARKS + 1)


class _Lines:
    """The non-empty lines of a text file with their 1-based numbers, for messages."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.rows = [(i + 1, line.strip()) for i, line in enumerate(text.splitlines())
                     if line.strip()]
        self.pos = 0

    def next(self, what: str) -> Tuple[int, str]:
        if self.pos >= len(self.rows):
            last = self.rows[-1][0] if self.rows else 0
            raise DatasetError(f'{self.path}: the file ends after line {last}, expected '
                               f'{what}')
        row = self.rows[self.pos]
        self.pos += 1
        return row

    def done(self) -> bool:
        return self.pos >= len(self.rows)

    def fail(self, number: int, message: str) -> None:
        raise DatasetError(f'{self.path} line {number}: {message}')


def _numbers(lines: _Lines, number: int, line: str, counts: Tuple[int, ...],
             what: str) -> List[float]:
    fields = line.split()
    if len(fields) not in counts:
        lines.fail(number, f'{what} needs {" or ".join(map(str, counts))} numbers, got '
                           f'{len(fields)}: {line[:80]!r}')
    try:
        values = [float(v) for v in fields]
    except ValueError:
        lines.fail(number, f'{what} has a value that is not a number: {line[:80]!r}')
    if not all(math.isfinite(v) for v in values):
        lines.fail(number, f'{what} has a value that is not finite: {line[:80]!r}')
    return values


def _check_image_path(lines: _Lines, number: int, path: str, seen: Dict[str, int]) -> None:
    if path in seen:
        lines.fail(number, f'image {path!r} is listed again (first at line {seen[path]})')
    seen[path] = number


def parse_official(path: str, text: str) -> List[Tuple[str, List[dict]]]:
    """Faces of the official ``wider_face_*_bbx_gt.txt`` format.

    Returns:
        ``[(image path, [face])]``; a face is ``{'box': [x, y, w, h], 'line': n,
        <OFFICIAL_FIELDS>: int}``.

    Raises:
        DatasetError: Naming the file, the line and what is wrong.
    """
    lines, seen, images = _Lines(path, text), {}, []
    while not lines.done():
        number, image = lines.next('an image path')
        if image.startswith('#'):
            lines.fail(number, 'a "# <image>" line as in RetinaFace\'s label.txt: use '
                               'ann_format="retinaface" (or "auto")')
        if not image.lower().endswith(('.jpg', '.jpeg', '.png', '.bmp')):
            lines.fail(number, f'expected an image path (<event>/<name>.jpg), got {image[:80]!r} '
                               '(ann_format="official" reads wider_face_*_bbx_gt.txt)')
        _check_image_path(lines, number, image, seen)
        number, count = lines.next(f'the face count of {image}')
        if not count.isdigit():
            lines.fail(number, f'expected the face count of {image}, got {count[:80]!r}')
        faces = []
        for _ in range(max(int(count), 1)):
            number, line = lines.next(f'a face line of {image}')
            values = _numbers(lines, number, line, (10, ), f'face line of {image}')
            if int(count):
                face = dict(box=values[:4], line=number)
                face.update({k: int(v) for k, v in zip(OFFICIAL_FIELDS, values[4:])})
                faces.append(face)
        images.append((image, faces))
    return images


def parse_retinaface(path: str, text: str) -> List[Tuple[str, List[dict]]]:
    """Faces of RetinaFace's ``label.txt`` format.

    Returns:
        ``[(image path, [face])]``; a face is ``{'box': [x, y, w, h], 'line': n,
        'landmarks': (5, 2) or None, 'visible': (5,) or None}``.

    Raises:
        DatasetError: Naming the file, the line and what is wrong (a face line before the
            first ``#`` line, a line of another length, a landmark flag that is not 0 or 1,
            a landmark given in part).
    """
    lines, seen, images = _Lines(path, text), {}, []
    while not lines.done():
        number, line = lines.next('a line')
        if line.startswith('#'):
            image = line[1:].strip()
            if not image:
                lines.fail(number, 'a "#" line without an image path')
            _check_image_path(lines, number, image, seen)
            images.append((image, []))
            continue
        if not images:
            lines.fail(number, 'a face line before the first "# <image path>" line '
                               '(ann_format="retinaface" reads RetinaFace\'s label.txt)')
        values = _numbers(lines, number, line, RETINAFACE_LENGTHS,
                          f'face line of {images[-1][0]}')
        face = dict(box=values[:4], line=number, landmarks=None, visible=None)
        if len(values) > 4:
            marks = np.asarray(values[4:4 + 3 * NUM_LANDMARKS]).reshape(NUM_LANDMARKS, 3)
            missing = (marks == -1).all(axis=1)
            flags = marks[~missing, 2]
            if not np.isin(flags, (0.0, 1.0)).all():
                lines.fail(number, f'landmark flags must be 0 (visible) or 1 (occluded), or '
                                   f'x y flag all -1 when missing; got {marks[:, 2].tolist()}')
            visible = np.where(missing, 0.0, np.where(marks[:, 2] == 0, 2.0, 1.0))
            face.update(landmarks=np.where(missing[:, None], 0.0, marks[:, :2]),
                        visible=visible)
        images[-1][1].append(face)
    return images


@DATASETS.register_module()
class WiderFaceDataset(BaseDetDataset):
    """WIDER FACE (official box files or RetinaFace's ``label.txt``), checked on load.

    Every face becomes an instance with ``bbox`` (xyxy), ``bbox_label`` 0,
    ``ignore_flag``, ``keypoints (5, 2)`` and ``keypoints_visible (5,)`` (zeros when the file
    gives no landmarks); official files add the six attribute fields. Each image gets
    ``flip_indices`` from the metainfo (left / right eyes and mouth corners swap in a
    mirror).

    Checks, each a :class:`DatasetError` naming the file and the line: an image path or
    face count where another line was expected, a face line of the wrong length or with a
    value that is not a number, a landmark flag other than 0 / 1 (or ``-1`` throughout for
    a missing landmark), an image listed twice. Faces with zero or negative width or height
    (the official files have a few, all ``invalid``) are dropped with one counted warning.

    Args:
        ann_format: ``'official'``, ``'retinaface'`` or ``'auto'`` (a file whose first line
            starts with ``#`` is RetinaFace's).
        invalid_faces: What to do with the official files' ``invalid`` faces:
            ``'ignore'`` (``ignore_flag=1``: no training target, as RetinaFace's labels leave
            them out), ``'keep'`` (ordinary faces) or ``'drop'``.
        **kwargs: mmdet ``BaseDetDataset`` arguments (``data_root``, ``ann_file``,
            ``data_prefix=dict(img=...)``, ``filter_cfg=dict(filter_empty_gt=True)``, ...).
    """

    METAINFO = dict(
        classes=('face', ),
        keypoint_names=('left_eye', 'right_eye', 'nose', 'left_mouth', 'right_mouth'),
        flip_indices=[1, 0, 2, 4, 3],
        skeleton=[],
        sigmas=[0.025, 0.025, 0.026, 0.025, 0.025],
        keypoint_colors=[[0, 128, 255], [255, 128, 0], [0, 255, 0], [0, 128, 255],
                         [255, 128, 0]])
    INVALID_MODES = ('ignore', 'keep', 'drop')

    def __init__(self, *args, ann_format: str = 'auto', invalid_faces: str = 'ignore',
                 **kwargs) -> None:
        if ann_format not in ANN_FORMATS:
            raise DatasetError(f'WiderFaceDataset.ann_format must be one of {ANN_FORMATS}, '
                               f'got {ann_format!r}')
        if invalid_faces not in self.INVALID_MODES:
            raise DatasetError(f'WiderFaceDataset.invalid_faces must be one of '
                               f'{self.INVALID_MODES}, got {invalid_faces!r}')
        self.ann_format = ann_format
        self.invalid_faces = invalid_faces
        super().__init__(*args, **kwargs)

    def _read(self) -> str:
        if not self.ann_file:
            raise DatasetError('WiderFaceDataset needs ann_file (wider_face_*_bbx_gt.txt or '
                               'label.txt)')
        with get_local_path(self.ann_file, backend_args=self.backend_args) as local:
            if not osp.isfile(local):
                raise FileNotFoundError(f'annotation file {self.ann_file} does not exist '
                                        '(check data_root and ann_file in the dataset config).')
            with open(local, encoding='utf-8', errors='strict') as f:
                try:
                    return f.read()
                except UnicodeDecodeError as exc:
                    raise DatasetError(f'{self.ann_file}: not UTF-8 text (byte '
                                       f'{exc.start})') from exc

    def load_data_list(self) -> List[dict]:
        """Parses and checks the file; one entry per image."""
        num_landmarks = check_keypoint_metainfo(self.metainfo)
        if num_landmarks != NUM_LANDMARKS:
            raise DatasetError(f'{self.ann_file}: WIDER FACE has {NUM_LANDMARKS} landmarks, '
                               f'metainfo.keypoint_names has {num_landmarks}')
        text = self._read()
        fmt = self.ann_format
        if fmt == 'auto':
            first = next((line.strip() for line in text.splitlines() if line.strip()), '')
            fmt = 'retinaface' if first.startswith('#') else 'official'
        images = (parse_retinaface if fmt == 'retinaface' else parse_official)(
            self.ann_file, text)
        counts: Counter = Counter()
        flip = [int(i) for i in self.metainfo['flip_indices']]
        data_list = []
        for index, (image, faces) in enumerate(images):
            instances = [inst for inst in (self._instance(face, counts) for face in faces)
                         if inst is not None]
            data_list.append(dict(img_path=osp.join(self.data_prefix.get('img', ''), image),
                                  img_id=index, instances=instances, flip_indices=flip))
        self._report(counts)
        return data_list

    def _instance(self, face: dict, counts: Counter) -> Optional[dict]:
        x, y, w, h = face['box']
        if w <= 0 or h <= 0:
            counts['zero or negative size'] += 1
            return None
        invalid = bool(face.get('invalid', 0))
        if invalid and self.invalid_faces == 'drop':
            counts['invalid (invalid_faces="drop")'] += 1
            return None
        landmarks = face.get('landmarks')
        inst = dict(bbox=[x, y, x + w, y + h], bbox_label=0,
                    ignore_flag=int(invalid and self.invalid_faces == 'ignore'),
                    keypoints=(np.zeros((NUM_LANDMARKS, 2), np.float32) if landmarks is None
                               else np.asarray(landmarks, np.float32)),
                    keypoints_visible=(np.zeros(NUM_LANDMARKS, np.float32)
                                       if landmarks is None
                                       else np.asarray(face['visible'], np.float32)))
        inst.update({k: face[k] for k in OFFICIAL_FIELDS if k in face})
        return inst

    def _report(self, counts: Counter) -> None:
        if counts:
            reasons = ', '.join(f'{n} {r}' for r, n in sorted(counts.items()))
            warn_and_log(f'{self.ann_file}: dropped {sum(counts.values())} faces ({reasons}).',
                         DatasetWarning, stacklevel=3)

    def filter_data(self) -> List[dict]:
        """Drops images without a usable face for training (``filter_empty_gt``)."""
        if self.test_mode or not (self.filter_cfg or {}).get('filter_empty_gt', False):
            return self.data_list
        kept = [info for info in self.data_list
                if any(not inst['ignore_flag'] for inst in info['instances'])]
        if not kept:
            raise DatasetError(f'{self.ann_file}: no image with a usable face left '
                               f'({len(self.data_list)} in the file)')
        return kept
