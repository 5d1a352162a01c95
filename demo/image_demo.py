"""Detect objects in an image or a folder and save images with the predicted boxes.

    python demo/image_demo.py IMG_OR_DIR CONFIG CHECKPOINT --out-dir outputs/demo
    python demo/image_demo.py IMG_OR_DIR CONFIG model.onnx --backend onnxruntime

Each output keeps its input's file name (``x.png`` and ``x.jpg`` give two files). Files of a
folder that are not images (by extension, see ``IMG_EXTS``) are skipped and counted; a folder
without images is an error.
"""
import argparse
import os
import os.path as osp
from typing import List, Optional, Tuple

import mmcv

from mmcenternet.apis import inference_detector
from mmcenternet.deploy.backend import add_backend_argument, init_backend_detector

#: Extensions read as images (OpenCV decodes all of them).
IMG_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='CenterNet image demo')
    parser.add_argument('inputs', help='an image file or a folder of images')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out-dir', default='outputs/demo', help='where to write images')
    parser.add_argument('--device', default='cpu', help='cpu or cuda:0')
    parser.add_argument('--score-thr', type=float, default=0.3, help='box score threshold')
    parser.add_argument('--max-images', type=int, default=None, help='first N images only')
    from mmcenternet.utils.launch import add_strict_load_argument
    add_strict_load_argument(parser)
    add_backend_argument(parser)
    return parser.parse_args(argv)


def list_images(path: str, limit: Optional[int] = None) -> Tuple[List[str], List[str]]:
    """The images to run on, and the files of the folder that were skipped.

    Raises:
        FileNotFoundError: ``path`` does not exist, or is a folder without images.
    """
    if osp.isfile(path):
        return [path], []
    if not osp.isdir(path):
        raise FileNotFoundError(f'no image or folder at {path}')
    names = sorted(f for f in os.listdir(path) if osp.isfile(osp.join(path, f)))
    images = [f for f in names if f.lower().endswith(IMG_EXTS)]
    skipped = [f for f in names if f not in images]
    if not images:
        others = f'; it holds {len(skipped)} other files ({", ".join(skipped[:5])}' + (
            ', ...)' if len(skipped) > 5 else ')') if skipped else ''
        raise FileNotFoundError(f'no images in folder {path} (looked for '
                                f'{", ".join(IMG_EXTS)}){others}.')
    return [osp.join(path, f) for f in images[:limit]], skipped


def main(argv=None):
    args = parse_args(argv)
    from mmdet.registry import VISUALIZERS
    images, skipped = list_images(args.inputs, args.max_images)
    if skipped:
        print(f'skipped {len(skipped)} files that are not images ({", ".join(IMG_EXTS)}): '
              f'{", ".join(skipped[:10])}' + (', ...' if len(skipped) > 10 else ''))
    model = init_backend_detector(args.config, args.checkpoint, args.backend, args.device,
                                  strict=not args.no_strict_load)
    visualizer = VISUALIZERS.build(model.cfg.visualizer)
    visualizer.dataset_meta = model.dataset_meta
    os.makedirs(args.out_dir, exist_ok=True)
    written = []
    for path in images:
        result = inference_detector(model, path)
        image = mmcv.imread(path, channel_order='rgb')
        out_file = osp.join(args.out_dir, osp.basename(path))  # unique within a folder
        visualizer.add_datasample(osp.basename(path), image, result, draw_gt=False,
                                  pred_score_thr=args.score_thr, show=False, out_file=out_file)
        written.append(out_file)
        n = int((result.pred_instances.scores > args.score_thr).sum())
        print(f'{path}: {n} boxes above {args.score_thr} -> {out_file}')
    return written


if __name__ == '__main__':
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        main()
