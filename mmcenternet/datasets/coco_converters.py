"""COCO annotation files from the formats users' own data arrive in.

What ``tools/dataset_converters/{images2coco,yolo2coco,voc2coco}.py`` run:

* :func:`images_to_coco`: a folder of images without boxes (to run ``tools/test.py`` on);
* :func:`yolo_to_coco`: YOLO ``labels/*.txt`` (``class cx cy w h``, normalised to the image;
  YOLO segmentation lines, ``class x1 y1 x2 y2 ...``, become their polygon's box);
* :func:`voc_to_coco`: Pascal VOC XML files.

Boxes come out as COCO ``[x, y, width, height]`` in pixels, the convention every CenterNet
dataset here reads (``xywh``: a box ``[x1, y1, x2, y2]`` given as ``bbox`` is the most common
cause of AP 0). VOC's 1-based inclusive pixel corners give ``[xmin - 1, ymin - 1,
xmax - xmin + 1, ymax - ymin + 1]``, as COCO's own release of the VOC annotations (and the
official CenterNet json) has them.

Bad input is a :class:`ConfigError` naming the file, the line or field and the
option concerned; boxes that are dropped (degenerate after clipping to the image) are counted
in one warning.
"""
import json
import os
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Tuple
from xml.etree import ElementTree as ET

from mmcenternet.errors import ConfigError

#: Image extensions looked for (lower case).
IMG_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


# ------------------------------------------------------------------ common
def read_classes(path: str) -> List[str]:
    """Class names from a text file (one per line) or a YOLO ``data.yaml`` (``names:`` as a
    list or an ``{id: name}`` dict).

    Raises:
        ConfigError: A missing file, no names, or repeated names.
    """
    if not osp.isfile(path):
        raise ConfigError(f'classes file {path} does not exist')
    if path.lower().endswith(('.yaml', '.yml')):
        import yaml
        with open(path) as f:
            data = yaml.safe_load(f) or {}
        names = data.get('names') if isinstance(data, dict) else None
        if isinstance(names, dict):
            names = [names[k] for k in sorted(names)]
        if not isinstance(names, list):
            raise ConfigError(f'{path}: no "names" list in this YAML file')
        names = [str(n) for n in names]
    else:
        with open(path) as f:
            names = [line.strip() for line in f if line.strip()]
    if not names:
        raise ConfigError(f'{path}: no class names')
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f'{path}: class names repeated: {", ".join(repeated)}')
    return names


def categories(classes: Sequence[str]) -> List[dict]:
    """COCO categories, ids from 1 in the given order."""
    return [dict(id=i + 1, name=name, supercategory='none') for i, name in enumerate(classes)]


def list_images(folder: str, exclude: Sequence[str] = ()) -> List[str]:
    """Image files under ``folder`` (recursively), as sorted paths relative to it.

    Raises:
        ConfigError: A missing folder or one without images.
    """
    if not osp.isdir(folder):
        raise ConfigError(f'image folder {folder} does not exist')
    exclude = tuple(e.lower() for e in exclude)
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in files:
            lower = name.lower()
            if lower.endswith(IMG_EXTS) and not (exclude and lower.endswith(exclude)):
                found.append(osp.relpath(osp.join(root, name), folder))
    if not found:
        raise ConfigError(f'no images ({", ".join(IMG_EXTS)}) under {folder}')
    return sorted(found)


def image_size(path: str) -> Tuple[int, int]:
    """``(width, height)`` of an image file from its header (Pillow, no decoding).

    Raises:
        ConfigError: A file Pillow cannot read.
    """
    from PIL import Image
    try:
        with Image.open(path) as img:
            return img.size
    except OSError as err:
        raise ConfigError(f'{path}: not a readable image ({err})') from err


def coco_dict(images: List[dict], annotations: List[dict], classes: Sequence[str],
              description: str) -> dict:
    """A COCO detection dict (annotation ids from 1)."""
    for i, ann in enumerate(annotations, 1):
        ann['id'] = i
    return dict(info=dict(description=description), licenses=[], images=images,
                annotations=annotations, categories=categories(classes))


def write_coco(coco: dict, path: str) -> None:
    """Writes the JSON atomically (a partial file is never left behind)."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = f'{path}.tmp'
    with open(tmp, 'w') as f:
        json.dump(coco, f)
    os.replace(tmp, path)


def box_annotation(image_id: int, label: int, x1: float, y1: float, x2: float, y2: float,
                   **extra) -> dict:
    """A COCO annotation from corner coordinates (label 0-based)."""
    w, h = x2 - x1, y2 - y1
    return dict(image_id=image_id, category_id=label + 1, bbox=[x1, y1, w, h], area=w * h,
                iscrowd=0, **extra)


class DropCounter:
    """Counts dropped boxes by reason and warns once at the end."""

    def __init__(self) -> None:
        self.counts: Dict[str, int] = {}
        self.examples: Dict[str, str] = {}

    def add(self, reason: str, where: str) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + 1
        self.examples.setdefault(reason, where)

    def warn(self, source: str) -> None:
        if self.counts:
            parts = [f'{n} {reason} (first: {self.examples[reason]})'
                     for reason, n in self.counts.items()]
            warnings.warn(f'{source}: boxes left out: ' + '; '.join(parts))


def clip_box(x1: float, y1: float, x2: float, y2: float, width: int,
             height: int) -> Tuple[float, float, float, float]:
    return (min(max(x1, 0.), width), min(max(y1, 0.), height), min(max(x2, 0.), width),
            min(max(y2, 0.), height))


# ------------------------------------------------------------------ images
def images_to_coco(img_dir: str, classes: Sequence[str],
                   exclude: Sequence[str] = ()) -> dict:
    """A COCO dict listing the images of a folder, without annotations."""
    from mmcenternet.utils.progress import track
    images = []
    for i, name in enumerate(track(list_images(img_dir, exclude), desc='images',
                                   unit='img'), 1):
        width, height = image_size(osp.join(img_dir, name))
        images.append(dict(id=i, file_name=name, width=width, height=height))
    return coco_dict(images, [], classes, f'images of {img_dir}')


# ------------------------------------------------------------------ YOLO
def yolo_boxes(path: str, num_classes: int, width: int, height: int,
               drops: DropCounter) -> List[Tuple[int, float, float, float, float]]:
    """``(label, x1, y1, x2, y2)`` in pixels of one YOLO label file (clipped to the image).

    Raises:
        ConfigError: A line that is neither ``class cx cy w h`` nor a polygon, or a
            class outside ``0 .. num_classes - 1``.
    """
    boxes = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            where = f'{path}, line {number}'
            try:
                values = [float(v) for v in fields]
            except ValueError as err:
                raise ConfigError(f'{where}: not numbers: {line.strip()!r}') from err
            label = values[0]
            if label != int(label) or not 0 <= label < num_classes:
                raise ConfigError(
                    f'{where}: class {fields[0]} is not one of the {num_classes} classes of '
                    f'the classes file (ids 0 .. {num_classes - 1}); wrong CLASSES argument?')
            coords = values[1:]
            if len(coords) == 4:
                cx, cy, w, h = coords
                if w < 0 or h < 0:
                    raise ConfigError(f'{where}: negative width or height')
                x1, y1 = (cx - w / 2) * width, (cy - h / 2) * height
                x2, y2 = (cx + w / 2) * width, (cy + h / 2) * height
            elif len(coords) >= 6 and len(coords) % 2 == 0:  # segmentation polygon
                xs, ys = coords[0::2], coords[1::2]
                x1, y1, x2, y2 = (min(xs) * width, min(ys) * height, max(xs) * width,
                                  max(ys) * height)
            else:
                raise ConfigError(
                    f'{where}: expected "class cx cy w h" (normalised) or a polygon '
                    f'"class x1 y1 x2 y2 ...", got {len(fields)} values')
            x1, y1, x2, y2 = clip_box(x1, y1, x2, y2, width, height)
            if x2 - x1 <= 0 or y2 - y1 <= 0:
                drops.add('empty after clipping to the image', where)
                continue
            boxes.append((int(label), x1, y1, x2, y2))
    return boxes


def yolo_to_coco(img_dir: str, label_dir: str, classes: Sequence[str]) -> dict:
    """COCO dict of a YOLO dataset: ``label_dir/<stem>.txt`` for ``img_dir/<stem>.<ext>``
    (same sub-folders). Images without a label file have no objects (YOLO's convention);
    label files without an image are counted in a warning."""
    from mmcenternet.utils.progress import track
    if not osp.isdir(label_dir):
        raise ConfigError(f'label folder {label_dir} does not exist (--label-dir)')
    drops = DropCounter()
    images, annotations, used = [], [], set()
    names = list_images(img_dir)
    for i, name in enumerate(track(names, desc='yolo', unit='img'), 1):
        width, height = image_size(osp.join(img_dir, name))
        images.append(dict(id=i, file_name=name, width=width, height=height))
        label_file = osp.join(label_dir, osp.splitext(name)[0] + '.txt')
        if not osp.isfile(label_file):
            continue
        used.add(osp.normpath(label_file))
        for label, x1, y1, x2, y2 in yolo_boxes(label_file, len(classes), width, height,
                                                 drops):
            annotations.append(box_annotation(i, label, x1, y1, x2, y2))
    orphans = [osp.join(root, f) for root, _, files in os.walk(label_dir) for f in files
               if f.endswith('.txt') and osp.normpath(osp.join(root, f)) not in used
               and f != 'classes.txt']
    if orphans:
        warnings.warn(f'{label_dir}: {len(orphans)} label files have no image in {img_dir} '
                      f'and are left out (first: {orphans[0]})')
    drops.warn(label_dir)
    return coco_dict(images, annotations, classes, f'YOLO labels of {img_dir}')


# ------------------------------------------------------------------ Pascal VOC
DIFFICULT_MODES = ('crowd', 'keep', 'drop')


def _number(obj, tag: str, where: str) -> float:
    node = obj.find(tag)
    try:
        return float(node.text)
    except (AttributeError, TypeError, ValueError) as err:
        raise ConfigError(f'{where}: field <{tag}> is missing or not a number') \
            from err


def voc_objects(path: str) -> Tuple[str, int, int, List[dict]]:
    """``(filename, width, height, objects)`` of one VOC XML file; each object is
    ``dict(name, difficult, xmin, ymin, xmax, ymax)`` (1-based inclusive pixels).

    Raises:
        ConfigError: Unparsable XML, or a missing / non-numeric field (named).
    """
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise ConfigError(f'{path}: not valid XML ({err})') from err
    filename = (root.findtext('filename') or '').strip()
    if not filename:
        raise ConfigError(f'{path}: field <filename> is missing')
    size = root.find('size')
    width = int(_number(size, 'width', path)) if size is not None else 0
    height = int(_number(size, 'height', path)) if size is not None else 0
    objects = []
    for k, obj in enumerate(root.iter('object'), 1):
        where = f'{path}, object {k}'
        name = (obj.findtext('name') or '').strip()
        if not name:
            raise ConfigError(f'{where}: field <name> is missing')
        box = obj.find('bndbox')
        if box is None:
            raise ConfigError(f'{where}: field <bndbox> is missing')
        difficult = obj.findtext('difficult')
        objects.append(dict(name=name, difficult=int(float(difficult or 0)),
                            **{t: _number(box, t, where)
                               for t in ('xmin', 'ymin', 'xmax', 'ymax')}))
    return filename, width, height, objects


def voc_to_coco(xml_files: Sequence[str], classes: Optional[Sequence[str]] = None,
                difficult: str = 'crowd', img_dir: Optional[str] = None) -> dict:
    """COCO dict of VOC XML files.

    Args:
        xml_files: The annotation files (one per image).
        classes: Class names (default: every name in the files, sorted).
        difficult: ``crowd`` (``iscrowd=1``: ignored in training and evaluation, as mmdet
            treats them), ``keep`` (ordinary boxes, as the official CenterNet trains them)
            or ``drop``.
        img_dir: Read the image sizes from the images here when an XML file has none.

    Raises:
        ConfigError: See :func:`voc_objects`; an object whose class is not in
            ``classes``; a file without size and no ``img_dir``.
    """
    from mmcenternet.utils.progress import track
    if difficult not in DIFFICULT_MODES:
        raise ConfigError(f'--difficult must be one of {", ".join(DIFFICULT_MODES)}')
    parsed = [(path, *voc_objects(path)) for path in track(xml_files, desc='voc',
                                                            unit='file')]
    if classes is None:
        classes = sorted({o['name'] for *_, objects in parsed for o in objects})
    index = {name: i for i, name in enumerate(classes)}
    drops = DropCounter()
    images, annotations = [], []
    for image_id, (path, filename, width, height, objects) in enumerate(parsed, 1):
        if width <= 0 or height <= 0:
            if img_dir is None:
                raise ConfigError(f'{path}: field <size> is missing or zero; give '
                                           '--img-dir to read the sizes from the images')
            width, height = image_size(osp.join(img_dir, filename))
        images.append(dict(id=image_id, file_name=filename, width=width, height=height))
        for k, obj in enumerate(objects, 1):
            where = f'{path}, object {k}'
            if obj['name'] not in index:
                raise ConfigError(f'{where}: class {obj["name"]!r} is not in the '
                                           f'classes ({", ".join(classes)}; --classes)')
            if obj['difficult'] and difficult == 'drop':
                drops.add('difficult (--difficult drop)', where)
                continue
            x1, y1, x2, y2 = clip_box(obj['xmin'] - 1, obj['ymin'] - 1, obj['xmax'],
                                      obj['ymax'], width, height)
            if x2 - x1 <= 0 or y2 - y1 <= 0:
                drops.add('empty after clipping to the image', where)
                continue
            ann = box_annotation(image_id, index[obj['name']], x1, y1, x2, y2)
            if obj['difficult'] and difficult == 'crowd':
                ann['iscrowd'] = 1
            annotations.append(ann)
    drops.warn('VOC annotations')
    return coco_dict(images, annotations, classes, 'Pascal VOC annotations')


def check_output(path: str) -> None:
    """A one-line error for an output that is not a ``.json`` file."""
    if not path.lower().endswith('.json'):
        raise ConfigError(f'the output must be a .json file, got {path}')
