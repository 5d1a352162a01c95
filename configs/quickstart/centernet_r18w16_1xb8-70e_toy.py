# Quickstart: a quarter-width ResNet-18 CenterNet trained from scratch on the bundled toy set
# (tools/misc/gen_toy_dataset.py), small enough for a 2-core CPU in about ten minutes.
# It keeps the official resdcn_18 design ([3x3 conv + 4x4 deconv] up-sampling stages to
# stride 4, a 3x3 + 1x1 conv per branch) and the official targets, losses, affine
# augmentation and decoding, changed for training from scratch on 800 images in minutes:
# the first three ResNet-18 stages (stride 16) with two up-sampling stages, a quarter of the
# width, a plain 3x3 conv instead of DCNv2, 128 px input, no colour augmentation, and its own
# lr / schedule. Short trials here (AP50 after 20 epochs): the full stride-32 ResNet-18 0.13,
# these three stages 0.50; the quarter width learns as fast per update as half width, at
# 2.2x the images/s.
_base_ = [
    '../_base_/models/centernet_r18-dcnv2.py', '../_base_/datasets/toy_detection.py',
    '../_base_/schedules/schedule_140e.py', '../_base_/default_runtime.py'
]
model = dict(
    init_cfg=None,  # from scratch and offline (the base's ImageNet ResNet-18 does not fit)
    backbone=dict(base_channels=16, num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1),
                  out_indices=(2, )),
    neck=dict(in_channels=64, num_filters=(32, 32), num_kernels=(4, 4), conv_cfg=None),
    bbox_head=dict(
        in_channels=32,
        feat_channels=32,
        codec=dict(num_classes=4)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='CenterAffine', input_size={{_base_.input_size}},
         random_scales=[0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3], border=128, flip_prob=0.5),
    dict(type='PackDetInputs', meta_keys={{_base_.meta_keys}}),
]
# Loading 128 px images is cheap: in-process loading avoids competing for the 2 cores.
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                        dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader

max_epochs = 70
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3), clip_grad=dict(max_norm=35))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[55, 65],
         gamma=0.1)
]
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(logger=dict(interval=25), checkpoint=dict(interval=10, max_keep_ckpts=2))
log_processor = dict(window_size=25)
randomness = dict(seed=0)
