"""The CPU KITTI evaluator against independent implementations and hand-checked cases.

tests/data/kitti_eval_mmdet3d.npz holds MMDetection3D 1.4.0's KITTI evaluator output
(41-point precision / orientation curves) on the fixed cases of
tests/data/kitti_eval_cases.py, made by tests/data/make_kitti_eval_fixtures.py (numba's CUDA
simulator on CPU). The official C++ evaluator (CenterNet ``src/tools/kitti_eval``) is
compiled and compared too where Boost and the official source are available
(``MMCN_OFFICIAL_CENTERNET=/path/to/CenterNet``).
"""
import os
import os.path as osp
import shutil
import subprocess

import numpy as np
import pytest

from mmcenternet.datasets.kitti_mono3d import parse_label_line, read_kitti_label
from mmcenternet.evaluation.functional.kitti_eval import (KITTI_MIN_OVERLAPS, _ClassData,
                                                          ap_r11, ap_r40, box3d_overlaps,
                                                          kitti_eval)
from mmcenternet.evaluation.metrics.kitti_metric import objects_to_anno

HERE = osp.dirname(osp.abspath(__file__))
FIXTURES = np.load(osp.join(HERE, '..', 'data', 'kitti_eval_mmdet3d.npz'))
CASES = ('perfect', 'shifted', 'rotated', 'mixed')
CLASSES = ('Car', 'Pedestrian', 'Cyclist')


def _annos(texts, with_score):
    return [objects_to_anno([parse_label_line('t', i + 1, line, with_score)
                             for i, line in enumerate(str(t).splitlines()) if line.strip()])
            for t in texts]


def _case(case):
    return _annos(FIXTURES[f'{case}_gt'], False), _annos(FIXTURES[f'{case}_det'], True)


@pytest.fixture(scope='module')
def results():
    out = {}
    for case in CASES:
        gts, dets = _case(case)
        out[(case, 0)] = kitti_eval(gts, dets)
        out[(case, 1)] = kitti_eval(gts, dets, min_overlaps=KITTI_MIN_OVERLAPS)
    return out


@pytest.mark.parametrize('case', CASES)
@pytest.mark.parametrize('thresholds', [0, 1], ids=['official', 'strict'])
def test_equals_mmdet3d(results, case, thresholds):
    res = results[(case, thresholds)]
    for c, cls in enumerate(CLASSES):
        for metric in ('bbox', 'aos', 'bev', '3d'):
            key = f'{case}_aos' if metric == 'aos' else f'{case}_{metric}_precision'
            ref = FIXTURES[key][c, :, thresholds]  # (difficulty, 41)
            np.testing.assert_allclose(res[cls][metric]['precision'], ref, rtol=0,
                                       atol=1e-6, err_msg=f'{cls} {metric}')
            for interp, fn in (('R11', ap_r11), ('R40', ap_r40)):
                np.testing.assert_allclose(res[cls][metric][interp], [fn(r) for r in ref],
                                           rtol=0, atol=1e-4)


def test_cases_are_not_trivial(results):
    """The comparison covers non-zero, non-100 values of every metric."""
    shifted, rotated = results[('shifted', 0)], results[('rotated', 0)]
    for values in (shifted['Car']['bev']['R40'], shifted['Car']['3d']['R40'],
                   rotated['Car']['aos']['R40'], results[('mixed', 0)]['Car']['bbox']['R40']):
        assert all(5 < v < 99 for v in values), values
    assert rotated['Car']['bbox']['R40'] == [100.0] * 3


def test_perfect_detections_give_100(results):
    res = results[('perfect', 0)]
    for metric in ('bbox', 'aos', 'bev', '3d'):
        assert res['Car'][metric]['R11'] == pytest.approx([100.] * 3)
        assert res['Car'][metric]['R40'] == pytest.approx([100.] * 3)
        for cls in ('Pedestrian', 'Cyclist'):  # Easy has fewer than 41 objects: see below
            assert res[cls][metric]['R40'][1:] == pytest.approx([100.] * 2)


def _obj(name, box, occ=0, trunc=0., loc=(0., 1.6, 20.), dims=(1.5, 1.6, 3.9), ry=0.,
         alpha=0., score=None):
    return dict(name=name, truncated=trunc, occluded=occ, alpha=alpha, bbox=list(box),
                dims_hwl=list(dims), location=list(loc), rotation_y=ry, score=score)


def test_few_objects_cap_the_ap():
    """KITTI samples one threshold per true positive: one perfect detection fills only the
    recall-0 point, R11 = 1/11, R40 = 0 (the 40 points start after 0)."""
    gts = [objects_to_anno([_obj('Car', (100, 100, 200, 180))])]
    dets = [objects_to_anno([_obj('Car', (100, 100, 200, 180), score=0.9)])]
    res = kitti_eval(gts, dets, classes=('Car', ))['Car']['bbox']
    assert res['R11'] == pytest.approx([100 / 11] * 3)
    assert res['R40'] == pytest.approx([0.] * 3)


def _stats(gt_objs, det_objs, cls='Car', difficulty=0, metric='bbox', thr=0.7):
    data = _ClassData([objects_to_anno(gt_objs)], [objects_to_anno(det_objs)], cls,
                      difficulty, metric, thr, {})
    return data.n_gt, data.statistics(np.array([0.0]))[0]


def test_difficulty_filtering():
    """Occluded / truncated / small ground truth is ignored below its difficulty: matched
    detections are neither TP nor FP there, and unmatched ones are no FN."""
    box = (100, 100, 200, 130)  # 30 px high: Moderate / Hard only
    gt = [_obj('Car', box), _obj('Car', (300, 100, 400, 160), occ=1),
          _obj('Car', (500, 100, 600, 160), trunc=0.4)]
    dets = [_obj('Car', box, score=0.9), _obj('Car', (300, 100, 400, 160), score=0.8),
            _obj('Car', (500, 100, 600, 160), score=0.7)]
    n_easy, (tp, fp, fn, _) = _stats(gt, dets, difficulty=0)
    # Easy: the 30 px detection is itself ignored (< 40 px); the others match ignored gt
    assert (n_easy, tp, fp, fn) == (0, 0, 0, 0)
    n_mod, (tp, fp, fn, _) = _stats(gt, dets, difficulty=1)
    assert (n_mod, tp, fp, fn) == (2, 2, 0, 0)  # truncation 0.4 > 0.3 still ignored
    n_hard, (tp, fp, fn, _) = _stats(gt, dets[:1], difficulty=2)
    assert (n_hard, tp, fp, fn) == (3, 1, 0, 2)


def test_dontcare_and_neighbour_classes():
    """A detection inside a DontCare area or on a Van is no false positive; elsewhere it
    is one; a Van is never a false negative."""
    gt = [_obj('DontCare', (50, 100, 150, 200)), _obj('Van', (300, 100, 400, 200)),
          _obj('Car', (600, 100, 700, 200))]
    dets = [_obj('Car', (60, 110, 140, 190), score=0.9), _obj('Car', (300, 100, 400, 200),
                                                             score=0.8),
            _obj('Car', (800, 100, 900, 200), score=0.7)]
    n, (tp, fp, fn, _) = _stats(gt, dets)
    assert (n, tp, fp, fn) == (1, 0, 1, 1)  # only the detection at 800 is an FP
    n, (tp, fp, fn, _) = _stats(gt, dets + [_obj('Car', (600, 100, 700, 200), score=0.5)])
    assert (n, tp, fp, fn) == (1, 1, 1, 0)
    n, (tp, fp, fn, _) = _stats(gt[1:], dets)
    assert (tp, fp) == (0, 2)  # without the DontCare area the first one is an FP too


def test_orientation_similarity():
    gt = [_obj('Car', (100, 100, 200, 200), alpha=0.5)]
    det = [_obj('Car', (100, 100, 200, 200), alpha=0.5 + np.pi / 2, score=0.9)]
    _, (tp, fp, fn, sim) = _stats(gt, det)
    assert (tp, fp, fn) == (1, 0, 0) and sim == pytest.approx(0.5)


def test_overlaps_against_polygons():
    """BEV and 3D overlaps equal an independent polygon computation (shapely)."""
    geometry = pytest.importorskip('shapely.geometry')
    rng = np.random.RandomState(0)
    det = np.concatenate([rng.uniform(-5, 5, (20, 1)), rng.uniform(1, 2, (20, 1)),
                          rng.uniform(20, 30, (20, 1)), rng.uniform(1, 5, (20, 3)),
                          rng.uniform(-3, 3, (20, 1))], 1)
    gt = det[rng.permutation(20)] + np.concatenate(
        [rng.normal(0, 0.8, (20, 3)), rng.normal(0, 0.3, (20, 3)), rng.normal(0, 0.5, (20, 1))],
        1)
    gt[:, 3:6] = np.abs(gt[:, 3:6]) + 0.5

    def poly(b):
        c, s = np.cos(b[6]), np.sin(b[6])
        pts = [(c * dx + s * dz + b[0], -s * dx + c * dz + b[2])
               for dx, dz in ((b[3] / 2, b[5] / 2), (b[3] / 2, -b[5] / 2),
                              (-b[3] / 2, -b[5] / 2), (-b[3] / 2, b[5] / 2))]
        return geometry.Polygon(pts)

    bev = box3d_overlaps(det, gt, 'bev')
    iou3d = box3d_overlaps(det, gt, '3d')
    for i in range(20):
        for j in range(20):
            inter = poly(det[i]).intersection(poly(gt[j])).area
            ref_bev = inter / (det[i, 3] * det[i, 5] + gt[j, 3] * gt[j, 5] - inter)
            h = max(0., min(det[i, 1], gt[j, 1]) - max(det[i, 1] - det[i, 4],
                                                      gt[j, 1] - gt[j, 4]))
            vol = inter * h
            ref_3d = vol / (np.prod(det[i, 3:6]) + np.prod(gt[j, 3:6]) - vol)
            assert bev[i, j] == pytest.approx(ref_bev, abs=1e-5)
            assert iou3d[i, j] == pytest.approx(ref_3d, abs=1e-5)
    assert (bev > 0.05).sum() > 10
    same = box3d_overlaps(det, det, '3d')  # identical boxes: exactly 1, no NaN
    np.testing.assert_allclose(np.diag(same), 1., atol=1e-5)


def _official_evaluator():
    src = os.environ.get('MMCN_OFFICIAL_CENTERNET', '/tmp/official')
    cpp = osp.join(src, 'src', 'tools', 'kitti_eval', 'evaluate_object_3d_offline.cpp')
    have_boost = any(osp.isfile(osp.join(p, 'boost', 'geometry.hpp'))
                     for p in ('/usr/include', '/usr/local/include'))
    if not (osp.isfile(cpp) and have_boost and shutil.which('g++')):
        pytest.skip('needs g++, Boost headers and the official CenterNet source '
                    '(MMCN_OFFICIAL_CENTERNET)')
    return cpp


def _write_case(root, texts):
    os.makedirs(root, exist_ok=True)
    for i, text in enumerate(texts):
        with open(osp.join(root, f'{i:06d}.txt'), 'w') as f:
            f.write(str(text))


@pytest.mark.parametrize('case', CASES)
def test_equals_official_cpp_evaluator(results, case, tmp_path):
    cpp = _official_evaluator()
    binary = tmp_path / 'evaluate_object_3d_offline'
    subprocess.run(['g++', '-O2', '-o', str(binary), cpp], check=True, timeout=600)
    _write_case(str(tmp_path / 'gt'), FIXTURES[f'{case}_gt'])
    _write_case(str(tmp_path / 'run' / 'data'), FIXTURES[f'{case}_det'])
    subprocess.run([str(binary), str(tmp_path / 'gt'), str(tmp_path / 'run' / 'data') + '/'],
                   check=True, timeout=600, capture_output=True)
    res = results[(case, 0)]
    for cls in CLASSES:
        for metric, suffix in (('bbox', 'detection'), ('aos', 'orientation'),
                               ('bev', 'detection_ground'), ('3d', 'detection_3d')):
            path = tmp_path / 'run' / f'stats_{cls.lower()}_{suffix}.txt'
            if not path.exists():
                continue  # the C++ code skips classes without detections
            ref = np.loadtxt(str(path)).reshape(3, 41)
            np.testing.assert_allclose(res[cls][metric]['precision'], ref, atol=2e-6)


def test_label_files_round_trip(tmp_path):
    """Result lines written by the metric parse back to the same arrays."""
    from mmcenternet.evaluation.metrics.kitti_metric import write_kitti_results
    dets = _case('mixed')[1][3]
    path = write_kitti_results(str(tmp_path), '000003', dets)
    back = objects_to_anno(read_kitti_label(path, with_score=True))
    for key in ('bbox', 'dims_hwl', 'location', 'rotation_y', 'alpha', 'score'):
        np.testing.assert_allclose(back[key], dets[key], atol=1e-4)
    assert list(back['name']) == list(dets['name'])
