# A light CenterNet as the TensorFlow version (xggIoU/centernet_tensorflow_wilderface_voc,
# shufflenetv2_face_V1.py): ShuffleNetV2-1.0x, its stem and three stages fused top-down at
# 256 channels (4x4 transposed convs + 1x1 laterals) to stride 4, CenterNet heads (3x3 conv
# 256 + 1x1: heatmap 1, wh 2, offset 2), no DCN, face boxes of WIDER FACE (the official
# box files, no landmarks) at 512, batch 14, about 16 epochs with Adam (2.5e-4, x0.85 every
# 2200 iterations). Published: 21.4 ms per 512 x 512 image on a GTX 1080 Ti (no AP).
# Differences: the TF version's SE / spatial-attention block after the fusion is left out,
# and the training uses CenterNet's affine crop / flip / colour augmentation (the TF
# version trained without augmentation).
_base_ = [
    '../_base_/datasets/wider_face.py', '../_base_/schedules/schedule_140e.py',
    '../_base_/default_runtime.py'
]
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
        branches=dict(
            heatmap=dict(out_channels=1, bias_init=-2.19,
                         loss=dict(type='CenterNetFocalLoss', loss_weight=1.0)),
            wh=dict(out_channels=2, loss=dict(type='RegL1Loss', loss_weight=0.1)),
            offset=dict(out_channels=2, loss=dict(type='RegL1Loss', loss_weight=1.0))),
        encoder=dict(type='CTDetEncoder', num_classes=1, stride=4, max_objs=512),
        decoder=dict(type='CTDetDecoder', topk=1000, kernel=3, stride=4)),
    train_cfg=None,
    test_cfg=dict(score_thr=0.01, nms=None),
    init_cfg=dict(type='PretrainedMapped',
                  checkpoint='https://download.pytorch.org/models/shufflenetv2_x1-5666bf0f80.pth',
                  mapping='torchvision_shufflenet_v2', module='backbone'))
# boxes only: the official box files (invalid faces ignored), no landmark pipeline
train_pipeline = [
    dict(type='LoadImageFromFileSafe'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='CenterAffine', input_size={{_base_.input_size}},
         random_scales={{_base_.random_scales}}, border=128, flip_prob=0.5),
    dict(type='CenterNetColorAug'),
    dict(type='PackDetInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(
    batch_size=14,
    dataset=dict(ann_file='wider_face_split/wider_face_train_bbx_gt.txt',
                 ann_format='official', pipeline=train_pipeline))

max_epochs = 16
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2.5e-4))
param_scheduler = [dict(type='StepLR', step_size=2200, gamma=0.85, by_epoch=False)]
auto_scale_lr = dict(base_batch_size=14)
