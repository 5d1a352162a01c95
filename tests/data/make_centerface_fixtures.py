"""Regenerates ``centerface_release.npz``: faces and landmarks decoded by CenterFace's own
post-processing (github.com/Star-Clouds/CenterFace, ``prj-python/centerface.py``,
``CenterFace.decode``: threshold, ``exp(scale) * 4`` boxes around ``pixel + offset + 0.5``,
landmarks relative to the box corner, NMS at IoU 0.3), for
tests/test_models/test_task_modules/test_codecs/test_centerface.py.

It imports the release's class from a checkout (nothing of it is kept in this repo):

    python tests/data/make_centerface_fixtures.py --centerface-src /path/to/CenterFace

The class's constructor loads the ONNX model, which the decode does not need, so the
instance is made without it; the release's NMS uses ``np.bool`` (removed in NumPy 2),
restored as ``bool`` for the call. Only the release's outputs are stored with the maps; the
maps are drawn by :func:`make_maps` (``np.random.RandomState``), faces placed inside the
image so that the release's corner clipping does not apply.
"""
import argparse
import importlib.util
import os.path as osp
from typing import Dict

import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
MAP_H, MAP_W = 24, 32
THRESHOLD = 0.5


def make_maps(seed: int = 0) -> Dict[str, np.ndarray]:
    """Release-layout maps ``(1, C, 24, 32)``: ``heatmap`` (sigmoid scores), ``scale``
    (``log h, log w``), ``offset`` (``y, x``), ``landmarks`` (``y, x`` per landmark).

    Twelve faces of 8-40 input pixels well inside the 128 x 96 image, some with a
    neighbouring pixel above the threshold too (duplicates for the NMS), over a background
    below the threshold.
    """
    rng = np.random.RandomState(seed)
    heat = rng.uniform(0, THRESHOLD * 0.9, (1, 1, MAP_H, MAP_W))
    scale = rng.uniform(np.log(2), np.log(10), (1, 2, MAP_H, MAP_W))
    offset = rng.uniform(-0.5, 0.5, (1, 2, MAP_H, MAP_W))
    landmarks = rng.uniform(0, 1, (1, 10, MAP_H, MAP_W))
    ys = rng.choice(np.arange(6, MAP_H - 6), 12)
    xs = rng.choice(np.arange(6, MAP_W - 6), 12)
    heat[0, 0, ys, xs] = rng.uniform(0.55, 0.99, 12)
    near = rng.rand(12) < 0.5  # a weaker duplicate one pixel to the right
    heat[0, 0, ys[near], xs[near] + 1] = heat[0, 0, ys[near], xs[near]] - 0.02
    return dict(heatmap=heat.astype(np.float32), scale=scale.astype(np.float32),
                offset=offset.astype(np.float32), landmarks=landmarks.astype(np.float32))


def release_decode(src: str, maps: Dict[str, np.ndarray]):
    """``CenterFace.decode`` of the release on ``maps`` (input size ``4 x`` the map)."""
    spec = importlib.util.spec_from_file_location(
        'centerface_release', osp.join(src, 'prj-python', 'centerface.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    detector = object.__new__(module.CenterFace)  # without __init__: no ONNX model needed
    detector.landmarks = True
    if not hasattr(np, 'bool'):
        np.bool = bool  # the release's nms allocates np.zeros(..., dtype=np.bool)
    return detector.decode(maps['heatmap'], maps['scale'], maps['offset'], maps['landmarks'],
                           (MAP_H * 4, MAP_W * 4), threshold=THRESHOLD)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--centerface-src', required=True,
                        help='checkout of github.com/Star-Clouds/CenterFace')
    parser.add_argument('--out', default=osp.join(HERE, 'centerface_release.npz'))
    args = parser.parse_args()
    maps = make_maps()
    dets, lms = release_decode(args.centerface_src, maps)
    np.savez_compressed(args.out, dets=np.asarray(dets, np.float32),
                        landmarks=np.asarray(lms, np.float32), threshold=THRESHOLD,
                        **{f'map_{k}': v for k, v in maps.items()})
    print(f'{len(dets)} faces -> {args.out}')


if __name__ == '__main__':
    main()
