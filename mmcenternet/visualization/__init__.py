from .visualizer import CenterNetVisualizer, register_instance_drawer
from . import keypoints  # noqa: F401,E402  (registers the keypoint drawer)

__all__ = ['CenterNetVisualizer', 'register_instance_drawer']
