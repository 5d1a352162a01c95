"""What every CenterNet codec gives the heads: the contract between gt, maps and results.

A task (2D boxes, pose, 3D, faces, keypoint triplets) is one codec object, configured once
(``model.bbox_head.codec``). The head builds the codec's ``branch_channels`` and never looks
inside a task; it asks the codec to

1. ``encode``: turn the gt of a batch into per-branch training targets;
2. ``decode_maps``: turn the activated branch maps (``activations`` applied) of a batch into
   ``(B, K, ...)`` tensors in network-input pixels (``bboxes``, ``scores``, ``labels`` and
   the task's extras);
3. ``to_original``: map every coordinate output back to the original image (the keys in
   ``point_keys`` hold ``(x, y)`` pairs in their last dimension), then ``finalize`` anything
   that needs original-image coordinates (e.g. 3D boxes from the camera calibration);
4. ``flip_merge``: merge the maps of an image and of its mirror for the flip test.

The head then builds one ``InstanceData`` per image from ``instance_keys``.
"""
from typing import Dict, List, Mapping, Optional, Sequence

import torch
from torch import Tensor

from mmcenternet.errors import ConfigError

AFFINE_KEY = 'affine_matrix'
FLIP_KEY = 'flip_indices'


def inverse_sigmoid_depth(x: Tensor) -> Tensor:
    """Official depth output transform: ``1 / (sigmoid(x) + 1e-6) - 1``."""
    return 1. / (x.sigmoid() + 1e-6) - 1.


#: Output transforms a codec's ``activations`` can name.
ACTIVATIONS = dict(sigmoid=torch.sigmoid, inverse_sigmoid_depth=inverse_sigmoid_depth)


def boxes_tensor(bboxes) -> Tensor:
    """Accepts a plain ``(N, 4)`` tensor or mmdet's ``HorizontalBoxes``."""
    return bboxes.tensor if hasattr(bboxes, 'tensor') else bboxes


def first_rows(tensors: Sequence[Tensor], max_objs: int, shape: Sequence[int]) -> Tensor:
    """Concatenates each image's first ``max_objs`` rows (the order of ``flatten_gt``)."""
    return torch.cat([t[:max_objs].reshape(-1, *shape) for t in tensors])


def apply_affine(points: Tensor, matrices: Tensor) -> Tensor:
    """``points (B, N, 2)`` through ``matrices (B, 3, 3)`` (homogeneous, row vectors)."""
    return torch.einsum('bij,bkj->bki', matrices[:, :2, :2], points) + matrices[:, None, :2, 2]


def inverse_affines(batch_img_metas: Sequence[dict], device: torch.device,
                    dtype: torch.dtype) -> Optional[Tensor]:
    """``(B, 3, 3)`` inverses of the metas' ``affine_matrix`` (None if one lacks it)."""
    if not batch_img_metas or not all(AFFINE_KEY in m for m in batch_img_metas):
        return None
    mats = torch.stack([torch.as_tensor(m[AFFINE_KEY], dtype=torch.float64)
                        for m in batch_img_metas]).to(device)
    return torch.linalg.inv(mats).to(dtype)


def map_points_back(points: Tensor, batch_img_metas: Sequence[dict]) -> Tensor:
    """Input-pixel coordinates ``(B, K, ..., 2m)`` -> original-image pixels.

    Uses the inverse of ``affine_matrix`` (set by ``CenterAffine``) when every meta has one,
    else mmdet's ``scale_factor`` (pipelines built from mmdet's ``Resize``).
    """
    shape = points.shape
    inv = inverse_affines(batch_img_metas, points.device, points.dtype)
    pairs = points.reshape(shape[0], -1, 2)
    if inv is not None:
        return apply_affine(pairs, inv).reshape(shape)
    scale = torch.stack([points.new_tensor(m.get('scale_factor', (1., 1.)))
                         for m in batch_img_metas])
    return (pairs / scale[:, None, :]).reshape(shape)


def flip_lr_maps(maps: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """Mirrors every branch map left-right."""
    return {name: value.flip(-1) for name, value in maps.items()}


def flip_permutation(batch_img_metas: Optional[Sequence[dict]], num_keypoints: int,
                     device: torch.device) -> Tensor:
    """The keypoint permutation of a mirror image (``new[k] = old[perm[k]]``) from the metas.

    Raises:
        KeyError: A meta has no ``flip_indices``.
        ValueError: The images disagree, or it is not a permutation of ``num_keypoints``.
    """
    metas = list(batch_img_metas or [])
    if not metas or any(FLIP_KEY not in m for m in metas):
        raise KeyError(
            'the flip test of keypoints needs "flip_indices" in every image meta: use a '
            'keypoint dataset (e.g. CocoPoseDataset, metainfo.flip_indices) and add '
            '"flip_indices" to the meta_keys of PackCenterNetInputs')
    perm = [int(i) for i in metas[0][FLIP_KEY]]
    if any([int(i) for i in m[FLIP_KEY]] != perm for m in metas[1:]):
        raise ValueError('the images of a batch have different flip_indices')
    if sorted(perm) != list(range(num_keypoints)):
        raise ValueError(f'flip_indices {perm} is not a permutation of the {num_keypoints} '
                         'keypoints of the model')
    return torch.tensor(perm, dtype=torch.long, device=device)


class BaseCodec:
    """Base of the codecs of :class:`CenterNetHead` / :class:`TripletHead` (see the module
    docstring). A subclass sets ``num_classes`` and ``stride`` and defines
    ``branch_channels``, :meth:`encode` and :meth:`decode_maps`.

    Attributes:
        point_keys: Outputs whose last dimension holds ``(x, y)`` pairs in input pixels.
        instance_keys: Outputs that become fields of the per-image ``InstanceData``.
        finalize_keys: Other outputs of :meth:`decode_maps` that :meth:`finalize` reads
            (e.g. 3D depths and sizes); an ONNX export keeps them as graph outputs, with
            ``instance_keys`` and ``point_keys``, so that :meth:`to_original` can run
            after ONNX Runtime.
        flip_average: Branches averaged with their mirror in :meth:`flip_merge`; the other
            branches are taken from the unflipped image, as the official flip test.
        official_task: The official CenterNet ``--task`` whose checkpoints have this
            codec's heads (``'ctdet'``, ``'multi_pose'``, ``'ddd'``), or None.
        official_heads: Official head name -> branch name (read by the converter of the
            official checkpoints), e.g. ``{'hm': 'heatmap', 'wh': 'wh', 'reg': 'offset'}``.
    """

    point_keys: Sequence[str] = ('bboxes', )
    instance_keys: Sequence[str] = ('bboxes', 'scores', 'labels')
    finalize_keys: Sequence[str] = ()
    flip_average: Sequence[str] = ('heatmap', 'wh')
    official_task: Optional[str] = None
    official_heads: Dict[str, str] = {}
    num_classes: int
    stride: float

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in vars(self).items())
        return f'{type(self).__name__}({args})'

    @property
    def branch_channels(self) -> Dict[str, int]:
        """Branch name -> output channels: the branches a head builds, in build order."""
        raise NotImplementedError

    @property
    def activations(self) -> Dict[str, str]:
        """Branch name -> the ``ACTIVATIONS`` transform applied to its raw map before
        decoding (and, with the branch's ``activate_before_loss``, before its loss)."""
        return {'heatmap': 'sigmoid'}

    def activate(self, maps: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Raw branch maps -> the maps :meth:`decode_maps` takes (``activations``)."""
        acts = self.activations
        return {name: ACTIVATIONS[acts[name]](value) if name in acts else value
                for name, value in maps.items()}

    def encode(self, batch_gt_instances, feat_shape, batch_img_metas=None) -> Dict[str, Tensor]:
        """The gt of a batch -> per-branch targets at the output maps' ``feat_shape``."""
        raise NotImplementedError

    def decode_maps(self, maps: Dict[str, Tensor],
                    batch_img_metas: Optional[List[dict]] = None) -> Dict[str, Tensor]:
        """Activated branch maps of a batch -> ``(B, K, ...)`` outputs in input pixels."""
        raise NotImplementedError

    def to_original(self, dets: Dict[str, Tensor],
                    batch_img_metas: List[dict]) -> Dict[str, Tensor]:
        """Maps every ``point_keys`` output back to the original image, then finalizes."""
        dets = dict(dets)
        for key in self.point_keys:
            if key in dets:
                dets[key] = map_points_back(dets[key], batch_img_metas)
        return self.finalize(dets, batch_img_metas)

    def finalize(self, dets: Dict[str, Tensor],
                 batch_img_metas: List[dict]) -> Dict[str, Tensor]:
        """Hook for outputs computed from original-image coordinates (identity here)."""
        return dets

    def flip_merge(self, maps: Dict[str, Tensor], flipped_maps: Dict[str, Tensor],
                   batch_img_metas: Optional[List[dict]] = None) -> Dict[str, Tensor]:
        """Official flip test: the mean of ``flip_average`` branches of the image and its
        un-mirrored flip; every other branch from the image itself."""
        merged = dict(maps)
        unflipped = flip_lr_maps({k: flipped_maps[k] for k in self.flip_average
                                  if k in flipped_maps})
        for name, value in unflipped.items():
            merged[name] = (maps[name] + value) / 2
        return merged

    def check_dataset(self, metainfo: Optional[Mapping], where: str) -> None:
        """Raises a :class:`ConfigError` when a dataset's ``metainfo`` (its ``classes``;
        keypoint tasks: ``keypoint_names`` / ``flip_indices``) does not fit this codec.
        ``where`` names the dataset in the message (e.g. ``'train_dataloader.dataset'``)."""
        classes = (metainfo or {}).get('classes')
        if classes is not None and len(classes) != self.num_classes:
            shown = ', '.join(map(str, classes[:6])) + (', ...' if len(classes) > 6 else '')
            raise ConfigError(
                f'{where} has {len(classes)} classes ({shown}) but the codec '
                f'{type(self).__name__} has num_classes={self.num_classes}: set '
                'model.bbox_head.codec.num_classes')

    def _check_keypoints(self, metainfo: Optional[Mapping], where: str, count: int,
                         arg: str) -> None:
        """:meth:`check_dataset` of the keypoint count ``count`` (codec argument ``arg``)."""
        for key in ('keypoint_names', FLIP_KEY):
            values = (metainfo or {}).get(key)
            if values is not None and len(values) != count:
                raise ConfigError(
                    f'{where} has {len(values)} {key} but the codec {type(self).__name__} '
                    f'has {arg}={count}: set model.bbox_head.codec.{arg}')
