from .ctdet_encoder import CTDetEncoder

__all__ = ['CTDetEncoder']
