from .official_ckpt import ConversionError, convert_official_state_dict, detect_arch

__all__ = ['ConversionError', 'convert_official_state_dict', 'detect_arch']
from .fuse import (count_batchnorms, fold_bn_into_conv, fuse_conv_bn,  # noqa: E402
                   optimize_for_inference)

__all__ += ['count_batchnorms', 'fold_bn_into_conv', 'fuse_conv_bn', 'optimize_for_inference']
