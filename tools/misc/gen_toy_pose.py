#!/usr/bin/env python
"""Generate the toy pose dataset: articulated stick figures with the 17 COCO joints.

Each image (drawn on the textured backgrounds of ``gen_toy_dataset.py``) holds one to
three front-facing figures: a head with eyes, nose and ears, a torso, arms with hands and
legs with feet, with random joint angles, a random lean and a random size, some partly out
of the frame.
The figures carry the 17 COCO person keypoints with COCO's left/right convention (the
person's left is on the image's right) and COCO's visibility flags: 2 visible, 1 labelled
but hidden (under a later figure or an occluding shape), 0 unlabelled (outside the image,
or now and then a hidden joint left unlabelled, as COCO annotators do). The annotation file
is COCO keypoint format (``person`` category with ``keypoints`` names and ``skeleton``;
``bbox`` is the tight box of the whole figure, ``area`` its silhouette, as COCO's
segmentation area). With ``--with-shapes`` the occluding shapes are annotated objects of
the four toy classes too (a detection + pose split for the all-classes model).

Example:
    python tools/misc/gen_toy_pose.py --out data/toy_pose

Deterministic: each image has its own generator seeded with ``(seed, split, index)``.
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys
import time
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import gen_toy_dataset as toy  # noqa: E402

KEYPOINT_NAMES = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder',
                  'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
                  'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle',
                  'right_ankle')
#: COCO's left/right pairs (0-based), as the official ``flip_idx``.
FLIP_PAIRS = ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16))
#: COCO's person skeleton (1-based, as in person_keypoints_*.json).
SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7],
            [6, 8], [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6],
            [5, 7]]
GENERATOR_VERSION = 2
SPLITS = toy.SPLITS
MIN_IMG_SIZE = 64
HEIGHT_RANGE = (0.5, 0.95)  # figure height (head top to ankles) / image size
FIGURE_WEIGHTS = (0.6, 0.3, 0.1)  # P(1, 2, 3 figures)
MIN_VISIBLE = 0.5  # a figure keeps at least this fraction of its silhouette
MAX_OCCLUDERS = 2
UNLABELLED_HIDDEN = 0.1  # chance that a hidden joint is left unlabelled
PLACE_TRIES = 30


@dataclass
class Figure:
    """One drawn figure: joints ``(17, 2)`` (continuous pixel coordinates) and its mask."""

    joints: np.ndarray
    mask: np.ndarray


# --------------------------------------------------------------------------
# Figure geometry
# --------------------------------------------------------------------------
def _unit(deg: np.ndarray) -> np.ndarray:
    """Unit vectors at angles measured from straight down, towards +x (image right)."""
    rad = np.deg2rad(deg)
    return np.stack([np.sin(rad), np.cos(rad)], axis=-1)


def figure_joints(rng: np.random.Generator, height: float, cx: float,
                  cy: float) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Joint positions of a front-facing figure of ``height`` centred at ``(cx, cy)``.

    Returns:
        ``(joints (17, 2), head centre (2,), head radius, limb thickness)``.
    """
    u = height
    head_r = 0.08 * u
    sides = np.array([1.0, -1.0])  # person's left (+x), right (-x)
    neck = np.array([0.0, -0.5 * u + 2 * head_r + 0.03 * u])
    pelvis = neck + [0.0, 0.30 * u]
    shoulders = neck + np.stack([sides * 0.13 * u, np.zeros(2)], 1)
    hips = pelvis + np.stack([sides * 0.085 * u, np.zeros(2)], 1)
    # arms: the upper arm swings outwards, the forearm bends either way (a hand may reach
    # over the head but not far across the body)
    upper = rng.uniform(-15, 150, 2)
    fore = np.clip(upper + rng.uniform(-60, 90, 2), -40, 200)
    elbows = shoulders + _unit(sides * upper) * 0.16 * u
    wrists = elbows + _unit(sides * fore) * 0.15 * u
    thigh = rng.uniform(-8, 40, 2)
    shin = thigh + rng.uniform(-45, 25, 2)
    knees = hips + _unit(sides * thigh) * 0.22 * u
    ankles = knees + _unit(sides * shin) * 0.21 * u
    head = neck - [0.0, 0.03 * u + head_r]
    turn = rng.uniform(-0.25, 0.25) * head_r
    nose = head + [turn, 0.2 * head_r]
    eyes = head + np.stack([sides * 0.4 * head_r + turn, np.full(2, -0.2 * head_r)], 1)
    ears = head + np.stack([sides * 1.0 * head_r + 0.3 * turn, np.zeros(2)], 1)
    # COCO order: nose, then (left, right) eyes, ears, shoulders, elbows, wrists, hips,
    # knees, ankles; the head centre rides along as an 18th point
    points = np.concatenate([nose[None], eyes, ears, shoulders, elbows, wrists, hips, knees,
                             ankles, head[None]])
    lean = np.deg2rad(rng.uniform(-12, 12))
    rot = np.array([[np.cos(lean), -np.sin(lean)], [np.sin(lean), np.cos(lean)]])
    points = (points - pelvis) @ rot.T + pelvis + [cx, cy]
    return points[:17], points[17], head_r, max(2.0, 0.08 * u)


def _pt(p: np.ndarray) -> tuple[int, int]:
    """Continuous pixel coordinates -> cv2 fixed point (pixel centres at +0.5)."""
    return tuple(int(v) for v in toy._fixed(np.asarray(p) - 0.5))


def figure_mask(joints: np.ndarray, head: np.ndarray, head_r: float, thick: float,
                size: int) -> np.ndarray:
    """Silhouette of a figure: head, torso, neck and limbs."""
    mask = np.zeros((size, size), np.uint8)
    shift = toy.DRAW_SHIFT
    cv2.circle(mask, _pt(head), int(toy._fixed(head_r)), 1, -1, cv2.LINE_8, shift)
    torso = joints[[5, 6, 12, 11]] - 0.5
    cv2.fillPoly(mask, [toy._fixed(torso)], 1, cv2.LINE_8, shift)
    neck = (joints[5] + joints[6]) / 2
    width = max(1, int(round(thick)))
    cv2.line(mask, _pt(neck), _pt(head), 1, width, cv2.LINE_8, shift)
    for a, b in ((5, 7), (7, 9), (6, 8), (8, 10), (11, 13), (13, 15), (12, 14), (14, 16)):
        cv2.line(mask, _pt(joints[a]), _pt(joints[b]), 1, width, cv2.LINE_8, shift)
    return mask.astype(bool)


def paint_figure(img: np.ndarray, joints: np.ndarray, head_r: float, thick: float,
                 mask: np.ndarray, colour: np.ndarray) -> None:
    """Fills the silhouette, then darker joint markers and the face details, in place."""
    img[mask] = colour
    shade = tuple(float(c) for c in (colour * 0.55))
    light = tuple(float(c) for c in (255 - (255 - colour) * 0.35))
    shift = toy.DRAW_SHIFT
    for j in (5, 6, 7, 8, 11, 12, 13, 14):  # shoulders, elbows, hips, knees
        cv2.circle(img, _pt(joints[j]), int(toy._fixed(0.45 * thick)), shade, -1,
                   cv2.LINE_AA, shift)
    for j in (9, 10):  # hands: light discs
        cv2.circle(img, _pt(joints[j]), int(toy._fixed(0.6 * thick)), light, -1,
                   cv2.LINE_AA, shift)
    for j, side in ((15, 1.0), (16, -1.0)):  # feet: dark strokes pointing outwards
        toe = joints[j] + np.array([side * 0.9 * thick, 0.2 * thick])
        cv2.line(img, _pt(joints[j]), _pt(toe), shade, max(1, int(round(0.5 * thick))),
                 cv2.LINE_AA, shift)
    dot = int(toy._fixed(max(0.8, 0.16 * head_r)))
    for j in (1, 2):
        cv2.circle(img, _pt(joints[j]), dot, light, -1, cv2.LINE_AA, shift)
    cv2.circle(img, _pt(joints[0]), dot, shade, -1, cv2.LINE_AA, shift)
    for j in (3, 4):
        cv2.circle(img, _pt(joints[j]), int(toy._fixed(0.28 * head_r)), shade, -1,
                   cv2.LINE_AA, shift)


# --------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------
def place_figures(rng: np.random.Generator, img: np.ndarray, owner: np.ndarray
                  ) -> list[Figure]:
    """Paints 1-3 figures (later ones on top), each keeping ``MIN_VISIBLE`` of itself."""
    size = img.shape[0]
    count = int(rng.choice(len(FIGURE_WEIGHTS), p=FIGURE_WEIGHTS)) + 1
    figures: list[Figure] = []
    for _ in range(count):
        for _ in range(PLACE_TRIES):
            height = rng.uniform(*HEIGHT_RANGE) * size
            inside = rng.random() < 0.85  # else partly out of the frame
            cx = _uniform_centre(rng, size, 0.2 * height if inside else -0.1 * height)
            cy = _uniform_centre(rng, size, 0.45 * height if inside else 0.2 * height)
            joints, head, head_r, thick = figure_joints(rng, height, cx, cy)
            mask = figure_mask(joints, head, head_r, thick, size)
            if mask.sum() > 20 and _keeps_visible(mask, owner, figures):
                break
        else:
            continue
        colour = toy._pick_colour(rng, img, mask)
        paint_figure(img, joints, head_r, thick, mask, colour)
        owner[mask] = len(figures)
        figures.append(Figure(joints, mask))
    return figures


def _uniform_centre(rng: np.random.Generator, size: int, margin: float) -> float:
    """A coordinate at least ``margin`` inside the image (the middle if none fits)."""
    if size - 2 * margin <= 0:
        return size / 2
    return float(rng.uniform(margin, size - margin))


def _keeps_visible(mask: np.ndarray, owner: np.ndarray, figures: list[Figure]) -> bool:
    """Whether every earlier figure keeps ``MIN_VISIBLE`` of its silhouette."""
    for i, fig in enumerate(figures):
        left = np.count_nonzero((owner == i) & ~mask)
        if left < MIN_VISIBLE * fig.mask.sum():
            return False
    return True


def add_occluders(rng: np.random.Generator, img: np.ndarray, owner: np.ndarray,
                  figures: list[Figure]) -> list[toy.ToyObject]:
    """Paints up to ``MAX_OCCLUDERS`` toy shapes over the figures (owner -2)."""
    size = img.shape[0]
    shapes: list[toy.ToyObject] = []
    for _ in range(int(rng.integers(0, MAX_OCCLUDERS + 1))):
        label = int(rng.integers(len(toy.CLASSES)))
        side = float(rng.uniform(0.12, 0.3) * size)
        cx, cy = rng.uniform(side / 2 + 1, size - side / 2 - 1, 2)
        mask = toy.shape_mask(rng, label, float(cx), float(cy), side, size)
        if not mask.any() or not _keeps_visible(mask, owner, figures):
            continue
        img[mask] = toy._pick_colour(rng, img, mask)
        owner[mask] = -2 - len(shapes)
        shapes.append(toy.ToyObject(label, mask))
    return shapes


def figure_annotation(rng: np.random.Generator, index: int, fig: Figure,
                      owner: np.ndarray) -> dict[str, Any]:
    """COCO keypoint annotation of figure ``index`` (ids filled in later)."""
    size = owner.shape[0]
    ys, xs = np.nonzero(fig.mask)
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())
    keypoints: list[float] = []
    for x, y in fig.joints:
        col, row = int(np.floor(x)), int(np.floor(y))
        if not (0 <= col < size and 0 <= row < size):
            keypoints += [0, 0, 0]
            continue
        visible = 2 if owner[row, col] == index else 1
        if visible == 1 and rng.random() < UNLABELLED_HIDDEN:
            keypoints += [0, 0, 0]
            continue
        keypoints += [round(float(x), 2), round(float(y), 2), visible]
    return dict(category_id=1, bbox=[float(x0), float(y0), float(x1 - x0 + 1),
                                     float(y1 - y0 + 1)],
                area=float(fig.mask.sum()), iscrowd=0,
                num_keypoints=int(np.count_nonzero(np.array(keypoints[2::3]) > 0)),
                keypoints=keypoints)


def render_image(seed: int, split_id: int, index: int, size: int,
                 with_shapes: bool = False) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Renders one image and its annotations (without ids)."""
    rng = np.random.default_rng([seed, split_id, index, 17])
    img = toy.make_background(rng, size)
    owner = np.full((size, size), -1, np.int64)
    figures = place_figures(rng, img, owner)
    shapes = add_occluders(rng, img, owner, figures)
    img += rng.normal(0, rng.uniform(2, 6), img.shape).astype(np.float32)
    img = np.clip(np.round(img), 0, 255).astype(np.uint8)
    anns = [figure_annotation(rng, i, fig, owner) for i, fig in enumerate(figures)]
    if with_shapes:
        for shape in shapes:
            ann = toy.object_annotation(shape)
            ann.pop('keypoints'), ann.pop('num_keypoints')
            ann['category_id'] = shape.label + 2
            anns.append(ann)
    return img, anns


def categories(with_shapes: bool = False) -> list[dict[str, Any]]:
    """``person`` (id 1, with keypoints and skeleton), then the shapes (ids 2-5)."""
    cats = [dict(id=1, name='person', supercategory='person',
                 keypoints=list(KEYPOINT_NAMES), skeleton=SKELETON)]
    if with_shapes:
        cats += [dict(id=i + 2, name=name, supercategory='shape')
                 for i, name in enumerate(toy.CLASSES)]
    return cats


# --------------------------------------------------------------------------
# Dataset
# --------------------------------------------------------------------------
def generate(out_dir: str = 'data/toy_pose', num_train: int = 800, num_val: int = 100,
             img_size: int = 128, seed: int = 0, with_shapes: bool = False,
             force: bool = False) -> dict[str, str]:
    """Generates the toy pose dataset unless an identical one exists.

    Returns:
        Paths: ``root``, ``ann_dir``, ``{train,val}_img_dir``, ``{train,val}_ann_file``
        (``annotations/person_keypoints_{train,val}.json``).
    """
    if img_size < MIN_IMG_SIZE:
        raise ValueError(f'img_size must be >= {MIN_IMG_SIZE}, got {img_size}')
    if num_train < 0 or num_val < 0:
        raise ValueError('num_train and num_val must be >= 0')
    params = dict(num_train=num_train, num_val=num_val, img_size=img_size, seed=seed,
                  with_shapes=with_shapes, generator_version=GENERATOR_VERSION)

    def render(seed_: int, split_id: int, index: int, size: int):
        return render_image(seed_, split_id, index, size, with_shapes)

    def summary(coco: dict[str, Any]) -> str:
        people = sum(a['category_id'] == 1 for a in coco['annotations'])
        return (f'{len(coco["images"])} images, {people} people, '
                f'{len(coco["annotations"]) - people} shapes')

    return toy.write_splits(
        toy._paths(out_dir, 'person_keypoints'), params, force,
        lambda split, num, img_dir: toy.build_split(split, num, img_dir, params, render,
                                                    categories(with_shapes), 'pose'),
        summary)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = toy.base_parser('Generate the toy pose COCO dataset.', 'data/toy_pose')
    parser.add_argument('--with-shapes', action='store_true',
                        help='annotate the occluding shapes too (4 more classes)')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    start = time.perf_counter()
    generate(args.out, args.num_train, args.num_val, args.img_size, args.seed,
             args.with_shapes, force=args.force)
    print(f'Done in {time.perf_counter() - start:.1f}s.')


if __name__ == '__main__':
    main()
