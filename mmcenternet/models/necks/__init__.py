from .ct_deconv_neck import CenterNetDeconvNeck
from .dla_neck import DLANeck
from .fpn_up_neck import CenterNetFPNNeck

__all__ = ['CenterNetDeconvNeck', 'CenterNetFPNNeck', 'DLANeck']
