#!/usr/bin/env python
"""Generate a small KITTI-format monocular 3D set: textured boxes on a ground plane.

Cars and pedestrians (3D boxes of KITTI-like sizes, 4 to 25 m away) stand on a flat road
seen by a real KITTI camera (the ``P2`` of KITTI ``training/calib/000000.txt``, 1242 x 375
images). Each box is rendered in perspective with per-face shading and features that show
its heading (windows, wheels, head- and tail-lights on cars; head and legs on pedestrians),
far to near so that nearer objects occlude farther ones (the front face lighter, the back
darker); the road is a perspective checkerboard with lane lines, which gives the network
local depth cues as road texture does in KITTI.

The labels are written as KITTI does (``training/label_2/NNNNNN.txt``, 15 fields):
``truncated`` is the fraction of the object's projected silhouette outside the image,
``occluded`` 0 / 1 / 2 from the fraction of it hidden by nearer objects (< 5 %, < 50 %,
more), ``alpha = rotation_y - atan2(x, z)`` (the observation angle), the 2D box is the
silhouette's extent clipped to the image, dimensions ``h w l`` and the bottom-center
``location``. Objects that are mostly hidden, tiny or almost outside become ``DontCare``
regions (KITTI marks unlabelled far / hidden objects that way). ``ImageSets/{train,val,
trainval}.txt`` list the splits; ``training/calib`` the calibration files.

Deterministic: every image comes from its own generator seeded with ``(seed, split,
index)``, so the val images do not depend on ``--num-train`` (a larger training set keeps
the same val set); a second run with the same arguments skips the work. The default 2000
training images (about 1.4 GB, a few minutes): with 400 the 3D quickstart model learned
them by heart (Car 3D AP 56 on training images, 18 on val; configs/quickstart/README.md).

    python tools/misc/gen_toy_kitti.py --out data/toy_kitti
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import os.path as osp
import sys
import time
from dataclasses import dataclass

import cv2
import numpy as np

HERE = osp.dirname(osp.abspath(__file__))


def _load_toy_module():
    """``gen_toy_dataset.py`` (a script beside this one) for its shared helpers."""
    if 'gen_toy_dataset' not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            'gen_toy_dataset', osp.join(HERE, 'gen_toy_dataset.py'))
        module = importlib.util.module_from_spec(spec)
        sys.modules['gen_toy_dataset'] = module
        spec.loader.exec_module(module)
    return sys.modules['gen_toy_dataset']


toy = _load_toy_module()

GENERATOR_VERSION = 4
WIDTH, HEIGHT = 1242, 375
# KITTI training/calib/000000.txt
P2 = np.array([[7.215377e+02, 0.000000e+00, 6.095593e+02, 4.485728e+01],
               [0.000000e+00, 7.215377e+02, 1.728540e+02, 2.163791e-01],
               [0.000000e+00, 0.000000e+00, 1.000000e+00, 2.745884e-03]])
CAMERA_HEIGHT = 1.65  # metres above the road (KITTI's)
SPLITS = ('train', 'val')
# class: (mean h, w, l in metres, relative size jitter)
SIZES = {'Car': ((1.53, 1.63, 3.88), 0.05), 'Pedestrian': ((1.76, 0.66, 0.84), 0.06)}
# depths of the placed objects (log-uniform), metres: the range of KITTI's Easy cars (a
# 40 px high car is 28 m away); version 3's 5 to 35 m left the small CPU quickstart model's
# Car 3D AP near 3 % (its depth error grows with the distance; configs/quickstart/README.md)
DEPTH_RANGE = (4.0, 25.0)
MIN_VISIBLE_PX = 40  # fewer visible pixels: DontCare
MIN_BOX_HEIGHT = 12  # 2D boxes lower than this (px): DontCare
MAX_TRUNCATION = 0.85  # more of the silhouette outside the image: not labelled
# faces of a box in the corner order of mmcenternet.structures.camera3d.box3d_corners
# (0-3 bottom, 4-7 top; 0, 1, 4, 5 at the front): name -> corners counter-clockwise
# as (bottom-left, bottom-right, top-right, top-left) seen from outside
FACES = {'front': (1, 0, 4, 5), 'back': (3, 2, 6, 7), 'left': (0, 3, 7, 4),
         'right': (2, 1, 5, 6), 'top': (7, 6, 5, 4)}
LIGHT = np.array([0.4, -0.8, -0.45]) / np.linalg.norm([0.4, -0.8, -0.45])
# the front lighter and the back darker than the sides: the heading stays visible at the
# low input resolutions of a CPU quickstart (as a car's front and rear look different)
FACE_TINT = {'front': lambda c: 0.55 * c + 0.45 * 255, 'back': lambda c: 0.5 * c,
             'left': lambda c: c, 'right': lambda c: c, 'top': lambda c: c}


@dataclass
class Object3D:
    """One placed object: KITTI type, dims (h, w, l), bottom-center location, yaw."""
    name: str
    dims: np.ndarray
    loc: np.ndarray
    rot_y: float
    colour: np.ndarray

    @property
    def box(self) -> np.ndarray:
        """``(x, y, z, l, h, w, rot_y)``."""
        h, w, length = self.dims
        return np.array([*self.loc, length, h, w, self.rot_y])


def wrap(angle: float) -> float:
    """Angle in ``[-pi, pi)``."""
    return (angle + math.pi) % (2 * math.pi) - math.pi


def corners_3d(obj: Object3D) -> np.ndarray:
    """``(8, 3)`` corners (``box3d_corners`` order)."""
    h, w, length = obj.dims
    c, s = math.cos(obj.rot_y), math.sin(obj.rot_y)
    xs = np.array([1, 1, -1, -1, 1, 1, -1, -1]) * length / 2
    ys = np.array([0, 0, 0, 0, -1, -1, -1, -1]) * h
    zs = np.array([1, -1, -1, 1, 1, -1, -1, 1]) * w / 2
    return np.stack([c * xs + s * zs, ys, -s * xs + c * zs], 1) + obj.loc


def project(points: np.ndarray) -> np.ndarray:
    """``(N, 3)`` camera points -> ``(N, 2)`` pixels through ``P2``."""
    uvw = np.concatenate([points, np.ones((len(points), 1))], 1) @ P2.T
    return uvw[:, :2] / uvw[:, 2:3]


def polygon_area(poly: np.ndarray) -> float:
    """Shoelace area of a ``(N, 2)`` polygon."""
    if len(poly) < 3:
        return 0.0
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def clip_to_image(poly: np.ndarray) -> np.ndarray:
    """Sutherland-Hodgman clip of a convex polygon to ``[0, W] x [0, H]``."""
    for axis, bound, keep_below in ((0, 0., False), (0, WIDTH, True), (1, 0., False),
                                    (1, HEIGHT, True)):
        if len(poly) == 0:
            break
        out = []
        for i in range(len(poly)):
            p, q = poly[i], poly[(i + 1) % len(poly)]
            p_in = p[axis] <= bound if keep_below else p[axis] >= bound
            q_in = q[axis] <= bound if keep_below else q[axis] >= bound
            if p_in:
                out.append(p)
            if p_in != q_in:
                t = (bound - p[axis]) / (q[axis] - p[axis])
                out.append(p + t * (q - p))
        poly = np.array(out).reshape(-1, 2)
    return poly


def silhouette(obj: Object3D) -> np.ndarray:
    """Convex hull of the projected corners (the box's silhouette), ``(N, 2)``."""
    uv = project(corners_3d(obj)).astype(np.float32)
    return cv2.convexHull(uv).reshape(-1, 2).astype(np.float64)


# ----------------------------------------------------------------------------- scene
def make_road(rng: np.random.Generator) -> np.ndarray:
    """Sky and a perspective checkerboard road with lane lines, float32 BGR."""
    fx, cx, cy = P2[0, 0], P2[0, 2], P2[1, 2]
    vv, uu = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    ground = vv > cy + 2
    dy = np.where(ground, (vv - cy) / fx, 1.0)
    z = CAMERA_HEIGHT / dy
    x = (uu - cx) / fx * z
    tile = float(rng.uniform(1.6, 2.4))
    checker = (np.floor(x / tile) + np.floor(z / tile)) % 2
    contrast = np.clip(25.0 / z, 0, 1) * rng.uniform(14, 26)
    base = rng.uniform(85, 115)
    road = base + (checker - 0.5) * contrast
    lane_half = float(rng.uniform(1.6, 2.0))
    for offset in (-3 * lane_half, -lane_half, lane_half, 3 * lane_half):
        line = np.abs(x - offset) < 0.08
        dash = (np.floor(z / 3.0) % 2) == 0
        road = np.where(line & dash & (z < 60), 215.0, road)
    sky_top, sky_bottom = rng.uniform(150, 210, 3), rng.uniform(190, 240, 3)
    t = np.clip(vv / max(cy, 1.0), 0, 1)[..., None]
    sky = sky_top * (1 - t) + sky_bottom * t
    img = np.where(ground[..., None], road[..., None] * np.array([1.0, 1.0, 1.02]), sky)
    noise = toy._low_freq_noise(rng, WIDTH)[:HEIGHT] * 0.4
    return (img + noise).astype(np.float32)


def _sample_object(rng: np.random.Generator, name: str) -> Object3D:
    mean, jitter = SIZES[name]
    dims = np.array(mean) * rng.uniform(1 - jitter, 1 + jitter, 3)
    z = float(np.exp(rng.uniform(np.log(DEPTH_RANGE[0]), np.log(DEPTH_RANGE[1]))))
    x = float(rng.uniform(-0.95, 0.95) * z * 0.86)
    if name == 'Car' and rng.random() < 0.6:  # driving along the road, either way
        rot_y = float(rng.choice([-math.pi / 2, math.pi / 2]) + rng.normal(0, 0.15))
    else:
        rot_y = float(rng.uniform(-math.pi, math.pi))
    if name == 'Car':
        colour = rng.uniform(30, 230, 3)
    else:
        colour = np.array([rng.uniform(20, 90), rng.uniform(40, 160), rng.uniform(120, 230)])
    return Object3D(name, dims, np.array([x, CAMERA_HEIGHT, z]), wrap(rot_y), colour)


def place_objects(rng: np.random.Generator) -> list[Object3D]:
    """Cars and pedestrians that do not intersect on the road."""
    names = ['Car'] * int(rng.integers(2, 8)) + ['Pedestrian'] * int(rng.integers(0, 4))
    placed: list[Object3D] = []
    for name in names:
        for _ in range(30):
            obj = _sample_object(rng, name)
            radius = 0.5 * math.hypot(obj.dims[1], obj.dims[2])
            if obj.loc[2] - radius < 1.5:
                continue
            if all(np.hypot(*(obj.loc[[0, 2]] - o.loc[[0, 2]])) >
                   radius + 0.5 * math.hypot(o.dims[1], o.dims[2]) + 0.3 for o in placed):
                placed.append(obj)
                break
    return placed


def _face_point(quad: np.ndarray, s: float, t: float) -> np.ndarray:
    """Bilinear point of a 3D face quad (bl, br, tr, tl) at ``(s, t)`` in ``[0, 1]^2``."""
    bottom = quad[0] + s * (quad[1] - quad[0])
    top = quad[3] + s * (quad[2] - quad[3])
    return bottom + t * (top - bottom)


def _fill(img: np.ndarray, ids: np.ndarray | None, poly_uv: np.ndarray, colour, value: int):
    pts = toy._fixed(poly_uv).reshape(-1, 1, 2)
    cv2.fillConvexPoly(img, pts, tuple(float(c) for c in colour), cv2.LINE_AA, toy.DRAW_SHIFT)
    if ids is not None:
        cv2.fillConvexPoly(ids, pts, value, cv2.LINE_8, toy.DRAW_SHIFT)


def _patch(img, quad, s0, s1, t0, t1, colour):
    """A rectangle ``[s0, s1] x [t0, t1]`` of a face, drawn in perspective."""
    pts = np.stack([_face_point(quad, s, t) for s, t in
                    ((s0, t0), (s1, t0), (s1, t1), (s0, t1))])
    _fill(img, None, project(pts), colour, 0)


def _features(img: np.ndarray, obj: Object3D, face: str, quad: np.ndarray, shade: float):
    """Heading cues: windows, wheels and lights of cars; head and legs of pedestrians."""
    dark = np.array([40, 35, 30]) * shade
    if obj.name == 'Car':
        if face in ('left', 'right'):
            _patch(img, quad, 0.22, 0.78, 0.6, 0.9, dark + 20)  # side windows
            for s in (0.15, 0.73):
                _patch(img, quad, s, s + 0.12, 0.0, 0.3, dark * 0.5)  # wheels
        elif face == 'front':
            _patch(img, quad, 0.15, 0.85, 0.62, 0.92, dark + 35)  # windscreen
            for s in (0.08, 0.74):
                _patch(img, quad, s, s + 0.18, 0.3, 0.45, np.array([200, 245, 255]))
        elif face == 'back':
            _patch(img, quad, 0.2, 0.8, 0.65, 0.9, dark + 10)
            for s in (0.05, 0.77):
                _patch(img, quad, s, s + 0.18, 0.35, 0.5, np.array([30, 30, 210]))
    elif obj.name == 'Pedestrian' and face != 'top':
        _patch(img, quad, 0.2, 0.8, 0.86, 1.0, np.array([120, 160, 210]) * shade)  # head
        _patch(img, quad, 0.1, 0.9, 0.0, 0.45, np.array([60, 50, 45]) * shade)  # legs
        if face == 'front':
            _patch(img, quad, 0.35, 0.65, 0.88, 0.95, np.array([90, 110, 150]) * shade)


def draw_object(img: np.ndarray, ids: np.ndarray, obj: Object3D, value: int) -> None:
    """The box's camera-facing faces with shading and features; its pixels in ``ids``."""
    corners = corners_3d(obj)
    center = corners.mean(0)
    for face, idx in FACES.items():
        quad = corners[list(idx)]
        normal = np.cross(quad[1] - quad[0], quad[3] - quad[0])
        normal /= np.linalg.norm(normal)
        if np.dot(normal, quad.mean(0) - center) < 0:
            normal = -normal
        if np.dot(normal, quad.mean(0)) >= 0:  # faces away from the camera (at the origin)
            continue
        shade = 0.55 + 0.45 * max(0.0, float(np.dot(normal, -LIGHT)))
        _fill(img, ids, project(quad), FACE_TINT[face](obj.colour) * shade, value)
        _features(img, obj, face, quad, shade)


def label_line(obj: Object3D, box2d, truncated: float, occluded: int, name: str) -> str:
    """A KITTI label line."""
    x, y, z = obj.loc
    alpha = wrap(obj.rot_y - math.atan2(x, z))
    h, w, length = obj.dims
    nums = [alpha, *box2d, h, w, length, x, y, z, obj.rot_y]
    return f'{name} {truncated:.2f} {occluded} ' + ' '.join(f'{v:.2f}' for v in nums)


def dontcare_line(box2d) -> str:
    return ('DontCare -1 -1 -10 ' + ' '.join(f'{v:.2f}' for v in box2d)
            + ' -1 -1 -1 -1000 -1000 -1000 -10')


def render_image(seed: int, split_id: int, index: int) -> tuple[np.ndarray, list[str]]:
    """One image and its label lines."""
    rng = np.random.default_rng([seed, split_id, index])
    img = make_road(rng)
    objects = place_objects(rng)
    order = sorted(range(len(objects)), key=lambda i: -np.linalg.norm(objects[i].loc))
    ids = np.zeros((HEIGHT, WIDTH), np.int32)
    for i in order:
        draw_object(img, ids, objects[i], i + 1)
    img += rng.normal(0, rng.uniform(1.5, 4), img.shape).astype(np.float32)
    img = np.clip(np.round(img), 0, 255).astype(np.uint8)
    counts = np.bincount(ids.reshape(-1), minlength=len(objects) + 1)
    lines = []
    for i, obj in enumerate(objects):
        hull = silhouette(obj)
        inside = clip_to_image(hull)
        full_area = polygon_area(hull)
        if len(inside) < 3:
            continue
        truncated = 1 - polygon_area(inside) / max(full_area, 1e-6)
        box2d = (max(inside[:, 0].min(), 0.), max(inside[:, 1].min(), 0.),
                 min(inside[:, 0].max(), WIDTH - 1.), min(inside[:, 1].max(), HEIGHT - 1.))
        mask = np.zeros((HEIGHT, WIDTH), np.uint8)
        cv2.fillConvexPoly(mask, toy._fixed(hull).reshape(-1, 1, 2), 1, cv2.LINE_8,
                           toy.DRAW_SHIFT)
        visible_frac = counts[i + 1] / max(int(mask.sum()), 1)
        if truncated > MAX_TRUNCATION or counts[i + 1] == 0:
            continue
        if counts[i + 1] < MIN_VISIBLE_PX or box2d[3] - box2d[1] < MIN_BOX_HEIGHT:
            lines.append(dontcare_line(box2d))
            continue
        occluded = 0 if visible_frac > 0.95 else 1 if visible_frac > 0.5 else 2
        lines.append(label_line(obj, box2d, truncated, occluded, obj.name))
    return img, lines


# ----------------------------------------------------------------------------- files
def calib_text() -> str:
    """A KITTI calibration file. P2 is KITTI's; the rest is what a rectified stereo rig
    of the same intrinsics gives (P0 / P1 / P3; only P2 is read by mmcenternet)."""
    def row(m):
        return ' '.join(f'{v:.12e}' for v in np.asarray(m).reshape(-1))
    p0 = P2.copy()
    p0[:, 3] = 0
    p1 = p0.copy()
    p1[0, 3] = -0.54 * P2[0, 0]
    p3 = P2.copy()
    p3[0, 3] = P2[0, 3] - 0.54 * P2[0, 0]
    tr = np.hstack([np.eye(3), np.zeros((3, 1))])
    return (f'P0: {row(p0)}\nP1: {row(p1)}\nP2: {row(P2)}\nP3: {row(p3)}\n'
            f'R0_rect: {row(np.eye(3))}\nTr_velo_to_cam: {row(tr)}\n'
            f'Tr_imu_to_velo: {row(tr)}\n')


def _stamp_path(out_dir: str) -> str:
    return osp.join(out_dir, 'toy_kitti.json')


def _is_complete(out_dir: str, params: dict) -> bool:
    try:
        with open(_stamp_path(out_dir)) as f:
            stamp = json.load(f)
    except (OSError, ValueError):
        return False
    if stamp.get('params') != params:
        return False
    ids = stamp.get('ids', [])
    return all(osp.isfile(osp.join(out_dir, 'training', sub, i + ext)) for i in ids
               for sub, ext in (('image_2', '.png'), ('label_2', '.txt'), ('calib', '.txt')))


def generate(out_dir: str = 'data/toy_kitti', num_train: int = 2000, num_val: int = 100,
             seed: int = 0, force: bool = False) -> dict:
    """Writes the set (skipped when an identical complete one exists).

    Returns:
        ``{'train': [ids], 'val': [ids]}``.
    """
    if num_train < 0 or num_val < 0:
        raise ValueError('num_train and num_val must be >= 0')
    params = dict(num_train=num_train, num_val=num_val, seed=seed,
                  generator_version=GENERATOR_VERSION)
    ids = {'train': [f'{i:06d}' for i in range(num_train)],
           'val': [f'{num_train + i:06d}' for i in range(num_val)]}
    if not force and _is_complete(out_dir, params):
        print(f'Toy KITTI set in {out_dir} already exists with the same parameters, '
              'skipping (use --force to regenerate).')
        return ids
    if osp.exists(_stamp_path(out_dir)):
        os.remove(_stamp_path(out_dir))
    for sub in ('image_2', 'label_2', 'calib'):
        os.makedirs(osp.join(out_dir, 'training', sub), exist_ok=True)
    os.makedirs(osp.join(out_dir, 'ImageSets'), exist_ok=True)
    calib = calib_text()
    for split_id, split in enumerate(SPLITS):
        num_objects = 0
        for index, sample in enumerate(ids[split]):
            img, lines = render_image(seed, split_id, index)
            path = osp.join(out_dir, 'training', 'image_2', sample + '.png')
            if not cv2.imwrite(path, img):
                raise OSError(f'could not write {path}')
            with open(osp.join(out_dir, 'training', 'label_2', sample + '.txt'), 'w') as f:
                f.write(''.join(line + '\n' for line in lines))
            with open(osp.join(out_dir, 'training', 'calib', sample + '.txt'), 'w') as f:
                f.write(calib)
            num_objects += sum(not line.startswith('DontCare') for line in lines)
        print(f'{split}: {len(ids[split])} images, {num_objects} objects')
    for split, samples in (('train', ids['train']), ('val', ids['val']),
                           ('trainval', ids['train'] + ids['val'])):
        with open(osp.join(out_dir, 'ImageSets', split + '.txt'), 'w') as f:
            f.write(''.join(s + '\n' for s in samples))
    with open(_stamp_path(out_dir), 'w') as f:
        json.dump(dict(params=params, ids=ids['train'] + ids['val']), f)
    return ids


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Generate the toy KITTI-format 3D set.')
    parser.add_argument('--out', default='data/toy_kitti', help='output root folder')
    parser.add_argument('--num-train', type=int, default=2000)
    parser.add_argument('--num-val', type=int, default=100)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--force', action='store_true',
                        help='regenerate even if an identical set exists')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    start = time.perf_counter()
    generate(args.out, args.num_train, args.num_val, args.seed, force=args.force)
    print(f'Done in {time.perf_counter() - start:.1f}s.')


if __name__ == '__main__':
    main()
