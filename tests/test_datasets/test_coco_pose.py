"""CocoPoseDataset, LoadPoseAnnotations and CenterAffine on keypoints."""
import copy
import json
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmcenternet.datasets.coco_pose import flip_pairs_to_indices
from mmcenternet.errors import DatasetError
from mmcenternet.registry import DATASETS, TRANSFORMS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
COCO_META = Config.fromfile(osp.join(ROOT, 'configs', '_base_', 'datasets',
                                     'coco_keypoints.py')).metainfo.to_dict()
# a 3-joint set: a centre and a left/right pair
TINY_META = dict(classes=('person', ), keypoint_names=('c', 'l', 'r'), flip_indices=[0, 2, 1],
                 skeleton=[[0, 1], [0, 2]], sigmas=[0.05, 0.05, 0.05])


def _kp(*triples):
    return [v for t in triples for v in t]


GOOD = {
    'images': [{'id': 1, 'file_name': 'a.png', 'width': 60, 'height': 40},
               {'id': 2, 'file_name': 'b.png', 'width': 60, 'height': 40}],
    'annotations': [
        {'id': 10, 'image_id': 1, 'category_id': 1, 'bbox': [2, 3, 20, 30], 'iscrowd': 0,
         'keypoints': _kp((10, 5, 2), (14, 10, 1), (6, 10, 2)), 'num_keypoints': 3},
        {'id': 11, 'image_id': 1, 'category_id': 1, 'bbox': [30, 2, 20, 30], 'iscrowd': 1,
         'keypoints': _kp((0, 0, 0), (0, 0, 0), (0, 0, 0)), 'num_keypoints': 0},
        {'id': 12, 'image_id': 2, 'category_id': 1, 'bbox': [5, 5, 10, 10], 'iscrowd': 0,
         'keypoints': _kp((8, 8, 2), (0, 0, 0), (6, 9, 2)), 'num_keypoints': 2},
    ],
    'categories': [{'id': 1, 'name': 'person', 'keypoints': ['c', 'l', 'r']}],
}


def _dataset(tmp_path, data=GOOD, metainfo=TINY_META, **kwargs):
    path = tmp_path / 'ann.json'
    path.write_text(json.dumps(data))
    with DefaultScope.overwrite_default_scope('mmcenternet'):
        return DATASETS.build(dict(type='CocoPoseDataset', ann_file=str(path),
                                   metainfo=metainfo, data_prefix=dict(img=''),
                                   pipeline=[], **kwargs))


def test_loads_keypoints_flip_indices_and_keeps_crowd_as_object(tmp_path):
    ds = _dataset(tmp_path)
    info = ds.get_data_info(0)
    assert info['flip_indices'] == [0, 2, 1]
    first, crowd = info['instances']
    np.testing.assert_array_equal(first['keypoints'], [[10, 5], [14, 10], [6, 10]])
    np.testing.assert_array_equal(first['keypoints_visible'], [2, 1, 2])
    assert crowd['ignore_flag'] == 0 and crowd['keypoints_visible'].sum() == 0
    # the detection dataset's crowd option: mmdet's behaviour, and crowd kept for evaluation
    for kwargs in (dict(crowd='ignore'), dict(test_mode=True)):
        assert _dataset(tmp_path, **kwargs).get_data_info(0)['instances'][1][
            'ignore_flag'] == 1


@pytest.mark.parametrize('change,match', [
    (lambda d: d['annotations'][0].pop('keypoints'),
     r'annotation id 10 \(image id 1\) of a keypoint class has no "keypoints"'),
    (lambda d: d['annotations'][1].update(keypoints=[1, 2, 2]),
     r'annotation id 11 .*invalid "keypoints" \(expected 9 numbers'),
    (lambda d: d['annotations'][2].update(keypoints=_kp((8, 8, 3), (0, 0, 0), (6, 9, 2))),
     r'annotation id 12 .*visibility \[3.0\]'),
    (lambda d: d['categories'][0].update(keypoints=['a', 'b']),
     r"category 'person' has 2 keypoints but metainfo.keypoint_names has 3"),
])
def test_bad_keypoint_annotations_name_file_and_entry(tmp_path, change, match):
    data = copy.deepcopy(GOOD)
    change(data)
    with pytest.raises(DatasetError, match=match) as err:
        _dataset(tmp_path, data)
    assert 'ann.json' in str(err.value)


@pytest.mark.parametrize('change,match', [
    (dict(flip_indices=[0, 2, 0]), r'metainfo.flip_indices: \[0, 2, 0\] is not a self-inverse'),
    (dict(flip_indices=[1, 2, 0]), r'metainfo.flip_indices'),
    (dict(sigmas=[0.1, 0.1]), r'metainfo.sigmas: needs 3 positive numbers'),
    (dict(skeleton=[[0, 3]]), r'metainfo.skeleton: limb #0 \[0, 3\]'),
    (dict(keypoint_colors=[[1, 2, 3]]), r'metainfo.keypoint_colors: needs 3 RGB'),
    (dict(keypoint_classes=('cat', )), r'metainfo.keypoint_classes: \[.cat.\]'),
])
def test_bad_keypoint_metainfo_names_the_option(tmp_path, change, match):
    with pytest.raises(DatasetError, match=match):
        _dataset(tmp_path, metainfo=dict(TINY_META, **change))
    meta = dict(TINY_META)
    del meta['sigmas']
    with pytest.raises(DatasetError, match='metainfo.sigmas: missing'):
        _dataset(tmp_path, metainfo=meta)


def test_coco_metainfo_is_consistent():
    pairs = [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [15, 16]]
    assert COCO_META['flip_indices'] == flip_pairs_to_indices(pairs, 17)  # official flip_idx
    from mmcenternet.datasets.coco_pose import check_keypoint_metainfo
    assert check_keypoint_metainfo(COCO_META) == 17


def test_all_classes_with_keypoints_from_a_second_file(tmp_path):
    """instances_*.json (boxes of every class) + person_keypoints_*.json (joints by id)."""
    instances = copy.deepcopy(GOOD)
    kp_file = tmp_path / 'person_keypoints.json'
    kp_file.write_text(json.dumps(GOOD))
    for ann in instances['annotations']:
        del ann['keypoints']
    instances['categories'] = [{'id': 1, 'name': 'person'}, {'id': 2, 'name': 'dog'}]
    instances['annotations'].append({'id': 13, 'image_id': 2, 'category_id': 2,
                                     'bbox': [30, 5, 10, 10], 'iscrowd': 0})
    meta = dict(TINY_META, classes=('person', 'dog'), keypoint_classes=('person', ))
    ds = _dataset(tmp_path, instances, meta, keypoint_ann_file=str(kp_file))
    person, dog = ds.get_data_info(1)['instances']
    np.testing.assert_array_equal(person['keypoints_visible'], [2, 0, 2])
    assert dog['bbox_label'] == 1 and dog['keypoints_visible'].sum() == 0
    with pytest.raises(DatasetError, match='has no "keypoints".*keypoint_ann_file'):
        _dataset(tmp_path, instances, meta)


# --------------------------------------------------------------------------- pipeline
def _sample(flip_indices=(0, 2, 1)):
    return dict(img=np.zeros((40, 60, 3), np.uint8), img_path='a.png', img_shape=(40, 60),
                ori_shape=(40, 60), flip_indices=list(flip_indices),
                instances=[dict(bbox=[2., 3., 22., 33.], bbox_label=0, ignore_flag=0,
                                keypoints=np.float32([[10, 5], [14, 10], [6, 10]]),
                                keypoints_visible=np.float32([2, 1, 2]))])


def _pipeline(**affine):
    with DefaultScope.overwrite_default_scope('mmcenternet'):
        return [TRANSFORMS.build(dict(type='LoadPoseAnnotations', with_bbox=True)),
                TRANSFORMS.build(dict(type='CenterAffine', input_size=(64, 64), **affine))]


def _run(sample, transforms):
    for t in transforms:
        sample = t(sample)
    return sample


def test_affine_maps_keypoints_like_boxes_and_flip_swaps_left_right():
    plain = _run(_sample(), _pipeline())
    flipped = _run(_sample(), _pipeline(flip_prob=1.0))
    assert plain['gt_keypoints'].shape == (1, 3, 2)
    mat = plain['affine_matrix'].astype(np.float64)
    expected = np.float32([[10, 5], [14, 10], [6, 10]]) @ mat[:2, :2].T + mat[:2, 2]
    np.testing.assert_allclose(plain['gt_keypoints'][0], expected, rtol=1e-5)
    # the box's left edge and the centre joint move by the same matrix
    box = plain['gt_bboxes'].numpy()[0] if hasattr(plain['gt_bboxes'], 'numpy') else \
        plain['gt_bboxes'][0]
    np.testing.assert_allclose(box[:2], np.array([2., 3.]) @ mat[:2, :2].T + mat[:2, 2],
                               rtol=1e-5)
    # mirrored (x -> W - 1 - x in the original and the mirrored centre, as officially):
    # the input is the mirror of the unflipped input, and left and right swap
    fmat = flipped['affine_matrix'].astype(np.float64)
    np.testing.assert_allclose(flipped['gt_keypoints'][0],
                               (np.float32([[10, 5], [6, 10], [14, 10]]) @ fmat[:2, :2].T
                                + fmat[:2, 2]), rtol=1e-5)
    swapped = plain['gt_keypoints'][0][[0, 2, 1]]
    np.testing.assert_allclose(flipped['gt_keypoints'][0, :, 0], 64 - swapped[:, 0], rtol=1e-5)
    np.testing.assert_allclose(flipped['gt_keypoints'][0, :, 1], swapped[:, 1], rtol=1e-5)
    np.testing.assert_array_equal(flipped['gt_keypoints_visible'][0], [2, 2, 1])


def test_joints_leaving_the_input_become_unlabelled():
    sample = _sample()
    sample['instances'][0]['keypoints'][1] = [59.5, 39.5]  # kept in the image, not after
    out = _run(sample, _pipeline(random_scales=[0.6], border=4))
    inside = ((out['gt_keypoints'][0] >= 0) & (out['gt_keypoints'][0] < 64)).all(1)
    np.testing.assert_array_equal(out['gt_keypoints_visible'][0] > 0,
                                  inside & (np.float32([2, 1, 2]) > 0))


def test_flip_without_flip_indices_is_a_clear_error():
    sample = _sample()
    del sample['flip_indices']
    with pytest.raises(KeyError, match='flip_indices'):
        _run(sample, _pipeline(flip_prob=1.0))


def test_pack_gives_keypoints_and_flip_indices(tmp_path):
    with DefaultScope.overwrite_default_scope('mmcenternet'):
        pack = TRANSFORMS.build(dict(type='PackCenterNetInputs', meta_keys=(
            'img_shape', 'affine_matrix', 'flip', 'flip_indices')))
    out = pack(_run(_sample(), _pipeline(flip_prob=1.0)))
    sample = out['data_samples']
    assert sample.gt_instances.keypoints.shape == (1, 3, 2)
    assert sample.gt_instances.keypoints_visible.tolist() == [[2, 2, 1]]
    assert sample.metainfo['flip_indices'] == [0, 2, 1]
