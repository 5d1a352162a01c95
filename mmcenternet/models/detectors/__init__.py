from .centernet import CenterNet
from .centernet_tta import CenterNetTTAModel
from .triplet_tta import TripletTTAModel

__all__ = ['CenterNet', 'CenterNetTTAModel', 'TripletTTAModel']
