"""Pascal VOC XML annotations -> a COCO file that the CenterNet datasets read.

    # a VOC devkit year folder and an image set
    python tools/dataset_converters/voc2coco.py data/VOCdevkit/VOC2007 \\
        data/voc/annotations/voc07_trainval.json --image-set trainval
    # any folder of VOC-style XML files (e.g. from LabelImg / CVAT) and their images
    python tools/dataset_converters/voc2coco.py my_xmls/ out.json --classes classes.txt

With a VOC year folder (``Annotations/``, ``JPEGImages/``, ``ImageSets/Main/``) the files of
``--image-set`` are converted and ``file_name`` is relative to ``JPEGImages``; with a plain
folder, every ``*.xml`` in it, ``file_name`` as the XML's ``<filename>``. Boxes become
``[xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1]`` (COCO's own VOC release, the
official CenterNet json). ``--difficult``: ``crowd`` (default; ignored in training and
evaluation, as mmdet), ``keep`` (ordinary boxes, as official CenterNet trains them) or
``drop``.
"""
import argparse
import os
import os.path as osp


def xml_files(root: str, image_set=None):
    """The XML files to convert and the image folder of a VOC year folder or a plain one."""
    from mmcenternet.errors import ConfigError
    ann_dir = osp.join(root, 'Annotations')
    if osp.isdir(ann_dir):
        img_dir = osp.join(root, 'JPEGImages')
        if image_set is None:
            names = sorted(f[:-4] for f in os.listdir(ann_dir) if f.endswith('.xml'))
        else:
            listing = osp.join(root, 'ImageSets', 'Main', f'{image_set}.txt')
            if not osp.isfile(listing):
                raise ConfigError(f'--image-set {image_set}: {listing} does not exist')
            with open(listing) as f:
                names = [line.split()[0] for line in f if line.strip()]
        return [osp.join(ann_dir, f'{n}.xml') for n in names], img_dir
    if not osp.isdir(root):
        raise ConfigError(f'{root} is neither a VOC year folder nor a folder of XML '
                                   'files')
    files = sorted(osp.join(root, f) for f in os.listdir(root) if f.endswith('.xml'))
    if not files:
        raise ConfigError(f'no .xml files in {root}')
    return files, root


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Pascal VOC XML -> COCO json')
    parser.add_argument('root', help='a VOC year folder (VOC2007) or a folder of XML files')
    parser.add_argument('out', help='output .json file')
    parser.add_argument('--image-set', help='ImageSets/Main/<name>.txt of a VOC folder '
                        '(train, val, trainval, test)')
    parser.add_argument('--classes', help='text file, one class name per line (default: the '
                        '20 VOC classes for a VOC folder, else every name found, sorted)')
    parser.add_argument('--difficult', default='crowd', choices=['crowd', 'keep', 'drop'],
                        help='what difficult objects become')
    parser.add_argument('--img-dir', help='read image sizes here when an XML has no <size>')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmdet.datasets import VOCDataset

    from mmcenternet.datasets.coco_converters import (check_output, read_classes,
                                                      voc_to_coco, write_coco)
    check_output(args.out)
    files, img_dir = xml_files(args.root, args.image_set)
    classes = read_classes(args.classes) if args.classes else (
        list(VOCDataset.METAINFO['classes'])
        if osp.isdir(osp.join(args.root, 'Annotations')) else None)
    coco = voc_to_coco(files, classes, args.difficult, args.img_dir or img_dir)
    write_coco(coco, args.out)
    print(f'{len(coco["images"])} images, {len(coco["annotations"])} boxes, '
          f'{len(coco["categories"])} classes -> {args.out}')
    return coco


if __name__ == '__main__':
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        main()
