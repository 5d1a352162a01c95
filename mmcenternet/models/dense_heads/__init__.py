from .centernet_head import CenterNetHead
from .triplet_head import TripletHead

__all__ = ['CenterNetHead', 'TripletHead']
