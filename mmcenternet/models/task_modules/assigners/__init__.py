from .ctdet_encoder import CTDetEncoder
from .multi_pose_encoder import MultiPoseEncoder

__all__ = ['CTDetEncoder', 'MultiPoseEncoder']
