from .coco_metric import CenterNetCocoMetric, bind_loop_datasets, coco_from_dict
from .kitti_metric import KittiMetric
from .pose_metric import CocoKeypointMetric
from .widerface_metric import FaceLandmarkMetric, WiderFaceMetric

__all__ = ['CenterNetCocoMetric', 'CocoKeypointMetric', 'FaceLandmarkMetric', 'KittiMetric',
           'WiderFaceMetric', 'bind_loop_datasets', 'coco_from_dict']
