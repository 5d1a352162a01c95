"""Gaussian heatmap rendering, vectorised over objects and images.

The official CenterNet renders one object at a time with numpy
(``draw_umich_gaussian``) and mmdet 3.3 does the same in torch. Here every object of every
image in a batch is drawn by one ``scatter_reduce`` (``amax``), which gives exactly the
element-wise maximum of the per-object gaussians that the official loop produces.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

RADIUS_MODES = ('official', 'corrected')


def check_radius_mode(mode: str, name: str = 'radius mode') -> None:
    """Raises ``ValueError('<name> must be one of ...')`` unless ``mode`` is in
    :data:`RADIUS_MODES`."""
    if mode not in RADIUS_MODES:
        raise ValueError(f'{name} must be one of {RADIUS_MODES}, got {mode!r}')


def gaussian_radius(heights: Tensor, widths: Tensor, min_overlap: float = 0.7,
                    mode: str = 'official') -> Tensor:
    """Radius of the gaussian that keeps corners within ``min_overlap`` IoU (CornerNet).

    Args:
        heights: Box heights in output-map pixels (any shape). The official code passes
            ``ceil(h)``; callers do the same.
        widths: Box widths, same shape.
        min_overlap: Minimum IoU of a box whose corners move within the radius.
        mode: ``'official'`` reproduces the formula as CornerNet/CenterNet ship it, which
            divides each quadratic's root by 2 instead of by ``2a`` (a known error, kept
            because the published models were trained with it). ``'corrected'`` solves the
            three quadratics properly, as mmdet's ``gaussian_radius`` does.

    Returns:
        Float64 radii (not yet truncated), same shape as the inputs.
    """
    check_radius_mode(mode)
    h = heights.to(torch.float64)
    w = widths.to(torch.float64)
    a1 = 1.0
    b1 = h + w
    c1 = w * h * (1 - min_overlap) / (1 + min_overlap)
    sq1 = torch.sqrt(b1**2 - 4 * a1 * c1)
    a2 = 4.0
    b2 = 2 * (h + w)
    c2 = (1 - min_overlap) * w * h
    sq2 = torch.sqrt(b2**2 - 4 * a2 * c2)
    a3 = 4 * min_overlap
    b3 = -2 * min_overlap * (h + w)
    c3 = (min_overlap - 1) * w * h
    sq3 = torch.sqrt(b3**2 - 4 * a3 * c3)
    if mode == 'official':
        r1, r2, r3 = (b1 + sq1) / 2, (b2 + sq2) / 2, (b3 + sq3) / 2
    else:
        r1, r2, r3 = (b1 - sq1) / (2 * a1), (b2 - sq2) / (2 * a2), (b3 + sq3) / (2 * a3)
    return torch.minimum(torch.minimum(r1, r2), r3)


def gaussian_windows(map_index: Tensor, centers: Tensor, radii: Tensor, height: int,
                     width: int, dtype: torch.dtype = torch.float64, with_objects: bool = True,
                     sigma_divisor: float = 6.0
                     ) -> Tuple[Optional[Tensor], Tensor, Optional[Tensor], Tensor]:
    """The pixels of every object's gaussian window that lie inside its map.

    Object ``i`` covers the square ``|dx|, |dy| <= r_i`` around its integer center with
    ``exp(-(dx^2 + dy^2) / (2 sigma^2))``, ``sigma = (2 r_i + 1) / sigma_divisor``, as the
    official ``gaussian2D`` (computed in float64 like numpy's, then cast to ``dtype``).

    Args:
        map_index: ``(M,)`` long, the map of a stack of ``(N, height, width)`` maps each
            object belongs to.
        centers: ``(M, 2)`` long integer centers ``(x, y)``.
        radii: ``(M,)`` long radii, ``>= 0``.
        with_objects: Also return ``obj`` and ``offset`` (None otherwise, which
            :func:`draw_gaussians` uses to save their cost).
        sigma_divisor: Diameter / sigma (official ``draw_umich_gaussian`` 6; the center
            keypoints of Keypoint Triplets, ``draw_gaussian(..., delte=5)``, 5).

    Returns:
        ``(obj, flat, offset, value)`` per covered pixel: the object ``(E,)``, the flat
        index into the ``(N * height * width)`` maps ``(E,)``, the long ``(dx, dy)`` offset
        from the object's center ``(E, 2)`` and the gaussian value ``(E,)``. Pixels come
        object by object, row-major within an object.
    """
    num_objs = map_index.numel()
    device = centers.device
    if num_objs == 0:
        empty = torch.zeros(0, dtype=torch.long, device=device)
        return (empty, empty, torch.zeros((0, 2), dtype=torch.long, device=device),
                torch.zeros(0, dtype=dtype, device=device))
    max_r = int(radii.max())
    side = 2 * max_r + 1
    steps = torch.arange(-max_r, max_r + 1, device=device)
    r = radii.view(-1, 1)
    # per-axis coordinates and validity (M, S); the (M, S, S) windows are outer sums/ands
    xs = centers[:, 0:1] + steps
    ys = centers[:, 1:2] + steps
    in_r = steps.abs() <= r
    valid_x = in_r & (xs >= 0) & (xs < width)
    valid_y = in_r & (ys >= 0) & (ys < height)
    valid = (valid_y[:, :, None] & valid_x[:, None, :]).view(num_objs, -1)
    rows = (map_index.view(-1, 1) * height + ys) * width
    flat = (rows[:, :, None] + xs[:, None, :]).view(num_objs, -1)
    # the window values depend on the radius only: one table row per distinct radius
    uniq, inverse = torch.unique(radii, return_inverse=True)
    sigma = (2 * uniq.view(-1, 1) + 1).to(torch.float64) / sigma_divisor
    d = steps.to(torch.float64)
    dist2 = (d.view(-1, 1) * d.view(-1, 1) + d.view(1, -1) * d.view(1, -1)).view(1, -1)
    table = torch.exp(-dist2 / (2 * sigma * sigma)).to(dtype)
    keep = valid.view(-1).nonzero().squeeze(1)
    values = table[inverse].view(-1)[keep]
    if not with_objects:
        return None, flat.view(-1)[keep], None, values
    obj = torch.div(keep, side * side, rounding_mode='floor')
    cell = keep - obj * side * side
    dy = torch.div(cell, side, rounding_mode='floor')
    offset = torch.stack([cell - dy * side, dy], dim=1) - max_r
    return obj, flat.view(-1)[keep], offset, values


def draw_gaussians(heatmap: Tensor, map_index: Tensor, centers: Tensor,
                   radii: Tensor, sigma_divisor: float = 6.0) -> Tensor:
    """Draws one gaussian peak per object into a stack of maps, in place.

    Each object adds its :func:`gaussian_windows` values, combined with what is there by
    element-wise max, as the official ``draw_umich_gaussian``. (The official code also
    zeroes values below ``eps * max``; with this window the smallest value is about
    ``exp(-9)``, so that never applies.)

    Args:
        heatmap: ``(N, H, W)`` maps (e.g. the flattened ``B * C`` class maps).
        map_index: ``(M,)`` long, which map each object is drawn into.
        centers: ``(M, 2)`` long integer centers ``(x, y)``, inside the map.
        radii: ``(M,)`` long radii, ``>= 0``.
        sigma_divisor: See :func:`gaussian_windows`.

    Returns:
        ``heatmap``, for chaining.
    """
    if map_index.numel() == 0:
        return heatmap
    _, height, width = heatmap.shape
    _, flat, _, values = gaussian_windows(map_index, centers, radii, height, width,
                                          heatmap.dtype, with_objects=False,
                                          sigma_divisor=sigma_divisor)
    heatmap.view(-1).scatter_reduce_(0, flat, values, reduce='amax', include_self=True)
    return heatmap


def flatten_gt(batch_bboxes: Tuple[Tensor, ...], batch_labels: Tuple[Tensor, ...],
               max_objs: int) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Concatenates per-image boxes, keeping each image's first ``max_objs`` objects.

    Returns:
        ``(bboxes (M, 4), labels (M,), image_index (M,), slot (M,))`` where ``slot`` is the
        object's position within its image (its row in the ``(B, max_objs)`` targets).
    """
    device = batch_bboxes[0].device if batch_bboxes else torch.device('cpu')
    counts = torch.tensor([min(len(b), max_objs) for b in batch_bboxes], device=device)
    bboxes = torch.cat([b[:max_objs] for b in batch_bboxes]).reshape(-1, 4)
    labels = torch.cat([lb[:max_objs] for lb in batch_labels]).reshape(-1)
    image_index = torch.repeat_interleave(torch.arange(len(counts), device=device), counts)
    starts = torch.cumsum(counts, 0) - counts
    slot = torch.arange(len(image_index), device=device) - starts[image_index]
    return bboxes, labels.long(), image_index, slot
