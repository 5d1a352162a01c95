"""KittiMono3DDataset: KITTI files read directly, the official class mapping, strict checks."""
import os
import os.path as osp

import numpy as np
import pytest

from mmcenternet.datasets.coco import DatasetWarning
from mmcenternet.errors import DatasetError
from mmcenternet.registry import DATASETS
from test_tools.kitti_workspace import KITTI_P2, dataset_cfg, write_kitti

CAR = 'Car 0.00 0 -1.58 587.01 173.33 614.12 200.12 1.65 1.67 3.64 -0.65 1.71 46.70 -1.59'
PED = 'Pedestrian 0.30 1 0.21 423.17 173.67 433.17 224.03 1.87 0.50 0.90 -5.85 1.68 28.75 0.01'
VAN = 'Van 0.00 0 1.60 700.10 170.00 780.20 220.30 2.10 1.90 5.00 4.10 1.70 30.00 1.73'
SIT = 'Person_sitting 0.00 0 1.00 300.00 180.00 320.00 220.00 1.20 0.60 0.80 -9.00 1.70 20.00 0.6'
DC = 'DontCare -1 -1 -10 503.89 169.71 590.61 190.13 -1 -1 -1 -1000 -1000 -1000 -10'
TRAM = 'Tram 0.00 0 -1.00 800.00 150.00 1000.00 220.00 3.50 2.60 15.00 10.00 1.70 40.00 -0.8'


def _build(root, **kwargs):
    return DATASETS.build(dataset_cfg(root, **kwargs))


def _lines(*rows):
    return '\n'.join(rows) + '\n'


def test_reads_kitti_with_the_official_mapping(tmp_path):
    root = write_kitti(str(tmp_path), {'000007': dict(labels=_lines(CAR, DC, PED, VAN, SIT,
                                                                    TRAM)),
                                       '000011': dict(labels='')})
    ds = _build(root)
    assert len(ds) == 2 and ds.metainfo['classes'] == ('Pedestrian', 'Car', 'Cyclist')
    info = ds.get_data_info(0)
    assert info['img_id'] == 7 and info['kitti_id'] == '000007'
    assert info['img_path'].endswith('training/image_2/000007.png')
    np.testing.assert_allclose(info['cam2img'], KITTI_P2, rtol=1e-9)
    inst = info['instances']
    assert [i['name'] for i in inst] == ['Car', 'DontCare', 'Pedestrian', 'Van',
                                         'Person_sitting']  # Tram skipped
    assert [i['bbox_label'] for i in inst] == [1, -1, 0, 1, 0]
    assert [i['dontcare'] for i in inst] == [False, True, False, True, True]
    car = inst[0]
    assert car['bbox_3d'] == pytest.approx([-0.65, 1.71, 46.70, 3.64, 1.65, 1.67, -1.59])
    assert car['alpha'] == pytest.approx(-1.58) and car['occlusion'] == 0
    assert ds.get_data_info(1)['instances'] == []


def test_split_folders_and_unlabelled_test_split(tmp_path):
    root = write_kitti(str(tmp_path), {'000001': dict(labels=_lines(CAR))}, split='val',
                       split_dir='ImageSets_subcnn')
    assert len(_build(root, split='val', split_dir='ImageSets_subcnn')) == 1
    ds = _build(root, split='val', split_dir='ImageSets_subcnn', test_mode=True,
                data_prefix=dict(img='training/image_2', calib='training/calib'))
    assert ds.get_data_info(0)['instances'] == [] and ds.get_data_info(0)['label_path'] is None


def test_pipeline_packs_3d_annotations(tmp_path):
    root = write_kitti(str(tmp_path), {'000003': dict(labels=_lines(CAR, DC, PED))})
    ds = _build(root, pipeline=[
        dict(type='LoadImageFromFileSafe'), dict(type='LoadMono3DAnnotations'),
        dict(type='PackCenterNetInputs', meta_keys=('img_id', 'cam2img', 'label_path'))])
    sample = ds[0]['data_samples']
    gt = sample.gt_instances
    assert gt.bboxes_3d.shape == (3, 7) and gt.alphas.shape == (3, )
    assert gt.dontcare.tolist() == [False, True, False]
    assert gt.labels.tolist() == [1, -1, 0]
    assert gt.occlusion.tolist() == [0, -1, 1]
    assert sample.cam2img.shape == (3, 4) and sample.label_path.endswith('000003.txt')


@pytest.mark.parametrize('line,match', [
    (CAR + ' 0.5 7', r'000000.txt:2: 17 fields, expected 15'),
    (CAR.replace('Car', 'Bus'), r'000000.txt:2: field 1 \(type\) is \'Bus\''),
    (CAR.replace('1.67', 'abc'), r'000000.txt:2: field 10 \(w\) is \'abc\''),
    (CAR.replace('0.00 0', '1.50 0'), r'000000.txt:2: field 2 \(truncated\) is 1.5'),
    (CAR.replace('0.00 0', '0.00 5'), r'field 3 \(occluded\) is 5'),
    (CAR.replace('-1.58', '4.00'), r'field 4 \(alpha\) is 4'),
    (CAR.replace('587.01 173.33 614.12', '617.01 173.33 614.12'), r'fields 5-8'),
    (CAR.replace('0.00 0', '0.00 1.5'), r'field 3 \(occluded\) is \'1.5\', expected an integer'),
])
def test_malformed_labels_name_file_line_and_field(tmp_path, line, match):
    root = write_kitti(str(tmp_path), {'000000': dict(labels=_lines(PED, line))})
    with pytest.raises(DatasetError, match=match):
        _build(root)


def test_missing_files_and_bad_calibration(tmp_path):
    root = write_kitti(str(tmp_path), {'000000': dict(labels=_lines(CAR))})
    os.remove(osp.join(root, 'training', 'image_2', '000000.png'))
    with pytest.raises(DatasetError, match=r'train.txt: sample .000000. \(line 1\) has no image'):
        _build(root)
    root = write_kitti(str(tmp_path / 'b'), {'000000': dict(labels=_lines(CAR))})
    with open(osp.join(root, 'training', 'calib', '000000.txt'), 'w') as f:
        f.write('P2: 1 2 3\n')
    with pytest.raises(DatasetError, match=r'000000.txt:1: P2 has .* expected 12'):
        _build(root)
    with open(osp.join(root, 'training', 'calib', '000000.txt'), 'w') as f:
        f.write('P0: 1 0 0 0 0 1 0 0 0 0 1 0\n')
    with pytest.raises(DatasetError, match='no "P2:" line'):
        _build(root)
    with open(osp.join(root, 'training', 'calib', '000000.txt'), 'w') as f:
        f.write('P2: ' + ' '.join(map(str, KITTI_P2.reshape(-1))) + '\n')
    os.remove(osp.join(root, 'training', 'label_2', '000000.txt'))
    with pytest.raises(FileNotFoundError, match='label file .*000000.txt does not exist'):
        _build(root)
    with open(osp.join(root, 'ImageSets', 'train.txt'), 'w') as f:
        f.write('000000 000001\n')
    with pytest.raises(DatasetError, match=r'train.txt:1: .* is not a sample id'):
        _build(root)
    with pytest.raises(FileNotFoundError, match='split file .*nope.txt does not exist'):
        DATASETS.build(dict(type='KittiMono3DDataset', data_root=root,
                            ann_file='ImageSets/nope.txt'))


def test_unusable_objects_are_dropped_with_one_counted_warning(tmp_path):
    flat = CAR.replace('587.01 173.33 614.12 200.12', '587.01 173.33 587.01 200.12')
    behind = CAR.replace('46.70', '-3.00')
    no_size = CAR.replace('1.65 1.67 3.64', '0.00 1.67 3.64')
    root = write_kitti(str(tmp_path), {'000000': dict(labels=_lines(CAR, flat, behind,
                                                                    no_size))})
    with pytest.warns(DatasetWarning, match=r'dropped 3 objects \(1 with a depth <= 0 .*1 with '
                      r'a non-positive 3D size, 1 with an empty 2D box\)'):
        ds = _build(root)
    assert len(ds.get_data_info(0)['instances']) == 1


def test_class_mapping_is_checked(tmp_path):
    root = write_kitti(str(tmp_path), {'000000': dict(labels=_lines(CAR, VAN))})
    with pytest.raises(DatasetError, match='Lorry'):
        _build(root, metainfo=dict(classes=('Car', 'Lorry')))
    with pytest.raises(DatasetError, match=r"Van -> 'Bus'"):
        _build(root, ignore_types=dict(Van='Bus'))
    ds = _build(root, metainfo=dict(classes=('Car', 'Van')), ignore_types={})
    assert [i['bbox_label'] for i in ds.get_data_info(0)['instances']] == [0, 1]


def test_filter_empty_gt(tmp_path):
    root = write_kitti(str(tmp_path), {'000000': dict(labels=_lines(CAR)),
                                       '000001': dict(labels=_lines(DC))})
    assert len(_build(root)) == 2  # official: every image is kept
    assert len(_build(root, filter_cfg=dict(filter_empty_gt=True))) == 1
