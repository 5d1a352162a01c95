"""Regenerates ``kitti_eval_mmdet3d.npz``: MMDetection3D's KITTI evaluator on the fixed
cases of ``kitti_eval_cases.py``, for tests/test_evaluation/test_kitti_eval.py.

MMDetection3D (1.4.0) is an independent implementation of the KITTI devkit's rules (a numba
port); its rotated overlaps are ``numba.cuda`` kernels, so on a CPU machine it runs under
numba's CUDA simulator. It needs nothing but numpy and numba, in a throwaway environment:

    python3 -m venv /tmp/m3d && /tmp/m3d/bin/pip install "numba==0.60.0" "numpy<2.1"
    /tmp/m3d/bin/pip install --no-deps mmdet3d==1.4.0
    NUMBA_ENABLE_CUDASIM=1 /tmp/m3d/bin/python tests/data/make_kitti_eval_fixtures.py

Only ``mmdet3d/evaluation/functional/kitti_utils/{eval,rotate_iou}.py`` are loaded (by
path: the package's ``__init__`` would import the OpenMMLab stack). It evaluates with the
official CenterNet evaluator's IoU thresholds (MMDetection3D's second, "loose" set: Car
0.7 / 0.5 / 0.5, Pedestrian and Cyclist 0.5 / 0.25 / 0.25) and the strict KITTI set, and
stores the 41-point precision and orientation curves (class x difficulty x threshold set
x 41) of 2D, BEV and 3D for each case, with the label texts it read.
"""
import argparse
import importlib.util
import os
import os.path as osp
import sys
import types

import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
CLASS_IDS = {'Car': 0, 'Pedestrian': 1, 'Cyclist': 2}
# [threshold set, metric (2D, BEV, 3D), class (Car, Pedestrian, Cyclist)]
MIN_OVERLAPS = np.array([[[0.7, 0.5, 0.5], [0.5, 0.25, 0.25], [0.5, 0.25, 0.25]],
                         [[0.7, 0.5, 0.5], [0.7, 0.5, 0.5], [0.7, 0.5, 0.5]]])


def load_mmdet3d_eval():
    """``kitti_utils.eval`` of the installed mmdet3d, without the package ``__init__``."""
    spec = importlib.util.find_spec('mmdet3d')
    root = osp.join(osp.dirname(spec.origin), 'evaluation', 'functional', 'kitti_utils')
    package = types.ModuleType('kitti_utils')
    package.__path__ = [root]
    sys.modules['kitti_utils'] = package
    for name in ('rotate_iou', 'eval'):
        mod_spec = importlib.util.spec_from_file_location(f'kitti_utils.{name}',
                                                          osp.join(root, f'{name}.py'))
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[f'kitti_utils.{name}'] = module
        mod_spec.loader.exec_module(module)
    return sys.modules['kitti_utils.eval']


def parse(text: str, with_score: bool) -> dict:
    """A KITTI label / result text as MMDetection3D's ``get_label_anno`` lays it out
    (``dimensions`` as l, h, w)."""
    rows = [r.split() for r in text.splitlines() if r.strip()]
    num = [[float(v) for v in r[1:]] for r in rows]
    arr = np.array(num, np.float64).reshape(-1, 15 if with_score else 14)
    anno = dict(name=np.array([r[0] for r in rows]), truncated=arr[:, 0],
                occluded=arr[:, 1].astype(np.int64), alpha=arr[:, 2], bbox=arr[:, 3:7],
                dimensions=arr[:, 7:10][:, [2, 0, 1]], location=arr[:, 10:13],
                rotation_y=arr[:, 13])
    if with_score:
        anno['score'] = arr[:, 14]
    return anno


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--out', default=osp.join(HERE, 'kitti_eval_mmdet3d.npz'))
    args = parser.parse_args()
    if os.environ.get('NUMBA_ENABLE_CUDASIM') != '1':
        print('note: without a GPU, set NUMBA_ENABLE_CUDASIM=1')
    sys.path.insert(0, HERE)
    from kitti_eval_cases import make_cases  # noqa: E402
    evaluator = load_mmdet3d_eval()
    classes = [CLASS_IDS[c] for c in ('Car', 'Pedestrian', 'Cyclist')]
    data = {}
    for case, (gt_texts, det_texts) in make_cases().items():
        gts = [parse(t, False) for t in gt_texts]
        dets = [parse(t, True) for t in det_texts]
        data[f'{case}_gt'] = np.array(gt_texts)
        data[f'{case}_det'] = np.array(det_texts)
        for metric, name in enumerate(('bbox', 'bev', '3d')):
            ret = evaluator.eval_class(gts, dets, classes, [0, 1, 2], metric, MIN_OVERLAPS,
                                       compute_aos=(metric == 0))
            data[f'{case}_{name}_precision'] = ret['precision']
            if metric == 0:
                data[f'{case}_aos'] = ret['orientation']
    np.savez_compressed(args.out, **data)
    print(f'wrote {args.out} ({len(data)} arrays, {os.path.getsize(args.out)} bytes)')


if __name__ == '__main__':
    main()
