"""Detect objects in an image or a folder and save images with the predicted boxes.

    python demo/image_demo.py IMG_OR_DIR CONFIG CHECKPOINT --out-dir outputs/demo
    python demo/image_demo.py IMG_OR_DIR CONFIG model.onnx --backend onnxruntime
    python demo/image_demo.py data/toy/val CONFIG CKPT --batch-size 8 --pred-out preds.json
    python demo/image_demo.py IMG CONFIG CKPT --show --show-heatmap

Each output keeps its input's file name (``x.png`` and ``x.jpg`` give two files). Files of a
folder that are not images (by extension, see ``IMG_EXTS``) are skipped and counted; a folder
without images is an error. The drawing is the config's visualizer (``CenterNetVisualizer``):
boxes, and whatever else the task predicts (keypoints, 3D boxes, landmarks).
"""
import argparse
import os
import os.path as osp
from typing import List, Optional, Tuple

import mmcv

from mmcenternet.apis import add_predictor_arguments, predictor_from_args

#: Extensions read as images (OpenCV decodes all of them).
IMG_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='CenterNet image demo')
    parser.add_argument('inputs', help='an image file or a folder of images')
    add_predictor_arguments(parser)
    parser.add_argument('--out-dir', default='outputs/demo', help='where to write images')
    parser.add_argument('--max-images', type=int, default=None, help='first N images only')
    parser.add_argument('--batch-size', type=int, default=1, help='images per forward')
    parser.add_argument('--show', action='store_true', help='show each image in a window')
    parser.add_argument('--wait-time', type=float, default=0,
                        help='seconds each window stays (0: until a key is pressed)')
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
    from mmcenternet.utils.progress import track
    images, skipped = list_images(args.inputs, args.max_images)
    if skipped:
        print(f'skipped {len(skipped)} files that are not images ({", ".join(IMG_EXTS)}): '
              f'{", ".join(skipped[:10])}' + (', ...' if len(skipped) > 10 else ''))
    predictor = predictor_from_args(args, batch_size=args.batch_size)
    os.makedirs(args.out_dir, exist_ok=True)
    written, records = [], []
    batches = [images[i:i + args.batch_size] for i in range(0, len(images), args.batch_size)]
    lines = []
    for batch in track(batches, desc='demo', unit='batch'):
        for path, sample in zip(batch, predictor.predict(batch)):
            image = mmcv.imread(path, channel_order='rgb')
            out_file = osp.join(args.out_dir, osp.basename(path))  # unique within a folder
            predictor.draw(image, sample, name=osp.basename(path), show=args.show,
                           wait_time=args.wait_time, out_file=out_file)
            written.append(out_file)
            records.append(predictor.record(sample, img_path=path))
            lines.append(f'{path}: {predictor.num_drawn(sample)} instances above '
                         f'{args.score_thr} -> {out_file}')
    print('\n'.join(lines))
    predictor.save_records(args.pred_out, records, 'images')
    return written


if __name__ == '__main__':
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        main()
