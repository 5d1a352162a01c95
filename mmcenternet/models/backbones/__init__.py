from .dla import DLA
from .hourglass import StackedHourglassNet

__all__ = ['DLA', 'StackedHourglassNet']
