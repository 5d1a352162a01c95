# Quickstart: a half-width ResNet-18 + DCNv2 CenterNet trained from scratch on the bundled toy
# set (tools/misc/gen_toy_dataset.py), small enough for a 2-core CPU in a few minutes.
# It is the official resdcn_18 architecture and recipe except for width, input size, lr and
# schedule, which are set for training from scratch on 800 images.
_base_ = [
    '../_base_/models/centernet_r18-dcnv2.py', '../_base_/datasets/toy_detection.py',
    '../_base_/schedules/schedule_140e.py', '../_base_/default_runtime.py'
]
num_classes = 4
model = dict(
    backbone=dict(base_channels=32),
    neck=dict(in_channels=256, num_filters=(128, 64, 32)),
    bbox_head=dict(
        in_channels=32,
        branches=dict(heatmap=dict(out_channels=num_classes)),
        encoder=dict(num_classes=num_classes)))

max_epochs = 30
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
