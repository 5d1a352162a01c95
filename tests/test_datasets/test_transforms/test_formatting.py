import numpy as np
import torch

from mmcenternet.datasets.transforms import PackCenterNetInputs


def test_packs_task_annotations_split_by_ignore_flags():
    n, k = 3, 17
    results = dict(
        img=np.zeros((8, 8, 3), np.uint8),
        gt_bboxes=np.arange(12, dtype=np.float32).reshape(n, 4),
        gt_bboxes_labels=np.array([0, 1, 2]),
        gt_ignore_flags=np.array([False, True, False]),
        gt_keypoints=np.random.rand(n, k, 2).astype(np.float32),
        gt_keypoints_visible=np.ones((n, k), np.float32),
        gt_bboxes_3d=np.random.rand(n, 7).astype(np.float32),
        gt_alphas=np.array([0.1, 0.2, 0.3], np.float32),
        img_id=1, affine_matrix=np.eye(3, dtype=np.float32), cam2img=np.eye(4))
    packed = PackCenterNetInputs(meta_keys=('img_id', 'affine_matrix', 'cam2img'))(results)
    gt = packed['data_samples'].gt_instances
    ign = packed['data_samples'].ignored_instances
    assert len(gt) == 2 and len(ign) == 1
    torch.testing.assert_close(gt.keypoints, torch.from_numpy(results['gt_keypoints'][[0, 2]]))
    torch.testing.assert_close(ign.bboxes_3d, torch.from_numpy(results['gt_bboxes_3d'][[1]]))
    torch.testing.assert_close(gt.alphas, torch.tensor([0.1, 0.3]))
    assert gt.keypoints_visible.shape == (2, k)
    assert set(packed['data_samples'].metainfo) == {'img_id', 'affine_matrix', 'cam2img'}
