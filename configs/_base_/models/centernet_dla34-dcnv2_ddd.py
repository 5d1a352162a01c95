# Official "ddd" (monocular 3D) on "dla_34": DLA-34 + DLAUp/IDAUp with DCNv2, heads
# hm 3, wh 2, reg 2, dep 1, rot 8, dim 3 (opts.py), head_conv 256.
_base_ = './centernet_dla34-dcnv2.py'
num_classes = 3
# The official 3D L1 losses average over every slot of the batch (F.l1_loss with a mean
# reduction), not over the objects as RegL1Loss does for 2D boxes: normalizer='all'.
l1 = dict(type='RegL1Loss', normalizer='all')
model = dict(
    # ImageNet mean / std (KITTI's dataset values), applied to the BGR image as officially
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           bgr_to_rgb=False),
    bbox_head=dict(
        branches=dict(
            _delete_=True,
            heatmap=dict(out_channels=num_classes, bias_init=-2.19,
                         loss=dict(type='CenterNetFocalLoss', loss_weight=1.0)),
            wh=dict(out_channels=2, loss=dict(l1, loss_weight=0.1)),
            offset=dict(out_channels=2, loss=dict(l1, loss_weight=1.0)),
            depth=dict(out_channels=1, activation='inverse_sigmoid_depth',
                       activate_before_loss=True, loss=dict(l1, loss_weight=1.0)),
            rot=dict(out_channels=8, loss=dict(type='BinRotLoss', loss_weight=1.0)),
            dim=dict(out_channels=3, loss=dict(l1, loss_weight=1.0))),
        encoder=dict(_delete_=True, type='DDDEncoder', num_classes=num_classes, stride=4,
                     max_objs=50, radius_mode='official', min_overlap=0.7),
        decoder=dict(_delete_=True, type='DDDDecoder', topk=100, kernel=3, stride=4,
                     box_mode='official')),
    # official ddd test: detections with a score above peak_thresh 0.2
    test_cfg=dict(score_thr=0.2, nms=None))
