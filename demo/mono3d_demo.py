"""Monocular 3D detection on one image with its camera calibration.

    python demo/mono3d_demo.py IMG CALIB CONFIG CHECKPOINT --out-dir outputs/mono3d

``CALIB`` is a KITTI calibration file (its ``P2`` line is used) or a text file with the 12
numbers of the 3 x 4 projection matrix. Writes ``<name>.jpg`` (3D boxes projected on the
image and a bird's-eye view on the right) and ``<name>.txt`` (the detections as KITTI
result lines) to ``--out-dir``.
"""
import argparse
import os
import os.path as osp

import mmcv
import torch

from mmcenternet.apis import inference_mono3d, init_detector
from mmcenternet.evaluation.metrics.kitti_metric import (predictions_to_anno,
                                                         write_kitti_results)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='CenterNet monocular 3D demo')
    parser.add_argument('img', help='image file')
    parser.add_argument('calib', help='KITTI calibration file (P2) or 12 numbers')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out-dir', default='outputs/mono3d', help='where to write')
    parser.add_argument('--device', default='cpu', help='cpu or cuda:0')
    parser.add_argument('--score-thr', type=float, default=0.3, help='score threshold')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmdet.registry import VISUALIZERS
    model = init_detector(args.config, args.checkpoint, device=args.device)
    classes = model.dataset_meta.get('classes', ())
    cfg_classes = model.cfg.test_dataloader.dataset.get('metainfo', {}).get('classes')
    if cfg_classes and len(classes) != model.bbox_head.num_classes:
        # a checkpoint without dataset_meta: mmdet falls back to the COCO names
        model.dataset_meta = dict(model.dataset_meta, classes=tuple(cfg_classes))
    result = inference_mono3d(model, args.img, args.calib)
    os.makedirs(args.out_dir, exist_ok=True)
    name = osp.splitext(osp.basename(args.img))[0]
    pred = result.pred_instances
    pred = pred[pred.scores > args.score_thr]
    classes = model.dataset_meta['classes']
    anno = predictions_to_anno({k: v.cpu().numpy() for k, v in pred.items()}, classes)
    txt = write_kitti_results(args.out_dir, name, anno)
    # an untrained or poorly trained model can predict negative 2D sizes: draw them ordered
    boxes = result.pred_instances.bboxes
    result.pred_instances.bboxes = torch.cat([torch.minimum(boxes[:, :2], boxes[:, 2:]),
                                              torch.maximum(boxes[:, :2], boxes[:, 2:])], 1)
    visualizer = VISUALIZERS.build(model.cfg.visualizer)
    visualizer.dataset_meta = model.dataset_meta
    out_file = osp.join(args.out_dir, name + '.jpg')
    visualizer.add_datasample(name, mmcv.imread(args.img, channel_order='rgb'), result,
                              draw_gt=False, pred_score_thr=args.score_thr, show=False,
                              out_file=out_file)
    print(f'{args.img}: {len(pred)} objects above {args.score_thr} -> {out_file}, {txt}')
    for line in open(txt):
        print('  ' + line.rstrip())
    return out_file, txt


if __name__ == '__main__':
    main()
