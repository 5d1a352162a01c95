from .kitti_eval import (KITTI_MIN_OVERLAPS, OFFICIAL_MIN_OVERLAPS, format_table,
                         kitti_eval)
from .widerface import (GT_FILES, SETTINGS, WiderGroundTruth,
                        evaluate_widerface, load_wider_ground_truth, write_wider_ground_truth)

__all__ = ['GT_FILES', 'KITTI_MIN_OVERLAPS', 'OFFICIAL_MIN_OVERLAPS', 'SETTINGS',
           'WiderGroundTruth', 'evaluate_widerface', 'format_table',
           'kitti_eval', 'load_wider_ground_truth', 'write_wider_ground_truth']
