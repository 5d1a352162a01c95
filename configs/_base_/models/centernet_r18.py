# Official "res_18" (msra_resnet): ResNet-18 + 3 plain 4x4 deconvs of 256 channels.
_base_ = './centernet_r18-dcnv2.py'
model = dict(
    neck=dict(num_filters=(256, 256, 256), use_conv=False, conv_cfg=None,
              deconv_init='normal'),
    bbox_head=dict(in_channels=256, init_scheme='msra'))
