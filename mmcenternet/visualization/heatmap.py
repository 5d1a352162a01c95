"""Center heatmaps drawn over images: what a CenterNet user looks at first when AP is 0.

Two sources, one drawing:

* predictions: the head's activated ``heatmap`` branch (sigmoid of the last stack's logits),
  captured with :func:`capture_head_outputs` while the model predicts, reduced to the class
  maximum and warped back onto the original image with the inverse of the test-time
  ``affine_matrix`` (:func:`attach_pred_heatmaps`);
* training targets: the codec's gaussian ``heatmap`` targets of the ground-truth boxes
  (``bbox_head.codec.encode``), drawn over the network input that ``browse_dataset.py``
  shows (:func:`gt_heatmap`).

The data sample carries the result as ``pred_heatmap`` / ``gt_heatmap`` (a float32
``(H, W)`` array in ``[0, 1]`` at the size of the image it is drawn on);
:class:`~mmcenternet.visualization.CenterNetVisualizer` blends it under the instances of the
same side (ground truth or prediction).

Geometry: heatmap cell ``(i, j)`` covers input pixels ``[s*j, s*j + s)`` x ``[s*i, s*i + s)``
for stride ``s``, i.e. its center is input pixel ``s*j + (s - 1) / 2`` (pixel-center
coordinates, as ``cv2.warpAffine`` uses them on the image itself).
"""
import contextlib
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from torch import Tensor, nn

#: Data-sample fields that hold heatmaps, by side.
HEATMAP_FIELDS = {'gt': 'gt_heatmap', 'pred': 'pred_heatmap'}


def class_max(heatmap: Tensor) -> Tensor:
    """``(B, C, h, w)`` -> ``(B, h, w)``: the strongest class at each cell."""
    if heatmap.dim() != 4:
        raise ValueError(f'heatmap must be (B, C, H, W), got shape {tuple(heatmap.shape)}')
    return heatmap.amax(dim=1)


def input_to_cells(stride: float) -> np.ndarray:
    """The 3x3 matrix from input pixels to heatmap cells (see the module docstring)."""
    offset = (stride - 1) / (2 * stride)
    return np.array([[1 / stride, 0, -offset], [0, 1 / stride, -offset], [0, 0, 1]],
                    dtype=np.float64)


def original_to_input(meta: dict) -> np.ndarray:
    """The 3x3 matrix from original-image pixels to network-input pixels of a sample.

    ``affine_matrix`` (set by ``CenterAffine``) when present, else mmdet's ``scale_factor``
    (pipelines built from mmdet's ``Resize``), else the identity.
    """
    if 'affine_matrix' in meta:
        matrix = np.asarray(meta['affine_matrix'], dtype=np.float64)
        if matrix.shape == (2, 3):
            matrix = np.vstack([matrix, [0, 0, 1]])
        return matrix
    sx, sy = meta.get('scale_factor', (1., 1.))[:2]
    return np.diag([float(sx), float(sy), 1.])


def warp_heatmap(heat: np.ndarray, image_to_cells: np.ndarray,
                 out_hw: Tuple[int, int]) -> np.ndarray:
    """Resamples a ``(h, w)`` cell map onto an ``out_hw`` image (bilinear, zero outside).

    Args:
        heat: The cell map.
        image_to_cells: 3x3 matrix from the output image's pixels to cells.
        out_hw: ``(H, W)`` of the output image.
    """
    height, width = int(out_hw[0]), int(out_hw[1])
    return cv2.warpAffine(np.ascontiguousarray(heat, dtype=np.float32),
                          image_to_cells[:2].astype(np.float64), (width, height),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0.)


def heatmap_on_original(heat: np.ndarray, meta: dict) -> np.ndarray:
    """A sample's ``(h, w)`` predicted cell map on its original image (``ori_shape``).

    The stride is the network input's size over the map's (``batch_input_shape``, else
    ``pad_shape``, else ``img_shape``).
    """
    input_hw = meta.get('batch_input_shape') or meta.get('pad_shape') or meta['img_shape']
    stride = float(input_hw[0]) / heat.shape[0]
    to_cells = input_to_cells(stride) @ original_to_input(meta)
    return warp_heatmap(heat, to_cells, meta['ori_shape'][:2])


def overlay_heatmap(image: np.ndarray, heat: np.ndarray, alpha: float = 0.6,
                    colormap: int = cv2.COLORMAP_JET) -> np.ndarray:
    """Blends a ``[0, 1]`` heatmap into an RGB uint8 image.

    Each pixel takes ``alpha * sqrt(heat)`` of the colormap's colour for its value, so
    cells near 0 leave the image as it is, peaks show in the colormap's hot colour and the
    weak peaks of an untrained model (0.1-0.3) are still visible.

    Raises:
        ValueError: When the heatmap and the image differ in size.
    """
    if heat.shape[:2] != image.shape[:2]:
        raise ValueError(f'heatmap of size {heat.shape[:2]} cannot be drawn on an image of '
                         f'size {image.shape[:2]}')
    heat = np.clip(np.nan_to_num(heat.astype(np.float32)), 0, 1)
    colour = cv2.applyColorMap((heat * 255).astype(np.uint8), colormap)[..., ::-1]
    weight = (alpha * np.sqrt(heat))[..., None]
    blended = image.astype(np.float32) * (1 - weight) + colour.astype(np.float32) * weight
    return np.clip(np.round(blended), 0, 255).astype(np.uint8)


# ------------------------------------------------------------------ predictions
def _bare_model(model: nn.Module) -> nn.Module:
    """The detector inside DDP / data-parallel wrappers."""
    return getattr(model, 'module', model)


def heatmap_head(model: nn.Module) -> nn.Module:
    """The model's CenterNet head, whose forward returns ``[{branch: map}]`` per stack.

    Raises:
        ValueError: For a model without one (a TTA wrapper, an exported model, or a
            detector whose head has no ``heatmap`` branch).
    """
    head = getattr(_bare_model(model), 'bbox_head', None)
    if head is None or 'heatmap' not in getattr(head, 'branch_cfgs', {}):
        raise ValueError(f'{type(_bare_model(model)).__name__} has no CenterNet head with a '
                         '"heatmap" branch to show (--show-heatmap needs a plain PyTorch '
                         'CenterNet model, without --tta)')
    return head


@contextlib.contextmanager
def capture_head_outputs(model: nn.Module) -> Iterator[List[Dict[str, Tensor]]]:
    """Records the activated heatmap of every head forward while the block runs.

    Yields:
        A list that receives one ``(B, C, h, w)`` activated heatmap (last stack) per
        forward call of the head.
    """
    head = heatmap_head(model)
    captured: list = []

    def hook(module, args, output):
        maps = output[-1] if isinstance(output, (list, tuple)) else output
        captured.append(module.activate({'heatmap': maps['heatmap']})['heatmap'].detach())

    handle = head.register_forward_hook(hook)
    try:
        yield captured
    finally:
        handle.remove()


def attach_pred_heatmaps(samples: Sequence, heatmaps: Tensor) -> None:
    """Sets ``pred_heatmap`` (class max on the original image) on each data sample.

    Args:
        samples: The ``DetDataSample`` outputs of one ``test_step``.
        heatmaps: Their activated ``(B, C, h, w)`` heatmap.
    """
    if heatmaps.shape[0] != len(samples):
        raise ValueError(f'{heatmaps.shape[0]} heatmaps for {len(samples)} samples')
    cells = class_max(heatmaps.float()).cpu().numpy()
    for sample, heat in zip(samples, cells):
        sample.pred_heatmap = heatmap_on_original(heat, sample.metainfo)


# ------------------------------------------------------------------ training targets
def gt_heatmap(codec, gt_instances, input_hw: Tuple[int, int],
               stride: Optional[int] = None) -> np.ndarray:
    """The codec's gaussian center targets of one image, on its network input.

    Args:
        codec: The head's codec (``bbox_head.codec``).
        gt_instances: The sample's ``gt_instances`` after the pipeline (input pixels).
        input_hw: ``(H, W)`` of the network input.
        stride: Output stride (default: the codec's ``stride``, else 4).

    Returns:
        The class-max target heatmap, float32 ``(H, W)`` in ``[0, 1]``.
    """
    stride = int(stride or getattr(codec, 'stride', 4))
    feat_hw = (int(input_hw[0]) // stride, int(input_hw[1]) // stride)
    targets = codec.encode([gt_instances], feat_hw)
    heat = class_max(targets['heatmap'].float())[0].cpu().numpy()
    return warp_heatmap(heat, input_to_cells(stride), input_hw)
