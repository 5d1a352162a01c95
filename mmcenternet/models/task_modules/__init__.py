from .assigners import *  # noqa: F401,F403
from .decoders import *  # noqa: F401,F403
from .gaussian import draw_gaussians, gaussian_radius

__all__ = ['draw_gaussians', 'gaussian_radius']
