"""mmcenternet: the CenterNet family of detectors as an MMDetection 3.x extension."""
from .utils.env_check import check_environment
from .version import __version__

check_environment()

__all__ = ['__version__']
