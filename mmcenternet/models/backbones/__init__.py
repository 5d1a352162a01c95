from .dla import DLA
from .hourglass import StackedHourglassNet
from .shufflenet_v2 import ShuffleNetV2

__all__ = ['DLA', 'ShuffleNetV2', 'StackedHourglassNet']
