from .coco_metric import CenterNetCocoMetric, bind_loop_datasets, coco_from_dict
from .pose_metric import CocoKeypointMetric

__all__ = ['CenterNetCocoMetric', 'CocoKeypointMetric', 'bind_loop_datasets', 'coco_from_dict']
