# Quickstart: a half-width ResNet-18 CenterNet trained from scratch on the bundled toy set
# (tools/misc/gen_toy_dataset.py), small enough for a 2-core CPU in about ten minutes.
# It is the official resdcn_18 layout (3 x [3x3 conv + 4x4 deconv] up-sampling, head_conv 64,
# official targets, losses, augmentation and decoding) with a plain 3x3 conv instead of DCNv2
# (mmcv's CPU DCNv2 backward costs 3x the rest of the step here), half the width, 128 px
# input, and an lr / schedule for training from scratch on 800 images.
_base_ = [
    '../_base_/models/centernet_r18-dcnv2.py', '../_base_/datasets/toy_detection.py',
    '../_base_/schedules/schedule_140e.py', '../_base_/default_runtime.py'
]
num_classes = 4
model = dict(
    backbone=dict(base_channels=32),
    neck=dict(in_channels=256, num_filters=(128, 64, 32), conv_cfg=None),
    bbox_head=dict(
        in_channels=32,
        branches=dict(heatmap=dict(out_channels=num_classes)),
        encoder=dict(num_classes=num_classes)))

max_epochs = 30
# Loading 128 px images is cheap: in-process loading avoids competing for the 2 cores.
train_dataloader = dict(num_workers=0, persistent_workers=False)
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3), clip_grad=dict(max_norm=35))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[22, 27],
         gamma=0.1)
]
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=5, max_keep_ckpts=2))
log_processor = dict(window_size=10)
randomness = dict(seed=0)
