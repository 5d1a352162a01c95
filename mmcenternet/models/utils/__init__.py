from .official_ckpt import ConversionError, convert_official_state_dict, detect_arch

__all__ = ['ConversionError', 'convert_official_state_dict', 'detect_arch']
from .fuse import (count_batchnorms, fold_bn_into_conv, fuse_conv_bn,  # noqa: E402
                   optimize_for_inference)

__all__ += ['count_batchnorms', 'fold_bn_into_conv', 'fuse_conv_bn', 'optimize_for_inference']
from .official_ckpt import PRETRAINED_MAPPINGS, map_pretrained_backbone  # noqa: E402
from .pretrained import (OFFICIAL_PRETRAINED, LatePretrainedInitMixin,  # noqa: E402
                         PretrainedMapped, strip_pretrained_init)

__all__ += ['PRETRAINED_MAPPINGS', 'map_pretrained_backbone', 'OFFICIAL_PRETRAINED',
            'LatePretrainedInitMixin', 'PretrainedMapped', 'strip_pretrained_init']
