from .pose_metric import CocoKeypointMetric

__all__ = ['CocoKeypointMetric']
