# Official multi_pose dla_34 "3x" (experiments/multi_pose_dla_3x.sh, readme/MODEL_ZOO.md):
# 320 epochs with drops at 270 and 300, otherwise as the 1x config.
# Official COCO keypoint val AP (flip test): 58.9.
_base_ = ['./centernet_dla34-dcnv2_8xb16-crop512-140e_coco-keypoints.py']
max_epochs = 320
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[270, 300],
         gamma=0.1)
]
