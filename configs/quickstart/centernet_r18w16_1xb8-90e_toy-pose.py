# Pose quickstart: the quickstart's quarter-width ResNet-18 CenterNet with the official
# multi_pose branches, trained from scratch on the toy pose set (tools/misc/gen_toy_pose.py:
# stick figures with the 17 COCO joints). Official targets (incl. per-joint masks), losses,
# weights, affine augmentation with left/right joint swapping, joint snapping and OKS
# evaluation; changed for a few minutes on a 2-core CPU as the detection quickstart (first
# three ResNet-18 stages at a quarter of the width, two up-sampling stages, plain 3x3 convs
# instead of DCNv2, 128 px input, no colour augmentation, its own lr / schedule).
_base_ = [
    '../_base_/models/centernet_r18-dcnv2_pose.py',
    '../_base_/datasets/toy_pose.py', '../_base_/schedules/schedule_140e.py',
    '../_base_/default_runtime.py'
]
model = dict(
    init_cfg=None,  # from scratch and offline, like the detection quickstart
    backbone=dict(base_channels=16, num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1),
                  out_indices=(2, )),
    neck=dict(in_channels=64, num_filters=(32, 32), num_kernels=(4, 4), conv_cfg=None),
    bbox_head=dict(in_channels=32, feat_channels=32))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPoseAnnotations', with_bbox=True),
    dict(type='CenterAffine', input_size={{_base_.input_size}},
         random_scales=[0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3], border=128, flip_prob=0.5),
    dict(type='PackCenterNetInputs', meta_keys={{_base_.meta_keys}}),
]
# Loading 128 px images is cheap: in-process loading avoids competing for the 2 cores.
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                        dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader

max_epochs = 90
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3), clip_grad=dict(max_norm=35))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[70, 85],
         gamma=0.1)
]
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(logger=dict(interval=25), checkpoint=dict(interval=10, max_keep_ckpts=2))
log_processor = dict(window_size=25)
randomness = dict(seed=0)
