"""Regenerates ``official_ddd.npz``: monocular 3D targets, losses and detections computed by
the official CenterNet code (github.com/xingyizhou/CenterNet, commit 4c50fd3), for
tests/test_models/test_official_ddd_fidelity.py.

It imports the official functions from a checkout (nothing of it is kept in this repo):

    python tests/data/make_official_ddd_fixtures.py --official-src /path/to/CenterNet/src/lib

What runs, per sample (a KITTI label file + calibration written here, see ``SCENES``):

- **targets**: the official ``DddDataset.__getitem__`` itself (``datasets/sample/ddd.py``),
  on a blank image of the sample's size, with the annotations converted from the label
  text as the official ``tools/convert_kitti_to_coco.py`` does and the official KITTI class
  mapping (``datasets/dataset/kitti.py``: ``cat_ids``, ``max_objs`` 50), input 1280 x 384.
  Its random crop (``aug_ddd``) runs with a fixed numpy seed that the test reuses. The
  affine it used is recorded (the official ``get_affine_transform`` is wrapped), and the
  annotation boxes mapped to the output map with the official ``affine_transform``;
- **losses**: the official ``DddLoss`` (``trains/ddd.py``: ``FocalLoss``, ``L1Loss``,
  ``BinRotLoss``, weights of ``opts.py``) on random head outputs;
- **detections**: the official ``ddd_decode`` (K = 100) and ``ddd_post_process`` (with the
  sample's ``c``, ``s`` and calibration).

The official trainer module imports ``progress``, ``numba`` (for ``gen_oracle_map``, unused
here) and a multi-GPU ``DataParallel``; stand-ins are put in ``sys.modules`` for them.
"""
import argparse
import math
import os
import os.path as osp
import sys
import tempfile
import types
from typing import Dict, List

import cv2
import numpy as np
import torch

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
from kitti_eval_cases import projected_extent  # noqa: E402  (numpy only)

INPUT_W, INPUT_H, DOWN = 1280, 384, 4
MAX_OBJS = 50
# A real KITTI P2 (training/calib/000000.txt).
P2 = ('7.215377000000e+02 0.000000000000e+00 6.095593000000e+02 4.485728000000e+01 '
      '0.000000000000e+00 7.215377000000e+02 1.728540000000e+02 2.163791000000e-01 '
      '0.000000000000e+00 0.000000000000e+00 1.000000000000e+00 2.745884000000e-03')
CATS = ['Pedestrian', 'Car', 'Cyclist', 'Van', 'Truck', 'Person_sitting', 'Tram', 'Misc',
        'DontCare']
OFFICIAL_CAT_IDS = {1: 0, 2: 1, 3: 2, 4: -3, 5: -3, 6: -2, 7: -99, 8: -99, 9: -1}
DIMS = {'Pedestrian': (1.75, 0.65, 0.85), 'Car': (1.52, 1.62, 3.9), 'Cyclist': (1.74, 0.6, 1.76),
        'Van': (2.2, 1.9, 5.0), 'Truck': (3.2, 2.6, 10.0), 'Person_sitting': (1.3, 0.6, 0.8),
        'Tram': (3.5, 2.6, 15.0), 'Misc': (1.5, 1.5, 2.0)}
# (image height, width, aug_ddd, seed): KITTI's own size without and with the random
# crop, and a smaller image (the affine differs) with the random crop.
SCENES = ((375, 1242, 0.0, 11), (375, 1242, 1.0, 12), (188, 621, 1.0, 13))


def calib_text() -> str:
    """A KITTI calibration file (P0..P3, R0_rect, Tr_*), P2 real, the others dummies."""
    eye = '1 0 0 0 0 1 0 0 0 0 1 0'
    return (f'P0: {eye}\nP1: {eye}\nP2: {P2}\nP3: {eye}\nR0_rect: 1 0 0 0 1 0 0 0 1\n'
            f'Tr_velo_to_cam: {eye}\nTr_imu_to_velo: {eye}\n')


def scaled_p2(height: int) -> np.ndarray:
    """P2 for an image ``height / 375`` of KITTI's size (the smaller scene)."""
    p = np.array(P2.split(), dtype=np.float64).reshape(3, 4)
    p[:2] *= height / 375.
    return p


def _line(name: str, trunc: float, occ: int, alpha: float, box, dims, loc, ry) -> str:
    return (f'{name} {trunc:.2f} {occ} {alpha:.2f} ' + ' '.join(f'{v:.2f}' for v in box) + ' '
            + ' '.join(f'{v:.2f}' for v in dims) + ' ' + ' '.join(f'{v:.2f}' for v in loc)
            + f' {ry:.2f}')


def make_labels(rng: np.random.RandomState, height: int, width: int) -> List[str]:
    """A KITTI label file: every class, truncated boxes, DontCare, and ignored objects
    placed exactly on real ones (before and after them) so that the official 0.9999 rule
    and its object order are exercised. Tram / Misc come last (see the test's note)."""
    p = scaled_p2(height)
    lines = []
    names = ['Car'] * 6 + ['Pedestrian'] * 3 + ['Cyclist'] * 2 + ['Van', 'Truck',
                                                                   'Person_sitting']
    for name in names:
        dims = np.array(DIMS[name]) * rng.uniform(0.9, 1.1, 3)
        z = rng.uniform(6, 45)
        loc = (rng.uniform(-0.45, 0.45) * z, 1.65 + rng.uniform(-0.1, 0.1), z)
        ry = rng.uniform(-math.pi, math.pi)
        alpha = ry - math.atan2(loc[0], loc[2])
        alpha = (alpha + math.pi) % (2 * math.pi) - math.pi
        box = projected_extent(p, dims, loc, ry, width, height)
        lines.append(_line(name, rng.choice([0., 0.3, 0.8]), rng.randint(0, 4), alpha, box,
                           dims, loc, ry))
    # an object half outside the image on the left (truncated)
    lines.append(_line('Car', 0.6, 1, 1.2, (0.0, 0.45 * height, 0.08 * width, 0.7 * height),
                       (1.5, 1.6, 4.0), (-9.0, 1.7, 10.0), 0.5))
    # ignored objects on top of real ones: DontCare after a car, a car after a DontCare,
    # a Van on a car, and a DontCare after a pedestrian
    first_car = lines[0].split()
    box = tuple(float(v) for v in first_car[4:8])
    lines.append(_line('DontCare', -1, -1, -10, box, (-1, -1, -1), (-1000, -1000, -1000), -10))
    lines.append(_line('DontCare', -1, -1, -10, (0.6 * width, 0.4 * height, 0.66 * width,
                                                 0.6 * height),
                       (-1, -1, -1), (-1000, -1000, -1000), -10))
    fields = lines[1].split()
    lines.append(' '.join(fields[:4] + ['{:.2f}'.format(0.6 * width), '{:.2f}'.format(
        0.4 * height), '{:.2f}'.format(0.66 * width), '{:.2f}'.format(0.6 * height)]
        + fields[8:]))
    lines.append(' '.join(['Van'] + lines[2].split()[1:]))
    lines.append(' '.join(['DontCare'] + lines[7].split()[1:]))
    for name in ('Tram', 'Misc'):
        dims = DIMS[name]
        loc = (rng.uniform(-8, 8), 1.7, rng.uniform(20, 50))
        box = projected_extent(p, dims, loc, 0.2, width, height)
        lines.append(_line(name, 0.0, 0, 0.1, box, dims, loc, 0.2))
    return lines


def official_annotations(lines: List[str], image_id: int) -> List[dict]:
    """KITTI label lines -> COCO-style annotations, as ``convert_kitti_to_coco.py``."""
    anns = []
    for txt in lines:
        tmp = txt.split(' ')
        bbox = [float(v) for v in tmp[4:8]]
        location = [float(tmp[11]), float(tmp[12]), float(tmp[13])]
        anns.append({'image_id': image_id, 'id': len(anns) + 1,
                     'category_id': CATS.index(tmp[0]) + 1,
                     'dim': [float(tmp[8]), float(tmp[9]), float(tmp[10])],
                     'bbox': [bbox[0], bbox[1], bbox[2] - bbox[0], bbox[3] - bbox[1]],
                     'depth': location[2], 'alpha': float(tmp[3]),
                     'truncated': int(float(tmp[1])), 'occluded': int(tmp[2]),
                     'location': location, 'rotation_y': float(tmp[14])})
    return anns


class FakeCoco:
    """The three ``pycocotools.COCO`` calls ``DddDataset.__getitem__`` makes."""

    def __init__(self, images: Dict[int, dict], anns: Dict[int, List[dict]]) -> None:
        self.images, self.anns = images, anns

    def loadImgs(self, ids):  # noqa: N802 (official API)
        return [self.images[i] for i in ids]

    def getAnnIds(self, imgIds):  # noqa: N802,N803
        return [(imgIds[0], k) for k in range(len(self.anns[imgIds[0]]))]

    def loadAnns(self, ids):  # noqa: N802
        return [self.anns[i][k] for i, k in ids]


def make_opt(aug_ddd: float) -> types.SimpleNamespace:
    """The ``opt`` fields the official ddd dataset, loss and post-processing read."""
    return types.SimpleNamespace(
        keep_res=False, input_w=INPUT_W, input_h=INPUT_H, output_w=INPUT_W // DOWN,
        output_h=INPUT_H // DOWN, aug_ddd=aug_ddd, scale=0.4, shift=0.1, num_classes=3,
        mse_loss=False, reg_bbox=True, reg_offset=True, rect_mask=False, debug=0, K=100,
        num_stacks=1, eval_oracle_dep=False, hm_weight=1, dep_weight=1, dim_weight=1,
        rot_weight=1, wh_weight=0.1, off_weight=1)


def stub_modules() -> None:
    """Stand-ins for what ``trains/ddd.py`` imports but the loss does not use."""
    progress, bar = types.ModuleType('progress'), types.ModuleType('progress.bar')
    bar.Bar = object
    progress.bar = bar
    numba = types.ModuleType('numba')
    numba.jit = lambda *a, **k: (lambda f: f)
    parallel = types.ModuleType('models.data_parallel')
    parallel.DataParallel = object
    sys.modules.update({'progress': progress, 'progress.bar': bar, 'numba': numba,
                        'models.data_parallel': parallel})


def _hash_noise(shape) -> np.ndarray:
    """Deterministic uniform [0, 1) values without a stored array or an RNG whose stream
    could change between library versions (the classic ``fract(sin(dot) * 43758.5453)``)."""
    idx = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    return np.modf(np.abs(np.sin(idx * 12.9898 + 78.233) * 43758.5453))[0]


def head_outputs(num: int) -> Dict[str, torch.Tensor]:
    """Raw head outputs the fixture's losses and detections are computed on (the tests
    rebuild them with this function)."""
    out_h, out_w = INPUT_H // DOWN, INPUT_W // DOWN
    spec = dict(hm=(3, 4., -4.), dep=(1, 4., -2.), rot=(8, 2., -1.), dim=(3, 4., 0.),
                wh=(2, 40., 0.), reg=(2, 1., 0.))
    outs = {}
    for k, (name, (ch, scale, shift)) in enumerate(spec.items()):
        noise = _hash_noise((num + k, ch, out_h, out_w))[k:]
        outs[name] = torch.from_numpy((noise * scale + shift).astype(np.float32))
    return outs


def run_official_sample(ddd_mod, image_mod, tmp: str, index: int, scene) -> dict:
    """One ``DddDataset.__getitem__`` call; returns its targets and what the test needs."""
    height, width, aug_ddd, seed = scene
    rng = np.random.RandomState(100 + index)
    lines = make_labels(rng, height, width)
    calib = scaled_p2(height).astype(np.float32)
    name = f'{index:06d}.png'
    cv2.imwrite(osp.join(tmp, name), np.zeros((height, width, 3), np.uint8))

    class Dataset(ddd_mod.DddDataset):
        pass

    ds = Dataset()
    ds.opt = make_opt(aug_ddd)
    ds.split = 'train'
    ds.mean = np.array([0.485, 0.456, 0.406], np.float32).reshape(1, 1, 3)
    ds.std = np.array([0.229, 0.224, 0.225], np.float32).reshape(1, 1, 3)
    ds.max_objs = MAX_OBJS
    ds.cat_ids = OFFICIAL_CAT_IDS
    ds.alpha_in_degree = False
    ds.img_dir = tmp
    ds.images = [index]
    ds.coco = FakeCoco({index: {'file_name': name, 'id': index, 'calib': calib.tolist()}},
                       {index: official_annotations(lines, index)})
    calls = []
    original = ddd_mod.get_affine_transform

    def recording(center, scale, rot, output_size, *args, **kwargs):
        calls.append((np.array(center, np.float64).copy(), np.array(scale).copy(),
                      list(output_size)))
        return original(center, scale, rot, output_size, *args, **kwargs)

    ddd_mod.get_affine_transform = recording
    np.random.seed(seed)
    try:
        ret = ds[0]
    finally:
        ddd_mod.get_affine_transform = original
    center, scale, _ = calls[1]  # [0] is the input warp, [1] the output one
    trans_output = original(center, scale, 0, [INPUT_W // DOWN, INPUT_H // DOWN])
    out_boxes = []
    for ann in ds.coco.anns[index]:
        b = ann['bbox']
        box = np.array([b[0], b[1], b[0] + b[2], b[1] + b[3]], np.float32)
        box[:2] = image_mod.affine_transform(box[:2], trans_output)
        box[2:] = image_mod.affine_transform(box[2:], trans_output)
        out_boxes.append(box)
    return dict(ret=ret, labels='\n'.join(lines) + '\n', calib=calib, center=center,
                scale=np.asarray(scale, np.float64), out_boxes=np.array(out_boxes, np.float32),
                shape=np.array([height, width]), seed=seed, aug=aug_ddd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--official-src', required=True, help='CenterNet/src/lib')
    parser.add_argument('--out', default=osp.join(HERE, 'official_ddd.npz'))
    args = parser.parse_args()
    sys.path.insert(0, args.official_src)
    stub_modules()
    import datasets.sample.ddd as ddd_mod  # noqa: E402  (official)
    import utils.image as image_mod  # noqa: E402  (official)
    from models.decode import ddd_decode  # noqa: E402  (official)
    from trains.ddd import DddLoss  # noqa: E402  (official)
    from utils.post_process import ddd_post_process  # noqa: E402  (official)

    data = {}
    with tempfile.TemporaryDirectory() as tmp:
        samples = [run_official_sample(ddd_mod, image_mod, tmp, i, scene)
                   for i, scene in enumerate(SCENES)]
    target_keys = ('hm', 'dep', 'dim', 'ind', 'rotbin', 'rotres', 'reg_mask', 'rot_mask',
                   'wh', 'reg')
    for i, s in enumerate(samples):
        for key in target_keys:
            data[f'{i}_{key}'] = s['ret'][key]
        for key in ('labels', 'calib', 'center', 'scale', 'out_boxes', 'shape', 'seed', 'aug'):
            data[f'{i}_{key}'] = np.asarray(s[key])
    batch = {k: torch.from_numpy(np.stack([s['ret'][k] for s in samples])) for k in target_keys}

    raw = head_outputs(len(samples))
    loss, stats = DddLoss(make_opt(0.0))([{k: v.clone() for k, v in raw.items()}], batch)
    for key, value in stats.items():
        data[f'loss_{key}'] = value.detach().numpy()

    heat = torch.sigmoid(raw['hm'])
    dep = 1. / (raw['dep'].sigmoid() + 1e-6) - 1.
    dets = ddd_decode(heat, raw['rot'], dep, raw['dim'], wh=raw['wh'], reg=raw['reg'], K=100)
    data['dets'] = dets.numpy()
    opt = make_opt(0.0)
    for i, s in enumerate(samples):
        post = ddd_post_process(dets[i:i + 1].numpy().copy(), [s['center']], [s['scale']],
                                [s['calib']], opt)[0]
        # per detection: [alpha, x1, y1, x2, y2, h, w, l, x, y, z, rot_y, score, class]
        rows = [np.concatenate([post[c], np.full((len(post[c]), 1), c - 1, np.float32)], 1)
                for c in sorted(post) if len(post[c])]
        data[f'{i}_post'] = np.concatenate(rows, 0)
    np.savez_compressed(args.out, **data)
    print(f'wrote {args.out} ({len(data)} arrays, {os.path.getsize(args.out)} bytes)')


if __name__ == '__main__':
    main()
