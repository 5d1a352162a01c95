from .base import (BaseCenterDecoder, apply_affine, flip_lr_maps, inverse_affines,
                   map_points_back)
from .centerface_decoder import CenterFaceDecoder
from .ctdet_decoder import CTDetDecoder, gather_at, local_peaks, topk_peaks
from .ddd_decoder import DDDDecoder, bins_to_alpha
from .multi_pose_decoder import MultiPoseDecoder, flip_permutation
from .triplet_decoder import TripletDecoder

__all__ = ['BaseCenterDecoder', 'CenterFaceDecoder', 'CTDetDecoder', 'DDDDecoder',
           'MultiPoseDecoder', 'TripletDecoder', 'apply_affine', 'bins_to_alpha', 'flip_lr_maps',
           'flip_permutation', 'gather_at', 'inverse_affines', 'local_peaks', 'map_points_back',
           'topk_peaks']
