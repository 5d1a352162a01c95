from .centerface_encoder import CenterFaceEncoder
from .ctdet_encoder import CTDetEncoder
from .multi_pose_encoder import MultiPoseEncoder
from .triplet_encoder import TripletEncoder

__all__ = ['CenterFaceEncoder', 'CTDetEncoder', 'MultiPoseEncoder', 'TripletEncoder']
