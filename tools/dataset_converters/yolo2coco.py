"""YOLO labels -> a COCO file that the CenterNet datasets read.

    python tools/dataset_converters/yolo2coco.py data/my/images/train data/my/data.yaml \\
        data/my/annotations/train.json [--label-dir data/my/labels/train]

Each ``<stem>.txt`` of the label folder holds ``class cx cy w h`` lines normalised to the
image (YOLO segmentation lines ``class x1 y1 x2 y2 ...`` give their polygon's box). The label
folder defaults to YOLO's layout: ``images`` replaced by ``labels`` in ``IMG_DIR``. ``CLASSES``
is the dataset's ``data.yaml`` (``names``) or a text file with one name per line (YOLO class
``i`` is the ``i``-th name; COCO category ``i + 1``). Boxes are written as COCO ``[x, y, w, h]``
in pixels; ``file_name`` is relative to ``IMG_DIR`` (the config's ``data_prefix.img``).
"""
import argparse
import os.path as osp


def default_label_dir(img_dir: str) -> str:
    """YOLO's layout: ``.../images/<split>`` -> ``.../labels/<split>``."""
    parts = osp.normpath(img_dir).split(osp.sep)
    if 'images' not in parts:
        from mmcenternet.errors import ConfigError
        raise ConfigError(f'{img_dir} has no "images" folder in its path: give --label-dir')
    index = len(parts) - 1 - parts[::-1].index('images')
    parts[index] = 'labels'
    return osp.sep.join(parts)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='YOLO txt labels -> COCO json')
    parser.add_argument('img_dir', help='folder of images (searched recursively)')
    parser.add_argument('classes', help='data.yaml (names) or a text file, one name per line')
    parser.add_argument('out', help='output .json file')
    parser.add_argument('--label-dir', help='folder of <stem>.txt labels (default: images '
                        '-> labels in IMG_DIR)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmcenternet.datasets.coco_converters import (check_output, read_classes,
                                                      write_coco, yolo_to_coco)
    check_output(args.out)
    label_dir = args.label_dir or default_label_dir(args.img_dir)
    coco = yolo_to_coco(args.img_dir, label_dir, read_classes(args.classes))
    write_coco(coco, args.out)
    print(f'{len(coco["images"])} images, {len(coco["annotations"])} boxes -> {args.out}')
    return coco


if __name__ == '__main__':
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        main()
