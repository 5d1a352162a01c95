import cv2
import numpy as np
import pytest
from mmdet.structures.bbox import HorizontalBoxes

from mmcenternet.datasets.transforms.center_affine import (affine_matrix, get_border,
                                                           transform_bboxes)
from mmcenternet.registry import TRANSFORMS


def three_point_affine(center, src_w, out_size):
    """The official construction (3 point pairs + cv2.getAffineTransform), rot = 0."""
    out_w, out_h = out_size
    src = np.float32([center, center + [0, -0.5 * src_w], center + [0.5 * src_w, -0.5 * src_w]])
    dst = np.float32([[out_w / 2, out_h / 2], [out_w / 2, out_h / 2 - 0.5 * out_w],
                      [out_w, out_h / 2 - 0.5 * out_w]])
    return cv2.getAffineTransform(src, dst)


def test_affine_matrix_matches_three_point_construction():
    center = np.array([200.5, 130.], np.float32)
    mat = affine_matrix(center, 640., (512, 512))
    np.testing.assert_allclose(mat[:2], three_point_affine(center, 640., (512, 512)),
                               atol=1e-4)
    assert mat[0, 0] == pytest.approx(0.8)


def test_get_border_official_rule():
    assert get_border(128, 640) == 128
    assert get_border(128, 200) == 64
    assert get_border(128, 128) == 32


def results(h=300, w=400):
    img = np.random.RandomState(0).randint(0, 255, (h, w, 3)).astype(np.uint8)
    boxes = HorizontalBoxes(np.array([[10., 20., 110., 220.], [300., 50., 390., 290.]],
                                     np.float32))
    return dict(img=img, gt_bboxes=boxes, img_shape=(h, w), ori_shape=(h, w))


def test_fixed_resolution_test_mode():
    t = TRANSFORMS.build(dict(type='CenterAffine', input_size=(512, 512)))
    out = t(results())
    assert out['img'].shape == (512, 512, 3) and out['img_shape'] == (512, 512)
    # long side 400 -> 512, centered
    k = 512 / 400
    np.testing.assert_allclose(out['gt_bboxes'].numpy()[0],
                               [10 * k, (20 - 150) * k + 256, 110 * k, (220 - 150) * k + 256],
                               rtol=1e-5)
    assert out['flip'] is False


def test_keep_res_pads_to_32_and_centers_like_official_test():
    t = TRANSFORMS.build(dict(type='CenterAffine', keep_res=True, pad_divisor=32))
    out = t(results(h=301, w=399))
    assert out['img'].shape[:2] == (320, 416)
    mat = out['affine_matrix']
    # official test: c = (w // 2, h // 2), s = input size -> pure translation
    np.testing.assert_allclose(mat[:2, :2], np.eye(2), atol=1e-6)
    np.testing.assert_allclose(mat[:2, 2], [416 / 2 - 199, 320 / 2 - 150], atol=1e-5)


def test_scale_ratio_resizes_first():
    t = TRANSFORMS.build(dict(type='CenterAffine', keep_res=True, scale_ratio=0.5))
    out = t(results())
    assert out['img'].shape[:2] == (160, 224)  # 150 x 200 padded to 32
    pts = transform_bboxes(np.array([[0., 0., 400., 300.]], np.float32), out['affine_matrix'])
    np.testing.assert_allclose(pts[0, 2] - pts[0, 0], 200, atol=1e-4)


def test_random_train_mode_flip_keeps_boxes_on_objects():
    np.random.seed(3)
    img = np.zeros((300, 400, 3), np.uint8)
    img[20:220, 10:110] = 255  # a white object where box 0 is
    res = results()
    res['img'] = img
    t = TRANSFORMS.build(dict(type='CenterAffine', input_size=(256, 256),
                              random_scales=[0.6, 0.8, 1.0, 1.2], flip_prob=0.5))
    flips = 0
    for _ in range(12):
        out = t(dict(res, gt_bboxes=res['gt_bboxes'].clone()))
        flips += out['flip']
        x1, y1, x2, y2 = out['gt_bboxes'].numpy()[0]
        assert x2 > x1 and y2 > y1
        cx, cy = int((x1 + x2) / 2), int((y1 + y2) / 2)
        if 0 <= cx < 256 and 0 <= cy < 256:
            assert out['img'][cy, cx].mean() > 200  # box center lies on the object
    assert 0 < flips < 12


def test_color_aug_float_output_and_statistics():
    np.random.seed(0)
    t = TRANSFORMS.build(dict(type='CenterNetColorAug'))
    img = np.full((8, 8, 3), 128, np.uint8)
    outs = [t(dict(img=img.copy()))['img'] for _ in range(20)]
    assert all(o.dtype == np.float32 for o in outs)
    means = [o.mean() for o in outs]
    assert np.std(means) > 1.0  # it changes the image
    assert abs(np.mean(means) - 128) < 20  # around the input on average
