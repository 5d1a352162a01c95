# DLA-34 CenterNet with the official multi_pose branches (centernet_pose_head.py).
_base_ = ['./centernet_dla34-dcnv2.py', './centernet_pose_head.py']
model = dict(bbox_head={{_base_.pose_head}})
