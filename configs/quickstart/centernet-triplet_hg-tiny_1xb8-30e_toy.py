# Quickstart for Keypoint Triplets: a tiny one-stack hourglass with the full triplet head
# (cascade corner pooling, center pooling, embeddings, central-region decoding) trained
# from scratch on the bundled toy set (tools/misc/gen_toy_dataset.py) on a 2-core CPU.
# Data, optimizer and runtime are the CenterNet quickstart's (128 px affine random scale /
# crop / flip, no colour augmentation, Adam 2e-3 with warm-up and gradient clipping); the
# model is changed from the paper's for that: an hourglass of 3 down-samplings and 32-64
# channels instead of 5 and 256-512, 16 channels inside the poolings, and 30 epochs
# instead of 480k iterations. Targets, losses and decoding are the paper's (the head's
# defaults are Duan's settings).
_base_ = ['./centernet_r18w16_1xb8-70e_toy.py']
model = dict(
    _delete_=True,
    type='CenterNet',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone=dict(type='StackedHourglassNet', downsample_times=3, num_stacks=1,
                  stage_channels=(32, 32, 48, 64), stage_blocks=(1, 1, 1, 2),
                  feat_channel=32),
    neck=None,
    bbox_head=dict(type='TripletHead', codec=dict(type='TripletCodec', num_classes=4),
                   in_channels=32, feat_channels=32, pool_channels=16, num_stacks=1))

# --tta: Duan's test order (both views' corner pairs pooled, then the central regions)
tta_model = dict(_delete_=True, type='TripletTTAModel', flip=True)

max_epochs = 30
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[22, 27],
         gamma=0.1)
]
