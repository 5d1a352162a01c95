from .coco_metric import CenterNetCocoMetric, bind_loop_datasets, coco_from_dict
from .kitti_metric import KittiMetric
from .pose_metric import CocoKeypointMetric

__all__ = ['CenterNetCocoMetric', 'CocoKeypointMetric', 'KittiMetric', 'bind_loop_datasets',
           'coco_from_dict']
