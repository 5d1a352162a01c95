from .ct_deconv_neck import CenterNetDeconvNeck
from .dla_neck import DLANeck

__all__ = ['CenterNetDeconvNeck', 'DLANeck']
