# Keypoint Triplets "CenterNet-104" (Duankaiwen/CenterNet models/CenterNet-104.py): the
# CornerNet Hourglass-104 (2 stacks, mmdet's HourglassNet has its layout) and, per stack,
# cascade corner pooling (top-left, bottom-right) + center pooling, each followed by
# heatmap / embedding / offset branches (3x3 conv 256 + ReLU + 1x1 conv). Duan's COCO
# mean/std and BGR input are the official CenterNet ones (the base below); no padding in
# training (511 x 511 crops), test inputs are padded to 128-multiples by the pipeline.
_base_ = './centernet_r18-dcnv2.py'
model = dict(
    data_preprocessor=dict(pad_size_divisor=1),
    backbone=dict(
        _delete_=True,
        type='mmdet.HourglassNet',
        downsample_times=5,
        num_stacks=2,
        stage_channels=(256, 256, 384, 384, 384, 512),
        stage_blocks=(2, 2, 2, 2, 2, 4),
        feat_channel=256,
        norm_cfg=dict(type='BN', requires_grad=True)),
    neck=None,
    bbox_head=dict(
        _delete_=True,
        type='TripletHead',
        codec=dict(type='TripletCodec', num_classes=80, max_objs=128, radius_mode='official',
                   min_overlap=0.7, topk=70, kernel=3, ae_threshold=0.5, num_dets=1000,
                   area_thr=22500, small_n=3, large_n=5),
        in_channels=256,
        feat_channels=256,
        pool_channels=128,
        num_stacks=2,
        loss_heatmap=dict(type='CenterNetFocalLoss', loss_weight=1.0),
        loss_embedding=dict(type='PullPushLoss', pull_weight=0.1, push_weight=0.1),
        loss_offset=dict(type='mmdet.SmoothL1Loss', beta=1.0, loss_weight=1.0)),
    # Duan's test: gaussian soft-NMS per class (sigma 0.5, +1 pixel areas), 100 boxes
    test_cfg=dict(_delete_=True,
                  soft_nms=dict(iou_threshold=0.5, sigma=0.5, min_score=0.001,
                                method='gaussian', offset=1),
                  max_per_img=100))
