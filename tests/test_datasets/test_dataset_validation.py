"""Broken annotation files and images give errors naming the file and the entry."""
import copy
import json
import warnings

import cv2
import numpy as np
import pytest
from mmengine.registry import DefaultScope

from mmcenternet.datasets import CenterNetCocoDataset
from mmcenternet.datasets.coco import DatasetWarning
from mmcenternet.datasets.transforms import LoadImageFromFileSafe
from mmcenternet.errors import DatasetError
from mmcenternet.registry import DATASETS, TRANSFORMS

CLASSES = ('circle', 'square')

GOOD = {
    'images': [
        {'id': 1, 'file_name': 'a.png', 'width': 40, 'height': 30},
        {'id': 2, 'file_name': 'b.png', 'width': 40, 'height': 30},
    ],
    'annotations': [
        {'id': 10, 'image_id': 1, 'category_id': 7, 'bbox': [2, 3, 10, 8],
         'area': 80, 'iscrowd': 0},
        {'id': 11, 'image_id': 1, 'category_id': 9, 'bbox': [20, 5, 6, 6],
         'area': 36, 'iscrowd': 0},
    ],
    'categories': [{'id': 7, 'name': 'circle'}, {'id': 9, 'name': 'square'}],
}


def _write(tmp_path, data, name='ann.json'):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def _dataset(path, test_mode=False, filter_empty_gt=True, pipeline=()):
    with DefaultScope.overwrite_default_scope('mmcenternet'):
        return _build(path, test_mode, filter_empty_gt, pipeline)


def _build(path, test_mode, filter_empty_gt, pipeline):
    return CenterNetCocoDataset(
        ann_file=str(path), data_prefix=dict(img=str(path.parent) + '/'),
        metainfo=dict(classes=CLASSES), test_mode=test_mode,
        filter_cfg=dict(filter_empty_gt=filter_empty_gt),
        pipeline=list(pipeline))


def _error(tmp_path, data, error=DatasetError, **kwargs):
    path = _write(tmp_path, data)
    with pytest.raises(error) as info:
        _dataset(path, **kwargs)
    message = str(info.value)
    assert str(path) in message
    return message


def test_registered_and_loads_like_mmdet(tmp_path):
    assert DATASETS.get('CenterNetCocoDataset') is CenterNetCocoDataset
    with warnings.catch_warnings():
        warnings.simplefilter('error', DatasetWarning)
        train = _dataset(_write(tmp_path, GOOD))
        val = _dataset(_write(tmp_path, GOOD), test_mode=True)
    assert len(train) == 1 and len(val) == 2  # b.png has no annotation
    info = train.get_data_info(0)
    boxes = [i['bbox'] for i in info['instances']]
    assert boxes == [[2, 3, 12, 11], [20, 5, 26, 11]]
    assert [i['bbox_label'] for i in info['instances']] == [0, 1]
    assert info['img_path'].endswith('a.png') and info['img_id'] == 1


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist') as info:
        _dataset(tmp_path / 'nope.json')
    assert 'nope.json' in str(info.value)


def test_invalid_json_names_position(tmp_path):
    text = json.dumps(GOOD, indent=1).replace('"width": 40', '"width": 40,,', 1)
    message = _error(tmp_path, text)
    assert 'not valid JSON' in message and 'line 6 column 16 (char 71)' in message


def _pop(part, index, key):
    return lambda d: (d[part][index] if index is not None else d).pop(key)


def _set(part, index, **values):
    return lambda d: d[part][index].update(values)


@pytest.mark.parametrize('mutate, expected', [
    (_pop('categories', None, 'categories'),
     "missing required top-level key 'categories'"),
    (_pop('images', 1, 'height'), "image #1 (id 2) has no required key 'height'"),
    (_pop('images', 0, 'file_name'),
     "image #0 (id 1) has no required key 'file_name'"),
    (_pop('annotations', 1, 'bbox'),
     "annotation #1 (id 11) has no required key 'bbox'"),
    (_pop('annotations', 0, 'image_id'),
     "annotation #0 (id 10) has no required key 'image_id'"),
    (_pop('annotations', 0, 'category_id'),
     "annotation #0 (id 10) has no required key 'category_id'"),
    (_set('annotations', 1, category_id=3),
     'annotation #1 (id 11) has category_id 3, which is not in "categories"'),
    (_set('annotations', 0, image_id=99),
     'annotation #0 (id 10) has image_id 99, which is not in "images"'),
    (_set('annotations', 0, bbox=[1, 2, 'x', 4]),
     'annotation #0 (id 10) has an invalid bbox'),
    (_set('annotations', 1, id=10), 'annotation id 10 is used twice'),
    (_set('images', 0, width=0), "image #0 (id 1) has invalid 'width' 0"),
    (_set('categories', 1, name='cube'),
     "classes ['square'] of the dataset metainfo are not category names"),
])
def test_malformed_entries(tmp_path, mutate, expected):
    data = copy.deepcopy(GOOD)
    mutate(data)
    assert expected in _error(tmp_path, data)


def test_bad_boxes_dropped_or_clipped_with_one_warning(tmp_path):
    data = copy.deepcopy(GOOD)
    data['annotations'] += [
        {'id': 12, 'image_id': 1, 'category_id': 7, 'bbox': [5, 5, 0, 4]},
        {'id': 13, 'image_id': 1, 'category_id': 7, 'bbox': [5, 5, 3, -1]},
        {'id': 14, 'image_id': 1, 'category_id': 7, 'bbox': [50, 5, 3, 3]},
        {'id': 15, 'image_id': 2, 'category_id': 9, 'bbox': [-4, 25, 10, 10]},
    ]
    path = _write(tmp_path, data)
    with pytest.warns(DatasetWarning) as record:
        dataset = _dataset(path)
    assert len(record) == 1
    message = str(record[0].message)
    assert str(path) in message
    assert 'dropped 3 boxes (1 fully outside the image, 2 with zero or negative size)' in message
    assert 'clipped 1 boxes partly outside their image' in message
    assert len(dataset) == 2
    assert dataset.get_data_info(1)['instances'][0]['bbox'] == [0.0, 25.0, 6.0, 30.0]


def test_empty_after_filtering(tmp_path):
    data = copy.deepcopy(GOOD)
    data['annotations'] = []
    message = _error(tmp_path, data)
    assert 'no images left after filtering' in message
    assert '2 without a usable box' in message
    assert len(_dataset(_write(tmp_path, data), test_mode=True)) == 2
    data['images'] = []
    assert 'has no images' in _error(tmp_path, data, test_mode=True)


# ---------------------------------------------------------------- images
def _image_dataset(tmp_path, skip_bad):
    cv2.imwrite(str(tmp_path / 'a.png'), np.full((30, 40, 3), 128, np.uint8))
    (tmp_path / 'b.png').write_bytes(b'\x89PNG\r\n\x1a\n garbage')  # corrupt
    data = copy.deepcopy(GOOD)
    data['annotations'].append(
        {'id': 12, 'image_id': 2, 'category_id': 7, 'bbox': [1, 1, 5, 5]})
    return _dataset(_write(tmp_path, data),
                    pipeline=[dict(type='LoadImageFromFileSafe',
                                   skip_bad=skip_bad)])


def test_load_image_errors_name_the_full_path(tmp_path):
    assert TRANSFORMS.get('LoadImageFromFileSafe') is LoadImageFromFileSafe
    load = LoadImageFromFileSafe()
    with pytest.raises(FileNotFoundError) as info:
        load(dict(img_path=str(tmp_path / 'missing.png')))
    assert str(tmp_path / 'missing.png') in str(info.value)
    (tmp_path / 'bad.jpg').write_bytes(b'not an image')
    with pytest.raises(ValueError, match='cannot decode image file') as info:
        load(dict(img_path=str(tmp_path / 'bad.jpg')))
    assert str(tmp_path / 'bad.jpg') in str(info.value)
    (tmp_path / 'empty.png').write_bytes(b'')
    with pytest.raises(ValueError, match='is empty'):
        load(dict(img_path=str(tmp_path / 'empty.png')))


def test_skip_bad_image_draws_another_sample(tmp_path):
    strict = _image_dataset(tmp_path, skip_bad=False)
    bad = [i for i in range(len(strict))
           if strict.get_data_info(i)['img_path'].endswith('b.png')][0]
    with pytest.raises(ValueError, match='b.png'):
        strict[bad]
    lenient = _image_dataset(tmp_path, skip_bad=True)
    with pytest.warns(UserWarning, match=r'skipped a sample: .*b\.png'):
        sample = lenient[bad]
    assert sample['img_path'].endswith('a.png')


# ------------------------------------------------- categories outside `classes`
def test_categories_outside_classes_are_counted(tmp_path):
    """Boxes of a category in the file but not in ``classes`` are left out with one
    warning naming each category and its box / image counts (mmdet: silently)."""
    data = copy.deepcopy(GOOD)
    data['categories'].append({'id': 11, 'name': 'star'})
    data['annotations'] += [
        {'id': 20 + i, 'image_id': 1 + i % 2, 'category_id': 11, 'bbox': [1, 1, 4, 4]}
        for i in range(3)]
    path = _write(tmp_path, data)
    with pytest.warns(DatasetWarning) as record:
        dataset = _dataset(path)
    messages = [str(w.message) for w in record]
    assert len(messages) == 1, messages
    assert messages[0].startswith(f'{path}: left out 3 of 5 boxes (2 images affected) '
                                  "whose category is not in metainfo classes "
                                  "('circle', 'square'): 'star' (id 11): 3 boxes on 2 "
                                  'images.')
    labels = [i['bbox_label'] for i in dataset.get_data_info(0)['instances']]
    assert labels == [0, 1]  # the kept boxes keep their labels


# ------------------------------------------------------------ image sizes
def _sized_dataset(tmp_path, real_hw, size_check=None, skip_bad=False):
    cv2.imwrite(str(tmp_path / 'a.png'), np.zeros((*real_hw, 3), np.uint8))
    cv2.imwrite(str(tmp_path / 'b.png'), np.zeros((30, 40, 3), np.uint8))
    data = copy.deepcopy(GOOD)
    data['annotations'].append(
        {'id': 12, 'image_id': 2, 'category_id': 7, 'bbox': [1, 1, 5, 5]})
    load = dict(type='LoadImageFromFileSafe', skip_bad=skip_bad)
    if size_check:
        load['size_check'] = size_check
    return _dataset(_write(tmp_path, data), pipeline=[load])


def _index_of(dataset, name):
    return [i for i in range(len(dataset))
            if dataset.get_data_info(i)['img_path'].endswith(name)][0]


def test_image_size_differing_from_annotation_is_warned_with_a_count(tmp_path):
    """a.png is 60x30 on disk, 40x30 in the JSON: warned (with a running count) when the
    image is read; b.png matches its JSON and is not."""
    dataset = _sized_dataset(tmp_path, (30, 60))
    a, b = _index_of(dataset, 'a.png'), _index_of(dataset, 'b.png')
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        dataset[b]
        dataset[a]
        dataset[a]
    sizes = [str(w.message) for w in record if 'wrong size' in str(w.message)]
    assert len(sizes) == 2
    assert sizes[0].startswith(f'image {tmp_path / "a.png"} is 60x30 (width x height) but '
                               'its annotation says 40x30; its boxes are used as annotated')
    assert '1 image(s) with a wrong size so far' in sizes[0]
    assert '2 image(s) with a wrong size so far' in sizes[1]


def test_image_size_error_under_strict_option(tmp_path):
    from mmcenternet.errors import ImageSizeError
    dataset = _sized_dataset(tmp_path, (40, 30), size_check='error')
    with pytest.raises(ImageSizeError) as info:
        dataset[_index_of(dataset, 'a.png')]
    assert 'is 30x40 (width x height) but its annotation says 40x30 (width and height ' \
        'swapped: an EXIF rotation?)' in str(info.value)
    assert "size_check='warn'" in str(info.value)
    # skip_bad draws another sample instead
    lenient = _sized_dataset(tmp_path, (40, 30), size_check='error', skip_bad=True)
    with pytest.warns(UserWarning, match='skipped a sample: image .*a.png is 30x40'):
        assert lenient[_index_of(lenient, 'a.png')]['img_path'].endswith('b.png')


def test_loading_the_dataset_decodes_no_image(tmp_path, monkeypatch):
    """The size check runs when an image is decoded by the pipeline, never at load."""
    import mmcv

    def no_decoding(*args, **kwargs):
        raise AssertionError('an image was decoded while loading the dataset')

    monkeypatch.setattr(mmcv, 'imfrombytes', no_decoding)
    monkeypatch.setattr(mmcv, 'imread', no_decoding)
    monkeypatch.setattr(cv2, 'imread', no_decoding)
    monkeypatch.setattr(cv2, 'imdecode', no_decoding)
    dataset = _dataset(_write(tmp_path, GOOD), pipeline=[dict(type='LoadImageFromFileSafe')])
    assert len(dataset) == 1


def test_classes_in_another_order_than_the_file_name_labels_in_file_order(tmp_path):
    """Labels follow the file's category order (as mmdet); the names are reordered to
    match them (mmdet would name label 0 'square' here), with one warning."""
    path = _write(tmp_path, GOOD)
    with pytest.warns(DatasetWarning) as record, \
            DefaultScope.overwrite_default_scope('mmcenternet'):
        dataset = CenterNetCocoDataset(
            ann_file=str(path), data_prefix=dict(img=str(tmp_path) + '/'),
            metainfo=dict(classes=('square', 'circle'),
                          palette=[(0, 0, 255), (255, 0, 0)]), pipeline=[])
    messages = [str(w.message) for w in record]
    assert messages == [f"{path}: metainfo classes ('square', 'circle') are not in the "
                        "file's category order; labels follow the file (as in mmdet), so "
                        "the names are used in that order: ('circle', 'square'). List the "
                        'classes in this order to silence this warning.']
    assert dataset.metainfo['classes'] == ('circle', 'square')
    assert dataset.metainfo['palette'] == [(255, 0, 0), (0, 0, 255)]
    instances = dataset.get_data_info(0)['instances']
    names = [dataset.metainfo['classes'][i['bbox_label']] for i in instances]
    assert names == ['circle', 'square']  # category ids 7 and 9 of the file
    assert dataset.cat_ids == [7, 9]
    # the file's order: no warning, nothing changed
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert _dataset(path).metainfo['classes'] == CLASSES
