# Official multi_pose hourglass "3x" (experiments/multi_pose_hg_3x.sh, readme/MODEL_ZOO.md):
# 150 epochs with a drop at 130, otherwise as the 1x config.
# Official COCO keypoint val AP (flip test): 64.0.
_base_ = ['./centernet_hg104_8xb3-crop512-50e_coco-keypoints.py']
max_epochs = 150
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[130],
         gamma=0.1)
]
