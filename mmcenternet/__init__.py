"""mmcenternet: the CenterNet family of detectors as an MMDetection 3.x extension.

Importing it checks the installed OpenMMLab stack and changes nothing outside the package:
checkpoints are read safely by our own loading paths (:mod:`mmcenternet.checkpoint`), not
by patching mmengine or torch.
"""
from .utils.env_check import check_environment
from .version import __version__

check_environment()

__all__ = ['__version__']
