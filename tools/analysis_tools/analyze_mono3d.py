"""Where the 3D error of a monocular 3D detector comes from.

    python tools/analysis_tools/analyze_mono3d.py CONFIG CHECKPOINT [--classes Car]
    python tools/analysis_tools/analyze_mono3d.py CONFIG --perfect-maps

Runs the checkpoint on the config's test split, matches each labelled object to the
detection of its class with the largest 2D IoU (>= ``--match-iou``, greedy by score), and
prints

- the errors of the matched detections: depth (absolute and relative, by depth range),
  lateral / vertical position of the 3D center at the true depth, the 2D point the center is
  unprojected from (against the projected true 3D center), size and orientation;
- the KITTI BEV / 3D AP (R40) of the detections as they are, and with one component at a
  time replaced by the truth for the matched detections (an "oracle"): depth, the 2D center,
  the whole location, the size, the yaw. The AP an oracle adds is what that component costs.

With ``--perfect-maps`` no network runs: the ground truth of the test split is encoded into
the training targets (the config's codec, no jitter), written back as network outputs and
decoded with both ``center_mode`` settings of the codec. The KITTI AP of that is the
ceiling the decoding itself puts on the method for this data.
"""
import argparse
import math
from typing import Dict, List

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mmcenternet.datasets.kitti_mono3d import read_kitti_label
from mmcenternet.engine.config import load_config
from mmcenternet.evaluation.functional.kitti_eval import (box3d_overlaps, image_overlaps,
                                                          kitti_eval)
from mmcenternet.evaluation.metrics.kitti_metric import (objects_to_anno,
                                                         predictions_to_anno)
from mmcenternet.registry import DATASETS
from mmcenternet.utils import register_all_modules
from mmcenternet.structures.camera3d import boxes3d_from_center, project

#: Components an oracle can replace (see :func:`apply_oracle`).
ORACLES = ('depth', 'center2d', 'location', 'dims', 'rot_y', 'depth+center2d+dims')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Error analysis of monocular 3D detection')
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?',
                        help='the model to analyse (not needed with --perfect-maps)')
    parser.add_argument('--perfect-maps', action='store_true',
                        help='decode the encoded ground truth instead of a model\'s output')
    parser.add_argument('--classes', nargs='+', default=['Car'])
    parser.add_argument('--match-iou', type=float, default=0.5,
                        help='2D IoU that makes a detection the match of an object')
    parser.add_argument('--batch-size', type=int, default=8)
    return parser.parse_args(argv)


def run_model(cfg: Config, checkpoint: str, batch_size: int) -> List[dict]:
    """Per test image: ``kitti_id``, ``label_path``, ``calib`` (P2) and the predictions."""
    from mmcenternet.apis import init_detector
    model = init_detector(cfg, checkpoint, device='cpu')
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    out = []
    for start in range(0, len(dataset), batch_size):
        batch = pseudo_collate([dataset[i] for i in
                                range(start, min(start + batch_size, len(dataset)))])
        with torch.no_grad():
            samples = model.test_step(batch)
        for sample in samples:
            pred = {k: v.cpu().numpy() for k, v in sample.pred_instances.items()}
            out.append(dict(label_path=sample.metainfo['label_path'],
                            cam2img=np.asarray(sample.metainfo['cam2img'],
                                               np.float64)[:3, :4],
                            pred=pred))
    return out


def perfect_maps(targets: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Network outputs that decode to exactly the encoded objects: a heatmap with a peak at
    each object's center (nothing else, so ignore regions give no detection) and every sparse
    target written at its object's pixel; the rotation as logits that pick the target bin
    (the first where both are on) and the residual's sine / cosine."""
    heat = targets['heatmap']
    num_imgs, _, height, width = heat.shape
    # distinct scores in (0.5, 1] (KITTI's thresholds come from the scores; ties are one)
    peaks = (heat == 1).nonzero(as_tuple=True)
    heatmap = torch.zeros_like(heat)
    heatmap[peaks] = 1 - 0.5 * torch.arange(len(peaks[0])).to(heat) / max(len(peaks[0]), 1)
    maps = dict(heatmap=heatmap)
    img, slot = (targets['mask'] > 0).nonzero(as_tuple=True)
    pixel = targets['indices'][img, slot]
    sparse = {k: targets[k][img, slot] for k in ('wh', 'offset', 'depth', 'dim',
                                                 'center3d_offset') if k in targets}
    bins, res = targets['rot'][img, slot].split(2, dim=1)
    zeros = torch.zeros_like(bins[:, :1])
    sparse['rot'] = torch.cat([zeros, 2 * bins[:, :1] + 1e-3, res[:, :1].sin(), res[:, :1].cos(),
                               zeros, 2 * bins[:, 1:], res[:, 1:].sin(), res[:, 1:].cos()], 1)
    for name, values in sparse.items():
        dense = values.new_zeros(num_imgs, height * width, values.shape[1])
        dense[img, pixel] = values
        maps[name] = dense.transpose(1, 2).reshape(num_imgs, -1, height, width)
    return maps


def run_perfect_maps(cfg: Config, batch_size: int) -> Dict[str, List[dict]]:
    """Per center mode, per test image: ``label_path`` and the decoded perfect maps."""
    from mmcenternet.registry import TASK_UTILS
    head = cfg.model.bbox_head
    codecs = {mode: TASK_UTILS.build(dict(head.codec, center_mode=mode))
              for mode in ('official', 'projected')}
    ds_cfg = cfg.test_dataloader.dataset.copy()
    pipeline = list(ds_cfg.pipeline)
    pipeline.insert(1, dict(type='LoadMono3DAnnotations'))
    ds_cfg.pipeline = pipeline
    dataset = DATASETS.build(ds_cfg)
    stride = codecs['projected'].stride
    out: Dict[str, List[dict]] = {mode: [] for mode in codecs}
    for start in range(0, len(dataset), batch_size):
        samples = [dataset[i]['data_samples'] for i in
                   range(start, min(start + batch_size, len(dataset)))]
        metas = [s.metainfo for s in samples]
        height, width = metas[0]['img_shape'][:2]
        targets = codecs['projected'].encode([s.gt_instances for s in samples],
                                             (height // stride, width // stride), metas)
        maps = perfect_maps(targets)
        for mode, codec in codecs.items():
            dets = codec.to_original(codec.decode_maps(maps, metas), metas)
            for i, meta in enumerate(metas):
                keep = dets['scores'][i] > 0.5
                out[mode].append(dict(label_path=meta['label_path'], pred={
                    k: dets[k][i][keep].numpy() for k in codec.instance_keys}))
    return out


def print_ap_table(title: str, gts: List[dict], variants: List[tuple],
                   classes: List[str]) -> Dict[str, dict]:
    """Prints and returns the R40 2D / BEV / 3D AP (E / M / H) of each ``(name, dets)``
    variant: ``{name: {class: {metric: [E, M, H]}}}``."""
    print(title)
    print(f'{"variant":<26}{"2D":>20}{"BEV":>20}{"3D":>20}')
    table: Dict[str, dict] = {}
    for name, dets in variants:
        res = kitti_eval(gts, dets, classes, metrics=('bbox', 'bev', '3d'))
        table[name] = {cls: {m: list(res[cls][m]['R40']) for m in ('bbox', 'bev', '3d')}
                       for cls in classes}
        for cls in classes:
            cells = ['/'.join(f'{v:5.1f}' for v in table[name][cls][m])
                     for m in ('bbox', 'bev', '3d')]
            print(f'{name + " " + cls:<26}' + ''.join(f'{c:>20}' for c in cells))
    return table


def match(gt: Dict[str, np.ndarray], det: Dict[str, np.ndarray], cls: str,
          min_iou: float) -> List[tuple]:
    """``(gt index, det index)`` pairs: each object of ``cls`` gets the unmatched detection
    of its class with the largest 2D IoU >= ``min_iou``, higher-scored detections first."""
    gi = np.flatnonzero(gt['name'] == cls)
    di = np.flatnonzero(det['name'] == cls)
    if len(gi) == 0 or len(di) == 0:
        return []
    di = di[np.argsort(-det['score'][di], kind='stable')]
    iou = image_overlaps(det['bbox'][di], gt['bbox'][gi])
    pairs, taken = [], np.zeros(len(gi), bool)
    for row, d in enumerate(di):
        cand = np.where(taken, -1., iou[row])
        best = int(np.argmax(cand))
        if cand[best] >= min_iou:
            taken[best] = True
            pairs.append((int(gi[best]), int(d)))
    return pairs


def _boxes(anno: Dict[str, np.ndarray]) -> np.ndarray:
    dims = anno['dims_hwl']
    return np.concatenate([anno['location'], dims[:, [2, 0, 1]], anno['rotation_y'][:, None]],
                          1)


def center2d_of(boxes: np.ndarray, cam2img: np.ndarray) -> np.ndarray:
    """``(N, 2)`` image points of the centers (not the bottoms) of ``(N, 7)`` 3D boxes."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 7)
    centers = boxes[:, :3] - np.stack([0 * boxes[:, 4], boxes[:, 4] / 2, 0 * boxes[:, 4]], 1)
    return project(torch.from_numpy(centers), torch.from_numpy(cam2img)).numpy()


def rebuild(center2d: np.ndarray, depth: float, dims_hwl: np.ndarray, rot_y: float,
            cam2img: np.ndarray) -> np.ndarray:
    """A ``(7,)`` box from a 2D center at a depth (the codec's construction)."""
    box = boxes3d_from_center(torch.from_numpy(center2d[None]),
                              torch.tensor([depth + cam2img[2, 3]], dtype=torch.float64),
                              torch.from_numpy(dims_hwl[None]), torch.zeros(1, dtype=torch.float64),
                              torch.from_numpy(cam2img)).numpy()[0]
    box[6] = rot_y
    return box


def apply_oracle(oracle: str, det_box: np.ndarray, center2d: np.ndarray,
                 gt_box: np.ndarray, cam2img: np.ndarray) -> np.ndarray:
    """``det_box`` with the components named in ``oracle`` (``+``-joined) from ``gt_box``."""
    parts = oracle.split('+')
    depth, dims_hwl, rot_y = det_box[2], det_box[[4, 5, 3]], det_box[6]
    if 'location' in parts:
        out = det_box.copy()
        out[:3] = gt_box[:3]
        out[1] = gt_box[1] - gt_box[4] / 2 + det_box[4] / 2  # keep the predicted height
        return out
    if 'depth' in parts:
        depth = gt_box[2]
    if 'center2d' in parts:
        center2d = center2d_of(gt_box[None], cam2img)[0]
    if 'dims' in parts:
        dims_hwl = gt_box[[4, 5, 3]]
    if 'rot_y' in parts:
        rot_y = gt_box[6]
    return rebuild(center2d, depth, dims_hwl, rot_y, cam2img)


def angle_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a - b + np.pi) % (2 * np.pi) - np.pi


def summarize_errors(rows: List[dict]) -> None:
    """Prints the error statistics of the matched pairs."""
    if not rows:
        print('no matched detections')
        return
    r = {k: np.array([row[k] for row in rows]) for k in rows[0]}
    dz = r['det'][:, 2] - r['gt'][:, 2]
    rel = np.abs(dz) / r['gt'][:, 2]
    print(f'matched objects: {len(rows)}')
    print(f'depth |dz|: median {np.median(np.abs(dz)):.2f} m, mean {np.abs(dz).mean():.2f} m,'
          f' bias {dz.mean():+.2f} m; relative median {100 * np.median(rel):.1f} %')
    edges = [0, 10, 15, 20, 25, 30, 100]
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (r['gt'][:, 2] >= lo) & (r['gt'][:, 2] < hi)
        if sel.any():
            print(f'  z in [{lo:>3}, {hi:>3}) m: n={sel.sum():4d}  median |dz| '
                  f'{np.median(np.abs(dz[sel])):.2f} m ({100 * np.median(rel[sel]):.1f} %), '
                  f'within L/3: {100 * np.mean(np.abs(dz[sel]) < r["gt"][sel, 3] / 3):.0f} %')
    # the predicted 3D center brought to the true depth along its ray: lateral error that
    # is not caused by depth
    scale = r['gt'][:, 2] / r['det'][:, 2]
    dx = r['det'][:, 0] * scale - r['gt'][:, 0]
    cy_det = (r['det'][:, 1] - r['det'][:, 4] / 2) * scale
    dy = cy_det - (r['gt'][:, 1] - r['gt'][:, 4] / 2)
    print(f'center at the true depth: median |dx| {np.median(np.abs(dx)):.3f} m, '
          f'median |dy| {np.median(np.abs(dy)):.3f} m')
    duv = np.abs(r['c2d'] - r['c2d_true'])
    print(f'2D point unprojected vs projected true 3D center: median |du| '
          f'{np.median(duv[:, 0]):.2f} px, |dv| {np.median(duv[:, 1]):.2f} px '
          f'(90th pct {np.percentile(duv[:, 0], 90):.2f} / {np.percentile(duv[:, 1], 90):.2f})')
    ddim = r['det'][:, 3:6] - r['gt'][:, 3:6]
    print('size |d(l, h, w)| median: ' + ', '.join(f'{v:.3f}' for v in
                                                  np.median(np.abs(ddim), 0)) + ' m')
    dr = np.abs(angle_diff(r['det'][:, 6], r['gt'][:, 6]))
    print(f'yaw |d rot_y|: median {np.degrees(np.median(dr)):.1f} deg; within 15 deg '
          f'{100 * np.mean(dr < math.radians(15)):.0f} %, within 30 deg '
          f'{100 * np.mean(dr < math.radians(30)):.0f} %, flipped (> 150 deg) '
          f'{100 * np.mean(dr > math.radians(150)):.0f} %')
    print(f'3D IoU >= 0.5 of the matched pairs: {100 * np.mean(r["iou3d"] >= 0.5):.0f} %, '
          f'BEV IoU >= 0.5: {100 * np.mean(r["iou_bev"] >= 0.5):.0f} %')


def perfect_maps_table(cfg: Config, classes: List[str], batch_size: int) -> Dict[str, dict]:
    """AP of the decoded encoded ground truth, per ``center_mode`` (``--perfect-maps``)."""
    names = cfg.test_dataloader.dataset.metainfo['classes']
    per_mode = run_perfect_maps(cfg, batch_size)
    gts = [objects_to_anno(read_kitti_label(r['label_path'])) for r in per_mode['official']]
    return print_ap_table(
        'R40 AP (%), Easy / Moderate / Hard, of the encoded ground truth decoded (perfect '
        'network outputs):', gts,
        [(f'center_mode={mode}', [predictions_to_anno(r['pred'], names) for r in results])
         for mode, results in per_mode.items()], classes)


def oracle_table(cfg: Config, checkpoint: str, classes: List[str], match_iou: float,
                 batch_size: int) -> Dict[str, dict]:
    """Error statistics and the AP with each oracle (the default mode)."""
    names = cfg.test_dataloader.dataset.metainfo['classes']
    gts, dets = [], []
    variants: Dict[str, List[dict]] = {o: [] for o in ORACLES}
    rows: List[dict] = []
    for img in run_model(cfg, checkpoint, batch_size):
        gt = objects_to_anno(read_kitti_label(img['label_path']))
        det = predictions_to_anno(img['pred'], names)
        gts.append(gt)
        dets.append(det)
        cam = img['cam2img']
        gt_boxes, det_boxes = _boxes(gt), _boxes(det)
        # the image point each 3D box was unprojected from (the 2D box center or, with
        # center_mode='projected', the regressed 3D center): its 3D center projected
        centers = center2d_of(det_boxes, cam)
        pairs = [p for cls in classes for p in match(gt, det, cls, match_iou)]
        for oracle in ORACLES:
            new = {k: v.copy() for k, v in det.items()}
            boxes = det_boxes.copy()
            for g, d in pairs:
                boxes[d] = apply_oracle(oracle, det_boxes[d], centers[d], gt_boxes[g], cam)
            new['location'] = boxes[:, :3]
            new['dims_hwl'] = boxes[:, [4, 5, 3]]
            new['rotation_y'] = boxes[:, 6]
            variants[oracle].append(new)
        for g, d in pairs:
            rows.append(dict(gt=gt_boxes[g], det=det_boxes[d], c2d=centers[d],
                             c2d_true=center2d_of(gt_boxes[g], cam)[0],
                             iou3d=box3d_overlaps(det_boxes[d:d + 1], gt_boxes[g:g + 1],
                                                  '3d')[0, 0],
                             iou_bev=box3d_overlaps(det_boxes[d:d + 1], gt_boxes[g:g + 1],
                                                    'bev')[0, 0]))
    summarize_errors(rows)
    return print_ap_table(
        '\nR40 AP (%), Easy / Moderate / Hard, with the matched detections\' component '
        'replaced by the truth (oracle):', gts,
        [('none', dets)] + [(o, variants[o]) for o in ORACLES], classes)


def main(argv=None) -> Dict[str, dict]:
    args = parse_args(argv)
    register_all_modules()
    cfg = load_config(args.config)
    if args.perfect_maps:
        return perfect_maps_table(cfg, args.classes, args.batch_size)
    if args.checkpoint is None:
        raise SystemExit('analyze_mono3d.py: a CHECKPOINT is needed without --perfect-maps')
    return oracle_table(cfg, args.checkpoint, args.classes, args.match_iou, args.batch_size)


if __name__ == '__main__':
    main()
