from .fuse import count_batchnorms, fold_bn_into_conv, fuse_conv_bn, optimize_for_inference
from .pretrained import (OFFICIAL_PRETRAINED, LatePretrainedInitMixin, PretrainedMapped,
                         strip_pretrained_init)

__all__ = ['count_batchnorms', 'fold_bn_into_conv', 'fuse_conv_bn', 'optimize_for_inference',
           'OFFICIAL_PRETRAINED', 'LatePretrainedInitMixin', 'PretrainedMapped',
           'strip_pretrained_init']
