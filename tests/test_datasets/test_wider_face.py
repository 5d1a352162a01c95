"""WiderFaceDataset: both WIDER FACE text formats, strict checks, landmarks through the
keypoint pipeline."""
import numpy as np
import pytest

from mmcenternet.datasets import WiderFaceDataset
from mmcenternet.datasets.coco import DatasetWarning
from mmcenternet.datasets.transforms import CenterAffine, LoadPoseAnnotations
from mmcenternet.errors import DatasetError

OFFICIAL = """0--Parade/0_Parade_marchingband_1_849.jpg
1
449 330 122 149 0 0 0 0 0 0
0--Parade/0_Parade_Parade_0_904.jpg
3
361 98 263 339 0 0 0 0 0 0
78 221 7 8 2 0 0 0 0 0
10 10 0 5 2 0 0 1 0 0
1--Handshaking/1_Handshaking_1.jpg
0
0 0 0 0 0 0 0 0 0 0
2--Demonstration/2_Demonstration_1.jpg
2
5 6 7 8 1 1 0 1 2 1
20 30 40 50 0 0 0 0 0 0
"""

RETINAFACE = """# 0--Parade/0_Parade_marchingband_1_849.jpg
449 330 122 149 488.906 373.643 0.0 542.089 376.442 0.0 515.031 412.83 0.0 485.138 433.549 1.0 538.357 435.804 0.0 0.82
# 0--Parade/0_Parade_Parade_0_904.jpg
361 98 263 339 424.143 251.656 0.0 547.134 232.571 0.0 494.121 325.875 0.0 453.83 368.286 0.0 561.978 342.839 0.0 0.89
78 221 7 8 -1.0 -1.0 -1.0 -1.0 -1.0 -1.0 -1.0 -1.0 -1.0 -1.0 -1.0 -1.0 -1.0 -1.0 -1.0 0.2
# 1--Handshaking/1_Handshaking_1.jpg
30 40 50 60
"""


def load(tmp_path, text, **kwargs):
    path = tmp_path / 'ann.txt'
    path.write_text(text)
    kwargs.setdefault('test_mode', True)
    return WiderFaceDataset(ann_file=str(path), data_prefix=dict(img='imgs/'), pipeline=[],
                            **kwargs)


def test_official_format(tmp_path):
    with pytest.warns(DatasetWarning, match=r'dropped 1 faces \(1 zero or negative size\)'):
        ds = load(tmp_path, OFFICIAL)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [i['img_path'] for i in infos] == [
        'imgs/0--Parade/0_Parade_marchingband_1_849.jpg',
        'imgs/0--Parade/0_Parade_Parade_0_904.jpg', 'imgs/1--Handshaking/1_Handshaking_1.jpg',
        'imgs/2--Demonstration/2_Demonstration_1.jpg']
    assert [len(i['instances']) for i in infos] == [1, 2, 0, 2]
    face = infos[1]['instances'][1]
    assert face['bbox'] == [78, 221, 85, 229] and face['blur'] == 2 and face['bbox_label'] == 0
    assert face['keypoints_visible'].sum() == 0 and face['keypoints'].shape == (5, 2)
    invalid = infos[3]['instances'][0]
    assert invalid['invalid'] == 1 and invalid['ignore_flag'] == 1 and invalid['pose'] == 1
    assert infos[0]['flip_indices'] == [1, 0, 2, 4, 3]
    with pytest.warns(DatasetWarning, match=r'1 invalid \(invalid_faces="drop"\)'):
        assert len(load(tmp_path, OFFICIAL, invalid_faces='drop').get_data_info(3)[
            'instances']) == 1
    kept = load(tmp_path, OFFICIAL, invalid_faces='keep').get_data_info(3)['instances'][0]
    assert kept['ignore_flag'] == 0
    # training drops the image without faces (filter_empty_gt)
    train = load(tmp_path, OFFICIAL, test_mode=False, filter_cfg=dict(filter_empty_gt=True))
    assert len(train) == 3


def test_retinaface_format_with_landmarks(tmp_path):
    ds = load(tmp_path, RETINAFACE)
    assert ds.ann_format == 'auto' and len(ds) == 3
    face = ds.get_data_info(0)['instances'][0]
    np.testing.assert_allclose(face['keypoints'][0], [488.906, 373.643], rtol=1e-6)
    assert face['keypoints_visible'].tolist() == [2, 2, 2, 1, 2]  # flag 1: occluded
    small = ds.get_data_info(1)['instances'][1]
    assert small['bbox'] == [78, 221, 85, 229] and small['keypoints_visible'].sum() == 0
    assert (small['keypoints'] == 0).all()
    box_only = ds.get_data_info(2)['instances'][0]  # RetinaFace's val label.txt: boxes only
    assert box_only['bbox'] == [30, 40, 80, 100] and box_only['keypoints_visible'].sum() == 0


@pytest.mark.parametrize('text,fmt,message', [
    (RETINAFACE.replace('30 40 50 60', '30 40 50'), 'retinaface',
     r'ann.txt line 7: face line of 1--Handshaking/1_Handshaking_1.jpg needs 4 or 20 '
     r'numbers, got 3'),
    ('10 20 30 40\n# a.jpg\n', 'retinaface', r'line 1: a face line before the first "#'),
    (RETINAFACE.replace('485.138 433.549 1.0', '485.138 433.549 2.0'), 'retinaface',
     r'line 2: landmark flags must be 0 \(visible\) or 1'),
    (RETINAFACE.replace('30 40 50 60', '30 40 5O 60'), 'retinaface',
     r'line 7: .* not a number'),
    (RETINAFACE + '# 0--Parade/0_Parade_Parade_0_904.jpg\n', 'retinaface',
     r"line 8: image '0--Parade/0_Parade_Parade_0_904.jpg' is listed again \(first at "
     r'line 3\)'),
    (OFFICIAL.replace('\n3\n', '\nthree\n'), 'official',
     r'line 5: expected the face count of 0--Parade/0_Parade_Parade_0_904.jpg'),
    (OFFICIAL.rsplit('\n', 2)[0] + '\n', 'official',
     r'the file ends after line 14, expected a face line of 2--Demonstration'),
    (RETINAFACE, 'official', r'line 1: .*RetinaFace\'s label.txt: use ann_format="retinaface"'),
])
def test_errors_name_the_file_and_line(tmp_path, text, fmt, message):
    with pytest.raises(DatasetError, match=message):
        load(tmp_path, text, ann_format=fmt)


def test_options_are_checked(tmp_path):
    with pytest.raises(DatasetError, match='ann_format must be one of'):
        load(tmp_path, RETINAFACE, ann_format='coco')
    with pytest.raises(FileNotFoundError, match='does not exist'):
        WiderFaceDataset(ann_file=str(tmp_path / 'none.txt'), pipeline=[])


def test_landmarks_swap_sides_in_a_mirror(tmp_path):
    """Through LoadPoseAnnotations and a flipping CenterAffine the image-left eye becomes
    the new left eye: the one that was on the right, mirrored."""
    info = load(tmp_path, RETINAFACE).get_data_info(0)
    results = dict(info, img=np.zeros((600, 800, 3), np.uint8), img_shape=(600, 800))
    results = LoadPoseAnnotations(with_bbox=True, with_label=True)(results)
    before = results['gt_keypoints'][0].copy()
    out = CenterAffine(input_size=(800, 800), flip_prob=1.0)(results)
    pts = out['gt_keypoints'][0]
    mat = out['affine_matrix']
    # flipped eyes: the new left eye (index 0) is the old right eye (index 1), mirrored
    mirrored = mat[:2, :2] @ before[1] + mat[:2, 2]
    np.testing.assert_allclose(pts[0], mirrored, rtol=1e-5)
    assert pts[0, 0] < pts[1, 0]  # still left of the right eye in the mirror
    assert out['gt_keypoints_visible'][0].tolist() == [2, 2, 2, 2, 1]  # mouth corners swap
