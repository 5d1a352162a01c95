from .centerface_encoder import CenterFaceEncoder
from .ctdet_encoder import CTDetEncoder
from .ddd_encoder import DDDEncoder, alpha_to_bins
from .multi_pose_encoder import MultiPoseEncoder
from .triplet_encoder import TripletEncoder

__all__ = ['CenterFaceEncoder', 'CTDetEncoder', 'DDDEncoder', 'MultiPoseEncoder', 'TripletEncoder',
           'alpha_to_bins']
