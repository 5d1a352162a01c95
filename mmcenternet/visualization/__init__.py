from .heatmap import (attach_pred_heatmaps, capture_head_outputs, gt_heatmap,
                      overlay_heatmap)
from .visualizer import CenterNetVisualizer, register_instance_drawer
# each task's drawer module registers its drawer when imported (one line per task)
from . import keypoints  # noqa: F401,E402
from .boxes3d import draw_bboxes_3d, draw_bev, draw_projected_boxes  # noqa: E402

__all__ = ['CenterNetVisualizer', 'attach_pred_heatmaps', 'capture_head_outputs', 'draw_bboxes_3d',
           'draw_bev', 'draw_projected_boxes', 'gt_heatmap', 'overlay_heatmap',
           'register_instance_drawer']
