"""A COCO file listing a folder's images (no boxes), to run tools/test.py or the demos' JSON
predictions on unlabelled images.

    python tools/dataset_converters/images2coco.py IMG_DIR CLASSES.txt OUT.json

As mmdet's ``images2coco.py`` (same arguments): images are found recursively, ``file_name``
is relative to ``IMG_DIR`` (the config's ``data_prefix.img``), sizes are read from the image
headers. ``CLASSES`` is a text file with one class name per line (or a YOLO ``data.yaml``).
"""
import argparse


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Images of a folder -> COCO json')
    parser.add_argument('img_path', help='folder of images')
    parser.add_argument('classes', help='text file, one class name per line (or data.yaml)')
    parser.add_argument('out', help='output .json file')
    parser.add_argument('-e', '--exclude-extensions', nargs='+', default=(),
                        help='image extensions to leave out, e.g. .png')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmcenternet.datasets.coco_converters import (check_output, images_to_coco,
                                                      read_classes, write_coco)
    check_output(args.out)
    coco = images_to_coco(args.img_path, read_classes(args.classes), args.exclude_extensions)
    write_coco(coco, args.out)
    print(f'{len(coco["images"])} images -> {args.out}')
    return coco


if __name__ == '__main__':
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        main()
