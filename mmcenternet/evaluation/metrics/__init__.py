from .coco_metric import CenterNetCocoMetric, bind_loop_datasets, coco_from_dict

__all__ = ['CenterNetCocoMetric', 'bind_loop_datasets', 'coco_from_dict']
