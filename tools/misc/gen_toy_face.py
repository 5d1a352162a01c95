#!/usr/bin/env python
"""Generate the toy face dataset: cartoon faces with five landmarks, in three formats.

Each image (on the textured backgrounds of ``gen_toy_dataset.py``) holds one to six faces:
a skin-coloured ellipse, slightly rolled and turned, with two eyes, a nose and a mouth
whose corners are the five landmarks at consistent positions, in the order and left/right
convention of RetinaFace's WIDER FACE landmarks (``left_eye``, ``right_eye``, ``nose``,
``left_mouth``, ``right_mouth``; "left" is the image's left, so a mirror swaps 0 <-> 1 and
3 <-> 4). Faces smaller than ``MIN_LANDMARK_SIDE`` pixels, and a few others, carry no
landmarks (as WIDER FACE's small faces in RetinaFace's labels); plain skin ellipses without
features are distractors, and toy shapes may hide part of a face (its hidden landmarks stay
labelled, visibility 1).

Written per split:

- ``annotations/face_landmarks_{train,val}.json``: COCO keypoint format (category
  ``face``; unlabelled landmarks ``0, 0, 0``), read by ``CocoPoseDataset``;
- ``annotations/label_{train,val}.txt``: RetinaFace's ``label.txt`` format (``# <image>``,
  then ``x y w h`` and five ``x y flag`` landmarks (-1 when missing) and a score per face),
  read by ``WiderFaceDataset``;
- ``annotations/wider_gt/``: the val split as WIDER FACE's official ground truth
  (``wider_face_val.mat``, ``wider_{easy,medium,hard}_val.mat``; the split's folder is the
  one event), for ``WiderFaceMetric``. The toy's settings go by face height: easy
  >= ``EASY_SIDE``, medium >= ``MEDIUM_SIDE``, hard all.

Example:
    python tools/misc/gen_toy_face.py --out data/toy_face

Deterministic: each image has its own generator seeded with ``(seed, split, index)``.
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import sys
import time
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import gen_toy_dataset as toy  # noqa: E402

LANDMARK_NAMES = ('left_eye', 'right_eye', 'nose', 'left_mouth', 'right_mouth')
FLIP_PAIRS = ((0, 1), (3, 4))
GENERATOR_VERSION = 1
SPLITS = toy.SPLITS
MIN_IMG_SIZE = 64
WIDTH_RANGE = (7.0, 0.42)  # face width: min pixels, max fraction of the image
MAX_FACES = 6
MAX_DISTRACTORS = 2
MIN_LANDMARK_SIDE = 10.0  # faces narrower than this carry no landmarks
UNLABELLED_PROB = 0.08
EASY_SIDE, MEDIUM_SIDE = 28.0, 14.0  # face heights of the toy's easy / medium settings
MIN_VISIBLE = 0.6
PLACE_TRIES = 30
#: Landmarks in face coordinates (x right, y down, in units of the half axes).
LANDMARK_LAYOUT = np.array([[-0.38, -0.2], [0.38, -0.2], [0.0, 0.15], [-0.3, 0.5],
                            [0.3, 0.5]])


@dataclass
class Face:
    """A drawn face: its landmarks ``(5, 2)`` (continuous pixels) and its mask."""

    landmarks: np.ndarray
    mask: np.ndarray
    labelled: bool


def face_geometry(rng: np.random.Generator, width: float, cx: float, cy: float
                  ) -> tuple[np.ndarray, np.ndarray, float]:
    """Landmarks, the rotation matrix and the half axes of a face of ``width``.

    Returns:
        ``(landmarks (5, 2), axes (2,), roll in degrees)``.
    """
    axes = np.array([width / 2, width / 2 * rng.uniform(1.15, 1.35)])
    turn = rng.uniform(-0.25, 0.25)  # yaw: the features slide sideways
    layout = LANDMARK_LAYOUT + rng.normal(0, 0.03, LANDMARK_LAYOUT.shape)
    layout[:, 0] += turn * np.array([1.0, 1.0, 1.4, 1.0, 1.0])
    roll = rng.uniform(-15, 15)
    rad = np.deg2rad(roll)
    rot = np.array([[np.cos(rad), -np.sin(rad)], [np.sin(rad), np.cos(rad)]])
    points = (layout * axes) @ rot.T + [cx, cy]
    return points, axes, roll


def _pt(p: np.ndarray) -> tuple[int, int]:
    """Continuous pixel coordinates -> cv2 fixed point (pixel centres at +0.5)."""
    return tuple(int(v) for v in toy._fixed(np.asarray(p) - 0.5))


def ellipse_mask(cx: float, cy: float, axes: np.ndarray, roll: float, size: int) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    cv2.ellipse(mask, _pt([cx, cy]), tuple(int(v) for v in toy._fixed(axes)), roll, 0, 360, 1,
                -1, cv2.LINE_8, toy.DRAW_SHIFT)
    return mask.astype(bool)


def paint_features(img: np.ndarray, points: np.ndarray, axes: np.ndarray,
                   colour: np.ndarray) -> None:
    """Eyes (dark dots in light sclerae), a nose and a mouth line, in place."""
    dark = tuple(float(c) for c in colour * 0.3)
    light = tuple(float(c) for c in 255 - (255 - colour) * 0.15)
    shift = toy.DRAW_SHIFT
    eye = max(0.8, 0.14 * axes[0])
    for p in points[:2]:
        cv2.circle(img, _pt(p), int(toy._fixed(eye * 1.6)), light, -1, cv2.LINE_AA, shift)
        cv2.circle(img, _pt(p), int(toy._fixed(eye)), dark, -1, cv2.LINE_AA, shift)
    cv2.circle(img, _pt(points[2]), int(toy._fixed(max(0.7, 0.1 * axes[0]))), dark, -1,
               cv2.LINE_AA, shift)
    thick = max(1, int(round(0.1 * axes[0])))
    middle = (points[3] + points[4]) / 2 + (points[4] - points[3])[::-1] * [-0.15, 0.15]
    cv2.polylines(img, [toy._fixed(np.stack([points[3], middle, points[4]]) - 0.5)], False,
                  dark, thick, cv2.LINE_AA, shift)


def _keeps_visible(mask: np.ndarray, owner: np.ndarray, faces: list[Face]) -> bool:
    for i, face in enumerate(faces):
        if np.count_nonzero((owner == i) & ~mask) < MIN_VISIBLE * face.mask.sum():
            return False
    return True


def place_faces(rng: np.random.Generator, img: np.ndarray, owner: np.ndarray) -> list[Face]:
    """Paints 1..MAX_FACES faces (later ones on top)."""
    size = img.shape[0]
    faces: list[Face] = []
    lo, hi = WIDTH_RANGE[0], max(WIDTH_RANGE[0] + 1, WIDTH_RANGE[1] * size)
    for _ in range(int(rng.integers(1, MAX_FACES + 1))):
        for _ in range(PLACE_TRIES):
            width = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
            cx, cy = rng.uniform(width * 0.6, size - width * 0.6, 2)
            points, axes, roll = face_geometry(rng, width, float(cx), float(cy))
            mask = ellipse_mask(float(cx), float(cy), axes, roll, size)
            if mask.sum() > 12 and _keeps_visible(mask, owner, faces):
                break
        else:
            continue
        colour = toy._pick_colour(rng, img, mask)
        img[mask] = colour
        paint_features(img, points, axes, colour)
        owner[mask] = len(faces)
        labelled = width >= MIN_LANDMARK_SIDE and rng.random() >= UNLABELLED_PROB
        faces.append(Face(points, mask, labelled))
    return faces


def add_distractors(rng: np.random.Generator, img: np.ndarray, owner: np.ndarray,
                    faces: list[Face]) -> None:
    """Featureless skin ellipses and toy shapes, some over faces (owner -2)."""
    size = img.shape[0]
    for _ in range(int(rng.integers(0, MAX_DISTRACTORS + 1))):
        if rng.random() < 0.5:
            width = float(rng.uniform(8, 0.3 * size))
            cx, cy = rng.uniform(width, size - width, 2)
            mask = ellipse_mask(float(cx), float(cy),
                                np.array([width / 2, width * 0.62]), rng.uniform(-15, 15),
                                size)
        else:
            side = float(rng.uniform(0.1, 0.25) * size)
            cx, cy = rng.uniform(side / 2 + 1, size - side / 2 - 1, 2)
            mask = toy.shape_mask(rng, int(rng.integers(len(toy.CLASSES))), float(cx),
                                  float(cy), side, size)
        if not mask.any() or not _keeps_visible(mask, owner, faces):
            continue
        img[mask] = toy._pick_colour(rng, img, mask)
        owner[mask] = -2


def face_annotation(index: int, face: Face, owner: np.ndarray) -> dict[str, Any]:
    """COCO keypoint annotation of face ``index`` (box: the tight box of its ellipse)."""
    ys, xs = np.nonzero(face.mask)
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())
    keypoints: list[float] = []
    for x, y in face.landmarks:
        col, row = int(np.floor(x)), int(np.floor(y))
        inside = 0 <= col < owner.shape[1] and 0 <= row < owner.shape[0]
        if not face.labelled or not inside:
            keypoints += [0, 0, 0]
            continue
        keypoints += [round(float(x), 2), round(float(y), 2),
                      2 if owner[row, col] == index else 1]
    return dict(category_id=1, bbox=[float(x0), float(y0), float(x1 - x0 + 1),
                                     float(y1 - y0 + 1)],
                area=float(face.mask.sum()), iscrowd=0,
                num_keypoints=int(np.count_nonzero(np.array(keypoints[2::3]) > 0)),
                keypoints=keypoints)


def render_image(seed: int, split_id: int, index: int,
                 size: int) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Renders one image and its face annotations (without ids)."""
    rng = np.random.default_rng([seed, split_id, index, 5])
    img = toy.make_background(rng, size)
    owner = np.full((size, size), -1, np.int64)
    faces = place_faces(rng, img, owner)
    add_distractors(rng, img, owner, faces)
    img += rng.normal(0, rng.uniform(2, 6), img.shape).astype(np.float32)
    img = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return img, [face_annotation(i, f, owner) for i, f in enumerate(faces)]


def categories() -> list[dict[str, Any]]:
    return [dict(id=1, name='face', supercategory='face', keypoints=list(LANDMARK_NAMES),
                 skeleton=[])]


# --------------------------------------------------------------------------
# The other formats
# --------------------------------------------------------------------------
def retinaface_label_lines(coco: dict[str, Any]) -> list[str]:
    """RetinaFace ``label.txt`` lines of a COCO dict (flag 0.0 visible, 1.0 hidden; -1 for
    a face without landmarks; the last value is a 0-1 score, 1.0 here)."""
    by_image: dict[int, list[dict]] = {img['id']: [] for img in coco['images']}
    for ann in coco['annotations']:
        by_image[ann['image_id']].append(ann)
    lines = []
    for img in coco['images']:
        lines.append(f'# {img["file_name"]}')
        for ann in by_image[img['id']]:
            values = [int(v) for v in ann['bbox']]
            kps = np.asarray(ann['keypoints'], np.float64).reshape(-1, 3)
            for x, y, v in kps:
                values += [x, y, 0.0 if v == 2 else 1.0] if v > 0 else [-1.0, -1.0, -1.0]
            values.append(1.0 if ann['num_keypoints'] else -1.0)
            lines.append(' '.join(str(v) for v in values))
    return lines


def wider_ground_truth(coco: dict[str, Any], event: str):
    """The split as WIDER FACE ground truth: one event, settings by face height."""
    from mmcenternet.evaluation.functional import WiderGroundTruth
    by_image: dict[int, list[dict]] = {img['id']: [] for img in coco['images']}
    for ann in coco['annotations']:
        by_image[ann['image_id']].append(ann)
    names = [osp.splitext(img['file_name'])[0] for img in coco['images']]
    boxes = [np.array([a['bbox'] for a in by_image[img['id']]], np.float64).reshape(-1, 4)
             for img in coco['images']]
    keep = {setting: [[np.flatnonzero(b[:, 3] >= side) for b in boxes]]
            for setting, side in (('easy', EASY_SIDE), ('medium', MEDIUM_SIDE),
                                  ('hard', 0.0))}
    return WiderGroundTruth([event], [names], [boxes], keep)


def paths(out_dir: str) -> dict[str, str]:
    """Paths of the set: ``toy._paths`` plus ``{split}_label_file`` and ``gt_dir``."""
    out = toy._paths(out_dir, 'face_landmarks')
    for split in SPLITS:
        out[f'{split}_label_file'] = osp.join(out['ann_dir'], f'label_{split}.txt')
    out['gt_dir'] = osp.join(out['ann_dir'], 'wider_gt')
    return out


def build_split(split: str, num: int, img_dir: str, params: dict[str, Any],
                out: dict[str, str]) -> dict[str, Any]:
    """Renders a split and writes its ``label.txt`` (and, for val, the ``.mat`` files)
    before the COCO file that marks the split complete."""
    coco = toy.build_split(split, num, img_dir, params, render_image, categories(), 'face')
    with open(out[f'{split}_label_file'], 'w') as f:
        f.write('\n'.join(retinaface_label_lines(coco)) + '\n')
    if split == 'val':
        from mmcenternet.evaluation.functional import write_wider_ground_truth
        os.makedirs(out['gt_dir'], exist_ok=True)
        write_wider_ground_truth(out['gt_dir'], wider_ground_truth(coco, osp.basename(img_dir)))
    return coco


def generate(out_dir: str = 'data/toy_face', num_train: int = 800, num_val: int = 100,
             img_size: int = 128, seed: int = 0, force: bool = False) -> dict[str, str]:
    """Generates the toy face dataset unless an identical one exists.

    Returns:
        :func:`paths` of the set.
    """
    if img_size < MIN_IMG_SIZE:
        raise ValueError(f'img_size must be >= {MIN_IMG_SIZE}, got {img_size}')
    if num_train < 0 or num_val < 0:
        raise ValueError('num_train and num_val must be >= 0')
    params = dict(num_train=num_train, num_val=num_val, img_size=img_size, seed=seed,
                  generator_version=GENERATOR_VERSION)
    out = paths(out_dir)

    def summary(coco: dict[str, Any]) -> str:
        labelled = sum(a['num_keypoints'] > 0 for a in coco['annotations'])
        return (f'{len(coco["images"])} images, {len(coco["annotations"])} faces '
                f'({labelled} with landmarks)')

    toy.write_splits(out, params, force,
                     lambda split, num, img_dir: build_split(split, num, img_dir, params, out),
                     summary)
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return toy.base_parser('Generate the toy face dataset (COCO, RetinaFace label.txt and '
                           'WIDER FACE .mat ground truth).', 'data/toy_face').parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    start = time.perf_counter()
    generate(args.out, args.num_train, args.num_val, args.img_size, args.seed,
             force=args.force)
    print(f'Done in {time.perf_counter() - start:.1f}s.')


if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        main()
