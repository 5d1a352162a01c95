"""images2coco.py, yolo2coco.py and voc2coco.py on the toy set: the toy COCO boxes written
out as YOLO labels and VOC XML files (by these tests), converted back, equal the source."""
import json
import os
import os.path as osp
import shutil
from xml.etree import ElementTree as ET

import numpy as np
import pytest

from test_engine.conftest import run_main
from test_tools.toy_workspace import load_generator

CLASSES = ['circle', 'square', 'triangle', 'cross']


def error_line(err):
    """The one ``error:`` line of a tool's stderr (after any progress bar)."""
    lines = [line for line in err.splitlines() if line.startswith('error: ')]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    """6 toy images of 64 px and their COCO file."""
    root = tmp_path_factory.mktemp('toyconv')
    paths = load_generator().generate(str(root / 'toy'), 6, 0, 64, 0)
    with open(paths['train_ann_file']) as f:
        coco = json.load(f)
    (root / 'classes.txt').write_text('\n'.join(CLASSES) + '\n')
    return root, paths['train_img_dir'], coco


def boxes_by_file(coco):
    """``{file_name: (N, 4) xywh, labels}`` with 0-based labels."""
    names = {im['id']: im['file_name'] for im in coco['images']}
    out = {name: ([], []) for name in names.values()}
    for ann in coco['annotations']:
        out[names[ann['image_id']]][0].append(ann['bbox'])
        out[names[ann['image_id']]][1].append(ann['category_id'] - 1)
    return {k: (np.array(b, float).reshape(-1, 4), np.array(lab, int))
            for k, (b, lab) in out.items()}


def assert_same_boxes(converted, source, atol):
    a, b = boxes_by_file(converted), boxes_by_file(source)
    assert sorted(a) == sorted(b)
    for name in b:
        np.testing.assert_allclose(a[name][0], b[name][0], atol=atol)
        np.testing.assert_array_equal(a[name][1], b[name][1])
    assert [c['name'] for c in converted['categories']] == CLASSES
    assert [c['id'] for c in converted['categories']] == [1, 2, 3, 4]


def test_images2coco(toy, capsys, monkeypatch, tmp_path):
    root, img_dir, coco = toy
    monkeypatch.setenv('MMCN_NO_PROGRESS', '0')
    out = tmp_path / 'images.json'
    code, stdout, err = run_main('tools/dataset_converters/images2coco.py',
                                 [img_dir, root / 'classes.txt', out], capsys, monkeypatch)
    assert code == 0, err
    data = json.loads(out.read_text())
    assert [(i['file_name'], i['width'], i['height']) for i in data['images']] == \
        [(i['file_name'], 64, 64) for i in coco['images']]
    assert data['annotations'] == [] and '6/6' in err  # progress bar


def write_yolo(coco, label_dir, polygon_for=()):
    os.makedirs(label_dir, exist_ok=True)
    sizes = {im['id']: (im['width'], im['height'], im['file_name']) for im in coco['images']}
    lines = {}
    for ann in coco['annotations']:
        w_img, h_img, name = sizes[ann['image_id']]
        x, y, w, h = ann['bbox']
        label = ann['category_id'] - 1
        if name in polygon_for:  # a YOLO segmentation line: the box as a 4-point polygon
            pts = [x, y, x + w, y, x + w, y + h, x, y + h]
            norm = [p / (w_img if i % 2 == 0 else h_img) for i, p in enumerate(pts)]
            line = f'{label} ' + ' '.join(f'{v:.6f}' for v in norm)
        else:
            line = (f'{label} {(x + w / 2) / w_img:.6f} {(y + h / 2) / h_img:.6f} '
                    f'{w / w_img:.6f} {h / h_img:.6f}')
        lines.setdefault(name, []).append(line)
    for name, rows in lines.items():
        with open(osp.join(label_dir, name[:-4] + '.txt'), 'w') as f:
            f.write('\n'.join(rows) + '\n')


def test_yolo2coco_gives_the_source_boxes(toy, capsys, monkeypatch, tmp_path):
    root, img_dir, coco = toy
    images = tmp_path / 'data' / 'images' / 'train'
    shutil.copytree(img_dir, images)
    write_yolo(coco, tmp_path / 'data' / 'labels' / 'train',
               polygon_for=[coco['images'][1]['file_name']])
    (tmp_path / 'data.yaml').write_text('names:\n' + ''.join(f'  {i}: {n}\n'
                                                            for i, n in enumerate(CLASSES)))
    out = tmp_path / 'yolo.json'
    code, stdout, err = run_main('tools/dataset_converters/yolo2coco.py',
                                 [images, tmp_path / 'data.yaml', out], capsys, monkeypatch)
    assert code == 0, err
    converted = json.loads(out.read_text())
    assert_same_boxes(converted, coco, atol=64 * 1e-6)  # 6 decimals of normalised values
    # the file loads in the dataset, with the source's boxes
    from mmcenternet.registry import DATASETS
    dataset = DATASETS.build(dict(type='CenterNetCocoDataset', data_root=str(tmp_path),
                                  ann_file=str(out), data_prefix=dict(img=str(images) + '/'),
                                  metainfo=dict(classes=CLASSES), pipeline=[]))
    assert len(dataset) == 6
    info = dataset.get_data_info(0)
    x, y, w, h = boxes_by_file(coco)[coco['images'][0]['file_name']][0][0]
    np.testing.assert_allclose(info['instances'][0]['bbox'], [x, y, x + w, y + h], atol=1e-3)


def test_yolo2coco_errors(toy, capsys, monkeypatch, tmp_path):
    root, img_dir, coco = toy
    labels = tmp_path / 'labels'
    labels.mkdir()
    first = coco['images'][0]['file_name'][:-4]
    (labels / f'{first}.txt').write_text('0 0.5 0.5 0.2 0.2\n7 0.5 0.5 0.1 0.1\n')
    code, _, err = run_main('tools/dataset_converters/yolo2coco.py',
                            [img_dir, root / 'classes.txt', tmp_path / 'o.json',
                             '--label-dir', labels], capsys, monkeypatch)
    assert code == 2 and error_line(err).startswith(
        f'error: {labels / first}.txt, line 2: class 7 is not one of the 4 classes'), err
    (labels / f'{first}.txt').write_text('0 0.5 0.5\n')
    code, _, err = run_main('tools/dataset_converters/yolo2coco.py',
                            [img_dir, root / 'classes.txt', tmp_path / 'o.json',
                             '--label-dir', labels], capsys, monkeypatch)
    assert code == 2 and 'line 1: expected "class cx cy w h"' in error_line(err)
    # a box entirely outside the image is dropped with a counted warning
    (labels / f'{first}.txt').write_text('0 0.5 0.5 0.2 0.2\n1 1.5 1.5 0.1 0.1\n')
    with pytest.warns(UserWarning, match='boxes left out: 1 empty after clipping'):
        code, _, err = run_main('tools/dataset_converters/yolo2coco.py',
                                [img_dir, root / 'classes.txt', tmp_path / 'o.json',
                                 '--label-dir', labels], capsys, monkeypatch)
    assert code == 0 and len(json.loads((tmp_path / 'o.json').read_text())['annotations']) == 1
    assert not osp.exists(tmp_path / 'x.json')


def write_voc(coco, root, difficult_for=()):
    ann_dir, img_dir, sets = (root / 'Annotations', root / 'JPEGImages',
                              root / 'ImageSets' / 'Main')
    for folder in (ann_dir, img_dir, sets):
        folder.mkdir(parents=True)
    by_image = {im['id']: [] for im in coco['images']}
    for ann in coco['annotations']:
        by_image[ann['image_id']].append(ann)
    for im in coco['images']:
        node = ET.Element('annotation')
        ET.SubElement(node, 'filename').text = im['file_name']
        size = ET.SubElement(node, 'size')
        for tag, value in (('width', im['width']), ('height', im['height']), ('depth', 3)):
            ET.SubElement(size, tag).text = str(value)
        for ann in by_image[im['id']]:
            obj = ET.SubElement(node, 'object')
            ET.SubElement(obj, 'name').text = CLASSES[ann['category_id'] - 1]
            ET.SubElement(obj, 'difficult').text = '1' if ann['id'] in difficult_for else '0'
            box = ET.SubElement(obj, 'bndbox')
            x, y, w, h = ann['bbox']  # VOC: 1-based inclusive pixel corners
            for tag, value in (('xmin', x + 1), ('ymin', y + 1), ('xmax', x + w),
                               ('ymax', y + h)):
                ET.SubElement(box, tag).text = str(int(value))
        ET.ElementTree(node).write(ann_dir / (im['file_name'][:-4] + '.xml'))
    (sets / 'trainval.txt').write_text(''.join(im['file_name'][:-4] + '\n'
                                               for im in coco['images'][:4]))


@pytest.mark.parametrize('difficult', ['crowd', 'keep', 'drop'])
def test_voc2coco_gives_the_source_boxes(toy, capsys, monkeypatch, tmp_path, difficult):
    root, _, coco = toy
    hard = {coco['annotations'][0]['id']}
    write_voc(coco, tmp_path / 'VOC2007', difficult_for=hard)
    out = tmp_path / 'voc.json'
    code, stdout, err = run_main('tools/dataset_converters/voc2coco.py',
                                 [tmp_path / 'VOC2007', out, '--image-set', 'trainval',
                                  '--classes', root / 'classes.txt', '--difficult', difficult],
                                 capsys, monkeypatch)
    assert code == 0, err
    converted = json.loads(out.read_text())
    source = dict(coco, images=coco['images'][:4])
    keep = {im['id'] for im in source['images']}
    source['annotations'] = [a for a in coco['annotations'] if a['image_id'] in keep and not (
        difficult == 'drop' and a['id'] in hard)]
    assert_same_boxes(converted, source, atol=0)  # integer corners: exact
    crowd = [a['iscrowd'] for a in converted['annotations']]
    assert crowd[0] == (1 if difficult == 'crowd' else 0) and sum(crowd) <= 1


def test_voc2coco_errors(toy, capsys, monkeypatch, tmp_path):
    root, _, coco = toy
    xmls = tmp_path / 'xml'
    xmls.mkdir()
    (xmls / 'a.xml').write_text('<annotation><filename>a.png</filename><size><width>64'
                                '</width><height>64</height></size><object><name>dog</name>'
                                '<bndbox><xmin>1</xmin><ymin>2</ymin><xmax>3</xmax>'
                                '</bndbox></object></annotation>')
    code, _, err = run_main('tools/dataset_converters/voc2coco.py', [xmls, tmp_path / 'o.json'],
                            capsys, monkeypatch)
    assert code == 2 and error_line(err).startswith(
        f'error: {xmls / "a.xml"}, object 1: field <ymax> is missing or not a number'), err
    (xmls / 'a.xml').write_text((xmls / 'a.xml').read_text().replace(
        '</xmax>', '</xmax><ymax>9</ymax>'))
    code, _, err = run_main('tools/dataset_converters/voc2coco.py',
                            [xmls, tmp_path / 'o.json', '--classes', root / 'classes.txt'],
                            capsys, monkeypatch)
    assert code == 2 and "class 'dog' is not in the classes (circle" in error_line(err)
