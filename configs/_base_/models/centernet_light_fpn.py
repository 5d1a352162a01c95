# A light CenterNet as the TensorFlow version (xggIoU/centernet_tensorflow_wilderface_voc,
# shufflenetv2_face_V1.py): ShuffleNetV2-1.0x, its stem and three stages fused top-down at
# 256 channels (4x4 transposed convs + 1x1 laterals, no top or final conv) to stride 4,
# CenterNet heads (3x3 conv 256 + 1x1: heatmap, wh, offset), no DCN. DarkNet-53 swaps the
# backbone (configs/centernet_light).
model = dict(
    type='CenterNet',
    data_preprocessor=dict(
        type='mmdet.DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],  # torchvision's ImageNet statistics (RGB)
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(type='ShuffleNetV2', widen_factor=1.0, out_indices=(0, 1, 2, 3)),
    neck=dict(type='CenterNetFPNNeck', in_channels=[24, 116, 232, 464], out_channels=256,
              deconv_kernel=4, top_conv=False, final_conv=False),
    bbox_head=dict(
        type='CenterNetHead',
        in_channels=256,
        feat_channels=256,
        init_scheme='resdcn',
        codec=dict(type='CTDetCodec', num_classes=1, stride=4, max_objs=128, topk=100,
                   kernel=3),
        branches=dict(
            heatmap=dict(bias_init=-2.19,
                         loss=dict(type='CenterNetFocalLoss', loss_weight=1.0)),
            wh=dict(loss=dict(type='RegL1Loss', loss_weight=0.1)),
            offset=dict(loss=dict(type='RegL1Loss', loss_weight=1.0)))),
    train_cfg=None,
    test_cfg=dict(score_thr=0, nms=None),
    # torchvision's ImageNet ShuffleNetV2-1.0x, its classification conv5 and fc dropped;
    # configs/centernet_light/README.md lists the other sources
    init_cfg=dict(type='PretrainedMapped',
                  checkpoint='https://download.pytorch.org/models/shufflenetv2_x1-5666bf0f80.pth',
                  mapping='torchvision_shufflenet_v2', module='backbone'))
