"""Packing of the annotations of every CenterNet task into ``DetDataSample``.

mmdet's ``PackDetInputs`` packs boxes, labels and masks only. The other tasks carry more
per-instance arrays through the pipeline; this packer maps them all (split by
``gt_ignore_flags`` as mmdet does), so a task adds a row to ``mapping_table`` rather than a
packer of its own.
"""
from mmdet.datasets.transforms import PackDetInputs

from mmcenternet.registry import TRANSFORMS

#: Meta keys every CenterNet pipeline needs (``affine_matrix`` maps results back).
CENTERNET_META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                       'flip_direction', 'affine_matrix')


@TRANSFORMS.register_module()
class PackCenterNetInputs(PackDetInputs):
    """``PackDetInputs`` that also packs the annotations of pose, 3D and face data.

    Results key -> ``gt_instances`` field:

    - ``gt_keypoints`` -> ``keypoints`` ``(N, K, 2)`` in input pixels (pose joints, face
      landmarks) and ``gt_keypoints_visible`` -> ``keypoints_visible`` ``(N, K)`` (COCO
      visibility 0/1/2; 0 = no annotation);
    - ``gt_bboxes_3d`` -> ``bboxes_3d`` ``(N, 7)``: ``x, y, z`` (bottom center, camera
      coordinates, metres), ``l, h, w``, ``rot_y``, as KITTI labels;
    - ``gt_alphas`` -> ``alphas`` ``(N,)`` (observation angle);
    - ``gt_truncation`` / ``gt_occlusion`` -> ``truncation`` / ``occlusion`` ``(N,)``;
    - ``gt_dontcare`` -> ``dontcare`` ``(N,)`` bool: ignore regions that stay in
      ``gt_instances`` in annotation order (KITTI ``DontCare`` / ``Van`` ..., see
      ``KittiMono3DDataset``); mmdet's ``gt_ignore_flags`` would move them out.

    Args:
        meta_keys: As mmdet's; defaults to :data:`CENTERNET_META_KEYS`. Tasks add theirs
            (``flip_indices`` for keypoints, ``cam2img`` for 3D).
    """

    mapping_table = dict(
        PackDetInputs.mapping_table,
        gt_keypoints='keypoints',
        gt_keypoints_visible='keypoints_visible',
        gt_bboxes_3d='bboxes_3d',
        gt_alphas='alphas',
        gt_truncation='truncation',
        gt_occlusion='occlusion',
        gt_dontcare='dontcare')

    def __init__(self, meta_keys=CENTERNET_META_KEYS) -> None:
        super().__init__(meta_keys=meta_keys)
