# Official "hourglass" (large_hourglass, 2 stacks) as mmdet's HourglassNet; one head per stack,
# losses averaged over stacks, the last stack predicts. head_conv 256.
_base_ = './centernet_r18-dcnv2.py'
model = dict(
    backbone=dict(_delete_=True, type='mmdet.HourglassNet', downsample_times=5, num_stacks=2,
                  stage_channels=(256, 256, 384, 384, 384, 512),
                  stage_blocks=(2, 2, 2, 2, 2, 4), feat_channel=256,
                  norm_cfg=dict(type='BN', requires_grad=True)),
    neck=None,
    bbox_head=dict(in_channels=256, feat_channels=256, num_stacks=2, init_scheme='hourglass'))
