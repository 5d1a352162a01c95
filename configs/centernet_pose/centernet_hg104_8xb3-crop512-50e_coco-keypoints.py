# Official multi_pose hourglass "1x" (experiments/multi_pose_hg_1x.sh): batch 24, lr 2.5e-4,
# 50 epochs with a drop at 40, two stacks (losses averaged over stacks); fine-tuned from the
# ctdet hourglass model (convert ctdet_coco_hg.pth and set load_from).
# Official COCO keypoint val AP (flip test): 58.7.
_base_ = [
    '../_base_/models/centernet_hg104_pose.py',
    '../_base_/datasets/coco_keypoints.py', '../_base_/schedules/schedule_50e.py',
    '../_base_/default_runtime.py'
]
model = dict(data_preprocessor=dict(pad_size_divisor=128))
train_dataloader = dict(batch_size=3)
# Hourglass inputs are padded to a multiple of 128 at test time (official opt.pad = 127).
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CenterAffine', keep_res=True, pad_divisor=128),
    dict(type='LoadPoseAnnotations', with_bbox=True),
    dict(type='PackCenterNetInputs', meta_keys={{_base_.meta_keys}}),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
# the scales as a value: mmengine's {{_base_.x}} is a placeholder string inside a
# comprehension, which would iterate over its characters
tta_scales = [0.5, 0.75, 1.0, 1.25, 1.5]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug',
         transforms=[[dict(type='CenterAffine', keep_res=True, pad_divisor=128, scale_ratio=s)
                      for s in tta_scales],
                     [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)],
                     [dict(type='PackCenterNetInputs', meta_keys={{_base_.meta_keys}})]])
]
