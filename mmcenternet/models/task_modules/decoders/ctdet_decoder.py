"""Detections from CenterNet 2D maps (the official ``ctdet_decode``), batched."""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mmcenternet.registry import TASK_UTILS
from .base import BaseCenterDecoder


def local_peaks(heatmap: Tensor, kernel: int = 3) -> Tensor:
    """Keeps only the values that are the maximum of their ``kernel`` x ``kernel`` window.

    On CPU the max-pool runs on a channels-last (NHWC) copy: PyTorch's CPU kernel
    vectorises over channels there and is about 10x faster than on NCHW tensors (for an
    80 x 128 x 128 heatmap), while the result is identical.
    """
    pad = (kernel - 1) // 2
    pool_input = heatmap
    if heatmap.device.type == 'cpu' and heatmap.dim() == 4:
        pool_input = heatmap.contiguous(memory_format=torch.channels_last)
    hmax = F.max_pool2d(pool_input, kernel, stride=1, padding=pad)
    return torch.where(hmax == heatmap, heatmap, 0.)


def topk_peaks(heatmap: Tensor, k: int) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Top-``k`` over all classes and positions jointly.

    The official code takes the top-K of each class and then the top-K of those, which
    selects the same set; a single flat top-K is simpler and faster.

    Returns:
        ``scores, labels, flat_pixel_index, ys, xs``, each ``(B, k)``.
    """
    num_imgs, _, height, width = heatmap.shape
    k = min(k, heatmap[0].numel())
    scores, index = heatmap.reshape(num_imgs, -1).topk(k)
    labels = torch.div(index, height * width, rounding_mode='floor')
    pixel = index - labels * height * width
    ys = torch.div(pixel, width, rounding_mode='floor')
    xs = pixel - ys * width
    return scores, labels, pixel, ys, xs


def gather_at(feat: Tensor, pixel: Tensor) -> Tensor:
    """``feat (B, D, H, W)`` gathered at flat pixel indices ``(B, K)`` -> ``(B, K, D)``."""
    num_imgs, dims = feat.shape[:2]
    flat = feat.reshape(num_imgs, dims, -1)
    index = pixel.unsqueeze(1).expand(num_imgs, dims, pixel.shape[1])
    return flat.gather(2, index).transpose(1, 2)


@TASK_UTILS.register_module()
class CTDetDecoder(BaseCenterDecoder):
    """Decodes heatmap peaks, sizes and offsets into boxes in network-input pixels.

    3x3 max-pool peak extraction, top-K over all classes, box = (peak + offset) +- wh / 2,
    times the stride. No NMS (CenterNet's peaks replace it); the head can add one.

    Args:
        topk: Number of detections per image (official K = 100).
        kernel: Peak window (official 3).
        stride: Output stride.
    """

    def __init__(self, topk: int = 100, kernel: int = 3, stride: int = 4) -> None:
        self.topk = topk
        self.kernel = kernel
        self.stride = stride

    def decode_maps(self, maps: Dict[str, Tensor],
                    batch_img_metas: Optional[List[dict]] = None) -> Dict[str, Tensor]:
        """:meth:`decode` of the ``heatmap``, ``wh`` and (optional) ``offset`` branches."""
        return self.decode(maps['heatmap'], maps['wh'], maps.get('offset'))

    def decode(self, heatmap: Tensor, wh: Tensor,
               offset: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Decodes a batch.

        Args:
            heatmap: ``(B, C, H, W)`` scores in ``[0, 1]`` (after sigmoid / flip merge).
            wh: ``(B, 2, H, W)`` box sizes in output pixels.
            offset: ``(B, 2, H, W)`` sub-pixel center offsets, or None (centers at +0.5).

        Returns:
            ``bboxes (B, K, 4)`` xyxy in input pixels, ``scores (B, K)``, ``labels (B, K)``,
            ``centers (B, K, 2)`` and ``pixel (B, K)`` for attribute decoders to reuse.
        """
        scores, labels, pixel, ys, xs = topk_peaks(local_peaks(heatmap, self.kernel),
                                                   self.topk)
        centers = torch.stack([xs, ys], dim=2).to(wh.dtype)
        if offset is None:
            centers = centers + 0.5
        else:
            centers = centers + gather_at(offset, pixel)
        half = gather_at(wh, pixel) / 2
        bboxes = torch.cat([centers - half, centers + half], dim=2) * self.stride
        return dict(bboxes=bboxes, scores=scores, labels=labels, centers=centers,
                    pixel=pixel)
