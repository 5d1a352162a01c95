from .codecs import *  # noqa: F401,F403
from .gaussian import draw_gaussians, gaussian_radius
from .peaks import gather_at, local_peaks, topk_peaks

__all__ = ['draw_gaussians', 'gaussian_radius', 'gather_at', 'local_peaks', 'topk_peaks']
