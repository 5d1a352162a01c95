"""Regenerates the WIDER FACE evaluation fixtures: a synthetic val ground truth in the
official ``.mat`` layout (``widerface_gt/``), fixed predictions, and the easy / medium / hard
AP that the widely used Python evaluation (github.com/wondervictor/WiderFace-Evaluation,
``evaluation.py``) computes from them, for tests/test_evaluation/test_widerface_metric.py.

It imports that evaluation from a checkout (nothing of it is kept in this repo):

    python tests/data/make_widerface_fixtures.py --widerface-eval-src /path/to/WiderFace-Evaluation

Its two compiled / optional dependencies are stubbed: ``bbox.bbox_overlaps`` (its Cython
``box_overlaps.pyx``: IoU with ``+1`` pixel widths, as the official MATLAB ``boxoverlap``)
and ``IPython.embed`` (imported, unused). The predictions are written in the official
submission layout (``<event>/<name>.txt``: name, count, ``x y w h score`` rows, sorted by
score as the official ``read_pred.m`` sorts them; the Python port reads them in file order),
and the port's APs are read from its ``voc_ap`` calls.

The ground truth is written by mmcenternet's ``write_wider_ground_truth`` (the layout is
checked by the port reading it with ``scipy.io.loadmat`` as it reads the official files).
"""
import argparse
import contextlib
import importlib.util
import io
import os
import os.path as osp
import sys
import tempfile
import types

import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
EVENTS = ('0--Parade', '1--Handshaking', '2--Demonstration')


def make_ground_truth(seed: int = 0):
    """Three events of 2-5 images with 1-14 faces (integer ``x y w h``); settings by face
    height as the real ones roughly are (easy >= 40, medium >= 16, hard all), so each image
    has faces outside easy / medium that detections can hit (ignored matches)."""
    sys.path.insert(0, ROOT)
    from mmcenternet.evaluation.functional import WiderGroundTruth
    rng = np.random.RandomState(seed)
    files, boxes = [], []
    for e, _ in enumerate(EVENTS):
        count = rng.randint(2, 6)
        files.append([f'{e}_image_{i}_{rng.randint(100, 999)}' for i in range(count)])
        imgs = []
        for _ in range(count):
            n = rng.randint(1, 15)
            wh = np.exp(rng.uniform(np.log(6), np.log(120), n))
            xy = rng.uniform(0, 900, (n, 2))
            imgs.append(np.round(np.stack([xy[:, 0], xy[:, 1], wh, wh * rng.uniform(1.0, 1.4, n)],
                                          1)))
        boxes.append(imgs)
    keep = {s: [[np.flatnonzero(b[:, 3] >= side) for b in imgs] for imgs in boxes]
            for s, side in (('easy', 40), ('medium', 16), ('hard', 0))}
    return WiderGroundTruth(list(EVENTS), files, boxes, keep)


def make_predictions(gt, seed: int = 1):
    """``{(event, name): (n, 5)}``: for most faces one detection jittered around it (some
    below IoU 0.5), some duplicates, and false positives; random distinct scores; one image
    without any detection; not sorted."""
    rng = np.random.RandomState(seed)
    preds = {}
    for event, names, imgs in zip(gt.events, gt.files, gt.boxes):
        for name, boxes in zip(names, imgs):
            rows = []
            for x, y, w, h in boxes:
                for _ in range(rng.choice([0, 1, 1, 1, 2])):
                    jitter = rng.normal(0, rng.choice([0.03, 0.03, 0.03, 0.3]), 4) * [w, h, w, h]
                    rows.append([x + jitter[0], y + jitter[1], w + jitter[2], h + jitter[3]])
            for _ in range(rng.randint(0, 4)):  # false positives
                rows.append([*rng.uniform(0, 900, 2), *rng.uniform(8, 80, 2)])
            rows = np.array(rows, np.float64).reshape(-1, 4)
            scores = rng.uniform(0.01, 0.99, (len(rows), 1))
            preds[(event, name)] = np.concatenate([rows, scores], 1)
    preds[(gt.events[1], gt.files[1][0])] = np.zeros((0, 5))
    return preds


def write_predictions(pred_dir: str, preds) -> None:
    for (event, name), dets in preds.items():
        os.makedirs(osp.join(pred_dir, event), exist_ok=True)
        dets = dets[np.argsort(-dets[:, 4], kind='stable')]
        lines = [name, str(len(dets))] + [' '.join(repr(float(v)) for v in row)
                                           for row in dets]
        with open(osp.join(pred_dir, event, f'{name}.txt'), 'w') as f:
            f.write('\n'.join(lines) + '\n')


def _stub_modules() -> None:
    def bbox_overlaps(boxes, query_boxes):
        """The port's Cython ``box_overlaps.pyx`` (a compiled extension), element by
        element as it computes: areas and intersections with ``+ 1`` pixel widths."""
        out = np.zeros((len(boxes), len(query_boxes)))
        for k, q in enumerate(query_boxes):
            q_area = (q[2] - q[0] + 1) * (q[3] - q[1] + 1)
            for n, b in enumerate(boxes):
                iw = min(b[2], q[2]) - max(b[0], q[0]) + 1
                ih = min(b[3], q[3]) - max(b[1], q[1]) + 1
                if iw > 0 and ih > 0:
                    union = (b[2] - b[0] + 1) * (b[3] - b[1] + 1) + q_area - iw * ih
                    out[n, k] = iw * ih / union
        return out
    sys.modules['bbox'] = types.SimpleNamespace(bbox_overlaps=bbox_overlaps)
    sys.modules['IPython'] = types.SimpleNamespace(embed=lambda *a, **k: None)


def reference_aps(src: str, pred_dir: str, gt_dir: str) -> np.ndarray:
    """The port's ``evaluation(pred_dir, gt_dir)``; its three ``voc_ap`` results."""
    _stub_modules()
    spec = importlib.util.spec_from_file_location('widerface_evaluation',
                                                  osp.join(src, 'evaluation.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    aps = []
    original = module.voc_ap
    module.voc_ap = lambda rec, prec: aps.append(original(rec, prec)) or aps[-1]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        module.evaluation(pred_dir, gt_dir)
    return np.array(aps)  # easy, medium, hard


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--widerface-eval-src', required=True,
                        help='checkout of github.com/wondervictor/WiderFace-Evaluation')
    args = parser.parse_args()
    sys.path.insert(0, ROOT)
    from mmcenternet.evaluation.functional import write_wider_ground_truth
    gt = make_ground_truth()
    gt_dir = osp.join(HERE, 'widerface_gt')
    os.makedirs(gt_dir, exist_ok=True)
    write_wider_ground_truth(gt_dir, gt)
    preds = make_predictions(gt)
    with tempfile.TemporaryDirectory() as pred_dir:
        write_predictions(pred_dir, preds)
        aps = reference_aps(args.widerface_eval_src, pred_dir, gt_dir)
    keys = sorted(preds)
    np.savez_compressed(osp.join(HERE, 'widerface_eval.npz'), aps=aps,
                        events=np.array([k[0] for k in keys]),
                        names=np.array([k[1] for k in keys]),
                        **{f'pred_{i}': preds[k] for i, k in enumerate(keys)})
    print(f'easy / medium / hard AP of the reference: {aps.round(6).tolist()}')


if __name__ == '__main__':
    main()
