# 3D quickstart: monocular 3D detection ("ddd") with a quarter-width ResNet-18 CenterNet
# trained from scratch on the toy KITTI-format set (tools/misc/gen_toy_kitti.py: 2000 train
# images by default; with 400 this model learned them by heart), small enough for a 2-core
# CPU. It keeps the official ddd heads, targets, losses, decoding and input affine; changed
# for training from scratch in minutes: the 2D quickstart's network (three ResNet-18 stages
# at a quarter of the width, two up-sampling stages, no DCNv2), 544 x 160 input (416 x 128
# gave a Car 3D AP 2 points lower: the depth read from a car's apparent size needs pixels),
# a milder jitter, its own lr / schedule, 2 classes, 3x depth and 4x orientation loss
# weights, a 0.1 score threshold (a model trained for minutes scores lower), and the 3D
# center regressed as an offset from the peak (center_mode='projected', an option; the
# official way unprojects the 2D box center), 20 epochs of 250 iterations. Result and the
# trials behind these choices: configs/quickstart/README.md.
_base_ = [
    '../_base_/models/centernet_dla34-dcnv2_ddd.py', '../_base_/datasets/toy_kitti_mono3d.py',
    '../_base_/schedules/schedule_70e.py', '../_base_/default_runtime.py'
]
input_size = (544, 160)
model = dict(
    init_cfg=None,  # from scratch and offline, like the detection quickstart
    backbone=dict(_delete_=True, type='mmdet.ResNet', depth=18, num_stages=3,
                  base_channels=16, strides=(1, 2, 2), dilations=(1, 1, 1), out_indices=(2, ),
                  frozen_stages=-1, norm_cfg=dict(type='BN', requires_grad=True),
                  norm_eval=False, style='pytorch', init_cfg=None),
    neck=dict(_delete_=True, type='CenterNetDeconvNeck', in_channels=64, num_filters=(32, 32),
              num_kernels=(4, 4), use_conv=True, conv_cfg=None, deconv_init='bilinear'),
    bbox_head=dict(in_channels=32, feat_channels=32,
                   codec=dict(num_classes=2, center_mode='projected'),
                   branches=dict(depth=dict(loss=dict(loss_weight=3.0)),
                                 rot=dict(loss=dict(loss_weight=4.0)),
                                 center3d_offset=dict(loss=dict(type='RegL1Loss',
                                                                loss_weight=1.0)))),
    test_cfg=dict(score_thr=0.1))
find_unused_parameters = False

meta_keys = {{_base_.meta_keys}}
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadMono3DAnnotations'),
    dict(type='CenterAffine', input_size=input_size, shift=0.05, scale=0.1, jitter_prob=0.2,
         jitter_style='ddd'),
    dict(type='PackCenterNetInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CenterAffine', input_size=input_size),
    dict(type='PackCenterNetInputs', meta_keys=meta_keys),
]
# in-process loading: the 2 cores go to the network
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                        dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False,
                      dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 20
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3), clip_grad=dict(max_norm=35))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[16, 19],
         gamma=0.1)
]
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(logger=dict(interval=25), checkpoint=dict(interval=5, max_keep_ckpts=2))
log_processor = dict(window_size=25)
randomness = dict(seed=0)
