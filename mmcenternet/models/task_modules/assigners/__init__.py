from .ctdet_encoder import CTDetEncoder
from .triplet_encoder import TripletEncoder

__all__ = ['CTDetEncoder', 'TripletEncoder']
