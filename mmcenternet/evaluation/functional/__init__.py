from .kitti_eval import (KITTI_MIN_OVERLAPS, OFFICIAL_MIN_OVERLAPS, format_table,
                         kitti_eval)

__all__ = ['KITTI_MIN_OVERLAPS', 'OFFICIAL_MIN_OVERLAPS', 'format_table', 'kitti_eval']
