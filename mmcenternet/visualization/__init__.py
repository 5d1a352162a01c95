from .heatmap import (attach_pred_heatmaps, capture_head_outputs, gt_heatmap,
                      overlay_heatmap)
from .visualizer import CenterNetVisualizer, register_instance_drawer

__all__ = ['CenterNetVisualizer', 'register_instance_drawer', 'attach_pred_heatmaps',
           'capture_head_outputs', 'gt_heatmap', 'overlay_heatmap']
