"""Monocular 3D detection on one image with its camera calibration.

    python demo/mono3d_demo.py IMG CALIB CONFIG CHECKPOINT --out-dir outputs/mono3d

``CALIB`` is a KITTI calibration file (its ``P2`` line is used) or a text file with the 12
numbers of the 3 x 4 projection matrix; it reaches the model as the image's ``cam2img``
(``Predictor.predict([dict(img_path=IMG, cam2img=P2)])``, as every demo's predictor). Writes
``<name>.jpg`` (3D boxes projected on the image and a bird's-eye view on the right) and
``<name>.txt`` (the detections as KITTI result lines) to ``--out-dir``. The options of
``demo/image_demo.py`` (``--backend``, ``--pred-out``, ``--show-heatmap``, ...) apply.
"""
import argparse
import os
import os.path as osp

import mmcv

from mmcenternet.apis import add_predictor_arguments, load_cam2img, predictor_from_args
from mmcenternet.evaluation.metrics.kitti_metric import (predictions_to_anno,
                                                         write_kitti_results)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='CenterNet monocular 3D demo')
    parser.add_argument('img', help='image file')
    parser.add_argument('calib', help='KITTI calibration file (P2) or 12 numbers')
    add_predictor_arguments(parser)
    parser.add_argument('--out-dir', default='outputs/mono3d', help='where to write')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cam2img = load_cam2img(args.calib)
    predictor = predictor_from_args(args)
    sample = predictor.predict([dict(img_path=args.img, cam2img=cam2img)])[0]
    os.makedirs(args.out_dir, exist_ok=True)
    name = osp.splitext(osp.basename(args.img))[0]
    pred = sample.pred_instances
    pred = pred[pred.scores > args.score_thr]
    anno = predictions_to_anno({k: v.cpu().numpy() for k, v in pred.items()}, predictor.classes)
    txt = write_kitti_results(args.out_dir, name, anno)
    out_file = osp.join(args.out_dir, name + '.jpg')
    predictor.draw(mmcv.imread(args.img, channel_order='rgb'), sample, name=name,
                   out_file=out_file)
    predictor.save_records(args.pred_out, [predictor.record(sample, img_path=args.img)],
                           'images')
    print(f'{args.img}: {len(pred)} objects above {args.score_thr} -> {out_file}, {txt}')
    for line in open(txt):
        print('  ' + line.rstrip())
    return out_file, txt


if __name__ == '__main__':
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        main()
