# Official "hourglass" (large_hourglass, 2 stacks) as mmdet's HourglassNet; one head per stack,
# losses averaged over stacks, the last stack predicts. head_conv 256.
_base_ = './centernet_r18-dcnv2.py'
model = dict(
    backbone=dict(_delete_=True, type='mmdet.HourglassNet', downsample_times=5, num_stacks=2,
                  stage_channels=(256, 256, 384, 384, 384, 512),
                  stage_blocks=(2, 2, 2, 2, 2, 4), feat_channel=256,
                  norm_cfg=dict(type='BN', requires_grad=True)),
    neck=None,
    bbox_head=dict(in_channels=256, feat_channels=256, num_stacks=2, init_scheme='hourglass'),
    # The official init (experiments/ctdet_coco_hg.sh --load_model ExtremeNet_500000.pth): the
    # ExtremeNet model's Hourglass (its heads are not used). It is on Google Drive only, so it
    # is not downloaded: put ExtremeNet_500000.pth (or the raw .pkl, with checkpoint= its
    # name) in the cache folder or give a path. mmdet's CornerNet HG-104, which downloads, is
    # the documented alternative (configs/centernet/README.md).
    init_cfg=dict(_delete_=True, type='PretrainedMapped', checkpoint='ExtremeNet_500000.pth',
                  mapping='extremenet', module='backbone'))
