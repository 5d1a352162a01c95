#!/usr/bin/env python
"""Generate the toy "shapes" detection dataset in COCO format.

The toy set is the project's embedded demo data: small textured images with
filled circles, squares, triangles and crosses of many sizes, some partially
occluding each other, over backgrounds with gradients, noise and thin
distractor lines, arcs and soft blobs. Every object also carries five
keypoints (its top-, right-, bottom- and left-most extreme points and its
centroid) so that the keypoint-style CenterNet tasks can be exercised too.

The generator is deterministic: every image is drawn from its own random
generator seeded with ``(seed, split, index)``, so the same arguments always
give the same pixels and the same annotation files.

Example:
    python tools/misc/gen_toy_dataset.py --out data/toy

Coordinates follow the COCO convention: pixel ``i`` covers ``[i, i + 1)``, a
box ``[x, y, w, h]`` is the tight box of the full (unoccluded) shape, and the
extreme keypoints lie on that box's edges.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import re
import time
from dataclasses import dataclass
from typing import Any, Callable

import cv2
import numpy as np

CLASSES = ('circle', 'square', 'triangle', 'cross')
KEYPOINT_NAMES = ('top', 'right', 'bottom', 'left', 'center')
# 1-based COCO skeleton: the outline through the extremes and spokes to the center.
SKELETON = [[1, 2], [2, 3], [3, 4], [4, 1], [1, 5], [2, 5], [3, 5], [4, 5]]
GENERATOR_VERSION = 1
SPLITS = ('train', 'val')

MIN_IMG_SIZE = 24
MIN_SIDE = 6.0  # smallest box side in pixels
SMALL_SIDE = 16.0  # upper end of the "small" size range
SMALL_PROB = 0.25  # probability that an object is drawn from the small range
MAX_SIDE_FRAC = 0.6  # largest box side as a fraction of the image size
MAX_OBJECTS = 8
MIN_VISIBLE = 0.4  # an object must keep at least this fraction of its pixels
MIN_CENTER_DIST = 4.0  # min distance between two objects' box centers (px)
MIN_CONTRAST = 80.0  # RGB distance between a shape and its surroundings
PLACE_TRIES = 40
DRAW_SHIFT = 4  # fractional bits for sub-pixel cv2 drawing
_FILE_RE = re.compile(r'^\d{6}\.png$')


@dataclass
class ToyObject:
    """One shape placed in an image.

    Attributes:
        label: Class index into :data:`CLASSES` (0-based).
        mask: Boolean ``(H, W)`` mask of the full shape.
    """

    label: int
    mask: np.ndarray


# --------------------------------------------------------------------------
# Shape rasterisation
# --------------------------------------------------------------------------
def _fixed(points: np.ndarray) -> np.ndarray:
    """Convert float pixel coordinates to cv2's fixed-point int32 format."""
    return np.round(np.asarray(points) * (1 << DRAW_SHIFT)).astype(np.int32)


def _fill_polygons(size: int, polygons: list[np.ndarray]) -> np.ndarray:
    """Rasterise filled polygons (float ``(N, 2)`` xy vertices) to a mask."""
    mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(mask, [_fixed(p) for p in polygons], 1, cv2.LINE_8, DRAW_SHIFT)
    return mask.astype(bool)


def _rect(cx: float, cy: float, hw: float, hh: float) -> np.ndarray:
    """Corners of an axis-aligned rectangle given its center and half sizes."""
    return np.array([[cx - hw, cy - hh], [cx + hw, cy - hh],
                     [cx + hw, cy + hh], [cx - hw, cy + hh]])


def _triangle(rng: np.random.Generator, cx: float, cy: float,
              side: float) -> np.ndarray:
    """A randomly rotated, slightly irregular triangle whose box is ``side``."""
    angles = np.deg2rad(rng.uniform(0, 360) + np.array([-90.0, 30.0, 150.0])
                        + rng.uniform(-12, 12, 3))
    radii = rng.uniform(0.85, 1.0, 3)
    pts = np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)
    lo, hi = pts.min(0), pts.max(0)
    pts = (pts - (lo + hi) / 2) * ((side - 1) / (hi - lo).max())
    return pts + np.array([cx, cy])


def shape_mask(rng: np.random.Generator, label: int, cx: float, cy: float,
               side: float, size: int) -> np.ndarray:
    """Rasterise one filled shape.

    Args:
        rng: Random generator (used for shape details such as rotation).
        label: Class index into :data:`CLASSES`.
        cx: Center x in pixels.
        cy: Center y in pixels.
        side: Approximate side of the shape's tight box in pixels.
        size: Image size (the mask is ``size x size``).

    Returns:
        Boolean mask of the shape.
    """
    half = (side - 1) / 2
    name = CLASSES[label]
    if name == 'circle':
        mask = np.zeros((size, size), np.uint8)
        center = tuple(int(v) for v in _fixed([cx, cy]))
        cv2.circle(mask, center, int(_fixed(half)), 1, -1, cv2.LINE_8,
                   DRAW_SHIFT)
        return mask.astype(bool)
    if name == 'square':
        return _fill_polygons(size, [_rect(cx, cy, half, half)])
    if name == 'triangle':
        return _fill_polygons(size, [_triangle(rng, cx, cy, side)])
    arm = max(1.0, side * rng.uniform(0.28, 0.4)) / 2  # cross
    return _fill_polygons(size, [_rect(cx, cy, half, arm), _rect(cx, cy, arm, half)])


# --------------------------------------------------------------------------
# Background
# --------------------------------------------------------------------------
def _gradient(rng: np.random.Generator, size: int) -> np.ndarray:
    """A linear two-colour gradient in a random direction, float32 HxWx3."""
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    theta = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    t = xx * np.cos(theta) + yy * np.sin(theta)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    return (c0 + (c1 - c0) * t[..., None]).astype(np.float32)


def _low_freq_noise(rng: np.random.Generator, size: int) -> np.ndarray:
    """Smooth colour noise, float32 HxWx3 with zero mean."""
    cells = int(rng.integers(3, 7))
    grid = rng.normal(0, 22, (cells, cells, 3)).astype(np.float32)
    return cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)


def _random_colour(rng: np.random.Generator) -> tuple[float, float, float]:
    """A uniformly random RGB colour as a tuple of floats."""
    return tuple(float(v) for v in rng.uniform(0, 255, 3))


def _draw_lines(rng: np.random.Generator, img: np.ndarray) -> None:
    """Draw thin straight lines and elliptic arcs in place."""
    size = img.shape[0]
    for _ in range(int(rng.integers(0, 6))):
        p0, p1 = rng.uniform(-0.1, 1.1, (2, 2)) * size
        cv2.line(img, tuple(int(v) for v in _fixed(p0)),
                 tuple(int(v) for v in _fixed(p1)), _random_colour(rng),
                 int(rng.integers(1, 3)), cv2.LINE_AA, DRAW_SHIFT)
    for _ in range(int(rng.integers(0, 3))):
        center = tuple(int(v) for v in rng.uniform(0, size, 2))
        axes = tuple(int(v) for v in rng.uniform(3, size / 3, 2))
        start = float(rng.uniform(0, 360))
        cv2.ellipse(img, center, axes, float(rng.uniform(0, 180)), start,
                    start + float(rng.uniform(60, 200)), _random_colour(rng), 1,
                    cv2.LINE_AA)


def _draw_blobs(rng: np.random.Generator, img: np.ndarray) -> None:
    """Alpha-blend soft-edged irregular blobs in place."""
    size = img.shape[0]
    for _ in range(int(rng.integers(0, 4))):
        n = int(rng.integers(6, 10))
        radius = rng.uniform(3, size * 0.15)
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radii = radius * rng.uniform(0.4, 1.0, n)
        center = rng.uniform(0, size, 2)
        pts = center + np.stack([radii * np.cos(angles), radii * np.sin(angles)], 1)
        alpha = _fill_polygons(size, [pts]).astype(np.float32)
        alpha = cv2.GaussianBlur(alpha, (0, 0), radius / 4 + 1.0)
        alpha *= float(rng.uniform(0.4, 0.85))
        colour = np.array(_random_colour(rng), np.float32)
        img += alpha[..., None] * (colour - img)


def make_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Textured background: gradient, smooth noise and distractors.

    Args:
        rng: Random generator.
        size: Image size in pixels.

    Returns:
        Float32 ``(size, size, 3)`` image with values roughly in ``[0, 255]``.
    """
    img = _gradient(rng, size) + _low_freq_noise(rng, size)
    img = np.ascontiguousarray(np.clip(img, 0, 255), dtype=np.float32)
    _draw_blobs(rng, img)
    _draw_lines(rng, img)
    return img


# --------------------------------------------------------------------------
# Object placement
# --------------------------------------------------------------------------
def sample_side(rng: np.random.Generator, size: int) -> float:
    """Sample a box side: a small-object range plus a log-uniform main range."""
    max_side = max(MAX_SIDE_FRAC * size, MIN_SIDE + 1)
    small_hi = min(SMALL_SIDE, max_side)
    if rng.random() < SMALL_PROB:
        return float(rng.uniform(MIN_SIDE, small_hi))
    return float(np.exp(rng.uniform(np.log(small_hi), np.log(max_side))))


def _pick_colour(rng: np.random.Generator, img: np.ndarray,
                 mask: np.ndarray) -> np.ndarray:
    """Pick a fill colour that contrasts with the pixels around ``mask``."""
    region = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    local = img[region][::max(1, int(region.sum()) // 256)]
    cands = rng.uniform(0, 255, (48, 3)).astype(np.float32)
    dists = np.linalg.norm(local[None] - cands[:, None], axis=2)
    score = np.percentile(dists, 10, axis=1)
    ok = np.flatnonzero(score >= MIN_CONTRAST)
    return cands[ok[0]] if ok.size else cands[int(np.argmax(score))]


def _box_center(mask: np.ndarray) -> np.ndarray:
    """Center of a mask's tight box in continuous pixel coordinates."""
    ys, xs = np.nonzero(mask)
    return np.array([xs.min() + xs.max() + 1, ys.min() + ys.max() + 1]) / 2


def _fits(mask: np.ndarray, owner: np.ndarray, objects: list[ToyObject],
          centers: list[np.ndarray]) -> bool:
    """Whether a new top-most shape keeps every placed object visible enough."""
    if not mask.any():
        return False
    center = _box_center(mask)
    if any(np.hypot(*(center - c)) < MIN_CENTER_DIST for c in centers):
        return False
    if not objects:
        return True
    n = len(objects)
    visible = np.bincount(owner.ravel() + 1, minlength=n + 1)[1:]
    covered = np.bincount(owner[mask] + 1, minlength=n + 1)[1:]
    areas = np.array([o.mask.sum() for o in objects])
    return bool(np.all(visible - covered >= MIN_VISIBLE * areas))


def place_objects(rng: np.random.Generator, img: np.ndarray) -> list[ToyObject]:
    """Paint 1..MAX_OBJECTS shapes onto ``img`` (in place), later ones on top.

    A candidate is rejected when it would leave less than ``MIN_VISIBLE`` of
    an earlier shape visible or when its box center is too close to another
    one; after ``PLACE_TRIES`` failures the image keeps fewer objects.

    Args:
        rng: Random generator.
        img: Float32 ``(H, W, 3)`` canvas, modified in place.

    Returns:
        The placed objects in painting order.
    """
    size = img.shape[0]
    owner = np.full((size, size), -1, np.int64)
    objects: list[ToyObject] = []
    centers: list[np.ndarray] = []
    for _ in range(int(rng.integers(1, MAX_OBJECTS + 1))):
        for _ in range(PLACE_TRIES):
            label = int(rng.integers(len(CLASSES)))
            side = sample_side(rng, size)
            lo, hi = side / 2 + 1, size - side / 2 - 1
            cx, cy = rng.uniform(lo, hi, 2)
            mask = shape_mask(rng, label, float(cx), float(cy), side, size)
            if _fits(mask, owner, objects, centers):
                break
        else:
            continue
        img[mask] = _pick_colour(rng, img, mask)
        owner[mask] = len(objects)
        objects.append(ToyObject(label, mask))
        centers.append(_box_center(mask))
    return objects


# --------------------------------------------------------------------------
# Annotations
# --------------------------------------------------------------------------
def object_annotation(obj: ToyObject) -> dict[str, Any]:
    """COCO box, area and keypoints of one object (ids are filled in later).

    Args:
        obj: The placed object.

    Returns:
        Dict with ``category_id``, ``bbox``, ``area``, ``iscrowd``,
        ``num_keypoints`` and ``keypoints``.
    """
    ys, xs = np.nonzero(obj.mask)
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())
    w, h = x1 - x0 + 1, y1 - y0 + 1
    points = [
        (xs[ys == y0].mean() + 0.5, y0),  # top
        (x1 + 1, ys[xs == x1].mean() + 0.5),  # right
        (xs[ys == y1].mean() + 0.5, y1 + 1),  # bottom
        (x0, ys[xs == x0].mean() + 0.5),  # left
        (xs.mean() + 0.5, ys.mean() + 0.5),  # centroid
    ]
    keypoints: list[float] = []
    for x, y in points:
        keypoints += [round(float(x), 2), round(float(y), 2), 2]
    return dict(category_id=obj.label + 1, bbox=[float(x0), float(y0), float(w), float(h)],
                area=float(w * h), iscrowd=0, num_keypoints=len(KEYPOINT_NAMES),
                keypoints=keypoints)


def render_image(seed: int, split_id: int, index: int,
                 size: int) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Render one image and its annotations.

    Args:
        seed: Dataset seed.
        split_id: 0 for train, 1 for val (part of the per-image seed).
        index: Image index within its split.
        size: Image size in pixels.

    Returns:
        The uint8 BGR image and its annotations (without ids).
    """
    rng = np.random.default_rng([seed, split_id, index])
    img = make_background(rng, size)
    objects = place_objects(rng, img)
    img += rng.normal(0, rng.uniform(2, 7), img.shape).astype(np.float32)
    img = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return img, [object_annotation(o) for o in objects]


def categories() -> list[dict[str, Any]]:
    """The COCO ``categories`` list (ids start at 1)."""
    return [dict(id=i + 1, name=name, supercategory='shape',
                 keypoints=list(KEYPOINT_NAMES), skeleton=SKELETON)
            for i, name in enumerate(CLASSES)]


# --------------------------------------------------------------------------
# Dataset
# --------------------------------------------------------------------------
def _paths(out_dir: str, ann_prefix: str = 'instances') -> dict[str, str]:
    """Paths of the dataset's folders and annotation files."""
    ann_dir = osp.join(out_dir, 'annotations')
    paths = {'root': out_dir, 'ann_dir': ann_dir}
    for split in SPLITS:
        paths[f'{split}_img_dir'] = osp.join(out_dir, split)
        paths[f'{split}_ann_file'] = osp.join(ann_dir, f'{ann_prefix}_{split}.json')
    return paths


def _is_complete(paths: dict[str, str], params: dict[str, int]) -> bool:
    """Whether an existing dataset was made with ``params`` and is complete."""
    for split in SPLITS:
        try:
            with open(paths[f'{split}_ann_file']) as f:
                coco = json.load(f)
        except (OSError, ValueError):
            return False
        if coco.get('info', {}).get('params') != params:
            return False
        img_dir = paths[f'{split}_img_dir']
        if not all(osp.isfile(osp.join(img_dir, im['file_name']))
                   for im in coco.get('images', [])):
            return False
    return True


def build_split(split: str, num: int, img_dir: str, params: dict[str, Any],
                render: Callable = render_image, cats: list[dict[str, Any]] | None = None,
                set_name: str = 'shapes') -> dict[str, Any]:
    """Render and write one split's images; return its COCO dict.

    Args:
        split: ``'train'`` or ``'val'``.
        num: Number of images.
        img_dir: Folder for the PNG files (stale ``NNNNNN.png`` are removed).
        params: Generation parameters (stored in ``info``).
        render: ``render(seed, split_id, index, size) -> (image, annotations)`` (other
            toy sets, e.g. ``gen_toy_pose.py``, pass theirs).
        cats: The ``categories`` list (default :func:`categories`).
        set_name: The set's name in ``info.description``.

    Returns:
        The COCO annotation dict of the split.
    """
    from mmcenternet.utils.progress import track
    os.makedirs(img_dir, exist_ok=True)
    size, split_id = params['img_size'], SPLITS.index(split)
    images, annotations = [], []
    for index in track(range(num), desc=split, unit='img'):
        img, anns = render(params['seed'], split_id, index, size)
        file_name = f'{index:06d}.png'
        if not cv2.imwrite(osp.join(img_dir, file_name), img):
            raise OSError(f'could not write {osp.join(img_dir, file_name)}')
        images.append(dict(id=index + 1, file_name=file_name, width=size, height=size))
        for ann in anns:
            annotations.append(dict(id=len(annotations) + 1, image_id=index + 1, **ann))
    for name in os.listdir(img_dir):
        if _FILE_RE.match(name) and int(name[:6]) >= num:
            os.remove(osp.join(img_dir, name))
    info = dict(description=f'mmcenternet toy {set_name} dataset ({split})',
                version=str(params.get('generator_version', GENERATOR_VERSION)),
                params=params)
    return dict(info=info, licenses=[], images=images, annotations=annotations,
                categories=categories() if cats is None else cats)


def _write_json(obj: dict[str, Any], path: str) -> None:
    """Write JSON atomically (so a partial file is never taken as complete)."""
    tmp = f'{path}.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
    os.replace(tmp, path)


def generate(out_dir: str = 'data/toy', num_train: int = 800, num_val: int = 100,
             img_size: int = 128, seed: int = 0, force: bool = False) -> dict[str, str]:
    """Generate the toy dataset unless an identical one already exists.

    Args:
        out_dir: Output root folder.
        num_train: Number of training images.
        num_val: Number of validation images.
        img_size: Side of the square images in pixels.
        seed: Random seed.
        force: Regenerate even if a dataset with the same parameters exists.

    Returns:
        Dict of paths: ``root``, ``ann_dir``, ``train_img_dir``,
        ``train_ann_file``, ``val_img_dir``, ``val_ann_file``.
    """
    if img_size < MIN_IMG_SIZE:
        raise ValueError(f'img_size must be >= {MIN_IMG_SIZE}, got {img_size}')
    if num_train < 0 or num_val < 0:
        raise ValueError('num_train and num_val must be >= 0')
    params = dict(num_train=num_train, num_val=num_val, img_size=img_size,
                  seed=seed, generator_version=GENERATOR_VERSION)
    return write_splits(_paths(out_dir), params, force,
                        lambda split, num, img_dir: build_split(split, num, img_dir, params))


def write_splits(paths: dict[str, str], params: dict[str, Any], force: bool,
                 build: Callable[[str, int, str], dict[str, Any]],
                 summary: Callable[[dict[str, Any]], str] | None = None) -> dict[str, str]:
    """Builds and writes every split unless an identical dataset exists.

    Args:
        paths: From :func:`_paths`.
        params: Generation parameters (``num_train``, ``num_val``, ...).
        force: Regenerate even if a dataset with the same parameters exists.
        build: ``build(split, num, img_dir) -> COCO dict``.
        summary: What to print about a split's COCO dict (default: image / object counts).

    Returns:
        ``paths``.
    """
    if not force and _is_complete(paths, params):
        print(f'Toy dataset in {paths["root"]} already exists with the same '
              'parameters, skipping (use --force to regenerate).')
        return paths
    os.makedirs(paths['ann_dir'], exist_ok=True)
    for split, num in zip(SPLITS, (params['num_train'], params['num_val'])):
        ann_file = paths[f'{split}_ann_file']
        if osp.exists(ann_file):
            os.remove(ann_file)  # never leave a stale file claiming completeness
        coco = build(split, num, paths[f'{split}_img_dir'])
        _write_json(coco, ann_file)
        text = summary(coco) if summary else (f'{len(coco["images"])} images, '
                                              f'{len(coco["annotations"])} objects')
        print(f'{split}: {text} -> {ann_file}')
    return paths


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse command-line arguments."""
    return base_parser('Generate the toy shapes COCO dataset.', 'data/toy').parse_args(argv)


def base_parser(description: str, default_out: str) -> argparse.ArgumentParser:
    """The arguments every toy generator takes (``--out``, sizes, ``--seed``, ``--force``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--out', default=default_out, help='output root folder')
    parser.add_argument('--num-train', type=int, default=800)
    parser.add_argument('--num-val', type=int, default=100)
    parser.add_argument('--img-size', type=int, default=128)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--force', action='store_true',
                        help='regenerate even if an identical dataset exists')
    return parser


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        generate(args.out, args.num_train, args.num_val, args.img_size, args.seed,
                 force=args.force)
    except ValueError as exc:  # argument checks of generate()
        from mmcenternet.errors import ConfigError
        raise ConfigError(f'{exc} (--img-size, --num-train, --num-val)') from exc
    print(f'Done in {time.perf_counter() - start:.1f}s.')


if __name__ == '__main__':
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        main()
