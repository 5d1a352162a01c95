from .ctdet_encoder import CTDetEncoder
from .ddd_encoder import DDDEncoder, alpha_to_bins

__all__ = ['CTDetEncoder', 'DDDEncoder', 'alpha_to_bins']
