# Quickstart for Keypoint Triplets: a tiny one-stack hourglass with the full triplet head
# (cascade corner pooling, center pooling, embeddings, central-region decoding) trained
# from scratch on the bundled toy set (tools/misc/gen_toy_dataset.py) on a 2-core CPU.
# Changed from the paper's recipe for that: an hourglass of 3 down-samplings and 32-64
# channels instead of 5 and 256-512, 16 channels inside the poolings, the 128 px toy
# images as input (the affine random scale / crop / flip of the COCO recipe at 128 px),
# no colour augmentation, Adam at a higher lr with warm-up and gradient clipping,
# 30 epochs instead of 480k iterations; targets, losses and decoding are the paper's.
_base_ = [
    '../_base_/models/centernet-triplet_hg52.py', '../_base_/datasets/toy_detection.py',
    '../_base_/schedules/schedule_140e.py', '../_base_/default_runtime.py'
]
num_classes = 4
model = dict(
    backbone=dict(downsample_times=3, stage_channels=(32, 32, 48, 64),
                  stage_blocks=(1, 1, 1, 2), feat_channel=32),
    bbox_head=dict(num_classes=num_classes, in_channels=32, feat_channels=32,
                   pool_channels=16, encoder=dict(num_classes=num_classes)))

train_pipeline = [
    dict(type='LoadImageFromFileSafe'),
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

max_epochs = 30
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3), clip_grad=dict(max_norm=35))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[22, 27],
         gamma=0.1)
]
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(logger=dict(interval=25), checkpoint=dict(interval=10, max_keep_ckpts=2))
log_processor = dict(window_size=25)
randomness = dict(seed=0)
