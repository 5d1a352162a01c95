"""Drawing of keypoints and their skeleton (pose joints, face landmarks).

Everything about the keypoint set comes from ``visualizer.dataset_meta`` (the dataset's
metainfo): ``skeleton`` (0-based joint pairs), ``keypoint_colors``, ``skeleton_colors`` and
``keypoint_classes`` (the classes whose objects carry keypoints; default all), so any
keypoint set (17 COCO joints, 5 face landmarks, an animal) draws without code.
"""
from typing import List, Sequence, Tuple

import numpy as np
from mmengine.structures import InstanceData

from .visualizer import register_instance_drawer

#: Colours (RGB) used when the metainfo gives none: joints and limbs cycle through them.
DEFAULT_COLORS: Tuple[Tuple[int, int, int], ...] = (
    (255, 128, 0), (0, 128, 255), (0, 220, 0), (255, 0, 255), (255, 255, 0), (0, 255, 255))


def _numpy(value) -> np.ndarray:
    return value.detach().cpu().numpy() if hasattr(value, 'detach') else np.asarray(value)


def _colors(meta: dict, key: str, count: int) -> List[Tuple[int, int, int]]:
    given = meta.get(key)
    if given is not None and len(given) == count:
        return [tuple(int(c) for c in color) for color in given]
    return [DEFAULT_COLORS[i % len(DEFAULT_COLORS)] for i in range(count)]


def keypoint_rows(instances: InstanceData, meta: dict) -> np.ndarray:
    """Indices of the instances whose class carries keypoints (all without labels)."""
    num = len(instances)
    classes = list(meta.get('classes') or [])
    kp_classes = meta.get('keypoint_classes')
    if not kp_classes or 'labels' not in instances or not classes:
        return np.arange(num)
    wanted = [i for i, name in enumerate(classes) if name in set(kp_classes)]
    return np.flatnonzero(np.isin(_numpy(instances.labels), wanted))


def limb_segments(points: np.ndarray, shown: np.ndarray,
                  skeleton: Sequence[Sequence[int]]) -> Tuple[np.ndarray, np.ndarray]:
    """Limbs whose two joints are shown: ``(segments (L, 2, 2), limb index (L,))``."""
    if not len(skeleton) or not len(points):
        return np.zeros((0, 2, 2)), np.zeros(0, dtype=np.int64)
    limbs = np.asarray(skeleton, dtype=np.int64)
    ok = shown[:, limbs[:, 0]] & shown[:, limbs[:, 1]]  # (N, L)
    person, limb = np.nonzero(ok)
    segments = np.stack([points[person, limbs[limb, 0]], points[person, limbs[limb, 1]]], 1)
    return segments, limb


@register_instance_drawer('keypoints')
def draw_keypoints(visualizer, instances: InstanceData) -> None:
    """Draws the skeleton, then the joints, of every instance with keypoints.

    Ground truth draws its labelled joints (``keypoints_visible > 0``); predictions draw
    every joint (the decoder gives each one a position); joints off the image are skipped.
    """
    meta = visualizer.dataset_meta or {}
    rows = keypoint_rows(instances, meta)
    if not len(rows):
        return
    points = _numpy(instances.keypoints)[rows].astype(np.float64)  # (N, K, 2)
    num_kpts = points.shape[1]
    if 'keypoints_visible' in instances:
        shown = _numpy(instances.keypoints_visible)[rows] > 0
    else:
        shown = np.ones(points.shape[:2], dtype=bool)
    height, width = visualizer.get_image().shape[:2]
    # joints off the image are not drawn (matplotlib would shrink the image to fit them)
    shown &= ((points[..., 0] >= 0) & (points[..., 0] < width) & (points[..., 1] >= 0) &
              (points[..., 1] < height))
    scale = max(1.0, min(height, width) / 256)
    skeleton = meta.get('skeleton') or []
    segments, limb = limb_segments(points, shown, skeleton)
    if len(segments):
        limb_colors = _colors(meta, 'skeleton_colors', len(skeleton))
        visualizer.draw_lines(segments[:, :, 0], segments[:, :, 1],
                              colors=[limb_colors[i] for i in limb], line_widths=1.5 * scale)
    person, joint = np.nonzero(shown)
    if len(joint):
        kp_colors = _colors(meta, 'keypoint_colors', num_kpts)
        colors = [kp_colors[j] for j in joint]
        visualizer.draw_circles(points[person, joint], np.full(len(joint), 1.5 * scale),
                                edge_colors=colors, face_colors=colors, line_widths=1,
                                alpha=1.0)
