"""Detect objects in an image or a folder and save images with the predicted boxes.

    python demo/image_demo.py IMG_OR_DIR CONFIG CHECKPOINT --out-dir outputs/demo
    python demo/image_demo.py IMG_OR_DIR CONFIG model.onnx --backend onnxruntime
"""
import argparse
import os
import os.path as osp

import mmcv

from mmcenternet.apis import inference_detector
from mmcenternet.deploy.backend import add_backend_argument, init_backend_detector

IMG_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='CenterNet image demo')
    parser.add_argument('inputs', help='an image file or a folder of images')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out-dir', default='outputs/demo', help='where to write images')
    parser.add_argument('--device', default='cpu', help='cpu or cuda:0')
    parser.add_argument('--score-thr', type=float, default=0.3, help='box score threshold')
    parser.add_argument('--max-images', type=int, default=None, help='first N images only')
    add_backend_argument(parser)
    return parser.parse_args(argv)


def list_images(path: str, limit=None):
    if osp.isfile(path):
        return [path]
    if not osp.isdir(path):
        raise FileNotFoundError(f'no image or folder at {path}')
    files = sorted(f for f in os.listdir(path) if f.lower().endswith(IMG_EXTS))
    return [osp.join(path, f) for f in files[:limit]]


def main(argv=None):
    args = parse_args(argv)
    from mmdet.registry import VISUALIZERS
    model = init_backend_detector(args.config, args.checkpoint, args.backend, args.device)
    visualizer = VISUALIZERS.build(model.cfg.visualizer)
    visualizer.dataset_meta = model.dataset_meta
    os.makedirs(args.out_dir, exist_ok=True)
    written = []
    for path in list_images(args.inputs, args.max_images):
        result = inference_detector(model, path)
        image = mmcv.imread(path, channel_order='rgb')
        out_file = osp.join(args.out_dir, osp.splitext(osp.basename(path))[0] + '.jpg')
        visualizer.add_datasample(osp.basename(path), image, result, draw_gt=False,
                                  pred_score_thr=args.score_thr, show=False, out_file=out_file)
        written.append(out_file)
        n = int((result.pred_instances.scores > args.score_thr).sum())
        print(f'{path}: {n} boxes above {args.score_thr} -> {out_file}')
    return written


if __name__ == '__main__':
    main()
