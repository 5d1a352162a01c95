"""Packing of the annotations of every CenterNet task into ``DetDataSample``.

mmdet's ``PackDetInputs`` packs boxes, labels and masks only. The other tasks carry more
per-instance arrays through the pipeline; each task's transform file registers its results
keys with :func:`register_packed_fields` and this one packer maps them all (split by
``gt_ignore_flags`` as mmdet does): no packer, and no table here, per task.
"""
from mmdet.datasets.transforms import PackDetInputs

from mmcenternet.registry import TRANSFORMS

#: Meta keys every CenterNet pipeline needs (``affine_matrix`` maps results back).
CENTERNET_META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                       'flip_direction', 'affine_matrix')


@TRANSFORMS.register_module()
class PackCenterNetInputs(PackDetInputs):
    """``PackDetInputs`` that also packs the fields the tasks register.

    ``mapping_table`` (results key -> ``gt_instances`` field) is mmdet's plus every
    :func:`register_packed_fields` call of a task file (keypoints: ``transforms/keypoints.py``;
    3D boxes, angles, KITTI flags: ``transforms/mono3d.py``).

    Args:
        meta_keys: As mmdet's; defaults to :data:`CENTERNET_META_KEYS`. Tasks add theirs
            (``flip_indices`` for keypoints, ``cam2img`` for 3D).
    """

    mapping_table = dict(PackDetInputs.mapping_table)

    def __init__(self, meta_keys=CENTERNET_META_KEYS) -> None:
        super().__init__(meta_keys=meta_keys)


def register_packed_fields(**fields: str) -> None:
    """A task's per-instance results keys and their ``gt_instances`` field names, e.g.
    ``register_packed_fields(gt_keypoints='keypoints')``; a key packed under another name
    already is an error."""
    table = PackCenterNetInputs.mapping_table
    clash = {k: table[k] for k, v in fields.items() if table.get(k, v) != v}
    if clash:
        raise ValueError(f'register_packed_fields: {clash} are already packed under other '
                         'names')
    table.update(fields)
