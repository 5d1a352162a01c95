# CenterFace (Xu et al. 2019, Star-Clouds/CenterFace): ImageNet MobileNetV2, an FPN-style
# up-sampling neck to stride 4 with 24 channels (the graph of the released model:
# 1x1 top conv, 2x2 transposed convs + 1x1 laterals, a final 3x3 conv) and 1x1 heads:
# heatmap 1, scale 2 (log box size / stride, height first), offset 2, landmarks 10
# (relative to the box), decoded as the release decodes them (CenterFaceCodec).
# Losses and weights as the paper and the MindSpore port: focal loss on the heatmap,
# smooth-L1 on the others, weights 1 / 0.1 / 1 / 0.1.
model = dict(
    type='CenterNet',
    data_preprocessor=dict(
        type='mmdet.DetDataPreprocessor',
        # the ImageNet statistics (RGB) of torchvision's MobileNetV2, which the backbone
        # starts from
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    # mmdet's MobileNetV2; stages 2, 3, 5, 7 (strides 4, 8, 16, 32; 24, 32, 96, 320
    # channels) feed the neck, as CenterFace's. mmdet always builds and runs its final 1x1
    # conv to 1280 channels (out index 7), which no output uses here: its weights load from
    # the ImageNet file, it costs ~7% of the backbone, and distributed training needs
    # find_unused_parameters=True (set in the configs).
    backbone=dict(
        type='mmdet.MobileNetV2',
        widen_factor=1.0,
        out_indices=(1, 2, 4, 6),
        act_cfg=dict(type='ReLU6'),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=None),
    neck=dict(
        type='CenterNetFPNNeck',
        in_channels=[24, 32, 96, 320],
        out_channels=24,
        deconv_kernel=2,
        top_conv=True,
        final_conv=True),
    bbox_head=dict(
        type='CenterNetHead',
        in_channels=24,
        feat_channels=0,  # the released heads are lone 1x1 convs
        init_scheme='resdcn',  # non-heatmap branches N(0, 0.001), the heatmap bias -2.19
        codec=dict(type='CenterFaceCodec', num_classes=1, num_landmarks=5, stride=4,
                   max_objs=512, topk=1000, kernel=3, radius_mode='official',
                   min_overlap=0.7),
        branches=dict(
            heatmap=dict(bias_init=-2.19,
                         loss=dict(type='CenterNetFocalLoss', loss_weight=1.0)),
            scale=dict(loss=dict(type='RegSmoothL1Loss', loss_weight=0.1)),
            offset=dict(loss=dict(type='RegSmoothL1Loss', loss_weight=1.0)),
            landmarks=dict(loss=dict(type='RegSmoothL1Loss', loss_weight=0.1)))),
    train_cfg=None,
    test_cfg=dict(score_thr=0.01, nms=None),
    # torchvision's ImageNet MobileNetV2 (the file CenterFace's MindSpore port starts from),
    # mapped onto mmdet's MobileNetV2 and loaded strictly; other sources (mmdet's own
    # checkpoint) in configs/centerface/README.md. Configs that train from scratch set None.
    init_cfg=dict(type='PretrainedMapped',
                  checkpoint='https://download.pytorch.org/models/mobilenet_v2-b0353104.pth',
                  mapping='torchvision_mobilenet_v2', module='backbone'))
