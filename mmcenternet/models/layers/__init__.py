from .dcn import DCNv2Fast, modulated_deform_conv2d_torch

__all__ = ['DCNv2Fast', 'modulated_deform_conv2d_torch']
