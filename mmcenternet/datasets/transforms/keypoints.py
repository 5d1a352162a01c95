"""Keypoint annotations through the pipeline (pose joints, face landmarks).

``gt_keypoints (N, K, 2)`` (image pixels) and ``gt_keypoints_visible (N, K)`` (COCO
visibility 0/1/2; 0 = no annotation) go through ``CenterAffine``'s warp
(:func:`map_keypoints`) and are packed as ``gt_instances.keypoints`` /
``keypoints_visible`` (in input pixels). Face landmarks travel as the same fields.
"""
from typing import Optional, Sequence, Tuple

import numpy as np
from mmdet.datasets.transforms import LoadAnnotations

from mmcenternet.registry import TRANSFORMS
from .center_affine import register_affine_mapper
from .formatting import register_packed_fields

register_packed_fields(gt_keypoints='keypoints', gt_keypoints_visible='keypoints_visible')


def transform_keypoints(keypoints: np.ndarray, visible: np.ndarray, mat: np.ndarray,
                        out_size: Tuple[int, int],
                        flip_indices: Optional[Sequence[int]] = None
                        ) -> Tuple[np.ndarray, np.ndarray]:
    """Maps ``(N, K, 2)`` keypoints through a 3x3 ``mat`` onto an ``out_size`` (w, h) image.

    With ``flip_indices`` (the image was mirrored) the joints are re-ordered so that
    joint ``k`` takes the one that was ``flip_indices[k]`` (left and right swap), as the
    official ``flip_idx`` loop. Joints that land outside ``[0, w) x [0, h)`` become
    unlabelled (visibility 0), as the official target code drops them.

    Returns:
        float32 keypoints ``(N, K, 2)`` and visibilities ``(N, K)``.
    """
    pts = np.asarray(keypoints, dtype=np.float64).reshape(len(keypoints), -1, 2)
    vis = np.asarray(visible, dtype=np.float32).reshape(pts.shape[:2]).copy()
    pts = pts @ mat[:2, :2].T + mat[:2, 2]
    if flip_indices is not None:
        order = np.asarray(flip_indices, dtype=np.int64)
        pts, vis = pts[:, order], vis[:, order]
    width, height = out_size
    outside = ((pts[..., 0] < 0) | (pts[..., 0] >= width) | (pts[..., 1] < 0) |
               (pts[..., 1] >= height))
    vis[outside] = 0
    return pts.astype(np.float32), vis


@register_affine_mapper('gt_keypoints')
def map_keypoints(results: dict, mat: np.ndarray, flipped: bool, width: int,
                  out_size: Tuple[int, int]) -> None:
    """``CenterAffine`` mapper: keypoints through the same matrix; on a flip, left and right
    joints swap by the sample's ``flip_indices`` (from the dataset metainfo); joints that
    leave the input become unlabelled (visibility 0), as the official ``multi_pose`` sample
    drops them. (One consequence differs from the official code: a person whose every
    labelled joint left the crop counts as having no labelled joint, so the encoder gives
    it no size loss, where the official code still trains its size.)"""
    if flipped and 'flip_indices' not in results:
        raise KeyError(f'CenterAffine flipped {results.get("img_path")} but the sample '
                       'has no "flip_indices" to swap its left and right keypoints (use '
                       'a keypoint dataset with metainfo.flip_indices)')
    visible = results.get('gt_keypoints_visible')
    if visible is None:
        visible = np.full(np.shape(results['gt_keypoints'])[:2], 2, np.float32)
    results['gt_keypoints'], results['gt_keypoints_visible'] = transform_keypoints(
        results['gt_keypoints'], visible, mat, out_size,
        results['flip_indices'] if flipped else None)


@TRANSFORMS.register_module()
class LoadPoseAnnotations(LoadAnnotations):
    """mmdet ``LoadAnnotations`` that also loads the instances' keypoints.

    Added keys: ``gt_keypoints (N, K, 2)`` float32 (image pixels) and
    ``gt_keypoints_visible (N, K)`` float32 (COCO visibility), in the order of
    ``gt_bboxes`` (packed by ``PackCenterNetInputs`` as ``keypoints`` /
    ``keypoints_visible``). ``K`` comes from the sample's ``flip_indices`` when it has no
    instance (set by :class:`CocoPoseDataset`); a sample with neither (an image given to
    the demo) gets no keypoint arrays.

    Args:
        with_keypoints: Load the keypoints (default True).
        **kwargs: As mmdet's ``LoadAnnotations`` (``with_bbox``, ``with_label``, ...).
    """

    def __init__(self, with_keypoints: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.with_keypoints = with_keypoints

    def transform(self, results: dict) -> dict:
        results = super().transform(results)
        if self.with_keypoints:
            self._load_keypoints(results)
        return results

    @staticmethod
    def _load_keypoints(results: dict) -> None:
        instances = results.get('instances', [])
        missing = [i for i, inst in enumerate(instances) if 'keypoints' not in inst]
        if missing:
            raise KeyError(f'LoadPoseAnnotations: instances {missing[:5]} of '
                           f'{results.get("img_path")} have no keypoints; use a keypoint '
                           'dataset (CocoPoseDataset)')
        if instances:
            num = len(instances[0]['keypoints'])
        elif 'flip_indices' in results:
            num = len(results['flip_indices'])
        else:
            return  # no annotation at all (e.g. an image given to the demo)
        results['gt_keypoints'] = np.array([inst['keypoints'] for inst in instances],
                                           dtype=np.float32).reshape(-1, num, 2)
        results['gt_keypoints_visible'] = np.array(
            [inst['keypoints_visible'] for inst in instances],
            dtype=np.float32).reshape(-1, num)

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f', with_keypoints={self.with_keypoints})'
