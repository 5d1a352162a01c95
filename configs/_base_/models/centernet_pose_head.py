# The official multi_pose heads as branches of CenterNetHead (opts.py: hm 1, wh 2, reg 2,
# hps 2K, hm_hp K, hp_offset 2 -> heatmap, wh, offset, kps, kp_heatmap, kp_offset) with the
# losses and weights of trains/multi_pose.py (hm 1, wh 0.1, off 1, hp 1, hm_hp 1,
# hp_offset 1; hps masked per joint). Merged into a detection model's bbox_head:
#     model = dict(bbox_head={{_base_.pose_head}})   (see centernet_*_pose.py)
# Another keypoint set: change kps (2K), kp_heatmap (K) and encoder.num_keypoints (K).
num_keypoints = 17
pose_head = dict(
    branches=dict(
        heatmap=dict(out_channels=1),
        kps=dict(out_channels=2 * num_keypoints, loss=dict(type='RegL1Loss', loss_weight=1.0)),
        # official "hm" heads (hm, hm_hp) start with bias -2.19
        kp_heatmap=dict(out_channels=num_keypoints, bias_init=-2.19, activation='sigmoid',
                        loss=dict(type='CenterNetFocalLoss', loss_weight=1.0)),
        kp_offset=dict(out_channels=2, loss=dict(type='RegL1Loss', loss_weight=1.0))),
    # official --dense_hp: dense_hp=True
    encoder=dict(type='MultiPoseEncoder', num_classes=1, num_keypoints=num_keypoints,
                 max_objs=32, dense_hp=False),
    decoder=dict(type='MultiPoseDecoder', topk=100, snap_thr=0.1, snap_dist=0.3))
