"""Camera geometry of monocular 3D detection (KITTI conventions), batched in torch.

KITTI camera coordinates: x right, y down, z forward, metres. A 3D box is
``(x, y, z, l, h, w, rot_y)``: the *bottom* center (the KITTI ``location``), the length
(along the heading), height and width, and the yaw around the y axis. The observation angle
``alpha`` is the yaw relative to the viewing ray: ``rot_y = alpha + atan2(u - cx, fx)`` at the
object's image column ``u`` (official ``ddd_utils.alpha2rot_y``; with ``u`` the projected
center this is ``alpha + atan2(x, z)`` up to the camera's small translation).

The formulas are the official ``utils/ddd_utils.py`` ones (``compute_box_3d``,
``project_to_image``, ``unproject_2d_to_3d``, ``alpha2rot_y``), written for ``(..., D)``
tensors with one ``3 x 4`` projection matrix per leading batch entry.
"""
import math
from typing import Union

import numpy as np
import torch
from torch import Tensor

ArrayLike = Union[Tensor, np.ndarray]

# Corner order of the official ``compute_box_3d``: bottom face (0-3), then top face (4-7);
# corners 0, 1, 4, 5 are at +l/2 (the front, where the heading points).
_CORNER_SIGNS = torch.tensor([[1, 0, 1], [1, 0, -1], [-1, 0, -1], [-1, 0, 1],
                              [1, -1, 1], [1, -1, -1], [-1, -1, -1], [-1, -1, 1]],
                             dtype=torch.float64)
#: Edges of the 3D box between the corners above (bottom, top, verticals).
BOX_EDGES = ((0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 7), (7, 4),
             (0, 4), (1, 5), (2, 6), (3, 7))


def as_tensor(x: ArrayLike, dtype: torch.dtype = torch.float64) -> Tensor:
    """``x`` as a tensor of ``dtype`` (numpy arrays and lists too)."""
    return torch.as_tensor(np.asarray(x) if not isinstance(x, Tensor) else x, dtype=dtype)


def wrap_angle(angle: Tensor) -> Tensor:
    """One ``2 pi`` step into ``[-pi, pi]`` as the official ``alpha2rot_y`` (inputs within
    ``(-3 pi, 3 pi)``)."""
    angle = torch.where(angle > math.pi, angle - 2 * math.pi, angle)
    return torch.where(angle < -math.pi, angle + 2 * math.pi, angle)


def _expand_p(cam2img: Tensor, ndim: int) -> Tensor:
    """``(..., 3, 4)`` matrices with singleton dims so they broadcast over ``ndim - 1``
    leading dims of a ``(..., D)`` tensor."""
    while cam2img.dim() - 2 < ndim - 1:
        cam2img = cam2img.unsqueeze(-3)
    return cam2img


def alpha_to_rot_y(alpha: Tensor, u: Tensor, cam2img: Tensor) -> Tensor:
    """``rot_y = alpha + atan2(u - cx, fx)``, wrapped to ``[-pi, pi]`` (official).

    Args:
        alpha, u: ``(...)`` observation angles and image columns (same pixels as
            ``cam2img``).
        cam2img: ``(3, 4)`` or ``(B, 3, 4)`` with ``B`` the first dim of ``alpha``.
    """
    p = _expand_p(cam2img, alpha.dim() + 1)
    return wrap_angle(alpha + torch.atan2(u - p[..., 0, 2], p[..., 0, 0]))


def rot_y_to_alpha(rot_y: Tensor, u: Tensor, cam2img: Tensor) -> Tensor:
    """Inverse of :func:`alpha_to_rot_y` (official ``rot_y2alpha``)."""
    p = _expand_p(cam2img, rot_y.dim() + 1)
    return wrap_angle(rot_y - torch.atan2(u - p[..., 0, 2], p[..., 0, 0]))


def unproject(uv: Tensor, depth: Tensor, cam2img: Tensor) -> Tensor:
    """Image points at a depth -> camera points (official ``unproject_2d_to_3d``).

    Args:
        uv: ``(..., 2)`` pixels; depth: ``(...)`` metres (the camera-frame ``z`` plus
            ``P[2, 3]``, as officially); cam2img: ``(3, 4)`` or ``(B, 3, 4)``.

    Returns:
        ``(..., 3)`` points.
    """
    p = _expand_p(cam2img, uv.dim())
    z = depth - p[..., 2, 3]
    x = (uv[..., 0] * depth - p[..., 0, 3] - p[..., 0, 2] * z) / p[..., 0, 0]
    y = (uv[..., 1] * depth - p[..., 1, 3] - p[..., 1, 2] * z) / p[..., 1, 1]
    return torch.stack([x, y, z], dim=-1)


def project(points: Tensor, cam2img: Tensor) -> Tensor:
    """Camera points ``(..., 3)`` -> pixels ``(..., 2)`` through ``(3, 4)`` / ``(B, 3, 4)``."""
    p = _expand_p(cam2img, points.dim())
    homo = torch.cat([points, torch.ones_like(points[..., :1])], dim=-1)
    uvw = (p @ homo.unsqueeze(-1)).squeeze(-1)
    return uvw[..., :2] / uvw[..., 2:3]


def box3d_corners(boxes: Tensor) -> Tensor:
    """``(..., 7)`` boxes ``(x, y, z, l, h, w, rot_y)`` -> ``(..., 8, 3)`` corners in the
    official ``compute_box_3d`` order (see :data:`BOX_EDGES`)."""
    signs = _CORNER_SIGNS.to(boxes)
    half = torch.stack([boxes[..., 3] / 2, boxes[..., 4], boxes[..., 5] / 2], dim=-1)
    local = signs * half.unsqueeze(-2)  # (..., 8, 3)
    cos, sin = torch.cos(boxes[..., 6:7]), torch.sin(boxes[..., 6:7])
    x = cos * local[..., 0] + sin * local[..., 2]
    z = -sin * local[..., 0] + cos * local[..., 2]
    corners = torch.stack([x, local[..., 1], z], dim=-1)
    return corners + boxes[..., None, :3]


def boxes3d_from_center(uv: Tensor, depth: Tensor, dims_hwl: Tensor, alpha: Tensor,
                        cam2img: Tensor) -> Tensor:
    """Official ``ddd2locrot``: the 3D box whose center projects to ``uv`` at ``depth``.

    The location is the unprojected point moved down by half the height (KITTI boxes hold
    the bottom center); ``rot_y`` comes from ``alpha`` at column ``u``.

    Args:
        uv: ``(..., 2)``; depth, alpha: ``(...)``; dims_hwl: ``(..., 3)`` as the official
            ``dim`` branch (height, width, length); cam2img: ``(3, 4)`` / ``(B, 3, 4)``.

    Returns:
        ``(..., 7)`` boxes ``(x, y, z, l, h, w, rot_y)``.
    """
    loc = unproject(uv, depth, cam2img)
    h, w, length = dims_hwl.unbind(-1)
    loc = torch.stack([loc[..., 0], loc[..., 1] + h / 2, loc[..., 2]], dim=-1)
    rot_y = alpha_to_rot_y(alpha, uv[..., 0], cam2img)
    return torch.cat([loc, torch.stack([length, h, w, rot_y], dim=-1)], dim=-1)


def affine_cam2img(cam2img: ArrayLike, affine: ArrayLike) -> Tensor:
    """The projection into an affine-warped image: ``affine (3 x 3) @ P (3 x 4)``.

    ``CenterAffine`` keeps ``cam2img`` as the original image's ``P2`` and records the warp
    in ``affine_matrix``; this is the camera of the network input.
    """
    return as_tensor(affine) @ as_tensor(cam2img)
