# Official "resdcn_18": ResNet-18 + 3 x (DCNv2 3x3 + 4x4 deconv) up-sampling, head_conv 64.
model = dict(
    type='CenterNet',
    data_preprocessor=dict(
        type='mmdet.DetDataPreprocessor',
        # official mean/std (BGR, on 0-1 values) x 255; images stay BGR as officially
        mean=[104.01362, 114.03422, 119.91659],
        std=[73.60276, 69.89082, 70.91508],
        bgr_to_rgb=False,
        pad_size_divisor=32),
    backbone=dict(
        type='mmdet.ResNet',
        depth=18,
        num_stages=4,
        out_indices=(3, ),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=None),
    neck=dict(
        type='CenterNetDeconvNeck',
        in_channels=512,
        num_filters=(256, 128, 64),
        num_kernels=(4, 4, 4),
        use_conv=True,
        # DCNv2Fast = mmcv's DCNv2 (same parameters and outputs) that runs mmcv's kernel on
        # CUDA and a PyTorch version on CPU, whose backward is ~5x faster than mmcv's CPU
        # kernel (docs/benchmarks.md). type='DCNv2' gives mmcv's op everywhere.
        conv_cfg=dict(type='DCNv2Fast', deform_groups=1),
        deconv_init='bilinear'),
    bbox_head=dict(
        type='CenterNetHead',
        in_channels=64,
        feat_channels=64,
        init_scheme='resdcn',  # official resnet_dcn.py head initialisation
        # the task (targets, decoding, the branches and their channels), named once; a
        # child config changes e.g. model.bbox_head.codec.num_classes
        codec=dict(type='CTDetCodec', num_classes=80, stride=4, max_objs=128, topk=100,
                   kernel=3, radius_mode='official', min_overlap=0.7),
        branches=dict(
            heatmap=dict(bias_init=-2.19,
                         loss=dict(type='CenterNetFocalLoss', loss_weight=1.0)),
            wh=dict(loss=dict(type='RegL1Loss', loss_weight=0.1)),
            offset=dict(loss=dict(type='RegL1Loss', loss_weight=1.0)))),
    train_cfg=None,
    test_cfg=dict(score_thr=0, nms=None),
    # The official init: torchvision's ImageNet ResNet-18, the URL that msra_resnet.py and
    # resnet_dcn.py load (a PyTorch 0.1 .tar file, read weights-only), mapped onto the
    # backbone and loaded strictly after every other initialisation. Other sources and the
    # cache folder: configs/centernet/README.md. Configs that train from scratch set None.
    init_cfg=dict(type='PretrainedMapped',
                  checkpoint='https://download.pytorch.org/models/resnet18-5c106cde.pth',
                  mapping='torchvision_resnet', module='backbone'))
