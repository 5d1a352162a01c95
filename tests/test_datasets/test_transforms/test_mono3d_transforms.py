"""The 3D pipeline keeps the calibration consistent with the warped image (and flips)."""
import math

import numpy as np
import pytest
import torch

from mmcenternet.datasets.transforms.center_affine import transform_bboxes
from mmcenternet.registry import DATASETS
from mmcenternet.structures.camera3d import affine_cam2img, box3d_corners, project
from test_tools.kitti_workspace import dataset_cfg, load_kitti_generator

META = ('img_id', 'img_shape', 'ori_shape', 'affine_matrix', 'cam2img', 'jittered', 'flip')


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('toy_kitti'))
    load_kitti_generator().generate(root, num_train=3, num_val=0, seed=5)
    return root


def _samples(root, **affine):
    pipeline = [dict(type='LoadImageFromFileSafe'), dict(type='LoadMono3DAnnotations'),
                dict(type='CenterAffine', input_size=(416, 128), **affine),
                dict(type='PackCenterNetInputs', meta_keys=META)]
    ds = DATASETS.build(dataset_cfg(root, pipeline=pipeline))
    np.random.seed(3)
    return [ds[i]['data_samples'] for i in range(len(ds))], ds


def _clean(ds, index, sample):
    """Objects fully in view (truncation 0) that are not ignore regions."""
    inst = ds.get_data_info(index)['instances']
    return [i for i, o in enumerate(inst) if o['truncation'] == 0 and not o['dontcare']]


@pytest.mark.parametrize('affine', [dict(), dict(shift=0.1, scale=0.4, jitter_prob=1.,
                                                 jitter_style='ddd')])
def test_projection_through_affine_matches_the_boxes(toy_root, affine):
    """The input camera ``affine_matrix @ cam2img`` projects each 3D box onto its (warped)
    2D box: the toy labels' 2D box is the projected box's extent."""
    samples, ds = _samples(toy_root, **affine)
    checked = 0
    for index, sample in enumerate(samples):
        assert sample.jittered == bool(affine)
        cam_in = affine_cam2img(sample.cam2img, sample.affine_matrix)
        gt = sample.gt_instances
        for i in _clean(ds, index, sample):
            corners = box3d_corners(gt.bboxes_3d[i:i + 1].double())
            uv = project(corners, cam_in)[0]
            extent = torch.cat([uv.min(0).values, uv.max(0).values]).float()
            # labels hold 2 decimals (rot_y to 0.01 rad): a fraction of a pixel
            torch.testing.assert_close(extent, gt.bboxes.tensor[i], atol=0.5, rtol=0)
            checked += 1
    assert checked >= 5


def test_flip_keeps_centers_and_angles_consistent(toy_root):
    """A flipped sample's 3D center still projects to its (flipped) 2D box center, and
    ``rot_y = alpha + atan2(x, z)`` still holds (KITTI's relation, as the labels)."""
    plain, ds = _samples(toy_root)
    flipped, _ = _samples(toy_root, flip_prob=1.0)
    checked = 0
    for index, (a, b) in enumerate(zip(plain, flipped)):
        assert b.flip and not a.flip
        for i in _clean(ds, index, a):
            box_a, box_b = a.gt_instances.bboxes_3d[i], b.gt_instances.bboxes_3d[i]
            center = box_b[:3].double() - torch.tensor([0., float(box_b[4]) / 2, 0.],
                                                         dtype=torch.float64)
            uv = project(center[None], affine_cam2img(b.cam2img, b.affine_matrix))[0]
            center_a = box_a[:3].double() - torch.tensor([0., float(box_a[4]) / 2, 0.],
                                                           dtype=torch.float64)
            uv_a = project(center_a[None], affine_cam2img(a.cam2img, a.affine_matrix))[0]
            torch.testing.assert_close(uv[1], uv_a[1], atol=1e-3, rtol=0)
            # mirrored input column (the official flip puts the source center at w - 1 - c)
            assert abs(float(uv[0]) + float(uv_a[0]) - 416) < 1e-2
            alpha = float(b.gt_instances.alphas[i])
            ry = float(box_b[6])
            assert math.isclose(math.remainder(ry - alpha - math.atan2(float(box_b[0]),
                                                                       float(box_b[2])),
                                               2 * math.pi), 0, abs_tol=1e-4)
            assert math.isclose(math.remainder(alpha + float(a.gt_instances.alphas[i])
                                               - math.pi, 2 * math.pi), 0, abs_tol=1e-5)
            assert box_b[1:6].tolist() == box_a[1:6].tolist()
            checked += 1
    assert checked >= 5


def test_no_jitter_without_probability(toy_root):
    samples, _ = _samples(toy_root, shift=0.1, scale=0.4, jitter_prob=0.0, jitter_style='ddd')
    plain, _ = _samples(toy_root)
    for a, b in zip(samples, plain):
        assert not a.jittered
        np.testing.assert_allclose(a.affine_matrix, b.affine_matrix)
        # official ddd test input: the whole image width onto 416 px, centred
        k = 416 / 1242
        np.testing.assert_allclose(a.affine_matrix[:2, :2], np.eye(2) * k, rtol=1e-6)
        mapped = transform_bboxes(np.array([[621., 187.5, 621., 187.5]]), a.affine_matrix)
        np.testing.assert_allclose(mapped[0, :2], [208., 64.], atol=1e-3)


def test_bad_jitter_style():
    from mmcenternet.datasets.transforms import CenterAffine
    with pytest.raises(ValueError, match='jitter_style'):
        CenterAffine(jitter_style='random')
