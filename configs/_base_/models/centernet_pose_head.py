# The official multi_pose heads as branches of CenterNetHead (opts.py: hm 1, wh 2, reg 2,
# hps 2K, hm_hp K, hp_offset 2 -> heatmap, wh, offset, kps, kp_heatmap, kp_offset) with the
# losses and weights of trains/multi_pose.py (hm 1, wh 0.1, off 1, hp 1, hm_hp 1,
# hp_offset 1; hps masked per joint). Merged into a detection model's bbox_head:
#     model = dict(bbox_head={{_base_.pose_head}})   (see centernet_*_pose.py)
# Another keypoint set: change codec.num_keypoints (K); the branches follow (kps 2K,
# kp_heatmap K).
pose_head = dict(
    codec=dict(type='MultiPoseCodec', num_classes=1, num_keypoints=17, stride=4,
               max_objs=32, topk=100, kernel=3, radius_mode='official', min_overlap=0.7,
               dense_hp=False,  # official --dense_hp: dense_hp=True
               snap_thr=0.1, snap_dist=0.3),
    branches=dict(
        kps=dict(loss=dict(type='RegL1Loss', loss_weight=1.0)),
        # official "hm" heads (hm, hm_hp) start with bias -2.19
        kp_heatmap=dict(bias_init=-2.19, loss=dict(type='CenterNetFocalLoss', loss_weight=1.0)),
        kp_offset=dict(loss=dict(type='RegL1Loss', loss_weight=1.0))))
