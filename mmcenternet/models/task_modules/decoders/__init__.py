from .base import (BaseCenterDecoder, apply_affine, flip_lr_maps, inverse_affines,
                   map_points_back)
from .ctdet_decoder import CTDetDecoder, gather_at, local_peaks, topk_peaks
from .ddd_decoder import DDDDecoder, bins_to_alpha

__all__ = ['BaseCenterDecoder', 'CTDetDecoder', 'DDDDecoder', 'apply_affine', 'bins_to_alpha',
           'flip_lr_maps', 'gather_at', 'inverse_affines', 'local_peaks', 'map_points_back',
           'topk_peaks']
