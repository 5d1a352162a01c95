"""Fixed KITTI ground truth and detections for the evaluator cross-checks (numpy only, so
that the fixture script can run it in a bare environment).

Four cases over the same 100 images (every KITTI type, DontCare regions, objects of every
difficulty: heights around 25 / 40 px, truncation, occlusion):

- ``perfect``: every Car / Pedestrian / Cyclist detected exactly, but for a 1 mm offset of
  the location (MMDetection3D's rotated overlap of two *identical* boxes is NaN: its vertex
  sort divides by zero), so AP 100;
- ``shifted``: locations moved by ~0.4 m, 2D boxes by ~3 px, sizes by ~5 %;
- ``rotated``: exact boxes, yaw and alpha off by ~0.5 rad;
- ``mixed``: misses, duplicates, false positives (some inside DontCare regions), small
  detections, noisy scores.

``make_cases()`` returns ``{case: (gt_texts, det_texts)}``: one KITTI label / result file
content per image.
"""
import math
from typing import Dict, List, Tuple

import numpy as np

P2 = np.array([[7.215377e+02, 0., 6.095593e+02, 4.485728e+01],
               [0., 7.215377e+02, 1.728540e+02, 2.163791e-01],
               [0., 0., 1., 2.745884e-03]])
WIDTH, HEIGHT = 1242, 375
DIMS = {'Car': (1.52, 1.63, 3.88), 'Van': (2.2, 1.9, 5.1), 'Truck': (3.2, 2.6, 10.0),
        'Pedestrian': (1.76, 0.66, 0.84), 'Person_sitting': (1.27, 0.6, 0.8),
        'Cyclist': (1.74, 0.6, 1.76), 'Tram': (3.5, 2.6, 15.0), 'Misc': (1.6, 1.5, 2.5)}
TYPES = ['Car'] * 4 + ['Pedestrian'] * 3 + ['Cyclist'] * 3 + ['Van', 'Person_sitting',
                                                               'Truck', 'Tram', 'Misc']
# enough ground truth that every class and difficulty has more than 40 objects: the KITTI
# recall sampling takes one threshold per true positive, so fewer caps the AP below 100
NUM_IMAGES = 100
CASES = ('perfect', 'shifted', 'rotated', 'mixed')
EVAL_TYPES = ('Car', 'Pedestrian', 'Cyclist')


def wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi


def projected_extent(p2, dims, loc, ry, width: int, height: int) -> list:
    """The extent of a KITTI box (``dims`` h, w, l; bottom-center ``loc``) projected through
    ``p2``, clipped to the image (a KITTI 2D box). Numpy only: the official-fixture script
    uses it too."""
    h, w, length = dims
    c, s = math.cos(ry), math.sin(ry)
    xs = np.array([1, 1, -1, -1, 1, 1, -1, -1]) * length / 2
    ys = np.array([0, 0, 0, 0, -1, -1, -1, -1]) * h
    zs = np.array([1, -1, -1, 1, 1, -1, -1, 1]) * w / 2
    pts = np.stack([c * xs + s * zs + loc[0], ys + loc[1], -s * xs + c * zs + loc[2],
                    np.ones(8)])
    uvw = p2 @ pts
    uv = uvw[:2] / uvw[2:]
    return [np.clip(uv[0].min(), 0, width - 1), np.clip(uv[1].min(), 0, height - 1),
            np.clip(uv[0].max(), 0, width - 1), np.clip(uv[1].max(), 0, height - 1)]


def box_2d(dims, loc, ry):
    """The projected 3D box's extent clipped to the image, or None if mostly outside."""
    box = projected_extent(P2, dims, loc, ry, WIDTH, HEIGHT)
    if box[2] - box[0] < 2 or box[3] - box[1] < 2:
        return None
    for lim in (25., 40.):  # keep heights off the difficulty limits (C++ '<', mmdet3d '<=')
        if abs((box[3] - box[1]) - lim) < 0.05:
            box[3] += 0.3
    return box


def line(obj: dict, score=None) -> str:
    nums = [obj['alpha'], *obj['bbox'], *obj['dims'], *obj['loc'], obj['ry']]
    if score is not None:
        nums.append(score)
    head = f"{obj['name']} {obj['trunc']:.2f} {obj['occ']}" if score is None else \
        f"{obj['name']} -1 -1"
    return head + ' ' + ' '.join(f'{v:.4f}' for v in nums)


def make_scene(rng: np.random.RandomState) -> List[dict]:
    objects = []
    for _ in range(rng.randint(4, 11)):
        name = TYPES[rng.randint(len(TYPES))]
        dims = np.array(DIMS[name]) * rng.uniform(0.92, 1.08, 3)
        z = float(np.exp(rng.uniform(np.log(5), np.log(45))))
        loc = np.array([rng.uniform(-0.8, 0.8) * z, 1.6 + rng.uniform(-0.1, 0.1), z])
        ry = float(rng.uniform(-math.pi, math.pi))
        bbox = box_2d(dims, loc, ry)
        if bbox is None:
            continue
        objects.append(dict(name=name, dims=dims, loc=loc, ry=ry, bbox=bbox,
                            alpha=wrap(ry - math.atan2(loc[0], loc[2])),
                            trunc=float(rng.choice([0., 0., 0., 0.1, 0.2, 0.4, 0.6])),
                            occ=int(rng.choice([0, 0, 0, 1, 2, 3]))))
    for _ in range(rng.randint(0, 3)):
        x1, y1 = rng.uniform(0, WIDTH - 80), rng.uniform(150, 250)
        objects.append(dict(name='DontCare', dims=(-1., -1., -1.), loc=(-1000., -1000., -1000.),
                            ry=-10., alpha=-10., trunc=-1., occ=-1,
                            bbox=[x1, y1, x1 + rng.uniform(20, 80), y1 + rng.uniform(15, 50)]))
    return objects


def _copy(obj: dict, **changes) -> dict:
    out = dict(obj)
    out.update(changes)
    return out


def detections(case: str, scene: List[dict], rng: np.random.RandomState) -> List[str]:
    real = [o for o in scene if o['name'] in EVAL_TYPES]
    dets = []
    for obj in real:
        score = float(rng.uniform(0.2, 1.0))
        if case == 'perfect':
            dets.append(line(_copy(obj, loc=obj['loc'] + np.array([1e-3, 0., 1e-3])), score))
        elif case == 'shifted':
            loc = obj['loc'] + np.array([rng.normal(0, 0.4), rng.normal(0, 0.05),
                                         rng.normal(0, 0.4)])
            bbox = list(np.array(obj['bbox']) + rng.normal(0, 3, 4))
            dims = obj['dims'] * rng.uniform(0.95, 1.05, 3)
            dets.append(line(_copy(obj, loc=loc, bbox=bbox, dims=dims), score))
        elif case == 'rotated':
            d = float(rng.normal(0, 0.5))
            dets.append(line(_copy(obj, ry=wrap(obj['ry'] + d), alpha=wrap(obj['alpha'] + d)),
                             score))
        else:
            if rng.rand() < 0.2:
                continue  # missed
            loc = obj['loc'] + np.array([rng.normal(0, 0.8), 0, rng.normal(0, 1.0)])
            bbox = list(np.array(obj['bbox']) + rng.normal(0, 5, 4))
            d = float(rng.normal(0, 0.3))
            det = _copy(obj, loc=loc, bbox=bbox, ry=wrap(obj['ry'] + d),
                        alpha=wrap(obj['alpha'] + d))
            dets.append(line(det, score))
            if rng.rand() < 0.15:  # duplicate
                dets.append(line(_copy(det, bbox=list(np.array(bbox) + rng.normal(0, 2, 4))),
                                 score * 0.5))
    if case == 'mixed':
        for obj in [o for o in scene if o['name'] == 'DontCare']:
            b = obj['bbox']  # a false positive inside a DontCare area
            dets.append(line(_copy(obj, name='Car', bbox=[b[0] + 1, b[1] + 1, b[2] - 1,
                                                          b[3] - 1], dims=DIMS['Car'],
                                   loc=np.array([0., 1.6, 30.]), ry=0.3, alpha=0.3),
                             float(rng.uniform(0.2, 1))))
        for _ in range(rng.randint(0, 4)):  # random false positives, some small
            name = EVAL_TYPES[rng.randint(3)]
            x1, y1 = rng.uniform(0, WIDTH - 100), rng.uniform(120, 260)
            h = rng.uniform(10, 90)
            dets.append(line(dict(name=name, dims=DIMS[name], ry=0.1, alpha=0.2,
                                  loc=np.array([rng.uniform(-10, 10), 1.6, rng.uniform(8, 50)]),
                                  bbox=[x1, y1, x1 + h * 0.8, y1 + h]),
                             float(rng.uniform(0.2, 1))))
    return dets


def make_cases() -> Dict[str, Tuple[List[str], List[str]]]:
    rng = np.random.RandomState(2024)
    scenes = [make_scene(rng) for _ in range(NUM_IMAGES)]
    gt_texts = [''.join(line(o) + '\n' for o in scene) for scene in scenes]
    out = {}
    for case in CASES:
        case_rng = np.random.RandomState(7 + CASES.index(case))
        det_texts = [''.join(d + '\n' for d in detections(case, scene, case_rng))
                     for scene in scenes]
        out[case] = (gt_texts, det_texts)
    return out
