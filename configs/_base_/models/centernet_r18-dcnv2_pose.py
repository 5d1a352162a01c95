# ResNet-18-DCNv2 CenterNet with the official multi_pose branches (centernet_pose_head.py).
_base_ = ['./centernet_r18-dcnv2.py', './centernet_pose_head.py']
model = dict(bbox_head={{_base_.pose_head}})
