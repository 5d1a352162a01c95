from .centernet import CenterNet
from .centernet_tta import CenterNetTTAModel
from .loss_guard import GuardedDistributedDataParallel
from .triplet_tta import TripletTTAModel

__all__ = ['CenterNet', 'CenterNetTTAModel', 'GuardedDistributedDataParallel',
           'TripletTTAModel']
