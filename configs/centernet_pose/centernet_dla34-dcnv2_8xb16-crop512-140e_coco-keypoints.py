# Official multi_pose dla_34 "1x" (experiments/multi_pose_dla_1x.sh): COCO person keypoints,
# batch 128, lr 5e-4, 140 epochs with drops at 90 and 120; fine-tuned from the ctdet DLA-34
# 2x model (convert ctdet_coco_dla_2x.pth with tools/model_converters/centernet_official2mmcn.py
# and set load_from; the pose branches start from their own initialisation).
# Official COCO keypoint val AP (flip test): 54.7.
_base_ = [
    '../_base_/models/centernet_dla34-dcnv2_pose.py',
    '../_base_/datasets/coco_keypoints.py', '../_base_/schedules/schedule_140e.py',
    '../_base_/default_runtime.py'
]
train_dataloader = dict(batch_size=16)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=5e-4))
auto_scale_lr = dict(base_batch_size=128)
