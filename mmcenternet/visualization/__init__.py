from .visualizer import CenterNetVisualizer, register_instance_drawer
from . import keypoints  # noqa: F401,E402  (registers the keypoint drawer)
from .boxes3d import draw_bboxes_3d, draw_bev, draw_projected_boxes  # noqa: E402

__all__ = ['CenterNetVisualizer', 'draw_bboxes_3d', 'draw_bev', 'draw_projected_boxes',
           'register_instance_drawer']
