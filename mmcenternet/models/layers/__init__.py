from .dcn import DCNv2Fast, modulated_deform_conv2d_torch
from .triplet_pools import CascadeCornerPool, CenterPool

__all__ = ['CascadeCornerPool', 'CenterPool', 'DCNv2Fast', 'modulated_deform_conv2d_torch']
