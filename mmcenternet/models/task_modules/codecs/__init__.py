from .base import (ACTIVATIONS, BaseCodec, apply_affine, flip_lr_maps, flip_permutation,
                   inverse_affines, map_points_back)
from .centerface import CenterFaceCodec
from .ctdet import CTDetCodec
from .ddd import DDDCodec, MissingCameraWarning, alpha_to_bins, bins_to_alpha
from .multi_pose import MultiPoseCodec
from .triplet import TripletCodec

__all__ = ['ACTIVATIONS', 'BaseCodec', 'CenterFaceCodec', 'CTDetCodec', 'DDDCodec',
           'MissingCameraWarning', 'MultiPoseCodec', 'TripletCodec', 'alpha_to_bins',
           'apply_affine', 'bins_to_alpha', 'flip_lr_maps', 'flip_permutation',
           'inverse_affines', 'map_points_back']
