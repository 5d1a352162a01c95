# Official "ddd" (monocular 3D) on "dla_34": DLA-34 + DLAUp/IDAUp with DCNv2, heads
# hm 3, wh 2, reg 2, dep 1, rot 8, dim 3 (opts.py), head_conv 256.
_base_ = './centernet_dla34-dcnv2.py'
# The official 3D L1 losses average over every slot of the batch (F.l1_loss with a mean
# reduction), not over the objects as RegL1Loss does for 2D boxes: normalizer='all'.
l1 = dict(type='RegL1Loss', normalizer='all')
model = dict(
    # ImageNet mean / std (KITTI's dataset values), applied to the BGR image as officially
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           bgr_to_rgb=False),
    bbox_head=dict(
        codec=dict(_delete_=True, type='DDDCodec', num_classes=3, stride=4, max_objs=50,
                   topk=100, kernel=3, radius_mode='official', min_overlap=0.7,
                   center_mode='official', box_mode='official'),
        branches=dict(
            _delete_=True,
            heatmap=dict(bias_init=-2.19,
                         loss=dict(type='CenterNetFocalLoss', loss_weight=1.0)),
            wh=dict(loss=dict(l1, loss_weight=0.1)),
            offset=dict(loss=dict(l1, loss_weight=1.0)),
            # the codec's depth activation (1 / sigmoid - 1) before the loss, as officially
            depth=dict(activate_before_loss=True, loss=dict(l1, loss_weight=1.0)),
            rot=dict(loss=dict(type='BinRotLoss', loss_weight=1.0)),
            dim=dict(loss=dict(l1, loss_weight=1.0)))),
    # official ddd test: detections with a score above peak_thresh 0.2
    test_cfg=dict(score_thr=0.2, nms=None))
