from .centernet import CenterNet
from .centernet_tta import CenterNetTTAModel
from .loss_guard import GuardedDistributedDataParallel

__all__ = ['CenterNet', 'CenterNetTTAModel', 'GuardedDistributedDataParallel']
