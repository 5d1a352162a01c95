"""Drawing of monocular 3D boxes: projected on the image, and a bird's-eye view.

:func:`draw_bboxes_3d` is the ``CenterNetVisualizer`` drawer of ``bboxes_3d`` (predictions
and ground truth, in ``tools/test.py --show-dir``, ``browse_dataset.py`` and the demos). It
projects with the sample's ``cam2img``; when the image drawn is the network input (the
pipeline's output, as ``browse_dataset.py`` draws) it uses ``affine_matrix @ cam2img``.
A bird's-eye-view panel is appended on the right.
"""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

from mmcenternet.structures.camera3d import BOX_EDGES, affine_cam2img, box3d_corners, project
from .visualizer import register_instance_drawer

FRONT_EDGES = ((0, 5), (1, 4))  # a cross on the front face (the heading), as officially
DEFAULT_COLOR = (0, 200, 255)


def project_boxes(boxes_3d: np.ndarray, cam2img: np.ndarray,
                  min_depth: float = 0.1) -> Tuple[np.ndarray, np.ndarray]:
    """``(N, 7)`` boxes -> ``(N, 8, 2)`` pixel corners and a mask of the boxes whose
    corners are all in front of the camera."""
    corners = box3d_corners(torch.as_tensor(boxes_3d, dtype=torch.float64).reshape(-1, 7))
    uv = project(corners, torch.as_tensor(cam2img, dtype=torch.float64)[:3, :4])
    return uv.numpy(), (corners[..., 2] > min_depth).all(-1).numpy()


def box_colors(labels: Optional[np.ndarray], palette: Optional[Sequence], num: int) -> list:
    if labels is None or not palette:
        return [DEFAULT_COLOR] * num
    return [tuple(int(c) for c in palette[int(lb) % len(palette)]) if lb >= 0
            else DEFAULT_COLOR for lb in labels]


def draw_bev(boxes_3d: np.ndarray, colors: Sequence[Tuple[int, int, int]], size: int = 375,
             x_range: Tuple[float, float] = (-30., 30.), z_range: Tuple[float, float] = (0., 60.),
             image: Optional[np.ndarray] = None, thickness: int = 2) -> np.ndarray:
    """A bird's-eye view (``x`` right, ``z`` up the image) of ``(N, 7)`` boxes, RGB uint8.

    Args:
        colors: One RGB colour per box.
        size: Height of the panel; the width follows the ``x`` / ``z`` ranges.
        image: A panel to draw on (e.g. with the ground truth already drawn).
    """
    scale = size / (z_range[1] - z_range[0])
    width = int(round((x_range[1] - x_range[0]) * scale))
    if image is None:
        image = np.full((size, width, 3), 255, np.uint8)
        for dist in range(int(z_range[0]) + 10, int(z_range[1]), 10):  # range rings
            y = int(size - (dist - z_range[0]) * scale)
            cv2.line(image, (0, y), (width - 1, y), (225, 225, 225), 1)
            cv2.putText(image, f'{dist} m', (2, y - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.35,
                        (150, 150, 150), 1)
        cam = (int(-x_range[0] * scale), size - 1)
        cv2.drawMarker(image, cam, (0, 0, 0), cv2.MARKER_TRIANGLE_UP, 10, 2)
    if len(boxes_3d) == 0:
        return image
    corners = box3d_corners(torch.as_tensor(boxes_3d, dtype=torch.float64).reshape(-1, 7))
    ground = corners[:, :4][..., [0, 2]].numpy()  # bottom face in (x, z)
    px = np.stack([(ground[..., 0] - x_range[0]) * scale,
                   size - (ground[..., 1] - z_range[0]) * scale], -1)
    for pts, color in zip(px, colors):
        poly = np.round(pts).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(image, [poly], True, tuple(int(c) for c in color), thickness,
                      cv2.LINE_AA)
        front = np.round(pts[:2]).astype(np.int32)  # corners 0, 1: the front edge
        cv2.line(image, tuple(front[0]), tuple(front[1]), (0, 0, 0), thickness, cv2.LINE_AA)
    return image


def draw_projected_boxes(image: np.ndarray, boxes_3d: np.ndarray, cam2img: np.ndarray,
                         colors: Sequence[Tuple[int, int, int]], thickness: int = 2
                         ) -> np.ndarray:
    """The 12 edges (and the front cross) of each box projected on ``image`` (in place)."""
    uv, ok = project_boxes(boxes_3d, cam2img)
    for pts, good, color in zip(uv, ok, colors):
        if not good:
            continue
        pts = np.round(pts).astype(np.int64)
        color = tuple(int(c) for c in color)
        for a, b in BOX_EDGES:
            cv2.line(image, tuple(pts[a]), tuple(pts[b]), color, thickness, cv2.LINE_AA)
        for a, b in FRONT_EDGES:
            cv2.line(image, tuple(pts[a]), tuple(pts[b]), color, 1, cv2.LINE_AA)
    return image


def image_camera(meta: dict, image_shape: Tuple[int, int]) -> Optional[np.ndarray]:
    """The camera of the image being drawn: ``cam2img`` for the original image, the input
    camera ``affine_matrix @ cam2img`` for the network input (its ``img_shape``)."""
    if meta.get('cam2img') is None:
        return None
    cam = np.asarray(meta['cam2img'], np.float64)[:3, :4]
    img_shape = tuple(meta.get('img_shape', ())[:2])
    ori_shape = tuple(meta.get('ori_shape', ())[:2])
    if (meta.get('affine_matrix') is not None and img_shape != ori_shape
            and tuple(image_shape[:2]) == img_shape):
        return affine_cam2img(cam, meta['affine_matrix']).numpy()
    return cam


@register_instance_drawer('bboxes_3d')
def draw_bboxes_3d(visualizer, instances) -> None:
    """``CenterNetVisualizer`` drawer: projected boxes, and a bird's-eye-view panel."""
    image = visualizer.get_image()
    meta = getattr(visualizer, 'sample_metainfo', None) or {}
    cam = image_camera(meta, image.shape)
    boxes = instances.bboxes_3d
    boxes = boxes.detach().cpu().numpy() if hasattr(boxes, 'detach') else np.asarray(boxes)
    labels = instances.labels.cpu().numpy() if 'labels' in instances else None
    palette = (visualizer.dataset_meta or {}).get('palette')
    colors = box_colors(labels, palette, len(boxes))
    if cam is not None:
        image = draw_projected_boxes(image.copy(), boxes, cam, colors)
    bev = draw_bev(boxes, colors, size=image.shape[0])
    visualizer.set_image(np.concatenate([image, bev], axis=1))
