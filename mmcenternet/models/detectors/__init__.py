from .centernet import CenterNet
from .centernet_tta import CenterNetTTAModel

__all__ = ['CenterNet', 'CenterNetTTAModel']
